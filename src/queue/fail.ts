import { type Executor, run } from '../db/executor.ts';
import { jsonValue } from '../validation/json.ts';
import { failedAttemptSet, RETRIES_REMAIN } from './failure-sql.ts';
import { explainLoss, type Lease } from './ownership.ts';
import type { TaskStatus } from './states.ts';
import type { TaskError } from './task.ts';

/**
 * End an attempt in failure, guarded by ownership like every worker change: one statement that
 * decides the next status from the row (see failedAttemptSet). $4 false (a non-retryable error)
 * fails at once, whatever retries remain.
 */
const FAIL_SQL = `
update tasks t set${failedAttemptSet(`$4::boolean and ${RETRIES_REMAIN}`, '$5::jsonb')}
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
