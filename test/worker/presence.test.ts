import { hostname } from 'node:os';
import { Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, type Database } from '../../src/db/client.ts';
import { createLogger, silentLogger } from '../../src/logger.ts';
import { VERSION } from '../../src/version.ts';
import { Maintenance } from '../../src/worker/maintenance.ts';
import { WorkerPresence } from '../../src/worker/presence.ts';
import { defineTask } from '../../src/worker/registry.ts';
import { Worker, type WorkerOptions } from '../../src/worker/worker.ts';
import { useTestDatabase } from '../helpers/db.ts';
import { type RestartablePostgres, startRestartablePostgres } from '../helpers/restartable-postgres.ts';
import { nextEvent, waitFor } from '../helpers/wait.ts';

/**
 * Worker presence: a running Worker keeps a row in `workers` (src/worker/presence.ts), refreshed
 * on a timer and deleted on stop, so the dashboard lists idle workers too; maintenance deletes
 * the rows of workers that died without stopping. A database outage must cost the row its
 * freshness, never the process.
 */

interface PresenceRow {
  id: string;
  host: string;
  pid: number;
  namespaces: string[];
  tasks: string[];
  concurrency: number;
  version: string;
  started_at: Date;
  last_seen_at: Date;
}

describe('worker presence', () => {
  const db = useTestDatabase();
  const workers: Worker[] = [];
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop()));
  });

  const rowOf = async (id: string) => (await db().pool.query<PresenceRow>('select * from workers where id = $1', [id])).rows[0];

  async function startWorker(opts: Partial<WorkerOptions> = {}): Promise<Worker> {
    const w = new Worker({
      pool: db().pool,
      tasks: [defineTask('p.send', () => 1), defineTask('p.resize', () => 2)],
      namespaces: ['p-mail', 'p-media'],
      concurrency: 5,
      listen: false,
      maintenance: false,
      pollIntervalMs: 100,
      ...opts,
    });
    workers.push(w);
    await w.start();
    return w;
  }

  it('a started worker has its row at once, with namespaces, tasks and concurrency; last_seen_at advances; stop() deletes it', async () => {
    const w = await startWorker({ presenceIntervalMs: 50 });
    // start() resolves after the first upsert: no waiting needed.
    const first = await rowOf(w.workerId);
    expect(first).toMatchObject({
      host: hostname(),
      pid: process.pid,
      namespaces: ['p-mail', 'p-media'],
      tasks: ['p.send', 'p.resize'],
      concurrency: 5,
      version: VERSION,
    });
    expect(first!.started_at.getTime()).toBeLessThanOrEqual(first!.last_seen_at.getTime());

    // Refreshed on its timer while the worker idles: last_seen_at moves on, started_at stays.
    const later = await waitFor(
      async () => {
        const r = await rowOf(w.workerId);
        return r && r.last_seen_at > first!.last_seen_at ? r : undefined;
      },
      { timeoutMs: 10_000, message: 'last_seen_at advanced' },
    );
    expect(later.started_at).toEqual(first!.started_at);

    await w.stop();
    expect(await rowOf(w.workerId)).toBeUndefined();
  });

  it('with presence: false a worker writes no row', async () => {
    const w = await startWorker({ presence: false, namespaces: ['p-off'] });
    // A worker with presence on has its row by the time start() resolves (above); this one has none.
    expect(await rowOf(w.workerId)).toBeUndefined();
    expect(w.status).toBe('running');
  });

  it('refuses an interval that would make a healthy worker look quiet on the dashboard', () => {
    const make = (presenceIntervalMs: number) => new Worker({ pool: db().pool, tasks: [defineTask('p.x', () => 1)], presenceIntervalMs });
    expect(() => make(0)).toThrow(RangeError);
    expect(() => make(60_000)).toThrow(/at most 30000/);
  });

  it('a restarted process with the same worker id gets a fresh started_at', async () => {
    await db().pool.query(
      `insert into workers (id, started_at, last_seen_at) values ('p-fixed', now() - interval '3 hours', now() - interval '2 hours')`,
    );
    const w = await startWorker({ workerId: 'p-fixed', namespaces: ['p-fixed'] });
    const row = await rowOf('p-fixed');
    expect(Date.now() - row!.started_at.getTime()).toBeLessThan(60_000);
    expect(row).toMatchObject({ namespaces: ['p-fixed'], pid: process.pid });
    await w.stop();
    expect(await rowOf('p-fixed')).toBeUndefined();
  });

  it('maintenance deletes the rows of workers not seen for an hour, and keeps fresh and merely quiet ones', async () => {
    await db().pool.query(
      `insert into workers (id, namespaces, last_seen_at) values
         ('p-killed:1:aa', '{p-m}', now() - interval '2 hours'),
         ('p-quiet:2:bb', '{p-m}', now() - interval '30 minutes'),
         ('p-fresh:3:cc', '{p-m}', now())`,
    );
    const m = new Maintenance({ pool: db().pool, logger: silentLogger, intervalMs: 60_000, eventRetentionSeconds: null });
    const pruned = nextEvent<number>(m, 'workers:pruned');
    const result = await m.runOnce();
    expect(result.workersPruned).toBe(1);
    expect(await pruned).toBe(1);
    const { rows } = await db().pool.query<{ id: string }>(`select id from workers where id like 'p-%:%' order by id`);
    expect(rows.map((r) => r.id)).toEqual(['p-fresh:3:cc', 'p-quiet:2:bb']);
    // Nothing left to delete: the next pass deletes nothing.
    expect((await m.runOnce()).workersPruned).toBe(0);
  });
});

