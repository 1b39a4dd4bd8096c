import { getTableColumns } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { claimedTaskOut, submitBody, taskOut } from '../../src/api/schemas.ts';
import { claimedToJson, taskToJson } from '../../src/api/serialize.ts';
import { SUBMIT_DEFAULTS, tasks } from '../../src/db/schema/tasks.ts';
import { normalizeSubmit, normalizeWire, submitSchema } from '../../src/queue/submit-input.ts';
import { SUBMIT_SQL, SUBMIT_WITHOUT_KEYS_SQL } from '../../src/queue/submit-statement.ts';
import { rowFromJson, type TaskRowRaw, toClaimedTask, toTask } from '../../src/queue/task.ts';
import { snakeCase, TASK_FIELDS, TASK_KEYS, WIRE_KEYS } from '../../src/queue/task-fields.ts';
import { useTestDatabase } from '../helpers/db.ts';

/**
 * The field table (src/queue/task-fields.ts), the drizzle table, the HTTP schemas and the mappers
 * must agree: every column has a field and every field a column, names convert both ways, and a
 * real row travels row → Task → JSON and back to its columns without losing or renaming a field.
 */

const columns = getTableColumns(tasks);
const camelCase = (s: string) => s.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

describe('the task field table', () => {
  it('has one entry per column of the tasks table, and no other', () => {
    expect(Object.keys(TASK_FIELDS).sort()).toEqual(Object.keys(columns).sort());
  });

  it('names each column by the snake_case of its field, and back', () => {
    for (const [key, column] of Object.entries(columns)) {
      expect(snakeCase(key), key).toBe(column.name);
      expect(camelCase(column.name), column.name).toBe(key);
    }
  });

  it('lists Task fields in column order, without the internal id and the claim-only fencing token', () => {
    expect(TASK_KEYS).toEqual(Object.keys(columns).filter((k) => k !== 'id' && k !== 'fencingToken'));
  });

  it('derives the HTTP submit schema from the library one by renaming keys, leaving out provenance', () => {
    const library = Object.keys(submitSchema.shape);
    expect(library).toEqual([
      'task',
      'namespace',
      'args',
      'kwargs',
      'priority',
      'eta',
      'uniqueKey',
      'retry',
      'maxRetries',
      'errorEtaInc',
      'errorEtaMax',
      'timeoutSeconds',
      'storeResult',
      'resultExpires',
      'errorExpires',
      'operator',
      'scheduleName',
      'scheduleFireAt',
      'eventUid',
      'triggerName',
      'traceContext',
    ]);
    const provenance = ['scheduleName', 'scheduleFireAt', 'eventUid', 'triggerName', 'traceContext'];
    expect(Object.keys(submitBody.shape)).toEqual(library.filter((k) => !provenance.includes(k)).map(snakeCase));
    expect(WIRE_KEYS.map(snakeCase)).toEqual(Object.keys(submitBody.shape));
    // Where the wire does not override a validator, it is the library's own.
    expect(submitBody.shape.unique_key.safeParse('a\u0000b').success).toBe(false);
    expect(submitBody.shape.max_retries.safeParse(null).success).toBe(true);
  });

  it('answers in the shape taskOut documents, every column under its snake_case name', () => {
    expect(Object.keys(taskOut.shape)).toEqual(TASK_KEYS.map(snakeCase));
    expect(Object.keys(claimedTaskOut.shape)).toEqual([...TASK_KEYS.map(snakeCase), 'fencing_token']);
  });

  it('resolves a submission from either naming to the same columns, with the defaults filled in once', () => {
    const uid = '0b5e6f2a-54c1-4d7e-9a43-5f1d2c3b4a59';
    const library = normalizeSubmit({ task: 'reports.render', errorEtaInc: 400, uniqueKey: 'k', eta: '2030-01-01T01:00:00+01:00' }, uid);
    const wire = normalizeWire(
      submitBody.parse({ task: 'reports.render', error_eta_inc: 400, unique_key: 'k', eta: '2030-01-01T01:00:00+01:00' }),
      uid,
    );
    expect(wire).toEqual(library);
    expect(library).toMatchObject({
      namespace: SUBMIT_DEFAULTS.namespace,
      max_retries: SUBMIT_DEFAULTS.maxRetries,
      // Left out, the cap follows a first backoff longer than its default.
      error_eta_max: 400,
      eta: '2030-01-01T00:00:00.000Z',
      args: [],
      kwargs: {},
      schedule_fire_at: null,
    });
    // A fresh empty value per task: one task's args are never another's.
    expect(normalizeSubmit({ task: 't' }, uid).args).not.toBe(normalizeSubmit({ task: 't' }, uid).args);
  });

  it('inserts every submitted column and sends each default once, as a parameter', () => {
    const inserted = /insert into tasks as t \(([^)]*)\)/
      .exec(SUBMIT_SQL)?.[1]
      ?.split(',')
      .map((c) => c.trim());
    expect(inserted).toEqual(['uid', ...TASK_KEYS.filter((k) => 'input' in TASK_FIELDS[k]).map(snakeCase)]);
    for (const [key, value] of Object.entries(SUBMIT_DEFAULTS)) {
      if (value === null) continue;
      expect(SUBMIT_SQL, key).toMatch(new RegExp(`then \\$\\d+ else x\\.${snakeCase(key)} end`));
    }
    expect(SUBMIT_WITHOUT_KEYS_SQL).not.toContain('on conflict');
  });
});

