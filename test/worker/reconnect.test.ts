import type { ChildProcess } from 'node:child_process';
import type { EventEmitter } from 'node:events';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, type Database } from '../../src/db/client.ts';
import { isConnectionError } from '../../src/db/connection-errors.ts';
import { withTransaction } from '../../src/db/transaction.ts';
import { claim, getTask, submit } from '../../src/queue/index.ts';
import { createSchedule } from '../../src/scheduler/manage.ts';
import { Scheduler } from '../../src/scheduler/scheduler.ts';
import type { NotifierEvents } from '../../src/worker/notifier.ts';
import { defineTask } from '../../src/worker/registry.ts';
import { Worker } from '../../src/worker/worker.ts';
import { collect, spawnCli, waitForOutput } from '../helpers/cli.ts';
import { type RestartablePostgres, startRestartablePostgres } from '../helpers/restartable-postgres.ts';
import { nextEvent, waitFor } from '../helpers/wait.ts';

/**
 * The database goes away under running processes: `pg_ctl restart` (fast: backends get 57P01;
 * immediate: they are killed, the server replays its WAL) and pg_terminate_backend of every one
 * of our connections. The processes must survive all of it and carry on by themselves. Runs on a
 * server of its own: the suite's shared server must never be restarted.
 */

const TASKS_MODULE = fileURLToPath(new URL('../fixtures/tasks-module.ts', import.meta.url));
/** Far beyond every deadline below: a task claimed in time was claimed through NOTIFY, not a poll. */
const NO_POLL_MS = 600_000;

let server: RestartablePostgres;
let database: Database;

beforeAll(async () => {
  server = await startRestartablePostgres();
  database = createDatabase({ url: server.url, max: 8 });
});

afterAll(async () => {
  await database?.close();
  await server?.stop();
});

/** A handler that runs until the test lets it finish, and says whether its signal was ever aborted. */
function gatedTask(name: string) {
  let open: (() => void) | undefined;
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  let aborted = false;
  const def = defineTask(name, async (_args, _kwargs, ctx) => {
    ctx.signal.addEventListener('abort', () => {
      aborted = true;
    });
    await gate;
    return 'finished';
  });
  return { def, open: () => open?.(), aborted: () => aborted };
}

/** Backends of LISTEN connections that have run their LISTEN. */
const listenerPids = async () =>
  (
    await server.query<{ pid: number }>(
      "select pid from pg_stat_activity where datname = 'eventix' and application_name = 'eventix-listener' and query ilike 'listen%'",
    )
  ).map((r) => r.pid);

const listenerBackends = async () => (await listenerPids()).length;

