import { createDatabase, type Database } from '../../src/db/client.ts';
import { migrate } from '../../src/db/migrate.ts';
import { submit, submitMany } from '../../src/queue/index.ts';
import { FINAL_STATUSES, TASK_STATUSES } from '../../src/queue/states.ts';
import { VERSION } from '../../src/version.ts';
import { defineTask } from '../../src/worker/registry.ts';
import { DEFAULT_PREFETCH, Worker } from '../../src/worker/worker.ts';
import { type JobHandler, NOOP_TASK, type QueueDriver, type StopWorker } from './types.ts';

const NAMESPACE = 'default';
const UNFINISHED = TASK_STATUSES.filter((s) => !(FINAL_STATUSES as readonly string[]).includes(s));

/**
 * Eventix driven like an application would: `submitMany()` / `submit()` on a producer pool, and
 * one `Worker` with `concurrency` on its own pool (the default size, 10), LISTEN/NOTIFY wake-ups on
 * (the default). The no-op task receives the benchmark id as its first positional argument.
 */
export class EventixDriver implements QueueDriver {
  readonly key = 'eventix';
  readonly name = `eventix ${VERSION}`;
  readonly notes: string[] = [];
  config: Record<string, unknown> = {};

  private url = '';
  private producer: Database | undefined;
  private readonly workers = new Set<{ worker: Worker; db: Database }>();

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

  async enqueueOne(id: number): Promise<void> {
    await submit(this.db().pool, { task: NOOP_TASK, namespace: NAMESPACE, args: [id] });
  }

  async startWorker(concurrency: number, onJob: JobHandler): Promise<StopWorker> {
    const db = createDatabase({ url: this.url, applicationName: 'eventix-bench-worker' });
    const worker = new Worker({
      pool: db.pool,
      tasks: [
        defineTask(NOOP_TASK, async (args) => {
          await onJob(args[0] as number);
        }),
      ],
      namespaces: [NAMESPACE],
      concurrency,
    });
    worker.on('worker:error', ({ error, during }) => console.error(`[eventix] worker error during ${during}: ${error.message}`));
    this.config = {
      concurrency,
      namespaces: [NAMESPACE],
      prefetch: `${DEFAULT_PREFETCH} (default)`,
      poolMax: '10 (default)',
      listen: 'on (default)',
      pollIntervalMs: '1000 (default)',
    };
    this.notes.splice(
      0,
      this.notes.length,
      `new Worker({ concurrency: ${concurrency}, namespaces: ['${NAMESPACE}'] }) on its own pool; everything else default (local buffer of ${DEFAULT_PREFETCH}, LISTEN/NOTIFY wake-ups, 1 s backstop poll, pool max 10); results stored (store_result on, the default)`,
      'bulk: submitMany(); single: submit(); producer on a separate pool (default size)',
    );
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
    // The unfinished statuses by name, not "not final": then the partial indexes over waiting and
    // running rows answer, where "not final" read every finished row kept from earlier rounds, every
    // 5 ms while the harness waited (see waitRemainingZero), on the cores the workers run on.
    const { rows } = await this.db().pool.query<{ n: number }>(
      'select count(*)::int as n from tasks where task = $1 and namespace = $2 and status = any($3::text[])',
      [NOOP_TASK, NAMESPACE, UNFINISHED],
    );
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

  private db(): Database {
    if (!this.producer) throw new Error('eventix driver is not set up');
    return this.producer;
  }
}
