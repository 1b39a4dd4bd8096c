import type { DetectOptions } from '../changes/detect.ts';
import type { Direction } from '../formats/normalized.ts';

/** The namespace of the built-in benchmark tasks, served by `eventix start` and `eventix worker`. */
export const ALERTS_NAMESPACE = 'eventix.benchmarks';
export const EVALUATE_TASK = 'benchmarks.evaluate';
export const WEBHOOK_TASK = 'benchmarks.alert-webhook';

/** Retry policy of a built-in task (the submit fields of the same names). */
export interface TaskRetry {
  maxRetries?: number | undefined;
  /** Seconds before the first retry, doubled per attempt (the queue's backoff). */
  errorEtaInc?: number | undefined;
  errorEtaMax?: number | undefined;
}

export interface WebhookSettings {
  /** From server configuration only (EVENTIX_ALERT_WEBHOOK_URL), never from a request or a task. */
  url: string;
  /** Per delivery attempt (default 10 s). */
  timeoutMs?: number | undefined;
  retry?: TaskRetry | undefined;
}

/** What evaluation needs to know, from Config (alertSettingsFromConfig) or given directly by tests. */
export interface AlertSettings {
  /** Local repositories git may run in (EVENTIX_REPOS): their series follow first-parent order. */
  repos?: readonly string[] | undefined;
  /** Per-metric direction overrides (EVENTIX_METRIC_DIRECTIONS); null forces "unknown". */
  directions?: Readonly<Record<string, Direction | null>> | undefined;
  /** Minimum relative change (EVENTIX_CHANGE_MIN_EFFECT, default 0.02); also the tolerance of "restored". */
  minEffect?: number | undefined;
  /** Further detector options (tests, tuning); direction and minEffect come from the fields above. */
  detect?: Omit<DetectOptions, 'direction' | 'minEffect'> | undefined;
  /** Absent: no deliveries are enqueued. */
  webhook?: WebhookSettings | undefined;
  /** Retry policy of evaluation tasks. */
  evaluateRetry?: TaskRetry | undefined;
}
