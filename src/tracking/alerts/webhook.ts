import { alertToJson } from '../../api/alert-schemas.ts';
import type { Executor } from '../../db/executor.ts';
import { NonRetryableError } from '../../errors.ts';
import { VERSION } from '../../version.ts';
import type { WebhookSettings } from './settings.ts';
import { AlertNotFound, getAlert } from './store.ts';

/**
 * Delivery of a new alert to EVENTIX_ALERT_WEBHOOK_URL: one `benchmarks.alert-webhook` task per
 * alert, enqueued in the transaction that opened it, so ingestion never waits for the receiver
 * and a failed delivery is retried by the queue with its backoff.
 *
 * - The URL comes from server configuration only; no task argument or request can name another.
 * - The body is `{"event": "benchmark.alert.opened", "alert": <the alert as GET /benchmarks/alerts/{id}
 *   answers>}` with `X-Eventix-Delivery: alert-<id>`, the same on every attempt, so a receiver can
 *   drop a repeat (a delivery whose answer was lost in a timeout is sent again).
 * - A 2xx answer delivers; anything else, a timeout or a network error throws, and the queue
 *   retries. Redirects are not followed: the configured URL is the only destination.
 * - Webhook URLs often carry their secret in the path or query (Slack, Teams): errors and logs
 *   name only the scheme and host ({@link redactUrl}).
 */

export const WEBHOOK_EVENT = 'benchmark.alert.opened';

/** The URL without its userinfo, path and query: safe to log and to store in a task's error. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname !== '/' || u.search ? '/…' : ''}`;
  } catch {
    return '(invalid URL)';
  }
}

export class WebhookFailed extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebhookFailed';
  }
}

export interface DeliveryOptions {
  signal?: AbortSignal | undefined;
  fetch?: typeof fetch;
}

/** Send one alert; throws (so the task retries) unless the receiver answered 2xx. */
export async function deliverAlert(
  ex: Executor,
  alertId: number,
  webhook: WebhookSettings,
  opts: DeliveryOptions = {},
): Promise<{ status: number; alert_id: number }> {
  let alert: Awaited<ReturnType<typeof getAlert>>;
  try {
    alert = await getAlert(ex, alertId);
  } catch (err) {
    // Deleted by hand: there is nothing left to deliver, and retrying cannot change that.
    if (err instanceof AlertNotFound) throw new NonRetryableError(err.message);
    throw err;
  }
  const where = redactUrl(webhook.url);
  const timeoutMs = webhook.timeoutMs ?? 10_000;
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
  let res: Response;
  try {
    res = await (opts.fetch ?? fetch)(webhook.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': `eventix/${VERSION}`,
        'x-eventix-event': WEBHOOK_EVENT,
        'x-eventix-delivery': `alert-${alert.id}`,
      },
      body: JSON.stringify({ event: WEBHOOK_EVENT, alert: alertToJson(alert) }),
      redirect: 'manual',
      signal,
    });
  } catch (err) {
    if (timeout.aborted) throw new WebhookFailed(`the alert webhook ${where} did not answer within ${timeoutMs} ms`);
    if (opts.signal?.aborted) throw opts.signal.reason;
    // fetch's own message is "fetch failed"; the cause's code says why without repeating the URL.
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new WebhookFailed(`the alert webhook ${where} could not be reached: ${cause?.code ?? cause?.message ?? (err as Error).message}`);
  }
  // The answer's body is not needed; reading it (bounded by the same timeout) frees the connection.
  await res.arrayBuffer().catch(() => undefined);
  if (res.status < 200 || res.status > 299) throw new WebhookFailed(`the alert webhook ${where} answered ${res.status}`);
  return { status: res.status, alert_id: alert.id };
}
