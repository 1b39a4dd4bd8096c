import type { TaskStatus } from '../../queue/states.ts';
import { type NormalizedSubmit, normalizeWire } from '../../queue/submit-input.ts';
import type { Task, TaskError } from '../../queue/task.ts';
import { newTaskUid } from '../../queue/uid.ts';
import type { SubmitBody } from '../schemas.ts';
import type { PyStatus, PyTaskBody, PyTaskJson } from './schemas.ts';
import { pythonTimeToIso } from './time.ts';

/**
 * The Python Eventix task model ⇄ our task. The MIGRATION_GUIDE's field table says what each
 * Python field became; this is that table as code, both ways.
 *
 * - priority: Python ran the lowest first, we run the highest first: negated both ways.
 * - status: the same five names; our `cancelled` has no Python name and shows as `error`.
 * - result: Python kept a failure in `result`; we keep it in `error`. Error and retry tasks
 *   answer their error as `result`, in the shape the Python worker wrote (WebException.dict()).
 * - max_retries: Python counted it down in place; we count attempts. It answers the retries left.
 * - revision: ours, as a string of digits (see schemas.ts).
 */

/** -0 is not a priority anyone means. */
export const negate = (n: number) => (n === 0 ? 0 : -n);

/** Python's defaults where they differ from ours (TEventixTask): keep retrying and keep errors forever. */
export const PY_DEFAULTS = {
  namespace: 'default',
  priority: 0,
  retry: true,
  maxRetries: null,
  errorEtaInc: 15,
  errorEtaMax: 300,
  storeResult: true,
  resultExpires: 604_800,
  errorExpires: null,
} as const;

export const pyStatusOf = (status: TaskStatus): PyStatus => (status === 'cancelled' ? 'error' : status);

/** The statuses of ours a Python status stands for (its `error` covers our `cancelled`). */
export const statusesOf = (status: PyStatus): TaskStatus[] => (status === 'error' ? ['error', 'cancelled'] : [status]);

/** Attempts that ended in failure: while one runs, attempts counts it already. */
const failedAttempts = (t: Pick<Task, 'status' | 'attempts'>) =>
  t.status === 'processing' || t.status === 'done' ? Math.max(t.attempts - 1, 0) : t.attempts;

/** The retries a task has left, as the Python model counted them; null is unlimited. */
export const retriesLeft = (t: Pick<Task, 'status' | 'attempts' | 'maxRetries'>) =>
  t.maxRetries === null ? null : Math.max(t.maxRetries - failedAttempts(t), 0);

/** Retries left (the Python field) → our max_retries, for a task with this history. */
export const maxRetriesFor = (left: number | null, t: Pick<Task, 'status' | 'attempts'>) =>
  left === null ? null : Math.min(left + failedAttempts(t), 1_000_000);

/** The Python worker's error (WebException.dict(), or task_set_error's dict for any exception). */
export interface PyError {
  error_class: string;
  error_message: string;
  error_status_code: number;
  error_traceback: string | string[] | null;
  error_payload: unknown;
}

const isPyError = (v: unknown): v is PyError =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && typeof (v as { error_class?: unknown }).error_class === 'string';

/** Our stored error → the `result` of a Python error/retry task: the Python one as the worker wrote it, else ours in its shape. */
export function pyErrorOf(t: Pick<Task, 'status' | 'error'>): PyError | unknown {
  const e = t.error;
  if (e && isPyError(e.payload)) return e.payload;
  if (!e) {
    return {
      error_class: t.status === 'cancelled' ? 'TaskCancelled' : 'Error',
      error_message: t.status === 'cancelled' ? 'the task was cancelled' : '',
      error_status_code: 500,
      error_traceback: null,
      error_payload: {},
    } satisfies PyError;
  }
  return {
    error_class: e.class,
    error_message: e.message,
    error_status_code: 500,
    error_traceback: e.stack ?? null,
    error_payload: { ...(e.payload !== undefined ? { payload: e.payload } : {}), ...(e.reason ? { reason: e.reason } : {}) },
  } satisfies PyError;
}

