import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import type pg from 'pg';
import { isConnectionError } from '../db/connection-errors.ts';
import { type Executor, run } from '../db/executor.ts';
import { coerceError, type Logger } from '../logger.ts';
import { VERSION } from '../version.ts';

/**
 * Worker presence (the `workers` table, src/db/schema/workers.ts): a running Worker says who it
 * is and that it is alive, so the dashboard can list idle workers too, not only the ones whose
 * leases name them. One small upsert per worker per interval; the row is deleted on stop(), and
 * maintenance deletes the rows of workers that died without stopping.
 */

export const DEFAULT_PRESENCE_INTERVAL_MS = 10_000;
/** Longer intervals would make a healthy worker look quiet on the overview (PRESENCE_LIVE_SECONDS). */
export const MAX_PRESENCE_INTERVAL_MS = 30_000;
/** The overview counts a worker live while its row is younger than this: several intervals, so one late upsert does not flag it. */
export const PRESENCE_LIVE_SECONDS = 60;
/** Rows not refreshed for this long are deleted by maintenance (a worker killed with SIGKILL never deletes its own). */
export const PRESENCE_RETENTION_SECONDS = 3600;

/**
 * started_at comes from the database's clock, like last_seen_at, so that the dashboard's ages do
 * not depend on the worker host's clock: the first upsert takes now() ($8 null), the later ones
 * pass the value it returned, so a row that maintenance deleted meanwhile comes back unchanged.
 */
const UPSERT_SQL = `
insert into workers (id, host, pid, namespaces, tasks, concurrency, version, started_at, last_seen_at)
values ($1, $2, $3, $4::text[], $5::text[], $6, $7, coalesce($8::timestamptz, now()), now())
on conflict (id) do update set
  host = excluded.host, pid = excluded.pid, namespaces = excluded.namespaces, tasks = excluded.tasks,
  concurrency = excluded.concurrency, version = excluded.version, started_at = excluded.started_at,
  last_seen_at = excluded.last_seen_at
returning started_at
`;

const DELETE_SQL = 'delete from workers where id = $1';

/** A bounded batch along workers_last_seen_idx; SKIP LOCKED keeps concurrent maintenance passes apart. */
const PRUNE_SQL = `
with doomed as (
  select id from workers where last_seen_at < now() - make_interval(secs => $1)
  order by last_seen_at limit $2 for update skip locked
)
delete from workers w using doomed where w.id = doomed.id
returning 1
`;

/** Delete up to `limit` presence rows not refreshed for `olderThanSeconds`; returns how many. */
export async function pruneWorkers(ex: Executor, olderThanSeconds = PRESENCE_RETENTION_SECONDS, limit = 1000): Promise<number> {
  return (await run<never>(ex, PRUNE_SQL, [olderThanSeconds, limit])).length;
}

export interface WorkerPresenceOptions {
  pool: pg.Pool;
  logger: Logger;
  workerId: string;
  namespaces: readonly string[];
  /** The task names the worker has handlers for. */
  tasks: readonly string[];
  concurrency: number;
  /** How often the row is refreshed; default 10 s, at most 30 s. Each wait is jittered by ±20%. */
  intervalMs?: number | undefined;
  /** How long stop() waits for its delete before giving up on it (the row then ages out); default 5 s. */
  stopTimeoutMs?: number | undefined;
}

export interface WorkerPresenceEvents {
  /** An upsert failed; logged once per run of failures. The next one follows on schedule. Not 'error', which Node throws when nobody listens. */
  'presence:error': [{ error: Error }];
  /** An upsert succeeded after failures; `downMs` since the first of them. */
  'presence:restored': [{ downMs: number }];
}

/**
 * Keeps one worker's row in `workers` fresh: an upsert at start() and then every interval, a
 * delete at stop(). Nothing here throws or rejects: while the database is unreachable each
 * upsert fails, is reported as 'presence:error' (logged at warn once per outage), and the next
 * one, on the same timer, puts the row back as soon as the database answers.
 */
