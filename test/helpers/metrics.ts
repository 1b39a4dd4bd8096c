/**
 * Every metric Eventix declares, with its type, written out rather than read from the code: a
 * scrape that lost or retyped one must fail the tests (names are what dashboards and alerts use).
 */
export const EVENTIX_METRICS = [
  ['eventix_tasks_submitted_total', 'counter'],
  ['eventix_tasks_claimed_total', 'counter'],
  ['eventix_tasks_completed_total', 'counter'],
  ['eventix_tasks_failed_total', 'counter'],
  ['eventix_tasks_rescued_total', 'counter'],
  ['eventix_http_request_duration_seconds', 'histogram'],
  ['eventix_queue_depth', 'gauge'],
  ['eventix_queue_oldest_waiting_age_seconds', 'gauge'],
  ['eventix_metrics_collect_errors_total', 'counter'],
] as const;

/** The `# TYPE <name> …` lines of a scrape (exactly one for a declared metric). */
export const typeLines = (text: string, name: string) => text.split('\n').filter((l) => l.startsWith(`# TYPE ${name} `));

/** The value of one series in a scrape (`name{labels}` exactly as rendered), or undefined if absent. */
export function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}
