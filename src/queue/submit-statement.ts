import { compileRecord, literal, read } from './compile-record.ts';
import type { NormalizedSubmit } from './submit-input.ts';
import type { Task } from './task.ts';
import {
  columnDefault,
  emptyOf,
  type FieldKey,
  isDateField,
  isJsonField,
  isSubmitted,
  snakeCase,
  submitDefaultOf,
  TASK_COLUMNS,
  TASK_KEYS,
} from './task-fields.ts';

export const NOTIFY_CHANNEL = 'eventix_tasks';

/*
 * The submit statement, generated from the field table: one statement for any batch size. The
 * rows travel column by column, one array parameter per column, and unnest() turns them back into
 * rows, so 10,000 tasks cost one round trip and one plan. Each array element goes through its
 * type's input function once; a row-per-object jsonb parameter cost a jsonb-to-text-to-type
 * conversion per column per row (jsonb_to_recordset was a fifth of the statement's server time).
 * A column in which every row holds submit's default is sent as null, and the statement puts the
 * default (a parameter after the columns, from SUBMIT_DEFAULTS) back; args and kwargs travel as
 * one JSON array each, indexed by row.
 *
 * A created row is exactly what we sent plus the column defaults, so only what the server decided
 * comes back (its eta and creation time); createdTask builds the task from the input. Returning
 * every column and parsing it again was 40% of a bulk submit. A merged row is another task's
 * row, changed: that one comes back whole, as row_to_json.
 */

/** What the statement inserts: the uid we chose and every submitted field, in column order. */
const INSERTED = TASK_KEYS.filter((k) => k === 'uid' || isSubmitted(k));

interface ArrayColumn {
  column: string;
  param: number;
  /** The value that, held by every row, lets the column be sent as null. */
  unset: unknown;
}

let next = 0;
/** Columns that travel as one typed array each ($1 the uids, then the rest in column order). */
const ARRAYS = INSERTED.filter((k) => !isJsonField(k)).map((k) => ({ key: k, column: snakeCase(k), param: ++next }));
/** JSON columns: one JSON array of every row's value, or null when every row holds the empty value. */
const JSONS = INSERTED.filter(isJsonField).map((k) => {
  const empty = emptyOf(k);
  return { key: k, column: snakeCase(k), param: ++next, empty: empty === undefined ? undefined : literal(empty) };
});
/** The defaults a null column stands for. */
const DEFAULTS = ARRAYS.flatMap(({ key }) => {
  const d = submitDefaultOf(key);
  return d && d.value !== null ? [{ key, value: d.value, param: ++next }] : [];
});
const NOTIFY_PARAM = ++next;

const typeOf = (key: FieldKey) => TASK_COLUMNS[key].getSQLType();

function selected(key: FieldKey): string {
  const x = `x.${snakeCase(key)}`;
  const json = JSONS.find((j) => j.key === key);
  if (json) {
    const element = `$${json.param}::jsonb -> (x.i::int - 1)`;
    // A nullable JSON column without an empty value (trace_context): a JSON null element is SQL null.
    return json.empty === undefined ? `nullif(${element}, 'null'::jsonb)` : `coalesce(${element}, '${json.empty}'::jsonb)`;
  }
  const d = DEFAULTS.find((c) => c.key === key);
  const array = ARRAYS.find((a) => a.key === key) as (typeof ARRAYS)[number];
  if (d) return `case when $${array.param}::${typeOf(key)}[] is null then $${d.param} else ${x} end`;
  // A submitted column the database fills when the submission leaves it out (eta: now()).
  const byDatabase = columnDefault(key);
  if (isSubmitted(key) && byDatabase && 'sql' in byDatabase && TASK_COLUMNS[key].notNull) return `coalesce(${x}, ${byDatabase.sql})`;
  return x;
}

const submitSql = (onConflict: string) => `
with ins as (
  insert into tasks as t (${INSERTED.map(snakeCase).join(', ')})
  select ${INSERTED.map(selected).join(',\n    ')}
  from unnest(${ARRAYS.map((a) => `$${a.param}::${typeOf(a.key)}[]`).join(', ')})
    with ordinality as x(${ARRAYS.map((a) => a.column).join(', ')}, i)
  -- Ids, and so FIFO order among equal priority and eta, follow the input order.
  order by x.i
  ${onConflict}
  returning t.uid, t.eta,
    -- xmax is set on the row ON CONFLICT updated, and 0 on one just inserted.
    case when t.xmax <> 0 then row_to_json(t.*) end as merged
), notified as (
  select pg_notify('${NOTIFY_CHANNEL}', n) from unnest($${NOTIFY_PARAM}::text[]) as n
)
select ins.uid, ins.merged,
  floor(extract(epoch from ins.eta) * 1000)::int8 as eta_ms, floor(extract(epoch from now()) * 1000)::int8 as now_ms
from ins, (select count(*) from notified) as z
`;

