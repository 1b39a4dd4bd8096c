import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rollbackImport } from '../../src/imports/rollback.ts';
import { ImportCancelled, runImport } from '../../src/imports/run.ts';
import { pythonEventixPostgres } from '../../src/imports/sources/python-eventix-pg.ts';
import { claim } from '../../src/queue/claim.ts';
import { collect, runCli, spawnCli } from '../helpers/cli.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { fillPythonEventix, UID } from '../helpers/legacy-python-eventix.ts';

let legacy: TestDatabase;
let legacyClient: pg.Client;

beforeAll(async () => {
  legacy = await createTestDatabase({ empty: true, poolMax: 2 });
  legacyClient = new pg.Client({ connectionString: legacy.url });
  await legacyClient.connect();
  await fillPythonEventix(legacyClient);
});
afterAll(async () => {
  await legacyClient?.end();
  await legacy?.drop();
});

const source = (timezone: string | null = 'Europe/Berlin') => pythonEventixPostgres({ from: legacy.url, timezone: timezone ?? undefined });
const count = async (db: TestDatabase, table: string) => Number((await db.pool.query(`select count(*)::int as n from ${table}`)).rows[0].n);

describe('import python-eventix (PostgreSQL)', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => db?.drop());

  it('a dry run reports what it would do by field path and writes nothing', async () => {
    const r = await runImport(db.pool, await source(), { dryRun: true });
    expect(r.dryRun).toBe(true);
    expect(r.id).toBeNull();
    expect(r.byKind.task).toEqual({ created: 5, updated: 0, unchanged: 0, refused: 4, skipped: 0 });
    expect(r.byKind.schedule).toEqual({ created: 2, updated: 0, unchanged: 0, refused: 1, skipped: 0 });
    expect(r.byKind.trigger).toEqual({ created: 1, updated: 0, unchanged: 0, refused: 0, skipped: 1 });
    expect(r.byKind.event).toEqual({ created: 2, updated: 0, unchanged: 0, refused: 0, skipped: 0 });
    const fields = r.notices.map((n) => n.field);
    expect(fields).toContain(`eventix_task[id=6].kwargs`);
    expect(fields).toContain(`eventix_task[id=7].uid`);
    expect(fields).toContain(`eventix_task[id=8].status`);
    expect(fields).toContain(`eventix_task[id=9].error_eta_inc`);
    expect(fields).toContain(`eventix_schedule[id=3].schedule`);
    const skip = r.notices.find((n) => n.outcome === 'skipped');
    expect(skip).toMatchObject({ kind: 'trigger', field: 'eventix_trigger[id=1]' });
    expect(skip?.message).toMatch(/Python .* never run .* rewrite/);
    for (const t of ['tasks', 'schedules', 'triggers', 'events', 'imports', 'import_items']) expect(await count(db, t)).toBe(0);
  });

  it('without --timezone, times stored without a zone are refused, naming the field', async () => {
    const r = await runImport(db.pool, await source(null), { dryRun: true });
    expect(r.byKind.event?.refused).toBe(2);
    expect(r.notices.find((n) => n.field === 'eventix_event[id=1].created_at')?.message).toMatch(/no time zone: pass --timezone/);
  });

  it('one refused record keeps the whole import out, unless skipInvalid', async () => {
    const r = await runImport(db.pool, await source());
    expect(r.written).toBe(false);
    expect(r.id).toBeNull();
    expect(await count(db, 'tasks')).toBe(0);
    expect(await count(db, 'imports')).toBe(0);
  });

  let first: number;
  it('imports and maps each field as the MIGRATION_GUIDE says', async () => {
    const r = await runImport(db.pool, await source(), { skipInvalid: true });
    expect(r.written).toBe(true);
    expect(r.id).toBeGreaterThan(0);
    first = r.id as number;
    expect(r.created).toBe(5 + 2 + 1 + 2);

    const task = async (uid: string) => (await db.pool.query('select * from tasks where uid = $1', [uid])).rows[0];
    const s = await task(UID.scheduled);
    expect(s).toMatchObject({
      task: 'send_mail',
      namespace: 'mail',
      status: 'scheduled',
      priority: 10,
      unique_key: 'mail-a',
      operator: 'alice',
    });
    expect(s.args).toEqual(['a@example.com']);
    expect(s.kwargs).toEqual({ subject: 'hi' });
    expect(s.max_retries).toBeNull();
    expect(s.attempts).toBe(0);
    expect(s.eta.toISOString()).toBe('2030-01-01T00:00:00.000Z');

    const p = await task(UID.processing);
    expect(p).toMatchObject({
      status: 'scheduled',
      priority: 5,
      worker_id: null,
      lease_expires_at: null,
      fencing_token: null,
      max_retries: 3,
    });

    const d = await task(UID.done);
    expect(d).toMatchObject({ status: 'done', result: { answer: 42 }, error: null });
    expect(d.expires_at.toISOString()).toBe('2025-01-10T00:00:00.000Z');
    expect(d.finished_at.toISOString()).toBe('2025-01-03T00:00:09.000Z');

    const e = await task(UID.error);
    expect(e).toMatchObject({ status: 'error', result: null, max_retries: 0 });
    expect(e.error).toEqual({ class: 'ValueError', message: 'bad input', payload: { type: 'ValueError', message: 'bad input' } });

    const rt = await task(UID.retry);
    expect(rt).toMatchObject({ status: 'retry', priority: -2, error_eta_inc: 300, error_eta_max: 300 });
    expect(rt.error).toMatchObject({ message: 'timeout' });

    const sched = (await db.pool.query(`select * from schedules where name = 'nightly'`)).rows[0];
    expect(sched).toMatchObject({ cron: '0 3 * * *', timezone: 'Europe/Berlin', task: 'report', priority: 5, enabled: true });
    expect(sched.next_fire_at).toBeInstanceOf(Date);
    expect((await db.pool.query(`select timezone from schedules where name = 'every-minute'`)).rows[0].timezone).toBe('UTC');

    const trig = (await db.pool.query(`select * from triggers`)).rows;
    expect(trig.map((t) => t.name)).toEqual(['on-signup']);
    expect(trig[0].template).toEqual({ task: 'send_mail', args: ['welcome'], kwargs: {}, priority: 1 });

    const ev = (await db.pool.query(`select uid::text, name, priority, created_at from events order by created_at`)).rows;
    expect(ev[0]).toMatchObject({ uid: '99999999-9999-4999-8999-999999999999', name: 'git.push', priority: 0 });
    // 12:00 in Berlin in winter is 11:00 UTC.
    expect(ev[0].created_at.toISOString()).toBe('2025-01-07T11:00:00.000Z');
    expect(ev[1]).toMatchObject({ name: 'user.signup', priority: 2 });
    // Importing an event fires nothing: the only tasks are the imported ones.
    expect(await count(db, 'tasks')).toBe(5);

    const rec = (await db.pool.query('select * from imports where id = $1', [first])).rows[0];
    expect(rec).toMatchObject({ source: 'python-eventix', status: 'committed', created: 10, refused: 5, skipped: 1 });
    expect(rec.source_key).not.toMatch(/postgres@|password/);
  });

  it('running it again is idempotent: everything unchanged, nothing created', async () => {
    const r = await runImport(db.pool, await source(), { skipInvalid: true });
    expect(r.created).toBe(0);
    expect(r.updated).toBe(0);
    expect(r.unchanged).toBe(10);
    expect(await count(db, 'tasks')).toBe(5);
    expect(await count(db, 'events')).toBe(2);
  });

  it('a record changed in the source updates the row; one changed in Eventix since is skipped, never overwritten', async () => {
    await legacyClient.query(
      `update eventix_task set status = 'done', result = '"sent"', updated_at = '2025-02-01T00:00:00Z' where uid = $1`,
      [UID.scheduled],
    );
    await legacyClient.query(`update eventix_task set priority = 9 where uid = $1`, [UID.processing]);
    // A worker claims the (formerly processing) task in Eventix.
    const [claimed] = await claim(db.pool, { workerId: 'w1', namespaces: ['default'], tasks: ['crunch'], limit: 1, leaseSeconds: 30 });
    expect(claimed?.uid).toBe(UID.processing);

    const r = await runImport(db.pool, await source(), { skipInvalid: true });
    expect(r.byKind.task).toMatchObject({ updated: 1, unchanged: 3 });
    expect(r.notices.find((n) => n.field === 'eventix_task[id=2]')).toMatchObject({
      outcome: 'skipped',
      message: expect.stringMatching(/changed in Eventix since import \d+ wrote it, and in the source too/),
    });
    expect(r.byKind.task?.skipped).toBe(1);
    // With the source back as imported, Eventix's row is simply newer.
    await legacyClient.query(`update eventix_task set priority = -5 where uid = $1`, [UID.processing]);
    const dry = await runImport(db.pool, await source(), { skipInvalid: true, dryRun: true });
    expect(dry.notices.find((n) => n.field === 'eventix_task[id=2]')?.message).toMatch(/the source has not changed/);
    const s = (await db.pool.query('select status, result from tasks where uid = $1', [UID.scheduled])).rows[0];
    expect(s).toEqual({ status: 'done', result: 'sent' });
    const p = (await db.pool.query('select status, worker_id from tasks where uid = $1', [UID.processing])).rows[0];
    expect(p).toEqual({ status: 'processing', worker_id: 'w1' });

    // The first import cannot be rolled back now: two of its rows changed since.
    await expect(rollbackImport(db.pool, first)).rejects.toMatchObject({ code: 'ImportConflict' });
    expect(await count(db, 'tasks')).toBe(5);

    // Rolling back the second puts the changed task back as the first import left it.
    await rollbackImport(db.pool, r.id as number);
    const back = (await db.pool.query('select status, result from tasks where uid = $1', [UID.scheduled])).rows[0];
    expect(back).toEqual({ status: 'scheduled', result: null });
    await expect(rollbackImport(db.pool, r.id as number)).rejects.toMatchObject({ code: 'ImportConflict', message: /already rolled back/ });

    // With the claimed task finished with by Eventix's own hand (deleted here), the refusal names it as deleted.
    await db.pool.query('delete from tasks where uid = $1', [UID.processing]);
    await expect(rollbackImport(db.pool, first)).rejects.toThrow(/\(deleted\)/);
    // Put it back as the import wrote it, and the rollback runs.
    await legacyClient.query(`update eventix_task set priority = -5 where uid = $1`, [UID.processing]);
    await legacyClient.query(
      `update eventix_task set status = 'scheduled', result = null, updated_at = '2025-01-01T00:00:00Z' where uid = $1`,
      [UID.scheduled],
    );
  });

  it('rollback removes exactly what the import created', async () => {
    // Re-create the deleted task through a fresh import, then roll everything back in order.
    const again = await runImport(db.pool, await source(), { skipInvalid: true });
    expect(again.byKind.task?.created).toBe(1);
    await rollbackImport(db.pool, again.id as number);
    // The dry run checks, and changes nothing.
    await db.pool.query('insert into tasks (uid, task) values (gen_random_uuid(), $1)', ['not-imported']);
    await expect(rollbackImport(db.pool, first, { dryRun: true })).rejects.toThrow(/\(deleted\)/);
    const firstAgain = await runImport(db.pool, await source(), { skipInvalid: true });
    expect(firstAgain.byKind.task?.created).toBe(1);
    const dry = await rollbackImport(db.pool, firstAgain.id as number, { dryRun: true });
    expect(dry.removed).toEqual({ task: 1 });
    expect(await count(db, 'tasks')).toBe(6);
  });
});

