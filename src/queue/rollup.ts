import { EventEmitter } from 'node:events';
import type pg from 'pg';
import { run } from '../db/executor.ts';
import { withTransaction } from '../db/transaction.ts';
import { coerceError, type Logger } from '../logger.ts';

/**
 * The dashboard's rollup (src/db/schema/rollups.ts): tasks per namespace and status, and tasks
 * finished per minute over the last hour. Counting them reads the whole tasks table (no index
 * covers done rows or finished_at, on purpose), so it is done here, in the background, once per
 * interval across all processes, and the overview reads the result.
 */

/** Minutes of per-minute throughput kept: the overview's chart spans the last hour. */
export const ROLLUP_WINDOW_MINUTES = 60;
export const DEFAULT_ROLLUP_INTERVAL_MS = 30_000;
/** The rollup may use at most 1/this of one database backend's time (see MIN_AGE). */
export const ROLLUP_DUTY_FACTOR = 20;

/** How often the rollup is recounted, in seconds, after a pass that took `durationMs` (MIN_AGE's rule). */
export function rollupIntervalSeconds(durationMs: number | null, intervalMs = DEFAULT_ROLLUP_INTERVAL_MS): number {
  return Math.max(intervalMs / 1000, ((durationMs ?? 0) * ROLLUP_DUTY_FACTOR) / 1000);
}
/** Key of the transaction-level advisory lock held while a pass runs ('roll'). */
const ROLLUP_LOCK_KEY = 0x726f_6c6c;

export type RollupRefresh =
  | { refreshed: true; at: Date; durationMs: number; rowsCounted: number }
  /** fresh: a pass ran less than minAge ago; busy: another process is running one right now. */
  | { refreshed: false; reason: 'fresh' | 'busy' };

/**
 * A pass counts as fresh for at least $1 seconds, and for longer on a big table: $2 times the
 * last pass's own duration. A full count that takes 1 s (1M tasks) then runs every 30 s, one that
 * takes 10 s every 200 s, so the rollup never costs the database more than 1/$2 of one backend.
 */
const MIN_AGE = `greatest($1, coalesce(task_rollup_state.duration_ms, 0) * $2 / 1000.0)`;

const FRESH_SQL = `
select refreshed_at > now() - make_interval(secs => ${MIN_AGE}) as fresh from task_rollup_state where id = 1
`;

/**
 * The claim: refreshed_at moves forward only if the last pass is old enough. It runs inside the
 * recompute's transaction, under the advisory lock, so a process that got the lock after another
 * one's pass committed finds the pass fresh and does nothing; a failed pass rolls back its claim.
 */
const CLAIM_SQL = `
insert into task_rollup_state (id, refreshed_at) values (1, now())
on conflict (id) do update set refreshed_at = excluded.refreshed_at
where task_rollup_state.refreshed_at <= now() - make_interval(secs => ${MIN_AGE})
returning refreshed_at
`;

// DELETE rather than TRUNCATE: TRUNCATE's exclusive lock would block the overviews reading the
// old pass while this one runs; with DELETE they keep reading it until the commit.
const CLEAR_SQL = `
with totals as (delete from task_rollup_totals)
delete from task_rollup_minutes
`;

/**
 * One sequential scan of tasks feeds both tables: grouping by (namespace, status, minute), where
 * minute is null outside the window and for tasks not finished done or error, gives the totals
 * (summed over minutes) and the per-minute counts (the rows with a minute) from the same pass.
 */
const RECOMPUTE_SQL = `
with grouped as materialized (
  select namespace, status,
    case when status in ('done', 'error') and finished_at >= date_trunc('minute', now()) - make_interval(mins => $1 - 1)
      then date_trunc('minute', finished_at) end as minute,
    count(*) as n
  from tasks
  group by 1, 2, 3
), totals as (
  insert into task_rollup_totals (namespace, status, n)
  select namespace, status, sum(n) from grouped group by namespace, status
  returning n
), minutes as (
  insert into task_rollup_minutes (minute, namespace, done, failed)
  select minute, namespace, coalesce(sum(n) filter (where status = 'done'), 0), coalesce(sum(n) filter (where status = 'error'), 0)
  from grouped where minute is not null group by minute, namespace
  returning 1
)
select (select coalesce(sum(n), 0) from totals)::bigint as rows_counted, (select count(*) from minutes)::int as minutes
`;

const FINISH_SQL = `
update task_rollup_state set duration_ms = $1, rows_counted = $2 where id = 1
`;