export class WorkerPresence extends EventEmitter<WorkerPresenceEvents> {
  readonly intervalMs: number;
  private state: 'created' | 'running' | 'stopped' = 'created';
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  /** From the database, at the first upsert that succeeded. */
  private startedAt: Date | null = null;
  /** When the current run of failed upserts began; undefined while they succeed. */
  private failingSince: number | undefined;
  private readonly host = hostname();

  constructor(private readonly opts: WorkerPresenceOptions) {
    super();
    this.intervalMs = opts.intervalMs ?? DEFAULT_PRESENCE_INTERVAL_MS;
    if (!(this.intervalMs > 0 && this.intervalMs <= MAX_PRESENCE_INTERVAL_MS)) {
      throw new RangeError(`presenceIntervalMs must be above 0 and at most ${MAX_PRESENCE_INTERVAL_MS}`);
    }
  }

  /** Upsert the row now and then every interval. Resolves after the first attempt, whether or not it succeeded. */
  start(): Promise<void> {
    if (this.state !== 'created') return this.running ?? Promise.resolve();
    this.state = 'running';
    const first = this.beat();
    this.running = first;
    void first.finally(() => {
      this.running = undefined;
      this.schedule();
    });
    return first;
  }

  private schedule(): void {
    if (this.state !== 'running') return;
    this.timer = setTimeout(
      () => {
        const beat = this.beat();
        this.running = beat;
        void beat.finally(() => {
          this.running = undefined;
          this.schedule();
        });
      },
      this.intervalMs * (0.8 + Math.random() * 0.4),
    );
  }

  /** One upsert; never throws. */
  private async beat(): Promise<void> {
    const o = this.opts;
    try {
      const [row] = await run<{ started_at: Date }>(o.pool, UPSERT_SQL, [
        o.workerId,
        this.host,
        process.pid,
        o.namespaces,
        o.tasks,
        o.concurrency,
        VERSION,
        this.startedAt,
      ]);
      this.startedAt ??= row?.started_at ?? null;
      if (this.failingSince !== undefined) {
        const downMs = Date.now() - this.failingSince;
        this.failingSince = undefined;
        o.logger.info({ downMs }, 'worker presence recorded again');
        this.safeEmit('presence:restored', { downMs });
      }
    } catch (err) {
      const error = coerceError(err);
      if (this.failingSince === undefined) {
        this.failingSince = Date.now();
        const next = { err: error, retryInMs: this.intervalMs };
        if (isConnectionError(error)) o.logger.warn(next, 'worker presence not recorded: database unreachable; retrying every interval');
        else o.logger.error(next, 'worker presence not recorded; retrying every interval');
      } else {
        o.logger.debug({ err: error }, 'worker presence still not recorded');
      }
      this.safeEmit('presence:error', { error });
    }
  }

  private safeEmit<K extends keyof WorkerPresenceEvents>(event: K, ...args: WorkerPresenceEvents[K]): void {
    try {
      (this.emit as (e: K, ...a: WorkerPresenceEvents[K]) => boolean)(event, ...args);
    } catch (err) {
      this.opts.logger.error({ err: coerceError(err), event }, 'presence listener threw');
    }
  }

  /**
   * Stop refreshing and delete the row, best effort: a failure is logged, never thrown, and the
   * row then ages out (gone quiet on the overview, deleted by maintenance after an hour). The
   * delete waits for an upsert in flight, so that it cannot be overtaken and the row put back.
   */
  async stop(): Promise<void> {
    if (this.state !== 'running') {
      this.state = 'stopped';
      return;
    }
    this.state = 'stopped';
    clearTimeout(this.timer);
    const removed = (async () => {
      await this.running;
      try {
        await run(this.opts.pool, DELETE_SQL, [this.opts.workerId]);
        return true;
      } catch (err) {
        this.opts.logger.warn({ err: coerceError(err) }, 'worker presence row not deleted; maintenance deletes it after an hour');
        return false;
      }
    })();
    let timer: NodeJS.Timeout | undefined;
    const timeoutMs = this.opts.stopTimeoutMs ?? 5000;
    const outcome = await Promise.race([removed, new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), timeoutMs)))]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      this.opts.logger.warn({ timeoutMs }, 'gave up waiting to delete the worker presence row; maintenance deletes it after an hour');
    }
  }
}