/**
 * A Python worker's error result → what we store. The Python dict is kept whole as the payload,
 * so the compatible API answers it back unchanged; class, message and traceback fill our fields.
 */
export function taskErrorOf(result: unknown): TaskError {
  if (isPyError(result)) {
    const tb = result.error_traceback;
    const stack = Array.isArray(tb) ? tb.map(String).join('') : typeof tb === 'string' ? tb : undefined;
    return {
      class: result.error_class.slice(0, 200) || 'Error',
      message: typeof result.error_message === 'string' ? result.error_message : JSON.stringify(result.error_message ?? ''),
      ...(stack ? { stack } : {}),
      payload: result,
    };
  }
  const message = typeof result === 'string' ? result : (JSON.stringify(result ?? null) as string);
  return { class: 'Error', message, payload: result ?? null };
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/**
 * Our task → the Python model. `claimed`: the answer to a claim, which says store_result true
 * whatever the task's own value, so that the Python worker writes the outcome back with a PUT
 * (guarded by its claim) instead of the DELETE it sends for store_result false; the server then
 * applies the task's real store_result (deletes the row).
 */
export function toPyTask(t: Task, opts: { claimed?: boolean } = {}): PyTaskJson {
  const waiting = t.status === 'scheduled' || t.status === 'retry';
  const failed = t.status === 'error' || t.status === 'retry' || t.status === 'cancelled';
  return {
    uid: t.uid,
    task: t.task,
    namespace: t.namespace,
    status: pyStatusOf(t.status),
    priority: negate(t.priority),
    eta: t.eta.toISOString(),
    scheduled: t.createdAt.toISOString(),
    args: t.args,
    kwargs: t.kwargs,
    unique_key: t.uniqueKey,
    retry: t.retry,
    max_retries: retriesLeft(t),
    error_eta_inc: t.errorEtaInc,
    error_eta_max: t.errorEtaMax,
    store_result: opts.claimed ? true : t.storeResult,
    result_expires: t.resultExpires,
    error_expires: t.errorExpires,
    result: failed ? pyErrorOf(t) : (t.result ?? null),
    expires: iso(t.expiresAt),
    worker_id: waiting ? null : t.workerId,
    worker_expires: t.status === 'processing' ? iso(t.leaseExpiresAt) : null,
    operator: t.operator,
    revision: String(t.revision),
    created_time: t.createdAt.toISOString(),
    updated_time: t.updatedAt.toISOString(),
  };
}

/**
 * A Python submission → what our submit statement stores, with Python's defaults for what it
 * leaves out. Server-managed fields (status, scheduled, result, expires, worker_*, revision) are
 * ignored. An error_eta_max below error_eta_inc is raised to it: Python allowed that (its first
 * delay was the increment), our schema does not.
 */
export function submitOf(b: PyTaskBody, operator: string | null): NormalizedSubmit {
  const inc = b.error_eta_inc ?? PY_DEFAULTS.errorEtaInc;
  const wire: SubmitBody = {
    task: b.task,
    namespace: b.namespace ?? PY_DEFAULTS.namespace,
    args: b.args ?? [],
    kwargs: b.kwargs ?? {},
    priority: negate(b.priority ?? PY_DEFAULTS.priority),
    unique_key: b.unique_key ?? null,
    retry: b.retry ?? PY_DEFAULTS.retry,
    max_retries: b.max_retries === undefined ? PY_DEFAULTS.maxRetries : b.max_retries,
    error_eta_inc: inc,
    error_eta_max: Math.max(b.error_eta_max ?? PY_DEFAULTS.errorEtaMax, inc),
    timeout_seconds: null,
    store_result: b.store_result ?? PY_DEFAULTS.storeResult,
    result_expires: b.result_expires === undefined ? PY_DEFAULTS.resultExpires : b.result_expires,
    error_expires: b.error_expires === undefined ? PY_DEFAULTS.errorExpires : b.error_expires,
    operator,
  };
  const eta = pythonTimeToIso(b.eta);
  if (eta !== null) wire.eta = eta;
  // Every field is set above, so normalizeWire applies none of our own defaults.
  return normalizeWire(wire, b.uid?.toLowerCase() ?? newTaskUid());
}
