/** The standard Eventix metrics on a Registry, and the helpers that feed them. */

import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Executor } from '../db/executor.ts';
import { DEPTH_STATUSES, type NamespaceDepth, queueDepth } from '../queue/stats.ts';
import type { SubmitResult } from '../queue/submit.ts';
import type { WorkerEvents } from '../worker/worker.ts';

/** How an attempt that failed ended: retried later, failed for good, or cancelled while running. */
export type FailureOutcome = 'retry' | 'error' | 'cancelled';

export interface EventixMetrics {
  registry: Registry;
  tasksSubmitted: Counter<'namespace'>;
  tasksClaimed: Counter<'namespace'>;
  tasksCompleted: Counter<'namespace'>;
  tasksFailed: Counter<'namespace' | 'outcome'>;
  tasksRescued: Counter;
  httpRequestDuration: Histogram<'method' | 'route' | 'status'>;
  queueDepth: Gauge<'namespace' | 'status'>;
  queueOldestWaitingAge: Gauge<'namespace'>;
  /** Scrapes whose database read failed (the queue gauges were then left empty). */
  collectErrors: Counter;
}

export interface EventixMetricsOptions {
  /**
   * Where the queue gauges read from at every scrape (a pg Pool, typically). Without it the
   * gauges are declared but have no samples.
   */
  executor?: Executor;
  /** Called when the scrape's database read fails; the scrape still succeeds, without queue gauges. */
  onCollectError?: (err: Error) => void;
  /** Buckets of the HTTP duration histogram, in seconds. */
  httpBuckets?: readonly number[];
}

/**
 * Declare the standard Eventix metrics on a registry. The counters are fed by `instrumentWorker`
 * (claimed, completed, failed, rescued), by the API (submitted: see `countSubmitted`), and by the
 * HTTP middleware (request durations). The two queue gauges are read from the database at scrape
 * time, with one `queueDepth` query shared by both.
 */
export function createEventixMetrics(registry: Registry, opts: EventixMetricsOptions = {}): EventixMetrics {
  const { executor, onCollectError } = opts;
  // Namespaces seen at an earlier scrape keep reporting 0 once their queue drains, instead of
  // their series vanishing (which Prometheus would read as "no data", not as "empty").
  const known = new Set<string>();
  let inflight: Promise<NamespaceDepth[] | undefined> | undefined;
  const loadDepth = (): Promise<NamespaceDepth[] | undefined> => {
    if (!executor) return Promise.resolve(undefined);
    inflight ??= queueDepth(executor)
      .then((rows) => {
        for (const r of rows) known.add(r.namespace);
        return rows;
      })
      .catch((err: unknown) => {
        const error = err instanceof Error ? err : new Error(String(err));
        metrics.collectErrors.inc();
        onCollectError?.(error);
        return undefined;
      })
      .finally(() => {
        inflight = undefined;
      });
    return inflight;
  };
  const byNamespace = (rows: NamespaceDepth[]) => new Map(rows.map((r) => [r.namespace, r]));

  const registers = [registry];
  const metrics: EventixMetrics = {
    registry,
    tasksSubmitted: new Counter({
      name: 'eventix_tasks_submitted_total',
      help: 'Tasks created by submissions (merges into a waiting task by unique_key are not counted).',
      labelNames: ['namespace'],
      registers,
    }),
    tasksClaimed: new Counter({
      name: 'eventix_tasks_claimed_total',
      help: 'Tasks claimed by this process’s workers.',
      labelNames: ['namespace'],
      registers,
    }),
    tasksCompleted: new Counter({
      name: 'eventix_tasks_completed_total',
      help: 'Task attempts completed successfully by this process’s workers.',
      labelNames: ['namespace'],
      registers,
    }),
    tasksFailed: new Counter({
      name: 'eventix_tasks_failed_total',
      help: 'Task attempts that failed in this process’s workers, by outcome: retry, error (final) or cancelled.',
      labelNames: ['namespace', 'outcome'],
      registers,
    }),
    tasksRescued: new Counter({
      name: 'eventix_tasks_rescued_total',
      help: 'Tasks whose lease expired, returned to the queue (or failed) by this process’s maintenance.',
      registers,
    }),
    httpRequestDuration: new Histogram({
      name: 'eventix_http_request_duration_seconds',
      help: 'HTTP request durations in seconds, by method, route pattern and status code.',
      labelNames: ['method', 'route', 'status'],
      // prom-client's defaults (5 ms to 10 s) when not given.
      ...(opts.httpBuckets ? { buckets: [...opts.httpBuckets] } : {}),
      registers,
    }),
    queueDepth: new Gauge({
      name: 'eventix_queue_depth',
      help: 'Tasks waiting (scheduled, retry; due or not) or running (processing), by namespace, read at scrape time.',
      labelNames: ['namespace', 'status'],
      registers,
      async collect() {
        const rows = await loadDepth();
        this.reset();
        if (!rows) return;
        const found = byNamespace(rows);
        for (const namespace of [...known].sort()) {
          const counts = found.get(namespace)?.counts;
          for (const status of DEPTH_STATUSES) this.set({ namespace, status }, counts?.[status] ?? 0);
        }
      },
    }),
    queueOldestWaitingAge: new Gauge({
      name: 'eventix_queue_oldest_waiting_age_seconds',
      help: 'Seconds since the oldest due waiting task became due (now - eta), 0 when none is due, read at scrape time.',
      labelNames: ['namespace'],
      registers,
      async collect() {
        const rows = await loadDepth();
        this.reset();
        if (!rows) return;
        const found = byNamespace(rows);
        for (const namespace of [...known].sort()) this.set({ namespace }, found.get(namespace)?.oldestWaitingAgeSeconds ?? 0);
      },
    }),
    collectErrors: new Counter({
      name: 'eventix_metrics_collect_errors_total',
      help: 'Scrapes whose database read for the queue gauges failed.',
      registers,
      // prom-client reads every metric of a scrape at once: without waiting for the shared read
      // (started by the gauges above), this scrape would render the count before its own failure.
      async collect() {
        await loadDepth();
      },
    }),
  };
  return metrics;
}

