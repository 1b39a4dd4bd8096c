import type { Config } from '../config.ts';
import type { Database } from '../db/client.ts';
import type { Logger } from '../logger.ts';
import type { Notifier } from './notifier.ts';
import type { TaskDefinition } from './registry.ts';
import { Worker } from './worker.ts';

/**
 * The worker `eventix start` and `eventix worker` run, configured from the parsed Config. `notifier`:
 * the process's one LISTEN connection, shared with its other workers and the API.
 */
export function workerFromConfig(
  config: Config,
  database: Database,
  tasks: TaskDefinition[],
  logger: Logger,
  opts: { notifier?: Notifier | undefined } = {},
): Worker {
  const w = config.worker;
  return new Worker({
    pool: database.pool,
    tasks,
    namespaces: w.namespaces,
    concurrency: w.concurrency,
    leaseSeconds: w.leaseSeconds,
    prefetch: w.prefetch,
    prefetchTtlMs: w.prefetchTtlMs,
    pollIntervalMs: w.pollIntervalMs,
    listen: w.listen,
    notifier: opts.notifier,
    connection: database.connection,
    shutdownGraceMs: w.shutdownGraceMs,
    maintenanceIntervalMs: w.maintenanceIntervalMs,
    eventRetentionSeconds: config.events.retentionDays * 86400,
    logger,
  });
}
