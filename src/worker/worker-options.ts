import type pg from 'pg';
import type { Logger } from '../logger.ts';
import type { TaskStatus } from '../queue/states.ts';
import type { ClaimedTask, TaskError } from '../queue/task.ts';
import type { Notifier } from './notifier.ts';
import type { TaskDefinition } from './registry.ts';

/** What a Worker is built from, the states it passes through and the events it emits (src/worker/worker.ts). */

export interface WorkerOptions {
  pool: pg.Pool;
  tasks: readonly TaskDefinition[];
  namespaces?: readonly string[];
  /** Handlers run at once. Claims are sized to the free slots plus the local buffer's room (see `prefetch`). */
  concurrency?: number;
  leaseSeconds?: number;
  /**
   * At most this many tasks claimed ahead of free slots and held in a local buffer, so that a freed
   * slot starts the next task without a round trip (see src/worker/local-buffer.ts). Default 500; 0
   * turns it off, and every task then starts only after its claim has counted the attempt.
   */
  prefetch?: number;
  /**
   * The buffer holds what the worker starts in this long at its recent rate, up to `prefetch`:
   * short tasks fill it, long ones keep it at one or two. Default 100 ms; `Infinity` always fills
   * it to `prefetch`.
   */
  prefetchHorizonMs?: number;
  /** A buffered task not started within this long is handed back to the queue. Default 5000 ms. */
  prefetchTtlMs?: number;
  /** Backstop poll when no NOTIFY arrives. */
  pollIntervalMs?: number;
  /** LISTEN for new tasks (needs a session connection: off behind PgBouncer transaction pooling). */
  listen?: boolean;
  /**
   * A Notifier shared by the workers of a process, so that the process holds one LISTEN
   * connection, not one per worker. The worker subscribes while it runs and never starts or stops
   * it: its owner does. Without one (and with `listen` on) the worker makes its own. Ignored when
   * `listen` is false.
   */
  notifier?: Notifier;
  /**
   * Connection settings for the worker's own LISTEN connection (when no `notifier` is given).
   * Default: the settings `pool` was made with (`pool.options`).
   */
  connection?: pg.ClientConfig;
  /** How long stop() lets running tasks finish before handing them back to the queue. */
  shutdownGraceMs?: number;
  /** Run rescue and prune in this process; off for a worker that shares a process with another. */
  maintenance?: boolean;
  maintenanceIntervalMs?: number;
  /** Passed to maintenance: delete events older than this; default 30 days; null or 0 keeps them. */
  eventRetentionSeconds?: number | null;
  /** Keep a row in `workers` (id, host, namespaces, tasks, last seen) while running, for the dashboard. */
  presence?: boolean;
  /** How often the presence row is refreshed; default 10 s, at most 30 s. */
  presenceIntervalMs?: number;
  workerId?: string;
  logger?: Logger;
}

export type WorkerState = 'created' | 'running' | 'stopping' | 'stopped';

export interface WorkerEvents {
  'worker:started': [{ workerId: string }];
  'worker:stopped': [{ workerId: string; released: number }];
  'worker:error': [{ error: Error; during: string }];
  'task:claimed': [{ task: ClaimedTask }];
  'task:completed': [{ task: ClaimedTask; result: unknown; durationMs: number }];
  'task:failed': [{ task: ClaimedTask; error: TaskError; status: TaskStatus }];
  'task:lease-lost': [{ task: ClaimedTask; reason: string }];
  'task:released': [{ task: ClaimedTask }];
  'maintenance:rescued': [{ uid: string; status: TaskStatus }[]];
}

/**
 * Buffer places a worker claims ahead of its free slots at most (see local-buffer.ts). Measured
 * with `npm run bench`: README, "Performance".
 */
export const DEFAULT_PREFETCH = 500;

/** The local buffer's options, defaulted and checked once. */
export function bufferOptions(opts: Pick<WorkerOptions, 'prefetch' | 'prefetchTtlMs' | 'prefetchHorizonMs'>) {
  const prefetch = opts.prefetch ?? DEFAULT_PREFETCH;
  if (!Number.isInteger(prefetch) || prefetch < 0) throw new TypeError('prefetch must be an integer ≥ 0');
  const horizonMs = opts.prefetchHorizonMs ?? 100;
  if (!(horizonMs > 0)) throw new TypeError('prefetchHorizonMs must be > 0');
  return { prefetch, ttlMs: opts.prefetchTtlMs ?? 5000, horizonMs };
}
