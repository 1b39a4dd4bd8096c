import type pg from 'pg';
import type { Logger } from '../logger.ts';
import type { TaskStatus } from '../queue/states.ts';
import { Maintenance } from './maintenance.ts';
import { WorkerPresence } from './presence.ts';
import type { WorkerOptions } from './worker-options.ts';

/**
 * The services a Worker runs beside its claims when its options ask for them: maintenance (rescue
 * and prune) and its presence row. Their events reach the worker through `onRescued` and `onError`.
 */
export function backgroundServices(
  opts: Pick<WorkerOptions, 'maintenance' | 'maintenanceIntervalMs' | 'eventRetentionSeconds' | 'presence' | 'presenceIntervalMs'>,
  ctx: {
    pool: pg.Pool;
    logger: Logger;
    workerId: string;
    namespaces: string[];
    tasks: string[];
    concurrency: number;
    onRescued: (rows: { uid: string; status: TaskStatus }[]) => void;
    onError: (error: Error, during: 'maintenance' | 'presence') => void;
  },
): { maintenance: Maintenance | undefined; presence: WorkerPresence | undefined } {
  let maintenance: Maintenance | undefined;
  let presence: WorkerPresence | undefined;
  if (opts.maintenance ?? true) {
    maintenance = new Maintenance({
      pool: ctx.pool,
      logger: ctx.logger,
      intervalMs: opts.maintenanceIntervalMs ?? 10_000,
      eventRetentionSeconds: opts.eventRetentionSeconds,
    });
    maintenance.on('rescued', (rows) => ctx.onRescued(rows));
    maintenance.on('maintenance:error', ({ error }) => ctx.onError(error, 'maintenance'));
  }
  if (opts.presence ?? true) {
    presence = new WorkerPresence({
      pool: ctx.pool,
      logger: ctx.logger,
      workerId: ctx.workerId,
      namespaces: ctx.namespaces,
      tasks: ctx.tasks,
      concurrency: ctx.concurrency,
      intervalMs: opts.presenceIntervalMs,
    });
    // Already logged (once per outage) by WorkerPresence; the next upsert follows on its timer.
    presence.on('presence:error', ({ error }) => ctx.onError(error, 'presence'));
  }
  return { maintenance, presence };
}
