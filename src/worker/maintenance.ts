import { EventEmitter } from 'node:events';
import type pg from 'pg';
import { pruneEvents } from '../events/events.ts';
import { coerceError, type Logger } from '../logger.ts';
import { pruneExpired } from '../queue/prune.ts';
import { rescueExpired } from '../queue/rescue.ts';
import type { TaskStatus } from '../queue/states.ts';
import { pruneWorkers } from './presence.ts';

export interface MaintenanceOptions {
  pool: pg.Pool;
  logger: Logger;
  intervalMs: number;
  /** Delete events older than this (EVENTIX_EVENT_RETENTION_DAYS); default 30 days; null or 0 keeps them. */
  eventRetentionSeconds?: number | null | undefined;
}

export const DEFAULT_EVENT_RETENTION_SECONDS = 30 * 86400;

/**
 * Rescue of expired leases, pruning of expired tasks and events, and of the presence rows of
 * workers not seen for an hour (src/worker/presence.ts). Every worker process runs one: no
 * leader to elect or lose. Both statements take bounded batches with SKIP LOCKED, so N processes
 * running at once neither block nor double-handle a row, and the jittered interval spreads them
 * out so the database sees roughly N small probes per interval.
 */
export class Maintenance extends EventEmitter<{
  rescued: [{ uid: string; status: TaskStatus }[]];
  pruned: [number];
  'events:pruned': [number];
  /** Presence rows deleted: workers not seen for an hour (killed without stopping). */
  'workers:pruned': [number];
  /**
   * A pass failed (the database is unreachable, a statement failed). Already logged; the next
   * pass runs on schedule all the same. Not 'error', which Node throws when nobody listens.
   */
  'maintenance:error': [{ error: Error }];
}> {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;

  constructor(private readonly opts: MaintenanceOptions) {
    super();
  }

  start(): void {
    this.stopped = false;
    this.schedule(Math.random() * this.opts.intervalMs);
  }

  private schedule(delay: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.runOnce().then(
        () => undefined,
        () => undefined,
      );
      void this.running.finally(() => {
        this.running = undefined;
        this.schedule(this.opts.intervalMs * (0.8 + Math.random() * 0.4));
      });
    }, delay);
  }

  /** One pass; also callable directly (tests, `eventix` admin commands). */
  async runOnce(): Promise<{ rescued: number; pruned: number; eventsPruned: number; workersPruned: number }> {
    let rescued = 0;
    let pruned = 0;
    let eventsPruned = 0;
    let workersPruned = 0;
    try {
      for (;;) {
        const batch = await rescueExpired(this.opts.pool);
        if (batch.length) {
          rescued += batch.length;
          this.opts.logger.warn({ count: batch.length }, 'rescued tasks with expired leases');
          this.emit('rescued', batch);
        }
        if (batch.length < 1000) break;
      }
      for (;;) {
        const n = await pruneExpired(this.opts.pool);
        pruned += n;
        if (n < 5000) break;
      }
      if (pruned) {
        this.opts.logger.info({ count: pruned }, 'pruned expired tasks');
        this.emit('pruned', pruned);
      }
      const retention = this.opts.eventRetentionSeconds === undefined ? DEFAULT_EVENT_RETENTION_SECONDS : this.opts.eventRetentionSeconds;
      if (retention) {
        for (;;) {
          const n = await pruneEvents(this.opts.pool, retention);
          eventsPruned += n;
          if (n < 5000) break;
        }
      }
      if (eventsPruned) {
        this.opts.logger.info({ count: eventsPruned }, 'pruned events past retention');
        this.emit('events:pruned', eventsPruned);
      }
      for (;;) {
        const n = await pruneWorkers(this.opts.pool);
        workersPruned += n;
        if (n < 1000) break;
      }
      if (workersPruned) {
        this.opts.logger.info({ count: workersPruned }, 'deleted the presence rows of workers not seen for an hour');
        this.emit('workers:pruned', workersPruned);
      }
    } catch (err) {
      const e = coerceError(err);
      this.opts.logger.error({ err: e }, 'maintenance pass failed; retrying next interval');
      try {
        this.emit('maintenance:error', { error: e });
      } catch (listenerErr) {
        this.opts.logger.error({ err: coerceError(listenerErr) }, 'maintenance:error listener threw');
      }
    }
    return { rescued, pruned, eventsPruned, workersPruned };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }
}