/**
 * Recompute the rollup unless a pass ran less than `minAgeSeconds` ago. Single-flight across
 * processes: a cheap read skips while the last pass is fresh; a process that finds it stale takes
 * a non-blocking advisory lock (another pass in progress: skip at once, no waiting) and then
 * claims the pass in the same transaction (CLAIM_SQL). `minAgeSeconds: 0` always recomputes
 * (tests, an operator asking for it).
 */
export async function refreshTaskRollup(pool: pg.Pool, opts: { minAgeSeconds: number }): Promise<RollupRefresh> {
  const minAge = Math.max(0, opts.minAgeSeconds);
  if (minAge > 0) {
    const [state] = await run<{ fresh: boolean }>(pool, FRESH_SQL, [minAge, ROLLUP_DUTY_FACTOR]);
    if (state?.fresh) return { refreshed: false, reason: 'fresh' };
  }
  return withTransaction(pool, async (client): Promise<RollupRefresh> => {
    const started = performance.now();
    const [lock] = await run<{ got: boolean }>(client, 'select pg_try_advisory_xact_lock($1) as got', [ROLLUP_LOCK_KEY]);
    if (!lock?.got) return { refreshed: false, reason: 'busy' };
    // minAge 0 (tests, an operator asking) recomputes now, whatever the last pass took.
    const [claim] = await run<{ refreshed_at: Date }>(client, CLAIM_SQL, [minAge, minAge > 0 ? ROLLUP_DUTY_FACTOR : 0]);
    if (!claim) return { refreshed: false, reason: 'fresh' };
    await run(client, CLEAR_SQL);
    const [counted] = await run<{ rows_counted: number }>(client, RECOMPUTE_SQL, [ROLLUP_WINDOW_MINUTES]);
    const durationMs = performance.now() - started;
    const rowsCounted = counted?.rows_counted ?? 0;
    await run(client, FINISH_SQL, [durationMs, rowsCounted]);
    return { refreshed: true, at: claim.refreshed_at, durationMs, rowsCounted };
  });
}

export interface TaskRollupOptions {
  pool: pg.Pool;
  logger: Logger;
  /** How often each process tries a pass; default 30 s. */
  intervalMs?: number;
}

/**
 * Keeps the rollup fresh: every API and worker process (`eventix start`, `eventix api`) runs
 * one. Each tries a pass every interval (jittered); refreshTaskRollup makes one of them do it,
 * so the database sees one full count per interval however many processes there are, plus one
 * cheap read per process. The freshness limit is a little under the interval, so that the
 * jitter cannot make every process skip.
 */
export class TaskRollup extends EventEmitter<{
  'rollup:refreshed': [{ durationMs: number; rowsCounted: number }];
  /** A pass failed; already logged, the next runs on schedule. Not 'error', which Node throws when nobody listens. */
  'rollup:error': [{ error: Error }];
}> {
  readonly intervalMs: number;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;

  constructor(private readonly opts: TaskRollupOptions) {
    super();
    this.intervalMs = opts.intervalMs ?? DEFAULT_ROLLUP_INTERVAL_MS;
  }

  start(): void {
    this.stopped = false;
    // Soon after start, so a fresh deployment's overview has done counts within a second or so.
    this.schedule(Math.random() * Math.min(1000, this.intervalMs));
  }

  private schedule(delay: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.runOnce().then(() => undefined);
      void this.running.finally(() => {
        this.running = undefined;
        this.schedule(this.intervalMs * (0.8 + Math.random() * 0.4));
      });
    }, delay);
  }

  /** One attempt; never throws (a failure is logged and emitted as 'rollup:error'). */
  async runOnce(): Promise<RollupRefresh | undefined> {
    try {
      const result = await refreshTaskRollup(this.opts.pool, { minAgeSeconds: ((this.intervalMs / 1000) * 5) / 6 });
      if (result.refreshed) {
        this.opts.logger.debug({ durationMs: Math.round(result.durationMs), rows: result.rowsCounted }, 'task rollup refreshed');
        this.emit('rollup:refreshed', { durationMs: result.durationMs, rowsCounted: result.rowsCounted });
      }
      return result;
    } catch (err) {
      const error = coerceError(err);
      this.opts.logger.warn({ err: error }, 'task rollup pass failed; retrying next interval');
      try {
        this.emit('rollup:error', { error });
      } catch (listenerErr) {
        this.opts.logger.error({ err: coerceError(listenerErr) }, 'rollup:error listener threw');
      }
      return undefined;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }
}
