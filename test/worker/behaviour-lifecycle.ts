import { describe, expect, it } from 'vitest';
import { defineTask } from '../../src/worker/registry.ts';
import { nextEvent } from '../helpers/wait.ts';
import { type BehaviourContext, gate, hang, type WorkerBackend } from './behaviour-backend.ts';

/** The lifecycle part of the shared behaviour suite (behaviour.ts): states, stop and its grace period, listeners, construction. */
export function describeLifecycleBehaviour(backend: WorkerBackend, { create, startWorker, statusOf }: BehaviourContext): void {
  const db = backend.db;

  describe('graceful shutdown', () => {
    it('waits for running tasks that finish within the grace period, and claims nothing more', async () => {
      const running = gate();
      const def = defineTask('b.grace', async () => {
        await running.wait;
        return 'finished';
      });
      const w = await startWorker([def], { namespace: 'b-grace', shutdownGraceMs: 30_000 });
      const claimed = nextEvent(w, 'task:claimed');
      const { task } = await def.submit(db().pool, { namespace: 'b-grace' });
      await claimed;
      const stopping = w.stop();
      expect(w.status).toBe('stopping');
      // Submitted during shutdown: must not be claimed.
      const late = await def.submit(db().pool, { namespace: 'b-grace' });
      running.open();
      await stopping;
      expect(w.status).toBe('stopped');
      expect(await statusOf(task.uid)).toBe('done');
      expect(await statusOf(late.task.uid)).toBe('scheduled');
    });

    it('aborts a task still running when the grace period ends, with reason shutdown, and hands it back uncounted', async () => {
      let abortedWith: unknown;
      const def = defineTask('b.stuck', (_a, _k, ctx) => {
        ctx.signal.addEventListener('abort', () => {
          abortedWith = ctx.signal.reason;
        });
        return hang(_a, _k, ctx);
      });
      const w = await startWorker([def], { namespace: 'b-stuck', shutdownGraceMs: 200 });
      let failedOrLost = false;
      w.on('task:failed', () => {
        failedOrLost = true;
      });
      w.on('task:lease-lost', () => {
        failedOrLost = true;
      });
      const claimed = nextEvent(w, 'task:claimed');
      const { task } = await def.submit(db().pool, { namespace: 'b-stuck' });
      await claimed;
      const leftover = nextEvent<{ task: { uid: string } }>(w, 'task:released');
      const stopped = nextEvent<Record<string, unknown>>(w, 'worker:stopped');
      await w.stop();
      expect((await leftover).task.uid).toBe(task.uid);
      expect(await stopped).toEqual({ workerId: w.workerId, released: 1 });
      expect(abortedWith).toMatchObject({ reason: 'shutdown' });
      // Due again at once, and the interrupted attempt given back.
      const { rows } = await db().pool.query('select status, attempts, lease_expires_at, eta <= now() as due from tasks where uid = $1', [
        task.uid,
      ]);
      expect(rows[0]).toEqual({ status: 'scheduled', attempts: 0, lease_expires_at: null, due: true });
      // The shutdown abort is not a failure of the attempt.
      expect(failedOrLost).toBe(false);
      expect(w.active).toBe(0);
    });

    it('states: created → running → stopping → stopped; a second stop() waits for the first', async () => {
      const def = defineTask('b.states', () => 1);
      const w = create([def], { namespace: 'b-states' });
      expect(w.status).toBe('created');
      await w.start();
      expect(w.status).toBe('running');
      await expect(w.start()).rejects.toThrow(/running/);
      let stoppedEvents = 0;
      w.on('worker:stopped', () => stoppedEvents++);
      const a = w.stop();
      const b = w.stop();
      expect(w.status).toBe('stopping');
      await b;
      // The second call resolves only once the first has finished the work.
      expect(w.status).toBe('stopped');
      await a;
      await w.stop();
      expect(stoppedEvents).toBe(1);
      const never = create([def], { namespace: 'b-states' });
      await never.stop();
      expect(never.status).toBe('stopped');
      await expect(never.start()).rejects.toThrow(/stopped/);
    });
  });

  it('keeps running when an event listener throws', async () => {
    const def = defineTask('b.listener', () => 'ok');
    const w = await startWorker([def], { namespace: 'b-listener' });
    w.on('task:claimed', () => {
      throw new Error('buggy listener');
    });
    const done = nextEvent(w, 'task:completed');
    await def.submit(db().pool, { namespace: 'b-listener' });
    await done;
  });

  it('rejects duplicate task names and empty task lists', () => {
    const a = defineTask('b.dup', () => 1);
    const b = defineTask('b.dup', () => 2);
    expect(() => backend.create([a, b], { namespace: 'b-dup' })).toThrow(/defined twice/);
    expect(() => backend.create([], { namespace: 'b-dup' })).toThrow(/at least one/);
  });
}
