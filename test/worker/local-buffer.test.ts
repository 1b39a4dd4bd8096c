import { afterEach, describe, expect, it } from 'vitest';
import { claim, rescueExpired, submitMany, type TaskError } from '../../src/queue/index.ts';
import { defineTask, type TaskDefinition } from '../../src/worker/registry.ts';
import { Worker, type WorkerOptions } from '../../src/worker/worker.ts';
import { useTestDatabase } from '../helpers/db.ts';
import { waitFor } from '../helpers/wait.ts';

/**
 * The Worker's local buffer (src/worker/local-buffer.ts): tasks claimed ahead of free slots are
 * held under the worker's lease without their attempt counted, started (and counted) once a slot
 * frees, and handed back uncounted when the worker stops, when they wait past the ttl, or, if the
 * worker dies, by rescue. Every check reads the rows themselves: the counts are the contract.
 */

const db = useTestDatabase();

interface Row {
  uid: string;
  status: string;
  attempts: number;
  started_at: Date | null;
  worker_id: string | null;
  lease_expires_at: Date | null;
  /** As text: a JS Date would drop the microseconds, and "eta unchanged" means exactly. */
  eta: string;
  error: TaskError | null;
  args: unknown[];
}

/** The namespace's rows in submission order. */
async function rowsOf(ns: string): Promise<Row[]> {
  const r = await db().pool.query<Row>(
    `select uid, status, attempts, started_at, worker_id, lease_expires_at, eta::text as eta, error, args
     from tasks where namespace = $1 order by id`,
    [ns],
  );
  return r.rows;
}