/**
 * unique_key merging is the ON CONFLICT on the partial unique index over waiting tasks, which
 * makes concurrent submits of one key atomic without locks of our own: the loser of the race
 * updates the winner's row. A batch without keys cannot conflict, so it uses the same statement
 * without ON CONFLICT and skips the speculative insertion each row would otherwise pay (a
 * pre-check of the arbiter index and an extra WAL record). Tasks that are due now wake
 * sleeping workers through NOTIFY, delivered only if the caller's transaction commits.
 */
export const SUBMIT_SQL = submitSql(`on conflict (namespace, unique_key) where unique_key is not null and status in ('scheduled', 'retry')
  do update set
    eta = least(t.eta, excluded.eta),
    priority = greatest(t.priority, excluded.priority),
    args = excluded.args,
    kwargs = excluded.kwargs,
    updated_at = now(),
    revision = t.revision + 1`);
export const SUBMIT_WITHOUT_KEYS_SQL = submitSql('');

const COLUMNS: readonly ArrayColumn[] = ARRAYS.slice(1).map((a) => ({ ...a, unset: submitDefaultOf(a.key)?.value ?? null }));
const DEFAULT_PARAMS = DEFAULTS.map((d) => d.value);

/**
 * The statement's parameters. A bulk submit of plain tasks is mostly defaults, and the server
 * pays for every element it parses, so a column is sent only if some row differs from its
 * default. Inside a column that is sent, null is a real null (max_retries null: unlimited).
 */
export function paramsOf(rows: readonly NormalizedSubmit[]): unknown[] {
  // Our own newTaskUid() values (or a compat client's, checked as uuids): nothing in them needs quoting in an array literal.
  const params: unknown[] = [`{${rows.map((r) => r.uid).join(',')}}`];
  for (const { column: key, unset } of COLUMNS) params.push(column(rows, key as keyof NormalizedSubmit, unset));
  for (const { column: key } of JSONS) {
    const k = key as keyof NormalizedSubmit;
    params.push(rows.some((r) => r[k] != null && !isEmpty(r[k] as object)) ? JSON.stringify(rows.map((r) => r[k])) : null);
  }
  params.push(...DEFAULT_PARAMS, dueNamespaces(rows));
  return params;
}

function column(rows: readonly NormalizedSubmit[], key: keyof NormalizedSubmit, unset: unknown): unknown[] | null {
  for (const r of rows) if (r[key] !== unset) return rows.map((row) => row[key]);
  return null;
}

/** An empty JSON array or object: what a submission that leaves args or kwargs out holds (or null, trace_context's). */
function isEmpty(o: object): boolean {
  for (const _ in o) return false;
  return true;
}

/**
 * The namespaces to wake workers in: those with a task due now. Decided here rather than over the
 * inserted rows (a pass and an aggregate per statement); a NOTIFY is only a hint, so a clock that
 * differs from the server's by a moment costs at most one poll interval, never a task.
 */
function dueNamespaces(rows: readonly NormalizedSubmit[]): string[] {
  const now = Date.now();
  const due = new Set<string>();
  for (const r of rows) if (r.eta === null || Date.parse(r.eta) <= now) due.add(r.namespace);
  return [...due];
}

/**
 * What comes back per row. Times travel as epoch milliseconds (truncated, as pg's own Date parsing
 * does): parsing two timestamp strings per task was a visible share of a bulk submit.
 */
export interface SubmitRow {
  uid: string;
  /** The whole row, only when the submission merged into a waiting task. */
  merged: Record<string, unknown> | null;
  eta_ms: number;
  /** now(): the created_at and updated_at of every row this statement created. */
  now_ms: number;
}

/** Per field of Task: what we sent, the server's uid and eta, now() for a column defaulting to it, or the column's default. */
function createdField(key: (typeof TASK_KEYS)[number]): string {
  if (key === 'uid' || key === 'eta') return key;
  const column = snakeCase(key);
  if (isSubmitted(key))
    return isDateField(key) ? `${read('s', column)} === null ? null : new Date(${read('s', column)})` : read('s', column);
  const d = columnDefault(key);
  if (d === undefined) return 'null';
  if ('value' in d) return literal(d.value);
  if (d.sql === 'now()') return 'now';
  throw new Error(`tasks.${column} defaults to ${d.sql}: createdTask cannot know its value`);
}
const buildCreated: (s: NormalizedSubmit, uid: string, eta: Date, now: Date) => Task = compileRecord(
  ['s', 'uid', 'eta', 'now'],
  TASK_KEYS.map((k) => [k, createdField(k)] as const),
);

/** The new task as the database holds it: what was sent, the column defaults, and the server's times. */
export function createdTask(sent: NormalizedSubmit, r: SubmitRow): Task {
  const now = new Date(r.now_ms);
  return buildCreated(sent, r.uid, r.eta_ms === r.now_ms ? now : new Date(r.eta_ms), now);
}
