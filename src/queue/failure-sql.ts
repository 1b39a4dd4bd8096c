/**
 * SQL shared by the two statements that end an attempt in failure, `fail` (the worker reports an
 * error) and `rescueExpired` (its lease ran out), so both decide retry / error / cancelled the
 * same way. Each stays one statement: these are fragments of it, over the row aliased `t`.
 */

/**
 * Retries remain: the task allows them and has not used them up. `attempts` already counts the
 * attempt that just ended, so max_retries = 2 allows attempts 1, 2 and 3.
 */
export const RETRIES_REMAIN = '(t.retry and (t.max_retries is null or t.attempts <= t.max_retries))';

/**
 * The SET list of a failed attempt, decided from the row itself: `cancelled` if a cancel was
 * requested while it ran; `retry`, with eta = now + backoff, when `retrying` holds (an SQL
 * condition, RETRIES_REMAIN or a narrower one); otherwise `error`, kept until error_expires.
 * `error` (an SQL jsonb expression) is stored as the last error and appended to the history.
 */
export function failedAttemptSet(retrying: string, error: string): string {
  const retryNow = `not t.cancel_requested and ${retrying}`;
  return `
  status = case
    when t.cancel_requested then 'cancelled'
    when ${retrying} then 'retry'
    else 'error' end,
  eta = case
    when ${retryNow}
      then now() + make_interval(secs => eventix_backoff_seconds(t.error_eta_inc, t.error_eta_max, t.attempts))
    else t.eta end,
  lease_expires_at = null,
  finished_at = case
    when ${retryNow} then null
    else now() end,
  expires_at = case
    when ${retryNow} then null
    when t.error_expires is null then null
    else now() + make_interval(secs => t.error_expires) end,
  updated_at = now(),
  revision = t.revision + 1,
  error = ${error},
  ${attemptErrorsSet(error)}`;
}

/** How many failed attempts a task keeps (attempt_errors): enough to see a pattern, bounded in size. */
export const ATTEMPT_ERRORS_KEPT = 20;
/** A kept attempt's stack is cut to this many characters: the last error keeps its whole stack. */
export const ATTEMPT_STACK_KEPT = 2000;

/**
 * Append the attempt that just failed to attempt_errors, keeping the last ATTEMPT_ERRORS_KEPT. The
 * SET list sees the row as it was, so attempts, worker_id and started_at are the attempt's own.
 * Written only here, by failures: completion never touches the column.
 */
function attemptErrorsSet(error: string): string {
  const e = `(${error})`;
  const kept = `case when ${e} ? 'stack' then jsonb_set(${e}, '{stack}', to_jsonb(left(${e}->>'stack', ${ATTEMPT_STACK_KEPT}))) else ${e} end`;
  return `attempt_errors = eventix_push_attempt_error(t.attempt_errors, jsonb_build_object(
    'attempt', t.attempts, 'worker_id', t.worker_id, 'started_at', t.started_at, 'failed_at', now(), 'error', ${kept}), ${ATTEMPT_ERRORS_KEPT})`;
}
