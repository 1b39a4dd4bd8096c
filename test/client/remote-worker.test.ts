import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type App, createApp } from '../../src/api/app.ts';
import { EventixClient, type FetchLike } from '../../src/client/client.ts';
import { RemoteWorker, type RemoteWorkerOptions } from '../../src/client/remote-worker.ts';
import { NonRetryableError } from '../../src/errors.ts';
import { silentLogger } from '../../src/logger.ts';
import { getTask, rescueExpired, submit, submitMany } from '../../src/queue/index.ts';
import { AttemptAborted } from '../../src/worker/attempt-aborted.ts';
import { defineTask, type TaskDefinition } from '../../src/worker/registry.ts';
import { useTestDatabase } from '../helpers/db.ts';
import { nextEvent, waitFor } from '../helpers/wait.ts';

const BASE = 'http://eventix.test';

/** The real app, in-process: the same routes, validation and database, without a socket. */
const inProcess =
  (app: App, wrap?: (input: string, init: RequestInit, next: () => Promise<Response>) => Promise<Response>): FetchLike =>
  (input, init) =>
    wrap ? wrap(input, init, async () => app.request(input, init)) : app.request(input, init);

describe('RemoteWorker', () => {
  const db = useTestDatabase({ poolMax: 40 });
  let app: App;
  let client: EventixClient;
  beforeAll(() => {
    app = createApp({ database: db(), logger: silentLogger, longPollIntervalMs: 50 });
    client = new EventixClient({ baseUrl: BASE, fetch: inProcess(app) });
  });

  const workers: RemoteWorker[] = [];
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop()));
  });

  async function startWorker(tasks: TaskDefinition[], opts: Partial<RemoteWorkerOptions> = {}): Promise<RemoteWorker> {
    const w = new RemoteWorker({ client, tasks, waitSeconds: 2, shutdownGraceMs: 5_000, ...opts });
    workers.push(w);
    await w.start();
    return w;
  }

  const statusOf = async (uid: string) => (await getTask(db().pool, uid)).status;
  const hang = (_a: unknown, _k: unknown, ctx: { signal: AbortSignal }) =>
    new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)));

  it('runs a task with args, kwargs and context, stores the result and emits events in order', async () => {
    const seen: unknown[] = [];
    const def = defineTask<[number, number], { op: string }>('r.add', async (args, kwargs, ctx) => {
      seen.push({ args, kwargs, attempt: ctx.attempt, uid: ctx.uid, namespace: ctx.namespace, aborted: ctx.signal.aborted });
      return args[0] + args[1];
    });
    const w = await startWorker([def], { namespace: 'r-basic' });
    expect(w.status).toBe('running');
    const events: string[] = [];
    w.on('task:claimed', () => events.push('claimed'));
    const completed = nextEvent<{ result: unknown; durationMs: number }>(w, 'task:completed');
    // Submitted after the worker's first claim came back empty: the long-poll picks it up.
    const { task } = await client.submit({ task: 'r.add', namespace: 'r-basic', args: [2, 3], kwargs: { op: 'add' } });
    const ev = await completed;
    expect(ev.result).toBe(5);
    events.push('completed');
    expect(events).toEqual(['claimed', 'completed']);
    expect(seen).toEqual([{ args: [2, 3], kwargs: { op: 'add' }, attempt: 1, uid: task.uid, namespace: 'r-basic', aborted: false }]);
    expect(await client.get(task.uid)).toMatchObject({ status: 'done', result: 5, attempts: 1, worker_id: w.workerId });
  });

  it('sizes each claim to its free slots and never runs more than `concurrency` at once', async () => {
    const limits: number[] = [];
    const sized = new EventixClient({
      baseUrl: BASE,
      fetch: inProcess(app, async (input, init, next) => {
        if (input.endsWith('/workers/claim')) limits.push(JSON.parse(String(init.body)).limit);
        return next();
      }),
    });
    let running = 0;
    let peak = 0;
    const def = defineTask('r.slots', async () => {
      peak = Math.max(peak, ++running);
      await new Promise((r) => setTimeout(r, 30));
      running--;
    });
    await submitMany(
      db().pool,
      Array.from({ length: 12 }, () => ({ task: 'r.slots', namespace: 'r-slots' })),
    );
    const w = await startWorker([def], { client: sized, namespace: 'r-slots', concurrency: 3 });
    await waitFor(async () => (await client.list({ namespace: 'r-slots', status: 'done' })).tasks.length === 12);
    await w.stop();
    expect(peak).toBe(3);
    expect(limits[0]).toBe(3);
    expect(Math.max(...limits)).toBe(3);
    expect(Math.min(...limits)).toBeGreaterThanOrEqual(1);
  });

  it('never claims tasks of other namespaces or of names it has no handler for', async () => {
    const def = defineTask('r.iso', () => 'mine');
    const w = await startWorker([def], { namespace: 'r-iso' });
    const other = await submit(db().pool, { task: 'r.iso', namespace: 'r-iso-other' });
    const unknown = await submit(db().pool, { task: 'r.unknown', namespace: 'r-iso' });
    const done = nextEvent(w, 'task:completed');
    const mine = await submit(db().pool, { task: 'r.iso', namespace: 'r-iso' });
    await done;
    expect(await statusOf(mine.task.uid)).toBe('done');
    expect(await statusOf(other.task.uid)).toBe('scheduled');
    expect(await statusOf(unknown.task.uid)).toBe('scheduled');
  });

  it('retries a failing task with backoff and records the error with its stack and payload', async () => {
    let calls = 0;
    const def = defineTask('r.flaky', () => {
      calls++;
      throw Object.assign(new Error('boom'), { payload: { code: 42 } });
    });
    const w = await startWorker([def], { namespace: 'r-flaky' });
    const failed = nextEvent<{ status: string; error: { class: string; message: string; payload: unknown } }>(w, 'task:failed');
    const { task } = await submit(db().pool, { task: 'r.flaky', namespace: 'r-flaky', maxRetries: 2, errorEtaInc: 60, errorEtaMax: 60 });
    const ev = await failed;
    expect(ev.status).toBe('retry');
    expect(ev.error).toMatchObject({ class: 'Error', message: 'boom', payload: { code: 42 } });
    const stored = await getTask(db().pool, task.uid);
    expect(stored.status).toBe('retry');
    expect(stored.eta.getTime() - Date.now()).toBeGreaterThan(45_000);
    expect(stored.error).toMatchObject({ class: 'Error', message: 'boom', payload: { code: 42 } });
    expect(stored.error?.stack).toContain('boom');
    expect(calls).toBe(1);
  });

  it('runs a retried task again and completes it on a later attempt', async () => {
    const attempts: number[] = [];
    const def = defineTask('r.again', (_a, _k, ctx) => {
      attempts.push(ctx.attempt);
      if (ctx.attempt < 3) throw new Error(`attempt ${ctx.attempt} fails`);
      return 'third time lucky';
    });
    const w = await startWorker([def], { namespace: 'r-again' });
    const { task } = await submit(db().pool, { task: 'r.again', namespace: 'r-again', maxRetries: 5, errorEtaInc: 1, errorEtaMax: 1 });
    // Backoff is whole seconds: pull each retry forward instead of waiting.
    w.on('task:failed', () => void db().pool.query('update tasks set eta = now() where uid = $1', [task.uid]));
    await waitFor(async () => (await statusOf(task.uid)) === 'done', { timeoutMs: 15_000 });
    expect(attempts).toEqual([1, 2, 3]);
    expect(await getTask(db().pool, task.uid)).toMatchObject({ result: 'third time lucky', attempts: 3 });
  });

  it('a NonRetryableError fails at once, whatever retries remain', async () => {
    const def = defineTask('r.fatal', () => {
      throw new NonRetryableError('bad input');
    });
    const w = await startWorker([def], { namespace: 'r-fatal' });
    const failed = nextEvent<{ status: string }>(w, 'task:failed');
    const { task } = await submit(db().pool, { task: 'r.fatal', namespace: 'r-fatal', maxRetries: 10 });
    expect((await failed).status).toBe('error');
    expect((await getTask(db().pool, task.uid)).error).toMatchObject({ class: 'NonRetryableError', message: 'bad input' });
  });

  it('aborts a handler past its timeout and fails the attempt with reason timeout', async () => {
    let abortedWith: unknown;
    const def = defineTask(
      'r.slow',
      (_a, _k, ctx) =>
        new Promise((_, reject) =>
          ctx.signal.addEventListener('abort', () => {
            abortedWith = ctx.signal.reason;
            reject(ctx.signal.reason);
          }),
        ),
      { timeoutSeconds: 1 },
    );
    const w = await startWorker([def], { namespace: 'r-slow' });
    const failed = nextEvent<{ status: string; error: { reason?: string } }>(w, 'task:failed');
    const { task } = await client.submit({ task: 'r.slow', namespace: 'r-slow', max_retries: 0, timeout_seconds: 1 });
    const ev = await failed;
    expect(ev.status).toBe('error');
    expect(ev.error.reason).toBe('timeout');
    expect(abortedWith).toBeInstanceOf(AttemptAborted);
    expect(abortedWith).toMatchObject({ reason: 'timeout' });
    expect((await client.get(task.uid)).error).toMatchObject({ class: 'TaskTimeout', reason: 'timeout' });
  });

  it('a handler that ignores its signal still cannot outlive its timeout', async () => {
    const def = defineTask('r.deaf', () => new Promise(() => {}), { timeoutSeconds: 1 });
    const w = await startWorker([def], { namespace: 'r-deaf' });
    const failed = nextEvent<{ status: string }>(w, 'task:failed');
    await def.submit(db().pool, { namespace: 'r-deaf', maxRetries: 0 });
    expect((await failed).status).toBe('error');
    await waitFor(() => w.active === 0);
  });

  it('cancels a running task through its AbortSignal at the next heartbeat; the task ends cancelled', async () => {
    let abortedWith: unknown;
    const def = defineTask('r.cancel', (_a, _k, ctx) => {
      ctx.signal.addEventListener('abort', () => {
        abortedWith = ctx.signal.reason;
      });
      return hang(_a, _k, ctx);
    });
    const w = await startWorker([def], { namespace: 'r-cancel', heartbeatIntervalMs: 100 });
    const claimed = nextEvent<{ task: { uid: string } }>(w, 'task:claimed');
    const { task } = await client.submit({ task: 'r.cancel', namespace: 'r-cancel' });
    await claimed;
    const failed = nextEvent<{ status: string; error: { reason?: string } }>(w, 'task:failed');
    expect((await client.cancel(task.uid)).cancel_requested).toBe(true);
    const ev = await failed;
    expect(ev.status).toBe('cancelled');
    expect(ev.error.reason).toBe('cancelled');
    expect(abortedWith).toMatchObject({ reason: 'cancelled' });
    expect(await client.get(task.uid)).toMatchObject({ status: 'cancelled', error: { reason: 'cancelled' } });
  });

  it('heartbeats keep a lease alive well past its length', async () => {
    const def = defineTask('r.long', async () => {
      await new Promise((r) => setTimeout(r, 6_500));
      return 'outlived the lease';
    });
    // A 5 s lease renewed every ~1.7 s; maintenance would rescue it at once if a renewal were missed.
    const w = await startWorker([def], { namespace: 'r-long', leaseSeconds: 5 });
    const done = nextEvent<{ result: unknown }>(w, 'task:completed', 15_000);
    const { task } = await def.submit(db().pool, { namespace: 'r-long' });
    const rescuer = setInterval(() => void rescueExpired(db().pool).catch(() => {}), 200);
    try {
      expect((await done).result).toBe('outlived the lease');
    } finally {
      clearInterval(rescuer);
    }
    expect(await getTask(db().pool, task.uid)).toMatchObject({ status: 'done', attempts: 1 });
  });

  it('a worker that lost its lease discards its outcome, and the newer owner’s result stands', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const def = defineTask('r.stale', async (_a, _k, ctx) => {
      if (ctx.attempt === 1) await gate;
      return `attempt ${ctx.attempt}`;
    });
    // A long lease, and heartbeats far apart: we expire it by hand.
    const stale = await startWorker([def], { namespace: 'r-stale', leaseSeconds: 600 });
    const claimed = nextEvent(stale, 'task:claimed');
    const { task } = await def.submit(db().pool, { namespace: 'r-stale', errorEtaInc: 1, errorEtaMax: 1 });
    await claimed;
    // The first worker hangs; its lease runs out, the task is rescued and re-run by another worker.
    await db().pool.query("update tasks set lease_expires_at = now() - interval '1 second' where uid = $1", [task.uid]);
    expect(await rescueExpired(db().pool)).toEqual([{ uid: task.uid, status: 'retry' }]);
    await db().pool.query("update tasks set eta = now(), namespace = 'r-stale-2' where uid = $1", [task.uid]);
    const fresh = await startWorker([def], { namespace: 'r-stale-2', workerId: 'rescuer' });
    expect((await nextEvent<{ result: unknown }>(fresh, 'task:completed')).result).toBe('attempt 2');

    const lost = nextEvent<{ reason: string }>(stale, 'task:lease-lost');
    let staleCompleted = false;
    stale.on('task:completed', () => {
      staleCompleted = true;
    });
    release();
    expect((await lost).reason).toMatch(/LeaseLost|Lease lost|409/);
    expect(staleCompleted).toBe(false);
    expect(await client.get(task.uid)).toMatchObject({ status: 'done', result: 'attempt 2', worker_id: 'rescuer', attempts: 2 });
  });

  it('a heartbeat answered 409 aborts the handler with reason lease_lost and reports nothing', async () => {
    let abortedWith: unknown;
    const def = defineTask('r.taken', (_a, _k, ctx) => {
      ctx.signal.addEventListener('abort', () => {
        abortedWith = ctx.signal.reason;
      });
      return hang(_a, _k, ctx);
    });
    const w = await startWorker([def], { namespace: 'r-taken', heartbeatIntervalMs: 100 });
    let failed = false;
    w.on('task:failed', () => {
      failed = true;
    });
    const claimed = nextEvent(w, 'task:claimed');
    const { task } = await def.submit(db().pool, { namespace: 'r-taken' });
    await claimed;
    const lost = nextEvent<{ reason: string }>(w, 'task:lease-lost');
    // Another worker now holds it (as after a rescue and a new claim).
    await db().pool.query("update tasks set worker_id = 'someone-else', fencing_token = fencing_token + 1000 where uid = $1", [task.uid]);
    expect((await lost).reason).toMatch(/claimed by another worker/);
    expect(abortedWith).toMatchObject({ reason: 'lease_lost' });
    await waitFor(() => w.active === 0);
    expect(failed).toBe(false);
    expect(await getTask(db().pool, task.uid)).toMatchObject({ status: 'processing', workerId: 'someone-else' });
  });

  describe('graceful shutdown', () => {
    it('waits for running tasks that finish within the grace period, and claims nothing more', async () => {
      let release!: () => void;
      const gate = new Promise<void>((r) => {
        release = r;
      });
      const def = defineTask('r.grace', async () => {
        await gate;
        return 'finished';
      });
      const w = await startWorker([def], { namespace: 'r-grace', shutdownGraceMs: 30_000, waitSeconds: 20 });
      const claimed = nextEvent(w, 'task:claimed');
      const { task } = await def.submit(db().pool, { namespace: 'r-grace' });
      await claimed;
      const stopping = w.stop();
      expect(w.status).toBe('stopping');
      // Submitted during shutdown: must not be claimed.
      const late = await def.submit(db().pool, { namespace: 'r-grace' });
      await new Promise((r) => setTimeout(r, 200));
      release();
      await stopping;
      expect(w.status).toBe('stopped');
      expect(await statusOf(task.uid)).toBe('done');
      expect(await statusOf(late.task.uid)).toBe('scheduled');
    });

    it('stop() interrupts an idle long-poll at once', async () => {
      const def = defineTask('r.idle', () => 1);
      const w = await startWorker([def], { namespace: 'r-idle', waitSeconds: 60 });
      await new Promise((r) => setTimeout(r, 100));
      const started = Date.now();
      await w.stop();
      expect(Date.now() - started).toBeLessThan(2_000);
      expect(w.status).toBe('stopped');
    });

    it('aborts tasks still running after the grace period; the server rescues them when their lease expires', async () => {
      let abortedWith: unknown;
      const def = defineTask('r.stuck', (_a, _k, ctx) => {
        ctx.signal.addEventListener('abort', () => {
          abortedWith = ctx.signal.reason;
        });
        return hang(_a, _k, ctx);
      });
      const w = await startWorker([def], { namespace: 'r-stuck', shutdownGraceMs: 200 });
      const claimed = nextEvent(w, 'task:claimed');
      const { task } = await def.submit(db().pool, { namespace: 'r-stuck', errorEtaInc: 1, errorEtaMax: 1 });
      await claimed;
      const abandoned = nextEvent<{ task: { uid: string } }>(w, 'task:abandoned');
      const stopped = nextEvent<{ abandoned: number }>(w, 'worker:stopped');
      await w.stop();
      expect((await abandoned).task.uid).toBe(task.uid);
      expect((await stopped).abandoned).toBe(1);
      expect(abortedWith).toMatchObject({ reason: 'shutdown' });
      // Unlike the library worker, nothing was handed back: the task waits out its lease.
      expect(await getTask(db().pool, task.uid)).toMatchObject({ status: 'processing', attempts: 1 });
      await db().pool.query("update tasks set lease_expires_at = now() - interval '1 second' where uid = $1", [task.uid]);
      expect(await rescueExpired(db().pool)).toEqual([{ uid: task.uid, status: 'retry' }]);
    });

    it('states: created → running → stopping → stopped; a second stop() waits for the first', async () => {
      const def = defineTask('r.states', () => 1);
      const w = new RemoteWorker({ client, tasks: [def], namespace: 'r-states', waitSeconds: 1 });
      expect(w.status).toBe('created');
      await w.start();
      expect(w.status).toBe('running');
      await expect(w.start()).rejects.toThrow(/running/);
      const a = w.stop();
      const b = w.stop();
      expect(w.status).toBe('stopping');
      await Promise.all([a, b]);
      expect(w.status).toBe('stopped');
      const never = new RemoteWorker({ client, tasks: [def] });
      await never.stop();
      expect(never.status).toBe('stopped');
    });
  });

  it('keeps running when an event listener throws', async () => {
    const def = defineTask('r.listener', () => 'ok');
    const w = await startWorker([def], { namespace: 'r-listener' });
    w.on('task:claimed', () => {
      throw new Error('buggy listener');
    });
    const done = nextEvent(w, 'task:completed');
    await def.submit(db().pool, { namespace: 'r-listener' });
    await done;
  });

  it('reports a failing claim as worker:error, backs off, and recovers', async () => {
    let failures = 3;
    const flaky = new EventixClient({
      baseUrl: BASE,
      fetch: inProcess(app, async (input, _init, next) => {
        if (input.endsWith('/workers/claim') && failures-- > 0) throw new TypeError('fetch failed');
        return next();
      }),
    });
    const def = defineTask('r.recover', () => 'ok');
    const errors: string[] = [];
    const w = await startWorker([def], { client: flaky, namespace: 'r-recover', errorDelayMs: 20 });
    w.on('worker:error', (e) => errors.push(`${e.during}: ${e.error.message}`));
    const done = nextEvent(w, 'task:completed');
    await def.submit(db().pool, { namespace: 'r-recover' });
    await done;
    expect(errors.length).toBeGreaterThanOrEqual(2);
    expect(errors[0]).toBe('claim: fetch failed');
  });

  it('retries a completion the network lost, so the work is not done twice', async () => {
    let drop = 1;
    const lossy = new EventixClient({
      baseUrl: BASE,
      fetch: inProcess(app, async (input, _init, next) => {
        if (input.endsWith('/complete') && drop-- > 0) return new Response('upstream reset', { status: 503 });
        return next();
      }),
    });
    let runs = 0;
    const def = defineTask('r.lossy', () => ++runs);
    const w = await startWorker([def], { client: lossy, namespace: 'r-lossy' });
    const done = nextEvent<{ result: unknown }>(w, 'task:completed');
    const { task } = await def.submit(db().pool, { namespace: 'r-lossy' });
    expect((await done).result).toBe(1);
    expect(await getTask(db().pool, task.uid)).toMatchObject({ status: 'done', result: 1, attempts: 1 });
  });

  it('fails the attempt when the result cannot be sent as JSON', async () => {
    const def = defineTask('r.bigint', () => 10n);
    const w = await startWorker([def], { namespace: 'r-bigint' });
    const failed = nextEvent<{ status: string; error: { message: string } }>(w, 'task:failed');
    await def.submit(db().pool, { namespace: 'r-bigint', maxRetries: 0 });
    const ev = await failed;
    expect(ev.status).toBe('error');
    expect(ev.error.message).toMatch(/not JSON-serializable/);
  });

  it('rejects duplicate task names, empty task lists and impossible options', () => {
    const a = defineTask('r.dup', () => 1);
    const b = defineTask('r.dup', () => 2);
    expect(() => new RemoteWorker({ client, tasks: [a, b] })).toThrow(/defined twice/);
    expect(() => new RemoteWorker({ client, tasks: [] })).toThrow(/at least one/);
    expect(() => new RemoteWorker({ client, tasks: [a], concurrency: 0 })).toThrow(/concurrency/);
    expect(() => new RemoteWorker({ client, tasks: [a], leaseSeconds: 2 })).toThrow(/leaseSeconds/);
    expect(() => new RemoteWorker({ client, tasks: [a], waitSeconds: 61 })).toThrow(/waitSeconds/);
    expect(() => new RemoteWorker({ client, tasks: [a], leaseSeconds: 5, heartbeatIntervalMs: 5_000 })).toThrow(/heartbeat/);
  });

  it('4 remote workers × 8 run 1,000 tasks: each exactly once, never two at once', async () => {
    const N = 1000;
    const spans = new Map<string, { worker: string; start: number; end: number }[]>();
    let concurrent = 0;
    let peak = 0;
    const makeDef = (worker: () => string) =>
      defineTask<[number]>('r.race', async (args, _k, ctx) => {
        const span = { worker: worker(), start: performance.now(), end: Number.POSITIVE_INFINITY };
        const list = spans.get(ctx.uid) ?? [];
        list.push(span);
        spans.set(ctx.uid, list);
        peak = Math.max(peak, ++concurrent);
        await new Promise((r) => setTimeout(r, Math.random() * 3));
        concurrent--;
        span.end = performance.now();
        return args[0] * 2;
      });
    await submitMany(
      db().pool,
      Array.from({ length: N }, (_, i) => ({ task: 'r.race', namespace: 'r-race', args: [i] })),
    );
    const race = await Promise.all(
      Array.from({ length: 4 }, async (_, i) => {
        const id = `racer-${i}`;
        return startWorker([makeDef(() => id)], { namespace: 'r-race', concurrency: 8, workerId: id, heartbeatIntervalMs: 500 });
      }),
    );
    const lost: string[] = [];
    for (const w of race) w.on('task:lease-lost', (e) => lost.push(e.task.uid));
    await waitFor(
      async () => (await db().pool.query("select 1 from tasks where namespace = 'r-race' and status <> 'done' limit 1")).rowCount === 0,
      {
        timeoutMs: 60_000,
        intervalMs: 100,
        message: 'all 1,000 tasks done',
      },
    );
    await Promise.all(race.map((w) => w.stop()));

    expect(lost).toEqual([]);
    expect(spans.size).toBe(N);
    const runs = [...spans.values()];
    const overlapping = runs.filter((r) => r.some((a, i) => r.some((b, j) => i < j && a.start < b.end && b.start < a.end)));
    expect(overlapping).toEqual([]);
    expect(runs.filter((r) => r.length !== 1)).toEqual([]);
    expect(peak).toBeLessThanOrEqual(32);
    const byWorker = new Map<string, number>();
    for (const [r] of runs) if (r) byWorker.set(r.worker, (byWorker.get(r.worker) ?? 0) + 1);
    // The work was really shared.
    expect(byWorker.size).toBeGreaterThan(1);
    const { rows } = await db().pool.query<{ n: number; ok: number }>(
      "select count(*)::int as n, count(*) filter (where attempts = 1 and result = to_jsonb((args->>0)::int * 2))::int as ok from tasks where namespace = 'r-race' and status = 'done'",
    );
    expect(rows[0]).toEqual({ n: N, ok: N });
  });
});
