import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rollbackImport } from '../../src/imports/rollback.ts';
import { runImport } from '../../src/imports/run.ts';
import { pythonEventixMongo } from '../../src/imports/sources/python-eventix-mongo.ts';
import { runCli } from '../helpers/cli.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

/**
 * A mongoexport dump of the Python Eventix's collections, in Extended JSON as mongoexport writes
 * it (canonical `$date`/`$oid`/`$numberLong` where relaxed mode would not do): one document a line.
 */
const TASKS = [
  // The UUID in _id (pydantic-db-backend's key), created time only in the ObjectId: none here, so created_at is given.
  '{"_id":"aaaaaaaa-0000-4000-8000-000000000001","task":"resize","namespace":"img","status":"scheduled","priority":{"$numberInt":"-3"},"eta":{"$date":"2030-05-01T10:00:00.000Z"},"args":["a.png",{"w":100}],"kwargs":{},"unique_key":null,"retry":true,"max_retries":null,"error_eta_inc":15,"error_eta_max":300,"store_result":true,"result_expires":604800,"error_expires":null,"result":null,"expires":null,"worker_id":null,"worker_expires":null,"operator":"web","created_at":{"$date":"2025-03-01T00:00:00.000Z"},"updated_at":{"$date":"2025-03-01T00:00:00.000Z"}}',
  // A uid field and an ObjectId: created_at comes from the ObjectId's time (0x67c4f100 = 2025-03-03T00:00:00Z).
  '{"_id":{"$oid":"67c4f1000000000000000001"},"uid":"aaaaaaaa-0000-4000-8000-000000000002","task":"resize","status":"processing","priority":1,"eta":{"$date":{"$numberLong":"1740960000000"}},"args":[],"kwargs":{},"worker_id":"old","worker_expires":{"$date":"2025-03-03T00:05:00Z"}}',
  '{"_id":{"$oid":"67c4f6000000000000000002"},"uid":"aaaaaaaa-0000-4000-8000-000000000003","task":"resize","status":"error","eta":{"$date":"2025-03-02T00:00:00Z"},"args":[],"kwargs":{},"result":{"message":"boom","traceback":"..."},"created_at":{"$date":"2025-03-02T00:00:00Z"},"updated_at":{"$date":"2025-03-02T00:01:00Z"}}',
  // Bad: not JSON at all.
  '{"_id": this is not json',
  '',
  // Bad: args a string, priority beyond a smallint.
  '{"_id":{"$oid":"67c4f6000000000000000003"},"uid":"aaaaaaaa-0000-4000-8000-000000000004","task":"resize","status":"scheduled","priority":99999,"args":"a.png","eta":{"$date":"2025-03-02T00:00:00Z"},"created_at":{"$date":"2025-03-02T00:00:00Z"}}',
];
const TRIGGERS = ['{"_id":{"$oid":"67c4f6000000000000000010"},"name":"on-upload","event_name":"upload","code":"def f(e):\\n  pass"}'];
const EVENTS = [
  '{"_id":{"$oid":"67c4f6000000000000000020"},"name":"upload","namespace":"img","payload":{"file":"a.png"},"priority":0,"created_at":{"$date":"2025-03-04T00:00:00Z"}}',
];

describe('import python-eventix-mongo (mongoexport dump)', () => {
  let dir: string;
  let arrayDir: string;
  let db: TestDatabase;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'eventix-mongo-'));
    writeFileSync(join(dir, 'task.json'), `${TASKS.join('\n')}\n`);
    writeFileSync(join(dir, 'trigger.json'), `${TRIGGERS.join('\n')}\n`);
    writeFileSync(join(dir, 'event.json'), `${EVENTS.join('\n')}\n`);
    arrayDir = mkdtempSync(join(tmpdir(), 'eventix-mongo-array-'));
    writeFileSync(join(arrayDir, 'task.json'), `[${TASKS.slice(0, 3).join(',\n')}]`);
    db = await createTestDatabase();
  });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(arrayDir, { recursive: true, force: true });
    await db?.drop();
  });

  it('dry run: refusals named by file and line', async () => {
    const r = await runImport(db.pool, await pythonEventixMongo({ dir }), { dryRun: true });
    expect(r.byKind.task).toEqual({ created: 3, updated: 0, unchanged: 0, refused: 2, skipped: 0 });
    expect(r.byKind.trigger?.skipped).toBe(1);
    const fields = r.notices.map((n) => n.field);
    expect(fields).toContain('task.json:4');
    expect(fields).toContain('task.json:6.priority');
    expect(fields).toContain('task.json:6.args');
    expect(Number((await db.pool.query('select count(*) from tasks')).rows[0].count)).toBe(0);
  });

  it('imports, maps Extended JSON, is idempotent, and rolls back', async () => {
    const r = await runImport(db.pool, await pythonEventixMongo({ dir }), { skipInvalid: true });
    expect(r.created).toBe(4); // 3 tasks, 1 event
    const rows = (
      await db.pool.query('select uid::text, status, priority, namespace, eta, created_at, error, args from tasks order by uid')
    ).rows;
    expect(rows.map((t) => [t.uid.slice(-1), t.status, t.priority])).toEqual([
      ['1', 'scheduled', 3],
      ['2', 'scheduled', -1],
      ['3', 'error', 0],
    ]);
    expect(rows[0].args).toEqual(['a.png', { w: 100 }]);
    expect(rows[0].eta.toISOString()).toBe('2030-05-01T10:00:00.000Z');
    expect(rows[1].created_at.toISOString()).toBe('2025-03-03T00:00:00.000Z');
    expect(rows[2].error).toMatchObject({ class: 'PythonEventixError', message: 'boom' });
    const ev = (await db.pool.query('select uid::text, name, namespace from events')).rows;
    expect(ev).toHaveLength(1);

    const again = await runImport(db.pool, await pythonEventixMongo({ dir }), { skipInvalid: true });
    expect(again.created).toBe(0);
    expect(again.unchanged).toBe(4);
    // The derived event uid is stable across runs.
    expect((await db.pool.query('select uid::text from events')).rows).toEqual(ev.map((e) => ({ uid: e.uid })));

    await rollbackImport(db.pool, r.id as number);
    expect(Number((await db.pool.query('select count(*) from tasks')).rows[0].count)).toBe(0);
    expect(Number((await db.pool.query('select count(*) from events')).rows[0].count)).toBe(0);
  });

  it('reads a --jsonArray export the same way', async () => {
    const r = await runImport(db.pool, await pythonEventixMongo({ dir: arrayDir }), { dryRun: true });
    expect(r.byKind.task).toMatchObject({ created: 3, refused: 0 });
  });

  it('the CLI names a folder without task.json (exit 2)', async () => {
    const res = await runCli(['import', 'python-eventix-mongo', '--dir', join(dir, 'nowhere')], { DATABASE_URL: db.url });
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/--dir: has no task\.json/);
  });
});
