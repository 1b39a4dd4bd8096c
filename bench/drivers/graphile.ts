import { Logger, makeWorkerUtils, type Runner, run, runMigrations, type WorkerUtils } from 'graphile-worker';
import pg from 'pg';
import {
  type JobHandler,
  type JobShape,
  MIXED_NAMES,
  type MixedJob,
  NOOP_TASK,
  type QueueDriver,
  qualifiedName,
  type StopWorker,
} from './types.ts';
import { installedVersion } from './version.ts';

const version = installedVersion('graphile-worker');

/**
 * graphile-worker's logger prints one info line per completed job; a benchmark must not time the
 * terminal. Warnings and errors still go to stderr.
 */
const quietLogger = new Logger((scope) => (level, message) => {
  if (level === 'error' || level === 'warning')
    console.error(`[graphile-worker${scope.label ? `:${scope.label}` : ''}] ${level}: ${message}`);
});

/**
 * The settings graphile-worker's performance docs give for throughput: a local queue that locks
 * jobs ahead of the free slots (size 100), and completions and failures batched with no delay.
 */
const TUNED = { localQueue: { size: 100 }, completeJobBatchDelay: 0, failJobBatchDelay: 0 } as const;

/** Every task identifier the bench uses, for remaining(). */
const BENCH_IDENTIFIERS = [NOOP_TASK, ...MIXED_NAMES];

/**
 * graphile-worker driven the documented way: `makeWorkerUtils().addJobs()` for bulk,
 * `WorkerUtils.addJob()` for single jobs, and one `run()` runner with `concurrency` and a
 * `taskList`. Workers wake through LISTEN/NOTIFY, which is on by default. Mode `tuned` adds the
 * throughput settings of its docs (TUNED): what a team choosing it for throughput would run.
 *
 * The mixed queue: graphile-worker has no namespaces, so each (namespace, task) pair is a task
 * identifier of its own (qualifiedName: 15), all in the one runner's taskList. Its priorities run
 * "in numerically ascending order" (its docs), Eventix's the other way: a mixed job's priority p
 * is added as −p. No `queueName`: a named queue runs its jobs "serially" (its docs), one at a
 * time, which no other system's mixed queue does.
 */
export class GraphileDriver implements QueueDriver {
  readonly key: string;
  readonly name: string;
  readonly notes: string[] = [];
  config: Record<string, unknown> = {};

  constructor(private readonly mode: 'default' | 'tuned' = 'default') {
    this.key = mode === 'tuned' ? 'graphile-tuned' : 'graphile';
    this.name = mode === 'tuned' ? `graphile-worker ${version} (tuned)` : `graphile-worker ${version}`;
  }

  private url = '';
  private utils: WorkerUtils | undefined;
  private inspect: pg.Pool | undefined;
  private runners = new Set<Runner>();
  /** Whether a mixed worker has run: the notes and config then describe it too. */
  private mixed = false;

  async setup(url: string): Promise<void> {
    this.url = url;
    await runMigrations({ connectionString: url, logger: quietLogger });
    // The producer side: its own pool (node-postgres default size), like a separate web process.
    this.utils = await makeWorkerUtils({ connectionString: url, logger: quietLogger });
    this.inspect = new pg.Pool({ connectionString: url, max: 1 });
    this.inspect.on('error', (err) => console.error(`[${this.key}] inspection connection: ${err.message}`));
  }

  async enqueueBulk(ids: readonly number[]): Promise<void> {
    await this.producer().addJobs(ids.map((id) => ({ identifier: NOOP_TASK, payload: { id } })));
  }

  async enqueueMixed(jobs: readonly MixedJob[]): Promise<void> {
    await this.producer().addJobs(
      jobs.map(({ id, task, namespace, priority }) => ({
        identifier: qualifiedName(namespace, task),
        payload: { id },
        priority: -priority,
      })),
    );
  }

  async enqueueOne(id: number): Promise<void> {
    await this.producer().addJob(NOOP_TASK, { id });
  }

  async startWorker(concurrency: number, onJob: JobHandler, shape: JobShape = 'noop'): Promise<StopWorker> {
    // graphile-worker's own advice for maxPoolSize: "10 or concurrentJobs + 2, whichever is larger"
    // (it warns when the pool is smaller than concurrency).
    const maxPoolSize = Math.max(10, concurrency + 2);
    const tuned = this.mode === 'tuned';
    const handler = async (payload: unknown) => {
      await onJob((payload as { id: number }).id);
    };
    this.mixed ||= shape === 'mixed';
    this.config = {
      concurrency,
      maxPoolSize,
      pollInterval: '2000 ms (default)',
      listenNotify: 'on (default)',
      localQueue: tuned ? `size ${TUNED.localQueue.size}` : 'off (default)',
      completeJobBatchDelay: tuned ? TUNED.completeJobBatchDelay : '-1 (default: off)',
      failJobBatchDelay: tuned ? TUNED.failJobBatchDelay : '-1 (default: off)',
      ...(this.mixed ? { mixed: { taskIdentifiers: MIXED_NAMES, priority: '−p (ascending: lower runs first)', queueName: 'none' } } : {}),
    };
    this.notes.splice(
      0,
      this.notes.length,
      tuned
        ? `run({ concurrency: ${concurrency}, maxPoolSize: ${maxPoolSize}, preset: { worker: ${JSON.stringify(TUNED)} } }) — the throughput settings of its performance docs: a local queue locking jobs ahead of free slots, completions and failures batched`
        : `run({ concurrency: ${concurrency}, maxPoolSize: ${maxPoolSize} }) — maxPoolSize per its docs ("10 or concurrency + 2, whichever is larger"); everything else default (LISTEN/NOTIFY wake-ups, no localQueue)`,
      'bulk: WorkerUtils.addJobs(); single: WorkerUtils.addJob(); info-level logging (one line per job) silenced',
      ...(this.mixed
        ? [
            `mixed: the same run() with a taskList of ${MIXED_NAMES.length} identifiers '<namespace>/<task>' (no namespaces in graphile-worker); addJobs() with priority −p (graphile-worker runs lower numbers first); no queueName (a named queue runs its jobs one at a time)`,
          ]
        : []),
    );
    const runner = await run({
      connectionString: this.url,
      concurrency,
      maxPoolSize,
      noHandleSignals: true,
      logger: quietLogger,
      ...(tuned ? { preset: { worker: TUNED } } : {}),
      taskList: Object.fromEntries((shape === 'mixed' ? MIXED_NAMES : [NOOP_TASK]).map((identifier) => [identifier, handler])),
    });
    this.runners.add(runner);
    return async () => {
      if (!this.runners.delete(runner)) return;
      await runner.stop();
    };
  }

  async remaining(): Promise<number> {
    if (!this.inspect) throw new Error('graphile driver is not set up');
    // Completed jobs are deleted; what is left is waiting, running or failed.
    const { rows } = await this.inspect.query<{ n: number }>(
      `select count(*)::int as n from graphile_worker._private_jobs j
         join graphile_worker._private_tasks t on t.id = j.task_id
        where t.identifier = any($1::text[])`,
      [BENCH_IDENTIFIERS],
    );
    return rows[0]?.n ?? 0;
  }

  async teardown(): Promise<void> {
    const runners = [...this.runners];
    this.runners.clear();
    await Promise.allSettled(runners.map((r) => r.stop()));
    const utils = this.utils;
    this.utils = undefined;
    await utils?.release();
    const inspect = this.inspect;
    this.inspect = undefined;
    await inspect?.end();
  }

  private producer(): WorkerUtils {
    if (!this.utils) throw new Error('graphile driver is not set up');
    return this.utils;
  }
}