describe('a real row through the mappers', () => {
  const db = useTestDatabase();

  async function exampleRow(): Promise<TaskRowRaw & { id: number }> {
    const { rows } = await db().pool.query<TaskRowRaw & { id: number }>(
      `insert into tasks (task, namespace, status, priority, eta, args, kwargs, unique_key, max_retries, timeout_seconds,
         result, error, expires_at, attempts, worker_id, lease_expires_at, fencing_token, operator, schedule_name,
         schedule_fire_at, event_uid, trigger_name, started_at, finished_at)
       values ('reports.render', 'reports', 'processing', 10, '2025-06-02T09:30:00Z', '["2025-05"]', '{"format":"pdf"}',
         'monthly-report:2025-05', 3, 600, '{"pages":12}', '{"class":"E","message":"m"}', '2025-06-09T09:31:05Z', 2,
         'render-1:4821', '2025-06-02T09:30:30Z', 4182, 'ci-bot', 'monthly-reports', '2025-06-02T09:30:00Z',
         '7d0c3e1a-9b2f-4c55-8e61-2f4a9d8b1c03', 'render-on-close', '2025-06-02T09:30:00Z', '2025-06-02T09:31:05Z')
       returning *`,
    );
    return rows[0] as TaskRowRaw & { id: number };
  }

  it('maps every column of `returning *` to its field, and serializes it under the column name', async () => {
    const row = await exampleRow();
    const task = toTask(row);
    expect(Object.keys(task)).toEqual(TASK_KEYS);
    for (const key of TASK_KEYS) expect(task[key], key).toEqual(row[snakeCase(key)]);
    const json = taskToJson(task);
    expect(taskOut.parse(json)).toEqual(json);
    for (const key of TASK_KEYS) {
      const value = row[snakeCase(key)];
      expect(json[snakeCase(key)], key).toEqual(value instanceof Date ? value.toISOString() : value);
    }
    const claimed = toClaimedTask(row);
    expect(claimed.fencingToken).toBe(4182);
    expect(claimedTaskOut.parse(claimedToJson(claimed))).toMatchObject({
      fencing_token: 4182,
      lease_expires_at: '2025-06-02T09:30:30.000Z',
    });
  });

  it('reads a row_to_json row like a normal one', async () => {
    const row = await exampleRow();
    const { rows } = await db().pool.query<{ j: Record<string, unknown> }>('select row_to_json(t.*) as j from tasks t where uid = $1', [
      row.uid,
    ]);
    expect(toTask(rowFromJson(rows[0]?.j as Record<string, unknown>))).toEqual(toTask(row));
  });
});
