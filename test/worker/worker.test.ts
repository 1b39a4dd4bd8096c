import type { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { NonRetryableError } from '../../src/errors.ts';
import { cancel, getTask, submit, submitMany } from '../../src/queue/index.ts';
import { defineTask, type TaskDefinition } from '../../src/worker/registry.ts';
import { Worker, type WorkerOptions } from '../../src/worker/worker.ts';
import { useTestDatabase } from '../helpers/db.ts';
import { nextEvent, waitFor } from '../helpers/wait.ts';

describe('Worker', () => {
  const db = useTestDatabase();
  const workers: Worker[] = [];
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop()));
  });

  async function startWorker(tasks: TaskDefinition[], opts: Partial<WorkerOptions> = {}): Promise<Worker> {
    const w = new Worker({ pool: db().pool, tasks, pollIntervalMs: 100, maintenanceIntervalMs: 200, ...opts });
    workers.push(w);
    await w.start();
    return w;
  }

  const statusOf = async (uid: string) => (await getTask(db().pool, uid)).status;

  it('runs a task with args, kwargs and context, stores the result and emits events in order', async () => {
    const seen: unknown[] = [];
    const def = defineTask<[number, number], { op: string }>('w.add', async (args, kwargs, ctx) => {
      seen.push({ args, kwargs, attempt: ctx.attempt, uid: ctx.uid, aborted: ctx.signal.aborted });
      return args[0] + args[1];
    });
    const w = await startWorker([def], { namespaces: ['w-basic'] });
    const events: string[] = [];
    w.on('task:claimed', () => events.push('claimed'));
    const completed = nextEvent<{ result: unknown }>(w, 'task:completed');
    const { task } = await def.submit(db().pool, { args: [2, 3], kwargs: { op: 'add' }, namespace: 'w-basic' });
    expect((await completed).result).toBe(5);
    events.push('completed');
    expect(events).toEqual(['claimed', 'completed']);
    expect(seen).toEqual([{ args: [2, 3], kwargs: { op: 'add' }, attempt: 1, uid: task.uid, aborted: false }]);
    const stored = await getTask(db().pool, task.uid);
    expect(stored).toMatchObject({ status: 'done', result: 5, attempts: 1 });
  });

  it('wakes on NOTIFY without waiting for the poll', async () => {
    const def = defineTask('w.notify', () => 'ok');
    // A poll interval far beyond the test's deadline: only LISTEN/NOTIFY can wake it in time.
    const w = await startWorker([def], { namespaces: ['w-notify'], pollIntervalMs: 600_000 });
    // The worker's first claim found nothing; now it sleeps.
    await waitFor(() => w.status === 'running');
    const done = nextEvent(w, 'task:completed', 10_000);
    await submit(db().pool, { task: 'w.notify', namespace: 'w-notify' });
    await done;
  });

  it('a NOTIFY that arrives while a completion claims successors is not lost when that claim finds none', async () => {
    const def = defineTask('w.notify-race', () => 'ok');
    const pool = db().pool;
    const w = await startWorker([def], { namespaces: ['w-race'], pollIntervalMs: 600_000 });
    const notifier = (w as unknown as { notifier: EventEmitter }).notifier;
    const original = pool.query;
    let raced = false;
    // The first task's completion also claims successors and finds none. Before that answer
    // reaches the worker, a second task is submitted and the worker hears its NOTIFY: a task the
    // claim's snapshot could not see. Only that NOTIFY can start it before the 10-minute poll.
    pool.query = async function (this: unknown, ...args: unknown[]) {
      const r = await (original as (...a: unknown[]) => Promise<{ rows: { claimed?: unknown }[] }>).apply(pool, args);
      const name = (args[0] as { name?: string } | undefined)?.name ?? '';
      if (!raced && name.startsWith('eventix_complete_and_claim') && r.rows.every((row) => !row.claimed)) {
        raced = true;
        const heard = nextEvent(notifier, 'notify');
        await submit(pool, { task: 'w.notify-race', namespace: 'w-race', args: ['second'] });
        await heard;
      }
      return r;
    } as typeof pool.query;
    try {
      const second = new Promise<void>((resolve) =>
        w.on('task:completed', ({ task }: { task: { args: unknown[] } }) => task.args[0] === 'second' && resolve()),
      );
      await submit(pool, { task: 'w.notify-race', namespace: 'w-race', args: ['first'] });
      await waitFor(() => raced, { timeoutMs: 10_000 });
      await Promise.race([
        second,
        new Promise((_, reject) => setTimeout(() => reject(new Error('second task not started: its NOTIFY was lost')), 10_000)),
      ]);
    } finally {
      pool.query = original;
    }
  });

  it('polls when LISTEN is off (PgBouncer transaction mode)', async () => {
    const def = defineTask('w.poll', () => 'ok');
    const w = await startWorker([def], { namespaces: ['w-poll'], listen: false, pollIntervalMs: 50 });
    const done = nextEvent(w, 'task:completed', 10_000);
    await submit(db().pool, { task: 'w.poll', namespace: 'w-poll' });
    await done;
  });

  it('runs higher priority first, then earlier eta', async () => {
    const order: number[] = [];
    const def = defineTask<[number]>('w.prio', (args) => {
      order.push(args[0]);
    });
    const past = (s: number) => new Date(Date.now() - s * 1000);
    await submitMany(db().pool, [
      { task: 'w.prio', namespace: 'w-prio', args: [3], priority: 0, eta: past(30) },
      { task: 'w.prio', namespace: 'w-prio', args: [1], priority: 10, eta: past(10) },
      { task: 'w.prio', namespace: 'w-prio', args: [2], priority: 10, eta: past(5) },
      { task: 'w.prio', namespace: 'w-prio', args: [5], priority: -5, eta: past(60) },
      { task: 'w.prio', namespace: 'w-prio', args: [4], priority: 0, eta: past(20) },
    ]);
    await startWorker([def], { namespaces: ['w-prio'], concurrency: 1 });
    await waitFor(() => order.length === 5);
    expect(order).toEqual([1, 2, 3, 4, 5]);
  });

  it('never claims tasks of other namespaces or of names it has no handler for', async () => {
    const def = defineTask('w.iso', () => 'mine');
    const w = await startWorker([def], { namespaces: ['w-iso'] });
    const other = await submit(db().pool, { task: 'w.iso', namespace: 'w-iso-other' });
    const unknown = await submit(db().pool, { task: 'w.unknown', namespace: 'w-iso' });
    const done = nextEvent(w, 'task:completed');
    const mine = await submit(db().pool, { task: 'w.iso', namespace: 'w-iso' });
    await done;
    expect(await statusOf(mine.task.uid)).toBe('done');
    expect(await statusOf(other.task.uid)).toBe('scheduled');
    expect(await statusOf(unknown.task.uid)).toBe('scheduled');
  });

  it('retries a failing task with backoff and records the error', async () => {
    let calls = 0;
    const def = defineTask('w.flaky', () => {
      calls++;
      throw Object.assign(new Error('boom'), { payload: { code: 42 } });
    });
    const w = await startWorker([def], { namespaces: ['w-flaky'] });
    const failed = nextEvent<{ status: string; error: { class: string; message: string; payload: unknown } }>(w, 'task:failed');
    const { task } = await submit(db().pool, { task: 'w.flaky', namespace: 'w-flaky', maxRetries: 2, errorEtaInc: 60, errorEtaMax: 60 });
    const ev = await failed;
    expect(ev.status).toBe('retry');
    expect(ev.error).toMatchObject({ class: 'Error', message: 'boom', payload: { code: 42 } });
    const stored = await getTask(db().pool, task.uid);
    expect(stored.status).toBe('retry');
    expect(stored.eta.getTime() - Date.now()).toBeGreaterThan(45_000);
    expect(stored.error?.stack).toContain('boom');
    expect(calls).toBe(1);
  });

  it('a NonRetryableError fails at once, whatever retries remain', async () => {
    const def = defineTask('w.fatal', () => {
      throw new NonRetryableError('bad input');
    });
    const w = await startWorker([def], { namespaces: ['w-fatal'] });
    const failed = nextEvent<{ status: string }>(w, 'task:failed');
    const { task } = await submit(db().pool, { task: 'w.fatal', namespace: 'w-fatal', maxRetries: 10 });
    expect((await failed).status).toBe('error');
    expect((await getTask(db().pool, task.uid)).error).toMatchObject({ class: 'NonRetryableError', message: 'bad input' });
  });

  it('aborts a handler past its timeout and fails the attempt with reason timeout', async () => {
    let abortedWith: unknown;
    const def = defineTask(
      'w.slow',
      (_a, _k, ctx) =>
        new Promise((_, reject) =>
          ctx.signal.addEventListener('abort', () => {
            abortedWith = ctx.signal.reason;
            reject(ctx.signal.reason);
          }),
        ),
      { timeoutSeconds: 1 },
    );
    const w = await startWorker([def], { namespaces: ['w-slow'] });
    const failed = nextEvent<{ status: string; error: { reason?: string } }>(w, 'task:failed');
    await def.submit(db().pool, { namespace: 'w-slow', maxRetries: 0 });
    const ev = await failed;
    expect(ev.status).toBe('error');
    expect(ev.error.reason).toBe('timeout');
    expect(abortedWith).toMatchObject({ reason: 'timeout' });
  });

  it('cancels a running task through its AbortSignal at the next heartbeat', async () => {
    const def = defineTask(
      'w.cancel',
      (_a, _k, ctx) => new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason))),
    );
    // leaseSeconds 1 → a heartbeat about every 333 ms.
    const w = await startWorker([def], { namespaces: ['w-cancel'], leaseSeconds: 1 });
    const claimed = nextEvent<{ task: { uid: string } }>(w, 'task:claimed');
    const { task } = await def.submit(db().pool, { namespace: 'w-cancel' });
    await claimed;
    const failed = nextEvent<{ status: string; error: { reason?: string } }>(w, 'task:failed');
    expect((await cancel(db().pool, task.uid)).cancelRequested).toBe(true);
    const ev = await failed;
    expect(ev.status).toBe('cancelled');
    expect(ev.error.reason).toBe('cancelled');
    expect(await statusOf(task.uid)).toBe('cancelled');
  });

  it('a worker that lost its lease discards its outcome, and the newer owner’s result stands', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const def = defineTask('w.stale', async (_a, _k, ctx) => {
      if (ctx.attempt === 1) await gate;
      return `attempt ${ctx.attempt}`;
    });
    // A long lease and no heartbeat effect within the test: we expire it by hand.
    const stale = await startWorker([def], { namespaces: ['w-stale'], leaseSeconds: 600, maintenance: false });
    const claimed = nextEvent(stale, 'task:claimed');
    const { task } = await def.submit(db().pool, { namespace: 'w-stale', errorEtaInc: 1, errorEtaMax: 1 });
    await claimed;
    // The first worker hangs; its lease runs out and the task is rescued and re-run elsewhere.
    await db().pool.query("update tasks set lease_expires_at = now() - interval '1 second' where uid = $1", [task.uid]);
    const fresh = await startWorker([def], { namespaces: ['w-other-ns'], maintenance: true, workerId: 'rescuer' });
    await fresh.runMaintenance();
    await db().pool.query("update tasks set eta = now(), namespace = 'w-other-ns' where uid = $1", [task.uid]);
    const done = nextEvent<{ result: unknown }>(fresh, 'task:completed');
    await fresh.runMaintenance();
    // Nudge the second worker: its poll interval is short anyway.
    expect((await done).result).toBe('attempt 2');
    const lost = nextEvent<{ reason: string }>(stale, 'task:lease-lost');
    release();
    expect((await lost).reason).toMatch(/Lease lost|no longer held/);
    const final = await getTask(db().pool, task.uid);
    expect(final).toMatchObject({ status: 'done', result: 'attempt 2', workerId: 'rescuer', attempts: 2 });
  });

  describe('graceful shutdown', () => {
    it('waits for running tasks that finish within the grace period', async () => {
      let release!: () => void;
      const gate = new Promise<void>((r) => {
        release = r;
      });
      const def = defineTask('w.grace', async () => {
        await gate;
        return 'finished';
      });
      const w = await startWorker([def], { namespaces: ['w-grace'], shutdownGraceMs: 30_000 });
      const claimed = nextEvent(w, 'task:claimed');
      const { task } = await def.submit(db().pool, { namespace: 'w-grace' });
      await claimed;
      const stopping = w.stop();
      expect(w.status).toBe('stopping');
      // Submitted during shutdown: must not be claimed.
      const late = await def.submit(db().pool, { namespace: 'w-grace' });
      release();
      await stopping;
      expect(w.status).toBe('stopped');
      expect(await statusOf(task.uid)).toBe('done');
      expect(await statusOf(late.task.uid)).toBe('scheduled');
    });

    it('returns tasks still running after the grace period to the queue without using a retry', async () => {
      const def = defineTask(
        'w.stuck',
        (_a, _k, ctx) => new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason))),
      );
      const w = await startWorker([def], { namespaces: ['w-stuck'], shutdownGraceMs: 200 });
      const claimed = nextEvent(w, 'task:claimed');
      const { task } = await def.submit(db().pool, { namespace: 'w-stuck' });
      await claimed;
      const released = nextEvent(w, 'task:released');
      await w.stop();
      await released;
      const t = await getTask(db().pool, task.uid);
      expect(t).toMatchObject({ status: 'scheduled', attempts: 0 });
      expect(t.eta.getTime()).toBeLessThanOrEqual(Date.now() + 1000);
    });
  });

  it('keeps running when an event listener throws', async () => {
    const def = defineTask('w.listener', () => 'ok');
    const w = await startWorker([def], { namespaces: ['w-listener'] });
    w.on('task:claimed', () => {
      throw new Error('buggy listener');
    });
    const done = nextEvent(w, 'task:completed');
    await def.submit(db().pool, { namespace: 'w-listener' });
    await done;
  });

  it('rejects duplicate task names and empty task lists', () => {
    const a = defineTask('w.dup', () => 1);
    const b = defineTask('w.dup', () => 2);
    expect(() => new Worker({ pool: db().pool, tasks: [a, b] })).toThrow(/defined twice/);
    expect(() => new Worker({ pool: db().pool, tasks: [] })).toThrow(/at least one/);
    expect(() => defineTask('bad name', () => 1)).toThrow(/invalid task name/);
  });
});