describe('worker presence when the database restarts or its connections are killed', () => {
  let server: RestartablePostgres;
  let database: Database;
  const lines: { level: number; msg: string }[] = [];
  const logger = createLogger(
    'debug',
    new Writable({
      write(chunk, _encoding, done) {
        for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
        done();
      },
    }),
  );

  beforeAll(async () => {
    server = await startRestartablePostgres();
    database = createDatabase({ url: server.url, max: 2 });
  });
  afterAll(async () => {
    await database?.close();
    await server?.stop();
  });

  const lastSeen = async (id: string) =>
    (await server.query<{ last_seen_at: Date }>('select last_seen_at from workers where id = $1', [id]))[0]?.last_seen_at;
  /** The server's now(): a row refreshed after this was refreshed after the event. */
  const serverNow = async () => (await server.query<{ now: Date }>('select now()'))[0]!.now;
  const refreshedAfter = (id: string, t: Date, message: string) =>
    waitFor(async () => ((await lastSeen(id)) ?? 0) > t, { timeoutMs: 20_000, message });

  it('keeps running through killed connections and a stopped server, warns once per outage, recovers by itself', async () => {
    const id = 'restart-host:1:abcd';
    const presence = new WorkerPresence({
      pool: database.pool,
      logger,
      workerId: id,
      namespaces: ['r'],
      tasks: ['r.task'],
      concurrency: 1,
      intervalMs: 50,
    });
    const errors: Error[] = [];
    presence.on('presence:error', ({ error }) => errors.push(error));
    await presence.start();
    try {
      expect(await lastSeen(id)).toBeInstanceOf(Date);

      // Every pooled connection killed under it: the next upsert opens a new one.
      const killedAt = await serverNow();
      const killed = await server.terminate('eventix%');
      expect(killed.eventix).toBeGreaterThanOrEqual(1);
      await refreshedAfter(id, killedAt, 'refreshed after pg_terminate_backend');

      // The server stopped: upserts fail (reported, never thrown), the timer keeps going.
      const warnsBefore = lines.filter((l) => l.level === 40 && l.msg.startsWith('worker presence not recorded')).length;
      const errorsBefore = errors.length;
      await server.shutdown('fast');
      try {
        await waitFor(() => errors.length >= errorsBefore + 3, { message: 'three failed upserts while the server is down' });
      } finally {
        const restored = nextEvent<{ downMs: number }>(presence, 'presence:restored', 30_000);
        await server.start();
        expect((await restored).downMs).toBeGreaterThan(0);
      }
      const backAt = await serverNow();
      await refreshedAfter(id, backAt, 'refreshed after the server came back');
      // One warning for the whole outage, however many upserts failed; one info when it ended.
      const warns = lines.filter((l) => l.level === 40 && l.msg.startsWith('worker presence not recorded'));
      expect(warns.length - warnsBefore).toBe(1);
      expect(warns.at(-1)!.msg).toContain('database unreachable');
      expect(lines.filter((l) => l.msg === 'worker presence recorded again').length).toBeGreaterThanOrEqual(1);
    } finally {
      await presence.stop();
    }
    expect(await lastSeen(id)).toBeUndefined();
  });

  it('stop() with the server down resolves without throwing, and logs that the row stays', async () => {
    const id = 'restart-host:2:ef01';
    const presence = new WorkerPresence({
      pool: database.pool,
      logger,
      workerId: id,
      namespaces: ['r'],
      tasks: ['r.task'],
      concurrency: 1,
    });
    await presence.start();
    await server.shutdown('fast');
    try {
      await expect(presence.stop()).resolves.toBeUndefined();
      expect(lines.some((l) => l.msg.startsWith('worker presence row not deleted') || l.msg.startsWith('gave up waiting'))).toBe(true);
    } finally {
      await server.start();
    }
    // Left for maintenance to delete once it is an hour old.
    expect(await lastSeen(id)).toBeInstanceOf(Date);
  });
});
