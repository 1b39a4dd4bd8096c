import pg from 'pg';
import { type ConstructorOptions, type Job, PgBoss, type WorkOptions } from 'pg-boss';
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

const version = installedVersion('pg-boss');

/** pg-boss refuses a polling interval below 0.5 s (`pollingIntervalSeconds must be at least every 500ms`). */
export const PGBOSS_MIN_POLLING_SECONDS = 0.5;

/**
 * - `default`: the library's defaults plus only what concurrency 16 needs (`localConcurrency`) and
 *   the minimum polling interval. pg-boss then works on one job per fetch per worker and waits out
 *   the polling interval after every fetch, so each of the 16 workers runs at most ~2 jobs/s; and
 *   LISTEN/NOTIFY is off, so an idle worker notices a new job only at its next poll.
 * - `tuned`: what pg-boss documents for throughput and latency: `batchSize` with
 *   `burstWhenBatchFull` (fetch again at once while batches come back full), and its opt-in
 *   LISTEN/NOTIFY wake-ups (`useListenNotify` + queue `notify: true`). 16 workers, each handed its
 *   batch in one handler call that starts all the batch's jobs together (Promise.all): no-op jobs
 *   finish at once, but jobs that wait (the `io` scenario) have up to 16 × batchSize in flight.
 */
export type PgBossProfile = 'default' | 'tuned';

const QUEUE = NOOP_TASK;
const TUNED_BATCH_SIZE = 16;

/**
 * The mixed queue. A pg-boss queue has one name, and `work()` takes one queue, with its own
 * `localConcurrency` (pg-boss 12 has no concurrency shared across queues), so each (namespace,
 * task) pair is a queue (qualifiedName: 15) with one work() call; the concurrency is split evenly
 * among them, at least one worker each: 15 handlers at once at concurrency 16, where the others
 * run 16. Priority in pg-boss is "higher first", as in Eventix, but orders a queue's jobs only.
 */
const mixedWorkersPerQueue = (concurrency: number) => Math.max(1, Math.floor(concurrency / MIXED_NAMES.length));

export class PgBossDriver implements QueueDriver {
  readonly key: string;
  readonly name: string;
  readonly notes: string[] = [];
  config: Record<string, unknown> = {};

  private boss: PgBoss | undefined;
  private inspect: pg.Pool | undefined;
  /** The queues a worker is working, so that stopping (once) and teardown know what to offWork. */
  private readonly working = new Set<string>();
  private readonly warned = new Set<string>();
  /** The mixed queues' creation, once, when the mixed scenario first needs them (never for noop-only runs). */
  private mixedQueues: Promise<void> | undefined;
  /** Whether a mixed worker has run: the notes and config then describe it too. */
  private mixed = false;

  /** At its defaults pg-boss fetches one job per 2 s poll and worker (about 32/s here): 2,000 jobs a round keep a round near a minute. */
  readonly throughputJobs: number | undefined;

  constructor(readonly profile: PgBossProfile = 'default') {
    this.throughputJobs = profile === 'default' ? 2000 : undefined;
    this.key = profile === 'default' ? 'pgboss' : 'pgboss-tuned';
    this.name = profile === 'default' ? `pg-boss ${version}` : `pg-boss ${version} (tuned)`;
  }

  async setup(url: string): Promise<void> {
    const tuned = this.profile === 'tuned';
    // One instance per process is pg-boss's model: it produces and works. Defaults otherwise
    // (maintenance/supervision and scheduling stay on, pool of 10) unless tuned.
    const options: ConstructorOptions = { connectionString: url, ...(tuned ? { useListenNotify: true } : {}) };
    const boss = new PgBoss(options);
    boss.on('error', (err) => console.error(`[${this.key}] error: ${err.message}`));
    boss.on('warning', (w) => {
      // Once per kind: the backlog warning repeats on every monitor pass with a new count.
      const type = w.message.replace(/\d+/g, '#');
      if (this.warned.has(type)) return;
      this.warned.add(type);
      console.error(`[${this.key}] warning: ${w.message}`);
    });
    this.boss = boss;
    await boss.start();
    await boss.createQueue(QUEUE, tuned ? { notify: true } : {});
    this.inspect = new pg.Pool({ connectionString: url, max: 1 });
    this.inspect.on('error', (err) => console.error(`[${this.key}] inspection connection: ${err.message}`));
  }

  async enqueueBulk(ids: readonly number[]): Promise<void> {
    await this.instance().insert(
      QUEUE,
      ids.map((id) => ({ data: { id } })),
    );
  }

  async enqueueMixed(jobs: readonly MixedJob[]): Promise<void> {
    await this.ensureMixedQueues();
    // insert() takes one queue: one call per queue, in the order the names first appear.
    const byQueue = new Map<string, { data: { id: number }; priority: number }[]>();
    for (const { id, task, namespace, priority } of jobs) {
      const name = qualifiedName(namespace, task);
      const list = byQueue.get(name) ?? [];
      list.push({ data: { id }, priority });
      byQueue.set(name, list);
    }
    for (const [name, list] of byQueue) await this.instance().insert(name, list);
  }

  async enqueueOne(id: number): Promise<void> {
    await this.instance().send(QUEUE, { id });
  }