describe('a worker, a scheduler and maintenance when the database restarts or its connections are killed', () => {
  const workers: Worker[] = [];
  const schedulers: Scheduler[] = [];
  const pools: pg.Pool[] = [];
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop()));
    await Promise.all(schedulers.splice(0).map((s) => s.stop()));
    await Promise.all(pools.splice(0).map((p) => p.end()));
  });

  for (const mode of ['fast', 'immediate'] as const) {
    it(`pg_ctl restart -m ${mode}: everything keeps running, the handler completes, LISTEN reconnects, new tasks are claimed through NOTIFY`, async () => {
      const ns = `restart-${mode}`;
      const long = gatedTask(`r.long.${mode}`);
      const quick = defineTask(`r.quick.${mode}`, () => 'quick');
      const worker = new Worker({
        pool: database.pool,
        tasks: [long.def, quick],
        namespaces: [ns],
        pollIntervalMs: NO_POLL_MS,
        leaseSeconds: 3,
        maintenanceIntervalMs: 200,
        shutdownGraceMs: 1000,
      });
      workers.push(worker);
      const errors: string[] = [];
      worker.on('worker:error', (e) => errors.push(e.during));
      const rescued: string[] = [];
      worker.on('maintenance:rescued', (rows) => rescued.push(...rows.map((r) => r.uid)));
      await worker.start();
      const notifier = (worker as unknown as { notifier: EventEmitter<NotifierEvents> }).notifier;

      // A scheduler on a pool made by hand, without createDatabase's per-client error listener: its
      // transactions must survive a connection dying while checked out (see connectClient).
      const rawPool = new pg.Pool({ connectionString: server.url, max: 2 });
      rawPool.on('error', () => {});
      pools.push(rawPool);
      await createSchedule(database.pool, {
        name: `every-second-${mode}`,
        cron: '* * * * * *',
        task: 'r.fired',
        namespace: `sched-${mode}`,
      });
      const scheduler = new Scheduler({ pool: rawPool, intervalMs: 100 });
      schedulers.push(scheduler);
      scheduler.start();

      const claimed = nextEvent<{ task: { uid: string } }>(worker, 'task:claimed');
      const { task: longTask } = await submit(database.pool, { task: long.def.name, namespace: ns });
      expect((await claimed).task.uid).toBe(longTask.uid);

      const reconnected = nextEvent<{ downMs: number | null }>(notifier, 'listen:connected', 30_000);
      await server.restart(mode);
      const restartedAt = new Date();
      const { downMs } = await reconnected;
      expect(downMs).toBeGreaterThanOrEqual(0);
      expect(errors).toContain('listen');
      expect(worker.status).toBe('running');
      expect(worker.active).toBe(1);

      // The handler ran through the restart; its completion is recorded under the same lease.
      const completed = nextEvent<{ task: { uid: string } }>(worker, 'task:completed', 20_000);
      long.open();
      expect((await completed).task.uid).toBe(longTask.uid);
      expect(long.aborted()).toBe(false);
      expect(await getTask(database.pool, longTask.uid)).toMatchObject({ status: 'done', attempts: 1, result: 'finished' });

      // Submitted after the restart, claimed long before any poll: the NOTIFY reached the new LISTEN.
      const quickDone = nextEvent<{ task: { uid: string } }>(worker, 'task:completed', 10_000);
      const { task: quickTask } = await submit(database.pool, { task: quick.name, namespace: ns });
      expect((await quickDone).task.uid).toBe(quickTask.uid);

      // The scheduler kept ticking through the errors and fires again.
      await waitFor(
        async () =>
          ((
            await database.pool.query('select 1 from schedule_fires where schedule_name = $1 and created_at > $2', [
              `every-second-${mode}`,
              restartedAt,
            ])
          ).rowCount ?? 0) > 0,
        { timeoutMs: 10_000, message: 'a fire recorded after the restart' },
      );
      expect(scheduler.status).toBe('running');

      // Maintenance kept its timer: a lease that expires after the restart is rescued.
      const { task: ghostTask } = await submit(database.pool, { task: 'r.ghost', namespace: `ghost-${mode}` });
      await claim(database.pool, { workerId: 'ghost', namespaces: [`ghost-${mode}`], tasks: ['r.ghost'], limit: 1, leaseSeconds: 1 });
      await waitFor(() => rescued.includes(ghostTask.uid), { timeoutMs: 15_000, message: 'the expired lease rescued' });
    });
  }

  it('a transaction whose connection is killed between two statements fails, the process survives, the client is discarded', async () => {
    // A pool made by hand: no createDatabase per-client listener, only withTransaction's own.
    const rawPool = new pg.Pool({ connectionString: server.url, max: 1 });
    rawPool.on('error', () => {});
    pools.push(rawPool);
    let killedPid = 0;
    const failure = await withTransaction(rawPool, async (client) => {
      killedPid = (await client.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]?.pid as number;
      await server.query('select pg_terminate_backend($1)', [killedPid]);
      // Idle between statements when the FATAL arrives: pg emits 'error' on the client, which
      // without a listener would end the process (this file, here).
      await waitFor(async () => {
        try {
          await client.query('select 1');
          return false;
        } catch {
          return true;
        }
      });
      await client.query('select 1');
    }).catch((err: unknown) => err);
    expect(isConnectionError(failure)).toBe(true);
    // The next transaction gets a new connection, not the dead one.
    const pid = await withTransaction(
      rawPool,
      async (client) => (await client.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]?.pid,
    );
    expect(pid).not.toBe(killedPid);
  });

  it('a handler that finishes while the database is down: its completion is retried and recorded once it is back', async () => {
    const ns = 'down-complete';
    const long = gatedTask('r.long.down');
    const worker = new Worker({ pool: database.pool, tasks: [long.def], namespaces: [ns], leaseSeconds: 5, shutdownGraceMs: 1000 });
    workers.push(worker);
    const during: string[] = [];
    worker.on('worker:error', (e) => during.push(e.during));
    await worker.start();
    const claimed = nextEvent(worker, 'task:claimed');
    const { task } = await submit(database.pool, { task: long.def.name, namespace: ns });
    await claimed;

    // Listening from before the outage: the completion may land before pg_ctl start returns.
    const completed = nextEvent<{ task: { uid: string } }>(worker, 'task:completed', 30_000);
    await server.shutdown('fast');
    try {
      long.open();
      await waitFor(() => during.includes('complete (will retry)'), { message: 'a completion attempted while the database is down' });
    } finally {
      await server.start();
    }
    expect((await completed).task.uid).toBe(task.uid);
    // Recorded under the first attempt's lease: not failed, not rescued, not run again.
    expect(await getTask(database.pool, task.uid)).toMatchObject({ status: 'done', attempts: 1, result: 'finished' });
    expect(long.aborted()).toBe(false);
  });

  it('pg_terminate_backend of every eventix connection, the LISTEN one included: the worker survives and reconnects', async () => {
    const ns = 'terminate';
    const long = gatedTask('r.long.terminate');
    const quick = defineTask('r.quick.terminate', () => 'quick');
    const worker = new Worker({
      pool: database.pool,
      tasks: [long.def, quick],
      namespaces: [ns],
      pollIntervalMs: NO_POLL_MS,
      leaseSeconds: 3,
      shutdownGraceMs: 1000,
    });
    workers.push(worker);
    await worker.start();
    const notifier = (worker as unknown as { notifier: EventEmitter<NotifierEvents> }).notifier;
    const claimed = nextEvent(worker, 'task:claimed');
    const { task: longTask } = await submit(database.pool, { task: long.def.name, namespace: ns });
    await claimed;

    const lost = nextEvent<{ error: Error }>(notifier, 'listen:lost');
    const reconnected = nextEvent(notifier, 'listen:connected', 30_000);
    const killed = await server.terminate('eventix%');
    expect(killed['eventix-listener']).toBe(1);
    expect((await lost).error).toMatchObject({ code: '57P01' });
    await reconnected;
    expect(await listenerBackends()).toBe(1);

    const completed = nextEvent<{ task: { uid: string } }>(worker, 'task:completed', 20_000);
    long.open();
    expect((await completed).task.uid).toBe(longTask.uid);
    const quickDone = nextEvent<{ task: { uid: string } }>(worker, 'task:completed', 10_000);
    const { task: quickTask } = await submit(database.pool, { task: quick.name, namespace: ns });
    expect((await quickDone).task.uid).toBe(quickTask.uid);
    expect(worker.status).toBe('running');
  });
});