/** Count the tasks a submission created (results of `submit`/`submitMany`; merged ones are skipped). */
export function countSubmitted(metrics: Pick<EventixMetrics, 'tasksSubmitted'>, results: readonly SubmitResult[]): void {
  const perNamespace = new Map<string, number>();
  for (const r of results) if (r.created) perNamespace.set(r.task.namespace, (perNamespace.get(r.task.namespace) ?? 0) + 1);
  for (const [namespace, n] of perNamespace) metrics.tasksSubmitted.inc({ namespace }, n);
}

/** What instrumentWorker needs of a Worker: its typed events. */
export interface WorkerEventSource {
  on<K extends keyof WorkerEvents>(event: K, listener: (...args: WorkerEvents[K]) => void): unknown;
  off<K extends keyof WorkerEvents>(event: K, listener: (...args: WorkerEvents[K]) => void): unknown;
}

/**
 * Feed the task counters from a Worker's events. Returns a function that unsubscribes.
 * A rescued task is counted once, in `eventix_tasks_rescued_total`, whatever status it went to.
 */
export function instrumentWorker(metrics: EventixMetrics, worker: WorkerEventSource): () => void {
  const onClaimed = ({ task }: WorkerEvents['task:claimed'][0]) => metrics.tasksClaimed.inc({ namespace: task.namespace });
  const onCompleted = ({ task }: WorkerEvents['task:completed'][0]) => metrics.tasksCompleted.inc({ namespace: task.namespace });
  const onFailed = ({ task, status }: WorkerEvents['task:failed'][0]) =>
    metrics.tasksFailed.inc({ namespace: task.namespace, outcome: status });
  const onRescued = (rows: WorkerEvents['maintenance:rescued'][0]) => {
    if (rows.length > 0) metrics.tasksRescued.inc(rows.length);
  };
  worker.on('task:claimed', onClaimed);
  worker.on('task:completed', onCompleted);
  worker.on('task:failed', onFailed);
  worker.on('maintenance:rescued', onRescued);
  return () => {
    worker.off('task:claimed', onClaimed);
    worker.off('task:completed', onCompleted);
    worker.off('task:failed', onFailed);
    worker.off('maintenance:rescued', onRescued);
  };
}