describe('import python-eventix: concurrency and Ctrl-C', () => {
  it('two imports of the same source at once do not double-import', async () => {
    const db = await createTestDatabase();
    try {
      const [a, b] = await Promise.all([
        runImport(db.pool, await source(), { skipInvalid: true }),
        runImport(db.pool, await source(), { skipInvalid: true }),
      ]);
      expect([a.created, b.created].sort()).toEqual([0, 10]);
      expect(a.unchanged + b.unchanged).toBe(10);
      expect(await count(db, 'tasks')).toBe(5);
      expect(await count(db, 'events')).toBe(2);
    } finally {
      await db.drop();
    }
  });

  it('an abort between batches rolls the whole import back', async () => {
    const big = await createTestDatabase({ empty: true, poolMax: 2 });
    const db = await createTestDatabase();
    const c = new pg.Client({ connectionString: big.url });
    await c.connect();
    try {
      await fillPythonEventix(c, { bulk: 1500 });
      const abort = new AbortController();
      const run = runImport(db.pool, await pythonEventixPostgres({ from: big.url, timezone: 'UTC' }), {
        skipInvalid: true,
        signal: abort.signal,
        onProgress: (p) => {
          if (p.created > 0) abort.abort();
        },
      });
      await expect(run).rejects.toBeInstanceOf(ImportCancelled);
      for (const t of ['tasks', 'schedules', 'imports', 'import_items']) expect(await count(db, t)).toBe(0);
    } finally {
      await c.end();
      await big.drop();
      await db.drop();
    }
  });
});

