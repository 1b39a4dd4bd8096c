import type { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { claim, getTask, submit, submitMany } from '../../src/queue/index.ts';
import { defineTask, type TaskDefinition } from '../../src/worker/registry.ts';
import { Worker, type WorkerOptions } from '../../src/worker/worker.ts';
import { useTestDatabase } from '../helpers/db.ts';
import { nextEvent, waitFor } from '../helpers/wait.ts';
import { describeWorkerBehaviour } from './behaviour.ts';

/** One database for the file: the SQL-only tests below and the shared behaviour suite. */
const sharedDb = useTestDatabase();

/** What only the SQL backend does: LISTEN/NOTIFY, claim order, release on stop, maintenance. */
describe('Worker', () => {
  const db = sharedDb;
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

  it('runMaintenance() rescues expired leases now, and does nothing in a worker without maintenance', async () => {
    const def = defineTask('w.maint', () => 'ok');
    const w = await startWorker([def], { namespaces: ['w-maint'], maintenanceIntervalMs: 600_000 });
    const { task } = await submit(db().pool, { task: 'w.ghost', namespace: 'w-ghost', errorEtaInc: 60 });
    await claim(db().pool, { workerId: 'ghost', namespaces: ['w-ghost'], tasks: ['w.ghost'], limit: 1, leaseSeconds: 60 });
    await db().pool.query("update tasks set lease_expires_at = now() - interval '1 second' where uid = $1", [task.uid]);
    const without = await startWorker([def], { namespaces: ['w-maint'], maintenance: false });
    expect(await without.runMaintenance()).toEqual({ rescued: 0, pruned: 0 });
    expect(await statusOf(task.uid)).toBe('processing');
    const rescued = nextEvent<{ uid: string; status: string }[]>(w, 'maintenance:rescued');
    expect(await w.runMaintenance()).toMatchObject({ rescued: 1 });
    expect(await rescued).toEqual([{ uid: task.uid, status: 'retry' }]);
    expect(await statusOf(task.uid)).toBe('retry');
  });

  it('refuses a concurrency below 1, and defineTask a name the queue cannot store', () => {
    const a = defineTask('w.opts', () => 1);
    expect(() => new Worker({ pool: db().pool, tasks: [a], concurrency: 0 })).toThrow(/concurrency/);
    expect(() => defineTask('bad name', () => 1)).toThrow(/invalid task name/);
  });
});

describeWorkerBehaviour({
  name: 'SQL',
  db: sharedDb,
  create: (tasks, o) =>
    new Worker({
      pool: sharedDb().pool,
      tasks,
      namespaces: [o.namespace],
      concurrency: o.concurrency,
      // A 1 s lease is beaten every 333 ms.
      leaseSeconds: o.fastHeartbeat ? 1 : o.leaseSeconds,
      shutdownGraceMs: o.shutdownGraceMs ?? 5_000,
      workerId: o.workerId,
      pollIntervalMs: 100,
      maintenance: false,
    }),
  reasons: { reportRefused: /Lease lost/, heartbeatLost: /no longer held by this worker/, notJson: /must be JSON/ },
});
