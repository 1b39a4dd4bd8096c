import { createDatabase, type Database } from '../../src/db/client.ts';
import { migrate } from '../../src/db/migrate.ts';
import { submit, submitMany } from '../../src/queue/index.ts';
import { VERSION } from '../../src/version.ts';
import { defineTask } from '../../src/worker/registry.ts';
import { DEFAULT_PREFETCH, Worker } from '../../src/worker/worker.ts';
import {
  type JobHandler,
  type JobShape,
  MIXED_NAMESPACES,
  MIXED_TASKS,
  type MixedJob,
  NOOP_TASK,
  type QueueDriver,
  type StopWorker,
} from './types.ts';

const NAMESPACE = 'default';
const BENCH_TASKS = [NOOP_TASK, ...MIXED_TASKS];
const BENCH_NAMESPACES = [NAMESPACE, ...MIXED_NAMESPACES];

/**
 * Unfinished rows of the bench's tasks. The OR's arms are the predicates of the partial indexes
 * tasks_claim_idx (scheduled, retry) and tasks_lease_idx (a lease held, which every processing row
 * has), as in src/queue/stats.ts's QUEUE_DEPTH_SQL: the planner ORs two bitmap scans of live rows.
 * Written `status = any(...)` it implies neither and reads every finished row kept from earlier
 * rounds, every 5 ms while the harness waits (see waitRemainingZero), on the cores the workers run on.
 */
const REMAINING_SQL = `select count(*)::int as n from tasks
  where (status in ('scheduled', 'retry') or (status = 'processing' and lease_expires_at is not null))
    and task = any($1::text[]) and namespace = any($2::text[])`;

/**
 * Eventix driven like an application would: `submitMany()` / `submit()` on a producer pool, and
 * one `Worker` with `concurrency` on its own pool (the default size, 10), LISTEN/NOTIFY wake-ups on
 * (the default). The no-op task receives the benchmark id as its first positional argument; the
 * mixed worker is the same Worker with the 5 mixed tasks and the 3 mixed namespaces.
 */
export class EventixDriver implements QueueDriver {
  readonly key = 'eventix';
  readonly name = `eventix ${VERSION}`;
  readonly notes: string[] = [];
  config: Record<string, unknown> = {};

  private url = '';
  private producer: Database | undefined;
  private readonly workers = new Set<{ worker: Worker; db: Database }>();
  /** Whether a mixed worker has run: the notes and config then describe it too. */
  private mixed = false;

  async setup(url: string): Promise<void> {
    this.url = url;
    this.producer = createDatabase({ url, applicationName: 'eventix-bench-producer' });
    await migrate(this.producer.pool);
  }

  async enqueueBulk(ids: readonly number[]): Promise<void> {
    await submitMany(
      this.db().pool,
      ids.map((id) => ({ task: NOOP_TASK, namespace: NAMESPACE, args: [id] })),
    );
  }

  async enqueueMixed(jobs: readonly MixedJob[]): Promise<void> {
    await submitMany(
      this.db().pool,
      jobs.map(({ id, task, namespace, priority }) => ({ task, namespace, priority, args: [id] })),
    );
  }

  async enqueueOne(id: number): Promise<void> {
    await submit(this.db().pool, { task: NOOP_TASK, namespace: NAMESPACE, args: [id] });
  }

  async startWorker(concurrency: number, onJob: JobHandler, shape: JobShape = 'noop'): Promise<StopWorker> {
    const db = createDatabase({ url: this.url, applicationName: 'eventix-bench-worker' });
    const handler = async (args: unknown[]) => {
      await onJob(args[0] as number);
    };
    const mixed = shape === 'mixed';
    const worker = new Worker({
      pool: db.pool,
      tasks: (mixed ? MIXED_TASKS : [NOOP_TASK]).map((name) => defineTask(name, handler)),
      namespaces: mixed ? [...MIXED_NAMESPACES] : [NAMESPACE],
      concurrency,
    });
    worker.on('worker:error', ({ error, during }) => console.error(`[eventix] worker error during ${during}: ${error.message}`));
    this.mixed ||= mixed;
    this.describe(concurrency);
    const entry = { worker, db };
    this.workers.add(entry);
    try {
      await worker.start();
    } catch (err) {
      this.workers.delete(entry);
      await db.close();
      throw err;
    }
    return async () => {
      if (!this.workers.delete(entry)) return;
      await worker.stop();
      await db.close();
    };
  }

  async remaining(): Promise<number> {
    const { rows } = await this.db().pool.query<{ n: number }>(REMAINING_SQL, [BENCH_TASKS, BENCH_NAMESPACES]);
    return rows[0]?.n ?? 0;
  }

  async teardown(): Promise<void> {
    const entries = [...this.workers];
    this.workers.clear();
    await Promise.allSettled(entries.map(async ({ worker, db }) => worker.stop().finally(() => db.close())));
    const producer = this.producer;
    this.producer = undefined;
    await producer?.close();
  }

  /** Notes and config for the workers started so far: the no-op worker's, and the mixed one's if one ran. */
  private describe(concurrency: number): void {
    this.config = {
      concurrency,
      namespaces: [NAMESPACE],
      prefetch: `${DEFAULT_PREFETCH} (default)`,
      poolMax: '10 (default)',
      listen: 'on (default)',
      pollIntervalMs: '1000 (default)',
      ...(this.mixed ? { mixed: { tasks: MIXED_TASKS, namespaces: MIXED_NAMESPACES, priorities: '0–2, higher first' } } : {}),
    };
    this.notes.splice(
      0,
      this.notes.length,
      `new Worker({ concurrency: ${concurrency}, namespaces: ['${NAMESPACE}'] }) on its own pool; everything else default (local buffer of ${DEFAULT_PREFETCH}, LISTEN/NOTIFY wake-ups, 1 s backstop poll, pool max 10); results stored (store_result on, the default)`,
      'bulk: submitMany(); single: submit(); producer on a separate pool (default size)',
      ...(this.mixed
        ? [
            `mixed: the same Worker with the ${MIXED_TASKS.length} tasks and namespaces: [${MIXED_NAMESPACES.map((n) => `'${n}'`).join(', ')}]; submitMany() with each job's task, namespace and priority (higher runs first, Eventix's own order)`,
          ]
        : []),
    );
  }

  private db(): Database {
    if (!this.producer) throw new Error('eventix driver is not set up');
    return this.producer;
  }
}
