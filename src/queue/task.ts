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

const TIMESTAMPS = (Object.keys(TASK_COLUMNS) as (keyof typeof TASK_COLUMNS)[]).filter(isDateField).map(snakeCase);

/** A row that travelled as row_to_json: its timestamps are text; make them Dates like a normal row. */
export function rowFromJson(row: Record<string, unknown>): TaskRowRaw {
  for (const k of TIMESTAMPS) if (typeof row[k] === 'string') row[k] = new Date(row[k] as string);
  return row as unknown as TaskRowRaw;
}
