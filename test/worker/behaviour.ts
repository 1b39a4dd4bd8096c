import { afterEach, describe, expect, it } from 'vitest';
import { NonRetryableError } from '../../src/errors.ts';
import { cancel, getTask, rescueExpired, submit } from '../../src/queue/index.ts';
import { AttemptAborted } from '../../src/worker/attempt-aborted.ts';
import { defineTask, type TaskDefinition } from '../../src/worker/registry.ts';
import { nextEvent, waitFor } from '../helpers/wait.ts';
import { type BehaviourOptions, type BehaviourWorker, gate, hang, type WorkerBackend } from './behaviour-backend.ts';
import { describeLifecycleBehaviour } from './behaviour-lifecycle.ts';

export type { BehaviourOptions, BehaviourWorker, WorkerBackend } from './behaviour-backend.ts';

/**
 * The behaviour the library Worker (SQL) and the RemoteWorker (HTTP) share through WorkerCore,
 * tested once against each: test/worker/worker.test.ts and test/client/remote-worker.test.ts call
 * describeWorkerBehaviour with their backend. What only one backend does (claim batching and
 * buffer release in SQL; long-poll and report retries in HTTP) stays in its file.
 */

export function describeWorkerBehaviour(backend: WorkerBackend): void {
  describe(`worker behaviour (${backend.name} backend)`, () => {
    const db = backend.db;
    const workers: BehaviourWorker[] = [];
    afterEach(async () => {
      await Promise.all(workers.splice(0).map((w) => w.stop()));
    });

    function create(tasks: TaskDefinition[], opts: BehaviourOptions): BehaviourWorker {
      const w = backend.create(tasks, opts);
      workers.push(w);
      return w;
    }

    async function startWorker(tasks: TaskDefinition[], opts: BehaviourOptions): Promise<BehaviourWorker> {
      const w = create(tasks, opts);
      await w.start();
      return w;
    }

    const statusOf = async (uid: string) => (await getTask(db().pool, uid)).status;

    it('runs a task with args, kwargs and context, stores the result and emits events in order', async () => {
      const seen: unknown[] = [];
      const def = defineTask<[number, number], { op: string }>('b.add', async (args, kwargs, ctx) => {
        seen.push({ args, kwargs, attempt: ctx.attempt, uid: ctx.uid, namespace: ctx.namespace, aborted: ctx.signal.aborted });
        return args[0] + args[1];
      });
      const w = await startWorker([def], { namespace: 'b-basic' });
      expect(w.status).toBe('running');
      const events: string[] = [];
      w.on('task:claimed', () => events.push('claimed'));
      const completed = nextEvent<{ result: unknown; durationMs: number }>(w, 'task:completed');
      // Submitted after the worker's first claim came back empty.
      const { task } = await def.submit(db().pool, { args: [2, 3], kwargs: { op: 'add' }, namespace: 'b-basic' });
      const ev = await completed;
      expect(ev.result).toBe(5);
      expect(ev.durationMs).toBeGreaterThanOrEqual(0);
      events.push('completed');
      expect(events).toEqual(['claimed', 'completed']);
      expect(seen).toEqual([{ args: [2, 3], kwargs: { op: 'add' }, attempt: 1, uid: task.uid, namespace: 'b-basic', aborted: false }]);
      expect(await getTask(db().pool, task.uid)).toMatchObject({ status: 'done', result: 5, attempts: 1, workerId: w.workerId });
    });

    it('never claims tasks of other namespaces or of names it has no handler for', async () => {
      const def = defineTask('b.iso', () => 'mine');
      const w = await startWorker([def], { namespace: 'b-iso' });
      const other = await submit(db().pool, { task: 'b.iso', namespace: 'b-iso-other' });
      const unknown = await submit(db().pool, { task: 'b.unknown', namespace: 'b-iso' });
      const done = nextEvent(w, 'task:completed');
      const mine = await submit(db().pool, { task: 'b.iso', namespace: 'b-iso' });
      await done;
      expect(await statusOf(mine.task.uid)).toBe('done');
      expect(await statusOf(other.task.uid)).toBe('scheduled');
      expect(await statusOf(unknown.task.uid)).toBe('scheduled');
    });

    it('retries a failing task with backoff and records the error with its stack and payload', async () => {
      let calls = 0;
      const def = defineTask('b.flaky', () => {
        calls++;
        throw Object.assign(new Error('boom'), { payload: { code: 42 } });
      });
      const w = await startWorker([def], { namespace: 'b-flaky' });
      const failed = nextEvent<{ status: string; error: { class: string; message: string; payload: unknown } }>(w, 'task:failed');
      const { task } = await submit(db().pool, { task: 'b.flaky', namespace: 'b-flaky', maxRetries: 2, errorEtaInc: 60, errorEtaMax: 60 });
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
      const def = defineTask('b.again', (_a, _k, ctx) => {
        attempts.push(ctx.attempt);
        if (ctx.attempt < 3) throw new Error(`attempt ${ctx.attempt} fails`);
        return 'third time lucky';
      });
      const w = await startWorker([def], { namespace: 'b-again' });
      const { task } = await submit(db().pool, { task: 'b.again', namespace: 'b-again', maxRetries: 5, errorEtaInc: 1, errorEtaMax: 1 });
      // Backoff is whole seconds: pull each retry forward instead of waiting.
      w.on('task:failed', () => void db().pool.query('update tasks set eta = now() where uid = $1', [task.uid]));
      await waitFor(async () => (await statusOf(task.uid)) === 'done', { timeoutMs: 15_000 });
      expect(attempts).toEqual([1, 2, 3]);
      expect(await getTask(db().pool, task.uid)).toMatchObject({ result: 'third time lucky', attempts: 3 });
    });

    it('a NonRetryableError fails at once, whatever retries remain', async () => {
      const def = defineTask('b.fatal', () => {
        throw new NonRetryableError('bad input');
      });
      const w = await startWorker([def], { namespace: 'b-fatal' });
      const failed = nextEvent<{ status: string }>(w, 'task:failed');
      const { task } = await submit(db().pool, { task: 'b.fatal', namespace: 'b-fatal', maxRetries: 10 });
      expect((await failed).status).toBe('error');
      expect((await getTask(db().pool, task.uid)).error).toMatchObject({ class: 'NonRetryableError', message: 'bad input' });
    });

    it('aborts a handler past its timeout and fails the attempt with reason timeout', async () => {
      let abortedWith: unknown;
      const def = defineTask(
        'b.slow',
        (_a, _k, ctx) =>
          new Promise((_, reject) =>
            ctx.signal.addEventListener('abort', () => {
              abortedWith = ctx.signal.reason;
              reject(ctx.signal.reason);
            }),
          ),
        { timeoutSeconds: 1 },
      );
      const w = await startWorker([def], { namespace: 'b-slow' });
      const failed = nextEvent<{ status: string; error: { reason?: string } }>(w, 'task:failed');
      const { task } = await def.submit(db().pool, { namespace: 'b-slow', maxRetries: 0 });
      const ev = await failed;
      expect(ev.status).toBe('error');
      expect(ev.error.reason).toBe('timeout');
      expect(abortedWith).toBeInstanceOf(AttemptAborted);
      expect(abortedWith).toMatchObject({ reason: 'timeout' });
      expect((await getTask(db().pool, task.uid)).error).toMatchObject({ class: 'TaskTimeout', reason: 'timeout' });
    });

    it('a handler that ignores its signal still cannot outlive its timeout', async () => {
      const def = defineTask('b.deaf', () => new Promise(() => {}), { timeoutSeconds: 1 });
      const w = await startWorker([def], { namespace: 'b-deaf' });
      const failed = nextEvent<{ status: string }>(w, 'task:failed');
      await def.submit(db().pool, { namespace: 'b-deaf', maxRetries: 0 });
      expect((await failed).status).toBe('error');
      await waitFor(() => w.active === 0);
    });

    it('cancels a running task through its AbortSignal at the next heartbeat; the task ends cancelled', async () => {
      let abortedWith: unknown;
      const def = defineTask('b.cancel', (_a, _k, ctx) => {
        ctx.signal.addEventListener('abort', () => {
          abortedWith = ctx.signal.reason;
        });
        return hang(_a, _k, ctx);
      });
      const w = await startWorker([def], { namespace: 'b-cancel', fastHeartbeat: true });
      const claimed = nextEvent<{ task: { uid: string } }>(w, 'task:claimed');
      const { task } = await def.submit(db().pool, { namespace: 'b-cancel' });
      await claimed;
      const failed = nextEvent<{ status: string; error: { reason?: string } }>(w, 'task:failed');
      expect((await cancel(db().pool, task.uid)).cancelRequested).toBe(true);
      const ev = await failed;
      expect(ev.status).toBe('cancelled');
      expect(ev.error.reason).toBe('cancelled');
      expect(abortedWith).toMatchObject({ reason: 'cancelled' });
      expect(await getTask(db().pool, task.uid)).toMatchObject({ status: 'cancelled', error: { reason: 'cancelled' } });
    });

    it('heartbeats keep a lease alive well past its length', async () => {
      const def = defineTask('b.long', async () => {
        await new Promise((r) => setTimeout(r, 6_500));
        return 'outlived the lease';
      });
      // A 5 s lease renewed every ~1.7 s; the rescue below would take the task at once if a renewal were missed.
      const w = await startWorker([def], { namespace: 'b-long', leaseSeconds: 5 });
      const done = nextEvent<{ result: unknown }>(w, 'task:completed', 15_000);
      const { task } = await def.submit(db().pool, { namespace: 'b-long' });
      const rescuer = setInterval(() => void rescueExpired(db().pool).catch(() => {}), 200);
      try {
        expect((await done).result).toBe('outlived the lease');
      } finally {
        clearInterval(rescuer);
      }
      expect(await getTask(db().pool, task.uid)).toMatchObject({ status: 'done', attempts: 1 });
    });

    it('a worker that lost its lease discards its outcome, and the newer owner’s result stands', async () => {
      const first = gate();
      const def = defineTask('b.stale', async (_a, _k, ctx) => {
        if (ctx.attempt === 1) await first.wait;
        return `attempt ${ctx.attempt}`;
      });
      // A long lease, and heartbeats far apart: we expire it by hand.
      const stale = await startWorker([def], { namespace: 'b-stale', leaseSeconds: 600 });
      const claimed = nextEvent(stale, 'task:claimed');
      const { task } = await def.submit(db().pool, { namespace: 'b-stale', errorEtaInc: 1, errorEtaMax: 1 });
      await claimed;
      // The first worker hangs; its lease runs out, the task is rescued and re-run by another worker.
      await db().pool.query("update tasks set lease_expires_at = now() - interval '1 second' where uid = $1", [task.uid]);
      expect(await rescueExpired(db().pool)).toEqual([{ uid: task.uid, status: 'retry' }]);
      await db().pool.query("update tasks set eta = now(), namespace = 'b-stale-2' where uid = $1", [task.uid]);
      const fresh = await startWorker([def], { namespace: 'b-stale-2', workerId: 'rescuer' });
      expect((await nextEvent<{ result: unknown }>(fresh, 'task:completed')).result).toBe('attempt 2');

      const lost = nextEvent<{ reason: string }>(stale, 'task:lease-lost');
      let staleCompleted = false;
      stale.on('task:completed', () => {
        staleCompleted = true;
      });
      first.open();
      expect((await lost).reason).toMatch(backend.reasons.reportRefused);
      expect(staleCompleted).toBe(false);
      expect(await getTask(db().pool, task.uid)).toMatchObject({ status: 'done', result: 'attempt 2', workerId: 'rescuer', attempts: 2 });
    });

    it('a heartbeat that finds another owner aborts the handler with reason lease_lost and reports nothing', async () => {
      let abortedWith: unknown;
      const def = defineTask('b.taken', (_a, _k, ctx) => {
        ctx.signal.addEventListener('abort', () => {
          abortedWith = ctx.signal.reason;
        });
        return hang(_a, _k, ctx);
      });
      const w = await startWorker([def], { namespace: 'b-taken', fastHeartbeat: true });
      let failed = false;
      w.on('task:failed', () => {
        failed = true;
      });
      const claimed = nextEvent(w, 'task:claimed');
      const { task } = await def.submit(db().pool, { namespace: 'b-taken' });
      await claimed;
      const lost = nextEvent<{ reason: string }>(w, 'task:lease-lost');
      // Another worker now holds it (as after a rescue and a new claim), with a lease of its own.
      await db().pool.query(
        "update tasks set worker_id = 'someone-else', fencing_token = fencing_token + 1000, lease_expires_at = now() + interval '1 hour' where uid = $1",
        [task.uid],
      );
      expect((await lost).reason).toMatch(backend.reasons.heartbeatLost);
      expect(abortedWith).toMatchObject({ reason: 'lease_lost' });
      await waitFor(() => w.active === 0);
      expect(failed).toBe(false);
      expect(await getTask(db().pool, task.uid)).toMatchObject({ status: 'processing', workerId: 'someone-else' });
    });

    it('a result that cannot be stored as JSON fails its own task only', async () => {
      // Both handlers wait for each other, so they finish together.
      let started = 0;
      const both = gate();
      const def = defineTask<[string]>('b.bigint', async ([kind]) => {
        if (++started === 2) both.open();
        await both.wait;
        return kind === 'bad' ? { total: 10n } : { ok: true };
      });
      const w = await startWorker([def], { namespace: 'b-bigint', concurrency: 2 });
      const failed = nextEvent<{ status: string; error: { message: string } }>(w, 'task:failed');
      const bad = await def.submit(db().pool, { namespace: 'b-bigint', args: ['bad'], maxRetries: 0 });
      const good = await def.submit(db().pool, { namespace: 'b-bigint', args: ['good'], maxRetries: 0 });
      const ev = await failed;
      expect(ev.status).toBe('error');
      expect(ev.error.message).toMatch(backend.reasons.notJson);
      await waitFor(async () => (await statusOf(good.task.uid)) === 'done');
      expect(await getTask(db().pool, good.task.uid)).toMatchObject({ result: { ok: true }, attempts: 1 });
      expect(await getTask(db().pool, bad.task.uid)).toMatchObject({ status: 'error', result: null, attempts: 1 });
    });

    describeLifecycleBehaviour(backend, { create, startWorker, statusOf });
  });
}
