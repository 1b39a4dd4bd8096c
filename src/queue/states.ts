/**
 * The life of a task. This is the one place that says who moves a task into each status and out
 * of it; the CHECK constraint `tasks_status_valid` in the schema mirrors the list.
 *
 * - `scheduled`  In: submit (new task, or merged into by unique_key); `reschedule`.
 *                Out: claim → processing; cancel → cancelled.
 * - `processing` In: claim (sets worker_id, lease_expires_at, a fresh fencing_token, attempts+1;
 *                a task claimed into a worker's local buffer gets attempts+1 and started_at only
 *                when it starts, see src/worker/local-buffer.ts).
 *                Out: complete → done (or the row is deleted when store_result is off);
 *                fail → retry | error; rescue of an expired lease → retry | error;
 *                graceful shutdown release, or a buffered task handed back → scheduled/retry (attempt not counted);
 *                cancel of a running task → cancelled, when its worker next heartbeats.
 * - `retry`      In: fail or rescue while retries remain, with eta = now + backoff.
 *                Out: claim → processing; cancel → cancelled; reschedule → scheduled.
 * - `done`       In: complete with store_result on. Out: prune deletes it after result_expires.
 * - `error`      In: fail with no retries left or a non-retryable error; rescue with no retries
 *                left (reason `lease_expired`). Out: reschedule → scheduled; prune after error_expires.
 * - `cancelled`  In: cancel. Out: reschedule → scheduled; prune after error_expires.
 */
export const TASK_STATUSES = ['scheduled', 'processing', 'done', 'error', 'retry', 'cancelled'] as const;

export type TaskStatus = (typeof TASK_STATUSES)[number];

/** Statuses in which a task waits to be claimed. */
export const WAITING_STATUSES = ['scheduled', 'retry'] as const satisfies readonly TaskStatus[];

/** Statuses a task never leaves on its own. */
export const FINAL_STATUSES = ['done', 'error', 'cancelled'] as const satisfies readonly TaskStatus[];

export function isTaskStatus(value: unknown): value is TaskStatus {
  return typeof value === 'string' && (TASK_STATUSES as readonly string[]).includes(value);
}