describe('eventix import (CLI)', () => {
  it('dry-runs, imports, lists and rolls back; bad flags exit 2', async () => {
    const db = await createTestDatabase();
    const env = { DATABASE_URL: db.url };
    try {
      const dry = await runCli(['import', 'python-eventix', '--from', legacy.url, '--timezone', 'UTC', '--dry-run'], env);
      expect(dry.code).toBe(1); // refused records: a real run would write nothing
      expect(dry.stdout).toMatch(/dry run, nothing written/);
      expect(dry.stdout).toMatch(/eventix_task\[id=7\]\.uid: must be a UUID/);
      const done = await runCli(['import', 'python-eventix', '--from', legacy.url, '--timezone', 'UTC', '--skip-invalid', '--json'], env);
      expect(done.code).toBe(0);
      const report = JSON.parse(done.stdout);
      expect(report).toMatchObject({ written: true, created: 10 });
      const list = await runCli(['import', 'list', '--json'], env);
      expect(JSON.parse(list.stdout)[0]).toMatchObject({ id: report.id, source: 'python-eventix', status: 'committed' });
      const back = await runCli(['import', 'rollback', String(report.id)], env);
      expect(back.code).toBe(0);
      expect(back.stdout).toMatch(/rolled back import \d+: removed /);
      for (const part of ['5 task(s)', '2 schedule(s)', '1 trigger(s)', '2 event(s)']) expect(back.stdout).toContain(part);
      expect(await count(db, 'tasks')).toBe(0);
      const bad = await runCli(['import', 'python-eventix', '--from', 'mysql://x/y'], env);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/--from: must be a postgres:\/\/ URL/);
      const tz = await runCli(['import', 'python-eventix', '--from', legacy.url, '--timezone', 'Mars/Olympus'], env);
      expect(tz.code).toBe(2);
      expect(tz.stderr).toMatch(/--timezone: is not a known time zone/);
    } finally {
      await db.drop();
    }
  });

  it('Ctrl-C during an import exits 130 and leaves nothing of it', async () => {
    const db = await createTestDatabase();
    const big = await createTestDatabase({ empty: true, poolMax: 2 });
    const c = new pg.Client({ connectionString: big.url });
    await c.connect();
    const locker = new pg.Client({ connectionString: db.url });
    await locker.connect();
    try {
      await fillPythonEventix(c, { bulk: 1200 });
      // Hold Eventix's events table: the import writes the tasks, reports progress, then waits here, mid-import.
      await locker.query('begin');
      await locker.query('lock table events in access exclusive mode');
      const child = spawnCli(['import', 'python-eventix', '--from', big.url, '--timezone', 'UTC', '--skip-invalid'], {
        DATABASE_URL: db.url,
      });
      const done = collect(child, 60_000);
      await new Promise<void>((resolve, reject) => {
        let seen = '';
        const timer = setTimeout(() => reject(new Error(`no progress line: ${seen}`)), 30_000);
        child.stderr?.on('data', (d) => {
          seen += d;
          if (/read \d+\/\d+: [1-9]\d* created/.test(seen)) {
            clearTimeout(timer);
            resolve();
          }
        });
      });
      // Wait until the import is blocked on the lock, so the signal lands mid-import.
      const deadline = Date.now() + 20_000;
      for (;;) {
        const { rows } = await db.pool.query(`select count(*)::int as n from pg_locks where relation = 'events'::regclass and not granted`);
        if (rows[0].n > 0) break;
        if (Date.now() > deadline) throw new Error('the import never waited on the events table');
        await new Promise((r) => setTimeout(r, 20));
      }
      child.kill('SIGINT');
      await locker.query('commit');
      const r = await done;
      expect(r.code).toBe(130);
      expect(r.stderr).toMatch(/nothing was written/);
      for (const t of ['tasks', 'schedules', 'triggers', 'imports', 'import_items']) expect(await count(db, t)).toBe(0);
    } finally {
      await locker.end().catch(() => undefined);
      await c.end();
      await big.drop();
      await db.drop();
    }
  });
});
