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
 * The caller adds the `error` column.
 */
export function failedAttemptSet(retrying: string): string {
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
  revision = t.revision + 1`;
}
