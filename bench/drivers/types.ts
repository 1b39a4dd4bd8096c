/**
 * One queue system as the benchmark drives it. Each driver uses its library's own recommended
 * API: the harness only hands out job ids and watches the handler calls.
 *
 * Jobs carry a benchmark-assigned integer id in their payload; the handler reports it through
 * `onJob` as its very first action, which is how the harness times submit-to-start and checks
 * that every job ran exactly once. The driver's handler awaits what `onJob` returns: a no-op job
 * returns nothing, the `io` scenario's a timer (bench/scenarios.ts), and the job is finished only
 * when that has resolved.
 */
export type JobHandler = (jobId: number) => void | Promise<void>;

/** Stops the worker gracefully (in-flight jobs finish and are recorded as complete). */
export type StopWorker = () => Promise<void>;

export interface QueueDriver {
  /**
   * Jobs per throughput round when fewer than --n: for a system whose documented defaults poll
   * slowly (pg-boss's), so that its rounds end in about a minute. Its rate is still jobs/second.
   */
  readonly throughputJobs?: number;
  /** Short key used on the command line and in database names: `eventix`, `graphile`, `pgboss`. */
  readonly key: string;
  /** Display name, e.g. `graphile-worker 0.18.0`. */
  readonly name: string;
  /** The non-default options this driver sets and why, printed under the table and stored in the JSON. */
  readonly notes: readonly string[];
  /** The configuration actually used, for the JSON report. */
  readonly config: Readonly<Record<string, unknown>>;

  /** Install the system's schema in the (fresh, empty) database at `url` and open the producer side. */
  setup(url: string): Promise<void>;
  /** Enqueue one batch of no-op jobs, one per id, with the library's bulk API, in one call. */
  enqueueBulk(ids: readonly number[]): Promise<void>;
  /** Enqueue one no-op job with the library's single-job API. Resolves when the library's call resolves. */
  enqueueOne(id: number): Promise<void>;
  /** Start one in-process worker (pool/instance) running up to `concurrency` jobs at once. */
  startWorker(concurrency: number, onJob: JobHandler): Promise<StopWorker>;
  /** Jobs of the benchmark task not yet finished in the database (waiting, running, or awaiting completion). */
  remaining(): Promise<number>;
  /** Close every connection the driver opened. Safe to call more than once, and after a failed setup. */
  teardown(): Promise<void>;
}

export const NOOP_TASK = 'bench_noop';
