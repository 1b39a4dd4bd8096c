import type { Config } from '../config.ts';
import type { Database } from '../db/client.ts';
import type { Logger } from '../logger.ts';
import type { TaskDefinition } from './registry.ts';
import { Worker } from './worker.ts';

/** The worker `eventix start` and `eventix worker` run, configured from the parsed Config. */
export function workerFromConfig(config: Config, database: Database, tasks: TaskDefinition[], logger: Logger): Worker {
  const w = config.worker;
  return new Worker({
    pool: database.pool,
    tasks,
    namespaces: w.namespaces,
    concurrency: w.concurrency,
    leaseSeconds: w.leaseSeconds,
    pollIntervalMs: w.pollIntervalMs,
    listen: w.listen,
    shutdownGraceMs: w.shutdownGraceMs,
    maintenanceIntervalMs: w.maintenanceIntervalMs,
    eventRetentionSeconds: config.events.retentionDays * 86400,
    logger,
  });
}
