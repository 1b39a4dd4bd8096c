/**
 * One queue system as the benchmark drives it. Each driver uses its library's own recommended
 * API: the harness only hands out job ids and watches the handler calls.
 *
 * Jobs carry a benchmark-assigned integer id in their payload; the handler reports it through
 * `onJob` as its very first action, which is how the harness times submit-to-start and checks
 * that every job ran exactly once. The driver's handler awaits what `onJob` returns: a no-op job
 * returns nothing, the `io` scenario's a timer (bench/scenarios.ts), and the job is finished only
 * when that has resolved.
 *
 * Two shapes of queue (JobShape): `noop`, one task name in one namespace, and `mixed`, the
 * `mixed` scenario's 5 task names over 3 namespaces with 3 priorities (MIXED_TASKS, mixedJob).
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
  /** Enqueue one batch of mixed jobs (mixedJob) with the library's bulk API: one call, or one per name where it takes a single name (pg-boss). */
  enqueueMixed(jobs: readonly MixedJob[]): Promise<void>;
  /** Enqueue one no-op job with the library's single-job API. Resolves when the library's call resolves. */
  enqueueOne(id: number): Promise<void>;
  /**
   * Start one in-process worker (pool/instance) running up to `concurrency` jobs at once, of the
   * no-op task or (`mixed`) of every mixed task name in every mixed namespace; otherwise the same settings.
   */
  startWorker(concurrency: number, onJob: JobHandler, shape?: JobShape): Promise<StopWorker>;
  /** Jobs of either shape not yet finished in the database (waiting, running, or awaiting completion): one phase runs at a time. */
  remaining(): Promise<number>;
  /** Close every connection the driver opened. Safe to call more than once, and after a failed setup. */
  teardown(): Promise<void>;
}

export const NOOP_TASK = 'bench_noop';

/** Which jobs a phase enqueues and its worker takes: see QueueDriver. */
export type JobShape = 'noop' | 'mixed';

/** The `mixed` scenario's task names: every one a no-op, like NOOP_TASK. */
export const MIXED_TASKS = ['bench_mixed_a', 'bench_mixed_b', 'bench_mixed_c', 'bench_mixed_d', 'bench_mixed_e'] as const;
/** The `mixed` scenario's namespaces; a system without namespaces puts them in the name (qualifiedName). */
export const MIXED_NAMESPACES = ['bench-x', 'bench-y', 'bench-z'] as const;

export interface MixedJob {
  id: number;
  task: (typeof MIXED_TASKS)[number];
  namespace: (typeof MIXED_NAMESPACES)[number];
  /** 0, 1 or 2; higher should run first (Eventix's convention: a driver converts for its library). */
  priority: number;
}

/**
 * The mixed job of benchmark id `id`, the same in every system. The lowest three digits of `id`
 * in the mixed radix 5, 3, 3 pick task, namespace and priority, so that any 45 consecutive ids (a
 * round's are consecutive) hold every combination once: names, namespaces and priorities are
 * evenly spread and independent of one another.
 */
export function mixedJob(id: number): MixedJob {
  return {
    id,
    task: MIXED_TASKS[id % MIXED_TASKS.length] as MixedJob['task'],
    namespace: MIXED_NAMESPACES[Math.floor(id / MIXED_TASKS.length) % MIXED_NAMESPACES.length] as MixedJob['namespace'],
    priority: Math.floor(id / (MIXED_TASKS.length * MIXED_NAMESPACES.length)) % 3,
  };
}

/**
 * One name for a task in a namespace, for a system that has one name per job type and no
 * namespaces (graphile-worker's task identifiers, pg-boss's queues): the slash is how
 * graphile-worker names a task file in a subdirectory, and pg-boss allows it in a queue name.
 */
export const qualifiedName = (namespace: string, task: string) => `${namespace}/${task}`;

/** Every qualifiedName of the mixed scenario: 15. */
export const MIXED_NAMES: readonly string[] = MIXED_NAMESPACES.flatMap((ns) => MIXED_TASKS.map((t) => qualifiedName(ns, t)));
