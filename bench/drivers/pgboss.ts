import pg from 'pg';
import { type ConstructorOptions, type Job, PgBoss, type WorkOptions } from 'pg-boss';
import { type JobHandler, NOOP_TASK, type QueueDriver, type StopWorker } from './types.ts';
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

export class PgBossDriver implements QueueDriver {
  readonly key: string;
  readonly name: string;
  readonly notes: string[] = [];
  config: Record<string, unknown> = {};

  private boss: PgBoss | undefined;
  private inspect: pg.Pool | undefined;
  private working = false;
  private readonly warned = new Set<string>();

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

  async enqueueOne(id: number): Promise<void> {
    await this.instance().send(QUEUE, { id });
  }

  async startWorker(concurrency: number, onJob: JobHandler): Promise<StopWorker> {
    const boss = this.instance();
    const tuned = this.profile === 'tuned';
    const options: WorkOptions = {
      localConcurrency: concurrency,
      pollingIntervalSeconds: PGBOSS_MIN_POLLING_SECONDS,
      ...(tuned ? { batchSize: TUNED_BATCH_SIZE, burstWhenBatchFull: true } : {}),
    };
    this.config = {
      constructor: tuned ? { useListenNotify: true } : {},
      createQueue: tuned ? { notify: true } : {},
      work: options,
      poolMax: '10 (default)',
    };
    this.notes.splice(
      0,
      this.notes.length,
      tuned
        ? `work({ localConcurrency: ${concurrency}, batchSize: ${TUNED_BATCH_SIZE}, burstWhenBatchFull: true, pollingIntervalSeconds: ${PGBOSS_MIN_POLLING_SECONDS} }), new PgBoss({ useListenNotify: true }), createQueue({ notify: true }); each worker runs its batch's jobs one after another, so at most ${concurrency} handlers run at once`
        : `work({ localConcurrency: ${concurrency}, pollingIntervalSeconds: ${PGBOSS_MIN_POLLING_SECONDS} }) — ${PGBOSS_MIN_POLLING_SECONDS} s is pg-boss's minimum; everything else default: batchSize 1, LISTEN/NOTIFY off (opt-in in pg-boss 12), so an idle worker only sees a job at its next poll and each worker waits out the interval after every fetch`,
      'bulk: insert(); single: send(); one PgBoss instance produces and works (pool max 10, default)',
    );
    // Each worker gets an array (length ≤ batchSize) and runs its jobs one after another, so that
    // at most localConcurrency (= the bench's concurrency) handlers run at once, as in every other
    // system: run together, jobs that wait (the io scenario) would have concurrency × batchSize in flight.
    await boss.work<{ id: number }>(QUEUE, options, async (jobs: Job<{ id: number }>[]) => {
      for (const job of jobs) await onJob(job.data.id);
    });
    this.working = true;
    return async () => {
      if (!this.working) return;
      this.working = false;
      await boss.offWork(QUEUE, { wait: true });
    };
  }

  async remaining(): Promise<number> {
    if (!this.inspect) throw new Error('pg-boss driver is not set up');
    const { rows } = await this.inspect.query<{ n: number }>(
      `select count(*)::int as n from pgboss.job where name = $1 and state in ('created', 'retry', 'active')`,
      [QUEUE],
    );
    return rows[0]?.n ?? 0;
  }

  async teardown(): Promise<void> {
    const boss = this.boss;
    this.boss = undefined;
    this.working = false;
    if (boss) await boss.stop({ graceful: true, close: true, timeout: 10_000 }).catch(() => {});
    const inspect = this.inspect;
    this.inspect = undefined;
    await inspect?.end();
  }

  private instance(): PgBoss {
    if (!this.boss) throw new Error('pg-boss driver is not set up');
    return this.boss;
  }
}
