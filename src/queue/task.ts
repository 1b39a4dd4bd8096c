import type { TaskRow } from '../db/schema/tasks.ts';
import { compileRecord, read } from './compile-record.ts';
import { isDateField, type SnakeCase, snakeCase, TASK_COLUMNS, TASK_KEYS } from './task-fields.ts';

/**
 * A task as the library and the API present it: every column of the tasks table (see
 * src/db/schema/tasks.ts, where each is described) but the internal id and the claim's fencing
 * token, camelCase, timestamps as Dates.
 */
export interface Task extends Omit<TaskRow, 'id' | 'fencingToken'> {}

/** A task held by a worker: the fencing token must accompany every change it makes. */
export interface ClaimedTask extends Task {
  workerId: string;
  fencingToken: number;
  leaseExpiresAt: Date;
}

/** What a failed attempt records. */
export interface TaskError {
  class: string;
  message: string;
  stack?: string | undefined;
  payload?: unknown;
  /** Why the attempt ended, when not by the handler throwing: `timeout`, `lease_expired`, `cancelled`. */
  reason?: string;
}

/**
 * One failed attempt, as tasks.attempt_errors keeps it (JSON, so snake_case and ISO 8601 text, the
 * same in the library and over HTTP). The newest entry repeats `error`.
 */
export interface AttemptError {
  attempt: number;
  worker_id: string | null;
  started_at: string | null;
  failed_at: string;
  error: TaskError;
}

/** The raw row, snake_case, as `returning *` gives it (without the internal id). */
export type TaskRowRaw = { [K in Exclude<keyof TaskRow, 'id'> as SnakeCase<K>]: TaskRow[K] };

const fromRow = TASK_KEYS.map((k) => [k, read('r', snakeCase(k))] as const);

/** Row → Task: each field from its column (compiled from the field table, see compile-record.ts). */
export const toTask: (r: TaskRowRaw) => Task = compileRecord(['r'], fromRow);

/** Row → ClaimedTask: a task with its fencing token, listed last. */
export const toClaimedTask: (r: TaskRowRaw) => ClaimedTask = compileRecord(
  ['r'],
  [...fromRow, ['fencingToken', read('r', 'fencing_token')]],
);

/** The fields of a ClaimedTask in the order claimedJsonArraySql lists their columns. */
const CLAIMED_KEYS = [...TASK_KEYS, 'fencingToken' as const];

/**
 * A claimed row as one JSON array: Task's columns in TASK_KEYS order, then the fencing token. For
 * statements whose parts return different shapes (completeAndClaim), where the row must travel as
 * one json value. As row_to_json the column names went with every row: 36 keys, about 60 % of its
 * bytes, all sent, split into strings and parsed again per claimed task, and in a profile of the
 * 4-process bench the worker spent 14 % of its CPU on the result rows.
 */
export function claimedJsonArraySql(alias: string): string {
  return `json_build_array(${CLAIMED_KEYS.map((k) => (isDateField(k) ? epochMsSql(`${alias}.${snakeCase(k)}`) : `${alias}.${snakeCase(k)}`)).join(', ')})`;
}

/**
 * A timestamp as whole milliseconds since the epoch, rounded down, which is the Date that its
 * ISO 8601 text would give (a Date keeps milliseconds, and parsing drops the microseconds). A
 * number is 13 characters on the wire against 34 quoted, and new Date(number) in place of parsing
 * text: a claimed task has five to nine timestamps.
 */
function epochMsSql(column: string): string {
  return `floor(extract(epoch from ${column}) * 1000)`;
}

/** claimedJsonArraySql's array → ClaimedTask, timestamps as Dates (from their epoch milliseconds). */
export const claimedFromJsonArray: (a: unknown[]) => ClaimedTask = compileRecord(
  ['a'],
  CLAIMED_KEYS.map((k, i) => [k, isDateField(k) ? `(a[${i}] === null ? null : new Date(a[${i}]))` : `a[${i}]`] as const),
);

const TIMESTAMPS = (Object.keys(TASK_COLUMNS) as (keyof typeof TASK_COLUMNS)[]).filter(isDateField).map(snakeCase);

/** A row that travelled as row_to_json: its timestamps are text; make them Dates like a normal row. */
export function rowFromJson(row: Record<string, unknown>): TaskRowRaw {
  for (const k of TIMESTAMPS) if (typeof row[k] === 'string') row[k] = new Date(row[k] as string);
  return row as unknown as TaskRowRaw;
}
