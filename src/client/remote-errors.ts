import { coerceError } from '../logger.ts';
import type { AttemptAborted } from '../worker/attempt-aborted.ts';
import { type EventixApiError, isEventixApiError } from './client.ts';
import type { RemoteTaskError } from './remote-worker.ts';

/** 409 LeaseLost, or 404 when the task was deleted under us: either way the task is no longer ours. */
export function isLeaseLoss(err: unknown): err is EventixApiError {
  return isEventixApiError(err) && (err.status === 409 || err.status === 404);
}

const MAX_TEXT = 100_000;

/** Anything thrown → the `error` of POST /fail (bounded to what the route accepts), plus the abort reason. */
export function toRemoteError(err: unknown, reason: AttemptAborted['reason'] | undefined): RemoteTaskError {
  const e = coerceError(err);
  const out: RemoteTaskError = { class: (e.name || 'Error').slice(0, 200), message: e.message.slice(0, MAX_TEXT) };
  if (e.stack) out.stack = e.stack.slice(0, MAX_TEXT);
  const payload = (e as { payload?: unknown }).payload;
  if (payload !== undefined && isJson(payload)) out.payload = payload as RemoteTaskError['payload'];
  if (reason === 'timeout' || reason === 'cancelled') out.reason = reason;
  return out;
}

function isJson(value: unknown): boolean {
  try {
    return JSON.stringify(value) !== undefined;
  } catch {
    return false;
  }
}