  async startWorker(concurrency: number, onJob: JobHandler, shape: JobShape = 'noop'): Promise<StopWorker> {
    const boss = this.instance();
    const mixed = shape === 'mixed';
    if (mixed) await this.ensureMixedQueues();
    const names = mixed ? MIXED_NAMES : [QUEUE];
    const options = this.workOptions(mixed ? mixedWorkersPerQueue(concurrency) : concurrency);
    this.mixed ||= mixed;
    this.describe(concurrency);
    // Each worker gets an array (length ≤ batchSize) and runs its jobs one after another, so that
    // at most localConcurrency handlers per queue (the bench's concurrency, or its share of it on
    // the mixed queues) run at once, as in every other system: run together, jobs that wait (the
    // io scenario) would have concurrency × batchSize in flight.
    const handler = async (jobs: Job<{ id: number }>[]) => {
      for (const job of jobs) await onJob(job.data.id);
    };
    const mine: string[] = [];
    const stop = async () => {
      const working = mine.filter((name) => this.working.delete(name));
      await Promise.all(working.map((name) => boss.offWork(name, { wait: true })));
    };
    try {
      for (const name of names) {
        await boss.work<{ id: number }>(name, options, handler);
        mine.push(name);
        this.working.add(name);
      }
    } catch (err) {
      await stop();
      throw err;
    }
    return stop;
  }

  async remaining(): Promise<number> {
    if (!this.inspect) throw new Error('pg-boss driver is not set up');
    const { rows } = await this.inspect.query<{ n: number }>(
      `select count(*)::int as n from pgboss.job where name = any($1::text[]) and state in ('created', 'retry', 'active')`,
      [[QUEUE, ...MIXED_NAMES]],
    );
    return rows[0]?.n ?? 0;
  }

  async teardown(): Promise<void> {
    const boss = this.boss;
    this.boss = undefined;
    this.working.clear();
    if (boss) await boss.stop({ graceful: true, close: true, timeout: 10_000 }).catch(() => {});
    const inspect = this.inspect;
    this.inspect = undefined;
    await inspect?.end();
  }

  private workOptions(localConcurrency: number): WorkOptions {
    return {
      localConcurrency,
      pollingIntervalSeconds: PGBOSS_MIN_POLLING_SECONDS,
      ...(this.profile === 'tuned' ? { batchSize: TUNED_BATCH_SIZE, burstWhenBatchFull: true } : {}),
    };
  }

  /**
   * The mixed queues, with the no-op queue's options; created at first use, so that the no-op
   * phases run against a pg-boss holding one queue, as before (its maintenance visits every queue).
   */
  private ensureMixedQueues(): Promise<void> {
    const boss = this.instance();
    const options = this.profile === 'tuned' ? { notify: true } : {};
    this.mixedQueues ??= (async () => {
      for (const name of MIXED_NAMES) await boss.createQueue(name, options);
    })();
    return this.mixedQueues;
  }

  /** Notes and config for the workers started so far: the no-op worker's, and the mixed ones' if they ran. */
  private describe(concurrency: number): void {
    const tuned = this.profile === 'tuned';
    const perQueue = mixedWorkersPerQueue(concurrency);
    this.config = {
      constructor: tuned ? { useListenNotify: true } : {},
      createQueue: tuned ? { notify: true } : {},
      work: this.workOptions(concurrency),
      poolMax: '10 (default)',
      ...(this.mixed
        ? { mixed: { queues: MIXED_NAMES, work: this.workOptions(perQueue), handlersAtOnce: perQueue * MIXED_NAMES.length } }
        : {}),
    };
    this.notes.splice(
      0,
      this.notes.length,
      tuned
        ? `work({ localConcurrency: ${concurrency}, batchSize: ${TUNED_BATCH_SIZE}, burstWhenBatchFull: true, pollingIntervalSeconds: ${PGBOSS_MIN_POLLING_SECONDS} }), new PgBoss({ useListenNotify: true }), createQueue({ notify: true }); each worker runs its batch's jobs one after another, so at most ${concurrency} handlers run at once`
        : `work({ localConcurrency: ${concurrency}, pollingIntervalSeconds: ${PGBOSS_MIN_POLLING_SECONDS} }) — ${PGBOSS_MIN_POLLING_SECONDS} s is pg-boss's minimum; everything else default: batchSize 1, LISTEN/NOTIFY off (opt-in in pg-boss 12), so an idle worker only sees a job at its next poll and each worker waits out the interval after every fetch`,
      'bulk: insert(); single: send(); one PgBoss instance produces and works (pool max 10, default)',
      ...(this.mixed
        ? [
            `mixed: ${MIXED_NAMES.length} queues '<namespace>/<task>' (one name per queue, no namespaces), created${tuned ? ' with { notify: true }' : ' with the defaults'}, as the no-op queue is; one work() per queue with localConcurrency ${perQueue} and otherwise the same options, so at most ${perQueue * MIXED_NAMES.length} handlers at once against the others' ${concurrency} (work() takes one queue; no concurrency shared across queues); insert() per queue with priority p (higher first, but only within a queue)`,
          ]
        : []),
    );
  }

  private instance(): PgBoss {
    if (!this.boss) throw new Error('pg-boss driver is not set up');
    return this.boss;
  }
}
