import { compileRecord, read } from '../queue/compile-record.ts';
import type { ClaimedTask, Task } from '../queue/task.ts';
import { isDateField, snakeCase, TASK_COLUMNS, TASK_KEYS } from '../queue/task-fields.ts';
import type { ClaimedTaskJson, TaskJson } from './schemas.ts';

/** A timestamp as JSON: ISO text, or null when a nullable one is unset. */
const iso = (key: string, nullable: boolean) =>
  nullable ? `(${read('t', key)} ? ${read('t', key)}.toISOString() : null)` : `${read('t', key)}.toISOString()`;

const toJson = TASK_KEYS.map((k) => [snakeCase(k), isDateField(k) ? iso(k, !TASK_COLUMNS[k].notNull) : read('t', k)] as const);

/** Library Task (camelCase, Dates) → wire format (snake_case, ISO strings), compiled from the field table (see compile-record.ts). */
export const taskToJson: (t: Task) => TaskJson = compileRecord(['t'], toJson);

/** A claimed task: its lease is always set, and its fencing token is listed last. */
export const claimedToJson: (t: ClaimedTask) => ClaimedTaskJson = compileRecord(
  ['t'],
  [
    ...toJson.map(([key, e]) => [key, key === 'lease_expires_at' ? iso('leaseExpiresAt', false) : e] as const),
    ['fencing_token', read('t', 'fencingToken')],
  ],
);