describe('`eventix worker` in a process of its own', () => {
  let child: ChildProcess | undefined;
  afterEach(() => {
    if (child?.exitCode === null) child.kill('SIGKILL');
  });

  it('survives pg_ctl restart (fast, then immediate) and pg_terminate_backend, still running and claiming through NOTIFY', async () => {
    const ns = 'cli-restart';
    child = spawnCli(['worker', '--tasks', TASKS_MODULE, '--namespace', ns, '--poll-interval-ms', String(NO_POLL_MS)], {
      DATABASE_URL: server.url,
    });
    const exited = collect(child);
    await waitForOutput(child, /Eventix worker \S+ running/);

    const runOne = async (word: string) => {
      const { task } = await submit(database.pool, { task: 'cli.greet', args: [word], namespace: ns });
      await waitFor(async () => (await getTask(database.pool, task.uid)).status === 'done', {
        timeoutMs: 10_000,
        message: `task submitted after '${word}' done`,
      });
    };
    await runOne('before');
    // The process runs several workers (the tasks worker, the built-in benchmark workers) over one
    // shared LISTEN connection. (With one per worker, their number varied while they reconnected.)
    expect(await listenerPids()).toHaveLength(1);
    for (const outage of ['fast', 'immediate', 'terminate'] as const) {
      const before = await listenerPids();
      if (outage === 'terminate') await server.terminate('eventix%');
      else await server.restart(outage);
      // The LISTEN connection is back, on a new backend: from here on only a NOTIFY can wake the idle worker in time.
      await waitFor(
        async () => {
          const now = await listenerPids();
          return now.length === 1 && now.every((pid) => !before.includes(pid));
        },
        { timeoutMs: 20_000, message: `LISTEN back after ${outage}` },
      );
      await runOne(outage);
      expect(await listenerPids(), `one LISTEN after ${outage}`).toHaveLength(1);
      expect(child.exitCode, `exited after ${outage}`).toBeNull();
    }
    child.kill('SIGINT');
    const r = await exited;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/Unhandled 'error' event/);
    expect(r.stdout).toContain('Eventix worker stopped');
  });
});