/** A promise the test opens when it decides: what a blocking handler waits on. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { wait, open };
}

describe('Worker local buffer', () => {
  const workers: Worker[] = [];
  /** Opened before the workers stop, so that no blocked handler holds stop() for its grace period. */
  const gates: (() => void)[] = [];
  afterEach(async () => {
    for (const open of gates.splice(0)) open();
    await Promise.all(workers.splice(0).map((w) => w.stop()));
  });

  async function startWorker(tasks: TaskDefinition[], opts: Partial<WorkerOptions>): Promise<Worker> {
    // No maintenance: nothing here may be moved by rescue unless the test says so. A long ttl
    // unless the test is about it, so a slow machine does not hand buffered tasks back mid-check.
    const w = new Worker({
      pool: db().pool,
      tasks,
      pollIntervalMs: 100,
      maintenance: false,
      presence: false,
      prefetchTtlMs: 60_000,
      shutdownGraceMs: 5_000,
      ...opts,
    });
    workers.push(w);
    await w.start();
    return w;
  }

  /**
   * A task whose handler blocks until `release` is called, and reports each call: `firstRun`
   * resolves when the first one starts. The tasks are submitted before the worker starts, so its
   * first claim sees them all: it starts `concurrency` and buffers up to `prefetch` more.
   */
  function blockingTask(name: string) {
    const g = gate();
    gates.push(g.open);
    const calls: unknown[][] = [];
    let ran!: () => void;
    const firstRun = new Promise<void>((resolve) => (ran = resolve));
    const def = defineTask(name, async (args) => {
      calls.push(args);
      ran();
      await g.wait;
    });
    return { def, calls, firstRun, release: g.open };
  }

  const submitN = (name: string, ns: string, n: number, extra: Record<string, unknown> = {}) =>
    submitMany(
      db().pool,
      Array.from({ length: n }, (_, i) => ({ task: name, namespace: ns, args: [i], ...extra })),
    );

  it('holds buffered tasks processing under its lease, uncounted and unstarted, and renews their leases', async () => {
    const ns = 'lb-hold';
    const t = blockingTask('lb.hold');
    await submitN('lb.hold', ns, 5);
    // A 2 s lease is beaten every 667 ms.
    const w = await startWorker([t.def], {
      namespaces: [ns],
      concurrency: 1,
      prefetch: 3,
      prefetchHorizonMs: Number.POSITIVE_INFINITY,
      leaseSeconds: 2,
    });
    await t.firstRun;

    const rows = await rowsOf(ns);
    const running = rows.filter((r) => r.status === 'processing' && r.started_at !== null);
    const buffered = rows.filter((r) => r.status === 'processing' && r.started_at === null);
    expect(running).toHaveLength(1);
    expect(running[0]).toMatchObject({ attempts: 1, worker_id: w.workerId });
    expect(buffered).toHaveLength(3);
    for (const r of buffered) expect(r).toMatchObject({ attempts: 0, worker_id: w.workerId });
    expect(rows.filter((r) => r.status === 'scheduled')).toHaveLength(1);
    expect(t.calls).toHaveLength(1);

    // The heartbeat covers the buffered tasks: each lease moves forward (else rescue would take them).
    const before = new Map(buffered.map((r) => [r.uid, r.lease_expires_at?.getTime() ?? 0]));
    await waitFor(
      async () => {
        const now = await rowsOf(ns);
        return [...before].every(([uid, at]) => {
          const r = now.find((x) => x.uid === uid);
          return r?.status === 'processing' && r.started_at === null && (r.lease_expires_at?.getTime() ?? 0) > at;
        });
      },
      { timeoutMs: 10_000, message: 'the leases of the buffered tasks were not renewed' },
    );
    // Still one handler: renewing did not start anything.
    expect(t.calls).toHaveLength(1);
  });

  it('with the default horizon, a worker whose tasks run long holds almost nothing ahead', async () => {
    const ns = 'lb-horizon';
    const t = blockingTask('lb.horizon');
    await submitN('lb.horizon', ns, 40);
    await startWorker([t.def], { namespaces: [ns], concurrency: 2, prefetch: 30 });
    await t.firstRun;
    await waitFor(() => t.calls.length === 2, { timeoutMs: 10_000, message: 'both slots running' });
    // Its first claim found no start rate yet and buffered nothing; with both slots busy it claims no more.
    const rows = await rowsOf(ns);
    // Two starts in the last half second call for ceil(~4/s × 100 ms) = 1 place, not the 30 allowed.
    const buffered = rows.filter((r) => r.status === 'processing' && r.started_at === null);
    expect(buffered.length).toBeLessThanOrEqual(2);
    expect(rows.filter((r) => r.status === 'scheduled').length).toBeGreaterThanOrEqual(36);
  });

  it('stop() hands buffered tasks back without counting an attempt; the running one finishes', async () => {
    const ns = 'lb-stop';
    const t = blockingTask('lb.stop');
    await submitN('lb.stop', ns, 5);
    // One of the tasks the buffer will hold has failed once before: handing it back must keep
    // that earlier attempt (only a started attempt is refunded), and leave it in retry.
    await db().pool.query("update tasks set status = 'retry', attempts = 1 where namespace = $1 and args = '[3]'::jsonb", [ns]);
    const w = await startWorker([t.def], { namespaces: [ns], concurrency: 1, prefetch: 3, prefetchHorizonMs: Number.POSITIVE_INFINITY });
    await t.firstRun;
    const first = (await rowsOf(ns)).find((r) => r.started_at !== null);
    expect(first).toBeDefined();

    const stopped = w.stop();
    // Let the running handler finish only after stop() began: the buffer must not feed the freed slot.
    t.release();
    await stopped;

    const rows = await rowsOf(ns);
    expect(t.calls).toHaveLength(1);
    for (const r of rows) {
      if (r.uid === first?.uid) {
        expect(r).toMatchObject({ status: 'done', attempts: 1 });
      } else if (r.args[0] === 3) {
        expect(r).toMatchObject({ status: 'retry', attempts: 1, started_at: null, lease_expires_at: null });
      } else {
        expect(r).toMatchObject({ status: 'scheduled', attempts: 0, started_at: null, lease_expires_at: null, error: null });
      }
    }
    // Three were buffered (args 1, 2, 3), one never claimed (args 4): none is still held.
    expect(rows.filter((r) => r.status === 'processing')).toEqual([]);
    expect(rows.filter((r) => r.status === 'scheduled')).toHaveLength(3);
  });

  it('records the start of a task taken from the buffer while its handler still runs', async () => {
    const ns = 'lb-start';
    const g = gate();
    gates.push(g.open);
    let secondRunning!: (attempt: number) => void;
    const second = new Promise<number>((resolve) => (secondRunning = resolve));
    const def = defineTask<[number]>('lb.start', async (args, _k, ctx) => {
      if (args[0] === 0) return 'quick';
      secondRunning(ctx.attempt);
      await g.wait;
      return 'slow';
    });
    await submitN('lb.start', ns, 2);
    await startWorker([def], { namespaces: [ns], concurrency: 1, prefetch: 2, prefetchHorizonMs: Number.POSITIVE_INFINITY });

    // The second task was claimed unstarted (concurrency 1), so it can only have come from the buffer.
    expect(await second).toBe(1);
    const row = await waitFor(
      async () => {
        const r = (await rowsOf(ns)).find((x) => x.args[0] === 1);
        return r && r.attempts === 1 && r.started_at !== null ? r : undefined;
      },
      { timeoutMs: 10_000, message: 'the start of the buffered task was never recorded' },
    );
    expect(row.status).toBe('processing');
    const firstRow = (await rowsOf(ns)).find((x) => x.args[0] === 0);
    expect(firstRow).toMatchObject({ status: 'done', attempts: 1 });

    g.open();
    await waitFor(async () => (await rowsOf(ns)).every((r) => r.status === 'done'), { timeoutMs: 10_000 });
    // Its completion did not count the attempt a second time.
    expect((await rowsOf(ns)).map((r) => r.attempts)).toEqual([1, 1]);
  });

  it('hands back buffered tasks that waited past prefetchTtlMs, uncounted, while the running one goes on', async () => {
    const ns = 'lb-ttl';
    const t = blockingTask('lb.ttl');
    await submitN('lb.ttl', ns, 3);
    // Maintenance off (startWorker) and a long lease: only the buffer's ttl can move these rows.
    await startWorker([t.def], {
      namespaces: [ns],
      concurrency: 1,
      prefetch: 5,
      prefetchHorizonMs: Number.POSITIVE_INFINITY,
      prefetchTtlMs: 300,
      leaseSeconds: 60,
    });
    await t.firstRun;
    const first = (await rowsOf(ns)).find((r) => r.started_at !== null);
    expect(first).toMatchObject({ status: 'processing', attempts: 1 });
    // Both others were buffered by the first claim; the ttl is what returns them.
    expect((await rowsOf(ns)).filter((r) => r.status === 'processing')).toHaveLength(3);

    const rows = await waitFor(
      async () => {
        const rs = await rowsOf(ns);
        const others = rs.filter((r) => r.uid !== first?.uid);
        return others.every((r) => r.status === 'scheduled') ? rs : undefined;
      },
      { timeoutMs: 10_000, message: 'the buffered tasks were not handed back after the ttl' },
    );
    for (const r of rows) {
      if (r.uid === first?.uid) expect(r).toMatchObject({ status: 'processing', attempts: 1 });
      else expect(r).toMatchObject({ status: 'scheduled', attempts: 0, started_at: null, lease_expires_at: null, error: null });
    }
    expect(t.calls).toHaveLength(1);

    // Handed back uncounted, they later run once each and count one attempt each.
    t.release();
    await waitFor(async () => (await rowsOf(ns)).every((r) => r.status === 'done'), { timeoutMs: 10_000 });
    expect((await rowsOf(ns)).map((r) => r.attempts)).toEqual([1, 1, 1]);
    expect(t.calls).toHaveLength(3);
  });

  it('a failed task started from the buffer counts its attempt exactly once', async () => {
    const ns = 'lb-fail';
    const n = 6;
    let calls = 0;
    const def = defineTask('lb.fail', () => {
      calls++;
      throw new Error('boom');
    });
    // maxRetries 0: an attempt counted once ends the task in error; one left uncounted would show as retry.
    await submitN('lb.fail', ns, n, { maxRetries: 0 });
    const w = await startWorker([def], { namespaces: [ns], concurrency: 1, prefetch: 2, prefetchHorizonMs: Number.POSITIVE_INFINITY });
    const errors: Error[] = [];
    w.on('worker:error', ({ error }) => errors.push(error));

    const rows = await waitFor(
      async () => {
        const rs = await rowsOf(ns);
        return rs.every((r) => r.status !== 'scheduled' && r.status !== 'processing') ? rs : undefined;
      },
      { timeoutMs: 20_000, message: 'the tasks did not all fail' },
    );
    for (const r of rows) {
      expect(r).toMatchObject({ status: 'error', attempts: 1, error: { message: 'boom' } });
      expect(r.started_at).not.toBeNull();
    }
    expect(calls).toBe(n);
    expect(errors).toEqual([]);
  });

  it('completing buffered tasks counts exactly one attempt each', async () => {
    const ns = 'lb-many';
    const n = 50;
    const runs = new Map<number, number>();
    const def = defineTask<[number]>('lb.many', (args) => {
      runs.set(args[0], (runs.get(args[0]) ?? 0) + 1);
    });
    await submitN('lb.many', ns, n);
    await startWorker([def], { namespaces: [ns], concurrency: 2, prefetch: 10, prefetchHorizonMs: Number.POSITIVE_INFINITY });

    const rows = await waitFor(
      async () => {
        const rs = await rowsOf(ns);
        return rs.every((r) => r.status === 'done') ? rs : undefined;
      },
      { timeoutMs: 20_000, message: 'not every task completed' },
    );
    expect(rows).toHaveLength(n);
    for (const r of rows) {
      expect(r.attempts).toBe(1);
      expect(r.started_at).not.toBeNull();
    }
    expect(runs.size).toBe(n);
    expect([...runs.values()].every((c) => c === 1)).toBe(true);
  });

  it('rescue returns a dead worker’s unstarted buffer as it was, and fails the started task', async () => {
    const ns = 'lb-rescue';
    const pool = db().pool;
    const submitted = await submitN('lb.rescue', ns, 3);
    expect(submitted).toHaveLength(3);
    const etas = new Map((await rowsOf(ns)).map((r) => [r.uid, r.eta]));

    const claimed = await claim(pool, { workerId: 'dead', namespaces: [ns], tasks: ['lb.rescue'], limit: 3, start: 1, leaseSeconds: 1 });
    expect(claimed).toHaveLength(3);
    const started = claimed.filter((c) => c.startedAt !== null);
    expect(started).toHaveLength(1);
    const startedUid = started[0]?.uid;
    const held = await rowsOf(ns);
    expect(held.map((r) => [r.status, r.attempts, r.started_at !== null]).sort()).toEqual([
      ['processing', 0, false],
      ['processing', 0, false],
      ['processing', 1, true],
    ]);

    await pool.query("update tasks set lease_expires_at = now() - interval '1 second' where namespace = $1", [ns]);
    const rescued = (await rescueExpired(pool)).filter((r) => etas.has(r.uid));
    expect(rescued).toHaveLength(3);

    for (const r of await rowsOf(ns)) {
      expect(r.lease_expires_at).toBeNull();
      if (r.uid === startedUid) {
        expect(r).toMatchObject({ status: 'retry', attempts: 1, error: { reason: 'lease_expired' } });
      } else {
        expect(r).toMatchObject({ status: 'scheduled', attempts: 0, started_at: null, error: null });
        expect(r.eta).toBe(etas.get(r.uid));
      }
    }
  });

  it('tasks that await I/O: every one done at its first attempt, no attempt failed (no deadlock between batches)', async () => {
    const ns = 'lb-io';
    const n = 4000;
    await submitN('lb.io', ns, n);
    const failures: string[] = [];
    const errors: string[] = [];
    let done = 0;
    const all = new Promise<void>((resolve) => {
      const def = defineTask('lb.io', () => new Promise<void>((r) => setTimeout(r, 1 + Math.random() * 4)));
      void startWorker([def], { namespaces: [ns], concurrency: 16 }).then((w) => {
        w.on('task:failed', ({ error }) => failures.push(error.message));
        w.on('worker:error', ({ error, during }) => errors.push(`${during}: ${error.message}`));
        w.on('task:completed', () => ++done === n && resolve());
      });
    });
    await Promise.race([
      all,
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error(`${done} of ${n} done; failures: ${failures.slice(0, 3).join('; ')}`)), 60_000),
      ),
    ]);
    expect(failures).toEqual([]);
    expect(errors).toEqual([]);
    const { rows } = await db().pool.query('select status, attempts, count(*)::int as n from tasks where namespace = $1 group by 1, 2', [
      ns,
    ]);
    expect(rows).toEqual([{ status: 'done', attempts: 1, n }]);
  });

  it('prefetch 0 claims only for free slots', async () => {
    const ns = 'lb-none';
    const t = blockingTask('lb.none');
    await submitN('lb.none', ns, 3);
    await startWorker([t.def], { namespaces: [ns], concurrency: 1, prefetch: 0 });
    await t.firstRun;
    // The claim that started the first task has returned, so any buffered rows would show now.
    const rows = await rowsOf(ns);
    expect(rows.filter((r) => r.status === 'processing')).toHaveLength(1);
    expect(rows.filter((r) => r.status === 'processing')[0]).toMatchObject({ attempts: 1 });
    expect(rows.filter((r) => r.status === 'scheduled')).toHaveLength(2);
    for (const r of rows.filter((x) => x.status === 'scheduled')) expect(r).toMatchObject({ attempts: 0, started_at: null });
  });

  it('refuses a prefetch that is negative or not an integer', () => {
    const def = defineTask('lb.opts', () => 1);
    expect(() => new Worker({ pool: db().pool, tasks: [def], prefetch: -1 })).toThrow(TypeError);
    expect(() => new Worker({ pool: db().pool, tasks: [def], prefetch: 1.5 })).toThrow(TypeError);
    expect(() => new Worker({ pool: db().pool, tasks: [def], prefetch: 0 })).not.toThrow();
    expect(() => new Worker({ pool: db().pool, tasks: [def], prefetchHorizonMs: 0 })).toThrow(TypeError);
  });
});
