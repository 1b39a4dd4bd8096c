import { type Executor, run } from './executor.ts';
import { jsonValue } from './input.ts';
import { explainLoss, type Lease } from './ownership.ts';
import type { TaskStatus } from './states.ts';
import type { TaskError } from './task.ts';

/**
 * End an attempt in failure, guarded by ownership like every worker change. The next status is
 * decided here, in one statement, from the row itself: `cancelled` if a cancel was requested
 * while it ran; `retry` with eta = now + backoff while retries remain and the error is
 * retryable; otherwise `error`, kept until error_expires.
 */
const FAIL_SQL = `
update tasks t set
  status = case
    when t.cancel_requested then 'cancelled'
    when $4::boolean and t.retry and (t.max_retries is null or t.attempts <= t.max_retries) then 'retry'
    else 'error' end,
  eta = case
    when not t.cancel_requested and $4::boolean and t.retry and (t.max_retries is null or t.attempts <= t.max_retries)
      then now() + make_interval(secs => eventix_backoff_seconds(t.error_eta_inc, t.error_eta_max, t.attempts))
    else t.eta end,
  error = $5::jsonb,
  lease_expires_at = null,
  finished_at = case
    when not t.cancel_requested and $4::boolean and t.retry and (t.max_retries is null or t.attempts <= t.max_retries) then null
    else now() end,
  expires_at = case
    when not t.cancel_requested and $4::boolean and t.retry and (t.max_retries is null or t.attempts <= t.max_retries) then null
    when t.error_expires is null then null
    else now() + make_interval(secs => t.error_expires) end,
  updated_at = now(),
  revision = t.revision + 1
where t.uid = $1 and t.status = 'processing' and t.worker_id = $2 and t.fencing_token = $3
returning t.status, t.eta, t.namespace
`;

export interface Failure extends Lease {
  error: TaskError;
  /** false fails at once (a non-retryable error), whatever retries remain. */
  retryable?: boolean;
}

/** Turn anything thrown into the stored error shape. */
export function toTaskError(err: unknown, reason?: string): TaskError {
  const e = err instanceof Error ? err : new Error(typeof err === 'string' ? err : (JSON.stringify(err) ?? String(err)));
  const payload = (e as { payload?: unknown }).payload;
  const out: TaskError = { class: e.name || 'Error', message: e.message, stack: e.stack };
  if (payload !== undefined && jsonValue.safeParse(payload).success) out.payload = payload;
  if (reason) out.reason = reason;
  return out;
}

export async function fail(ex: Executor, f: Failure): Promise<{ status: TaskStatus; eta: Date; namespace: string }> {
  const error = jsonValue.safeParse(f.error).success ? f.error : { class: f.error.class, message: String(f.error.message) };
  const [row] = await run<{ status: TaskStatus; eta: Date; namespace: string }>(
    ex,
    FAIL_SQL,
    [f.uid, f.workerId, f.fencingToken, f.retryable !== false, JSON.stringify(error)],
    'eventix_fail',
  );
  if (!row) throw await explainLoss(ex, f);
  return row;
}
