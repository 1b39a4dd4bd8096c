import { type Executor, run } from '../../db/executor.ts';
import { ROLLUP_WINDOW_MINUTES } from '../../queue/rollup.ts';
import type { TaskStatus } from '../../queue/states.ts';
import { type NamespaceDepth, queueDepth } from '../../queue/stats.ts';
import { PRESENCE_LIVE_SECONDS, PRESENCE_RETENTION_SECONDS } from '../../worker/presence.ts';

/**
 * What the overview shows, read in two statements whatever the table's size: queueDepth (live
 * rows only, through the partial indexes of waiting and running tasks) and OVERVIEW_SQL, which
 * reads the rollup for done counts and throughput and otherwise only indexed, bounded slices of
 * tasks and schedules. Nothing here visits the finished rows of tasks, which are most of it.
 */

export const LEASE_HORIZON_SECONDS = 30;
/**
 * Failed tasks are counted live up to this many per namespace; above it the page shows the
 * rollup's exact count instead. Failed rows are kept for days (error_expires) and scattered over
 * the table, so an exact live count costs a heap visit per failed task: at 22,000 of them in 1M
 * rows that was 17 ms of every refresh, most of the page's database time.
 */
export const LIVE_FAILED_CAP = 1000;
/** Failures are grouped from this many of the newest failed tasks. */
export const FAILURE_SAMPLE = 500;
const WORKER_LIMIT = 50;
const LEASE_LIMIT = 20;
const SCHEDULE_LIMIT = 10;
const FAILURE_CLASS_LIMIT = 10;

/**
 * $1 namespace or null, $2 lease horizon (s), $3 failure sample, $4..$7 list limits, $8 live failed cap,
 * $9 how recent a presence row must be to count as live (s), $10 how old one may be and still be listed (s).
 *
 * `$1::text is null or namespace = $1` is folded by the planner: an unnamed statement is planned
 * with its parameters' values. Each part is a scalar subquery, planned on its own:
 * - failed: per namespace, at most $8 rows along tasks_failed_idx (its predicate is implied by
 *   status = 'error');
 * - workers: the presence rows (workers, one per running Worker: small) full-joined with the
 *   processing tasks counted per worker_id along tasks_lease_idx (lease_expires_at is not null,
 *   which every processing row has and no other), so an
 *   idle worker is listed, and a worker without a row (a RemoteWorker over HTTP) from its leases;
 * - leases: tasks_lease_idx, ordered by lease_expires_at;
 * - schedules: schedules_due_idx (enabled, next_fire_at);
 * - failures: the namespaces that have failed tasks, found by a skip scan of tasks_failed_idx
 *   (one index descent per namespace), then per namespace the newest $3 errors backwards along
 *   the same index, merged: at most $3 rows per namespace are read, however many failed.
 */
export const OVERVIEW_SQL = `
with recursive failed_ns(namespace) as (
  select min(namespace) from tasks where status in ('error', 'cancelled') and ($1::text is null or namespace = $1)
  union all
  select (select min(t.namespace) from tasks t where t.status in ('error', 'cancelled') and t.namespace > f.namespace)
  from failed_ns f where f.namespace is not null and $1::text is null
), recent as materialized (
  select r.* from failed_ns f cross join lateral (
    select t.id, t.uid, t.namespace, t.task, t.error->>'class' as class, left(t.error->>'message', 300) as message, t.finished_at
    from tasks t
    where t.status = 'error' and t.namespace = f.namespace order by t.id desc limit $3
  ) r
  order by r.id desc limit $3
)
select
  now() as at,
  (select to_jsonb(s) from (select refreshed_at, duration_ms from task_rollup_state where id = 1) s) as rollup,
  (select coalesce(jsonb_agg(jsonb_build_array(namespace, status, n)), '[]'::jsonb)
     from task_rollup_totals where $1::text is null or namespace = $1) as totals,
  (select coalesce(jsonb_agg(jsonb_build_array(m, d, f) order by m), '[]'::jsonb) from (
     select extract(epoch from minute)::bigint as m, sum(done)::bigint as d, sum(failed)::bigint as f
     from task_rollup_minutes where $1::text is null or namespace = $1 group by minute) x) as minutes,
  (select coalesce(jsonb_agg(jsonb_build_array(f.namespace, (
     select count(*) from (select from tasks t where t.status = 'error' and t.namespace = f.namespace limit $8) x))), '[]'::jsonb)
     from failed_ns f where f.namespace is not null) as failed,
  (select coalesce(jsonb_agg(w order by w.last_seen desc, w.worker_id), '[]'::jsonb) from (
     select x.*, count(*) over () as workers, count(*) filter (where x.state = 'quiet') over () as quiet
     from (
       select coalesce(p.id, h.worker_id) as worker_id, p.host, p.pid, coalesce(p.namespaces, h.namespaces) as namespaces,
         p.tasks as task_names, p.concurrency, p.started_at, coalesce(p.last_seen_at, h.last_heartbeat) as last_seen,
         coalesce(h.held, 0) as held,
         case when p.id is null then 'remote' when p.last_seen_at > now() - make_interval(secs => $9) then 'live' else 'quiet' end as state
       from workers p
       full join (
         select worker_id, count(*) as held, count(*) filter (where $1::text is null or namespace = $1) as held_here,
           max(updated_at) as last_heartbeat, array_agg(distinct namespace order by namespace) as namespaces
         from tasks where status = 'processing' and lease_expires_at is not null group by worker_id
       ) h on h.worker_id = p.id
       where h.held_here > 0
         or (p.last_seen_at > now() - make_interval(secs => $10) and ($1::text is null or $1 = any(p.namespaces)))
     ) x
     order by x.last_seen desc, x.worker_id limit $4) w) as workers,
  (select coalesce(jsonb_agg(l), '[]'::jsonb) from (
     select uid, task, namespace, worker_id, lease_expires_at from tasks
     where status = 'processing' and lease_expires_at < now() + make_interval(secs => $2)
       and ($1::text is null or namespace = $1)
     order by lease_expires_at limit $5) l) as leases,
  (select coalesce(jsonb_agg(s), '[]'::jsonb) from (
     select name, namespace, task, cron, timezone, next_fire_at from schedules
     where enabled and next_fire_at is not null and ($1::text is null or namespace = $1)
     order by next_fire_at limit $6) s) as schedules,
  (select count(*) from recent) as failures_sampled,
  (select coalesce(jsonb_agg(g), '[]'::jsonb) from (
     select coalesce(class, '(no class)') as class, count(*) as n, count(distinct task) as tasks,
       max(finished_at) as last_at,
       (array_agg(uid order by id desc))[1] as newest_uid,
       (array_agg(task order by id desc))[1] as newest_task,
       (array_agg(namespace order by id desc))[1] as newest_namespace,
       (array_agg(message order by id desc))[1] as message
     from recent group by 1 order by max(id) desc limit $7) g) as failures
`;

interface OverviewRow {
  at: Date;
  rollup: { refreshed_at: string; duration_ms: number | null } | null;
  totals: [string, string, number][];
  minutes: [number, number, number][];
  failed: [string, number][];
  workers: {
    worker_id: string;
    host: string | null;
    pid: number | null;
    namespaces: string[] | null;
    task_names: string[] | null;
    concurrency: number | null;
    started_at: string | null;
    last_seen: string;
    held: number;
    state: OverviewWorkerState;
    workers: number;
    quiet: number;
  }[];
  leases: { uid: string; task: string; namespace: string; worker_id: string; lease_expires_at: string }[];
  schedules: { name: string; namespace: string; task: string; cron: string; timezone: string; next_fire_at: string }[];
  failures_sampled: number;
  failures: {
    class: string;
    n: number;
    tasks: number;
    last_at: string | null;
    newest_uid: string;
    newest_task: string;
    newest_namespace: string;
    message: string | null;
  }[];
}

export interface NamespaceRow {
  namespace: string;
  waiting: number;
  running: number;
  retrying: number;
  /** Counted live up to LIVE_FAILED_CAP; above, the rollup's count, or at least the cap before the rollup ran. */
  failed: number;
  failedSource: 'live' | 'rollup' | 'capped';
  /** From the rollup; null when it has never run. */
  done: number | null;
  oldestWaitingAgeSeconds: number | null;
}

/**
 * live: its presence row was refreshed within PRESENCE_LIVE_SECONDS. quiet: its row is older than
 * that (up to PRESENCE_RETENTION_SECONDS): the process is stuck, cut off from the database, or
 * died without stopping. remote: no row, known only from the tasks it holds (a RemoteWorker over
 * HTTP, or a Worker with presence off).
 */
export type OverviewWorkerState = 'live' | 'quiet' | 'remote';

export interface OverviewWorker {
  workerId: string;
  state: OverviewWorkerState;
  /** From the presence row; for a remote worker, the host part of its id. */
  host: string;
  pid: number | null;
  /** It claims from; for a remote worker, those of the tasks it holds. */
  namespaces: string[] | null;
  /** The task names it has handlers for (null for a remote worker). */
  taskNames: string[] | null;
  concurrency: number | null;
  /** Tasks it holds a lease on right now, in every namespace. */
  tasks: number;
  startedAt: Date | null;
  /** Its presence row's last refresh; for a remote worker, the newest lease renewal of its tasks. */
  lastSeen: Date;
}

export interface Overview {
  /** The database's now(): ages are measured from it. */
  at: Date;
  rollup: { refreshedAt: Date; durationMs: number | null } | null;
  namespaces: NamespaceRow[];
  totals: Omit<NamespaceRow, 'namespace'>;
  /** Every minute of the rollup's window, oldest first, zeros filled in; empty when the rollup never ran. */
  throughput: { minutes: number[]; done: number[]; failed: number[] };
  /** Newest last seen first; at most WORKER_LIMIT. */
  workers: OverviewWorker[];
  /** How many workers there are to list (the list shows at most WORKER_LIMIT), quiet ones included. */
  workerCount: number;
  /** How many of them have gone quiet. */
  quietWorkerCount: number;
  leases: { uid: string; task: string; namespace: string; workerId: string; leaseExpiresAt: Date }[];
  schedules: { name: string; namespace: string; task: string; cron: string; timezone: string; nextFireAt: Date }[];
  failures: {
    errorClass: string;
    count: number;
    tasks: number;
    lastAt: Date | null;
    newestUid: string;
    newestTask: string;
    newestNamespace: string;
    message: string | null;
  }[];
  /** How many failed tasks the groups were made from (at most FAILURE_SAMPLE). */
  failuresSampled: number;
  /** Time spent in each statement, in milliseconds (for Server-Timing). */
  timings: { depth: number; overview: number };
}

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const start = performance.now();
  const value = await fn();
  return [value, performance.now() - start];
}

/** Worker ids are `${hostname}:${pid}:${hex}` (src/worker/worker.ts); a custom id is its own host. */
export function hostOf(workerId: string): string {
  const i = workerId.indexOf(':');
  return i > 0 ? workerId.slice(0, i) : workerId;
}

/** The chart's minutes: every minute of the window ending at the rollup's minute, zeros where none finished. */
function fillMinutes(rows: [number, number, number][], refreshedAt: Date | undefined): Overview['throughput'] {
  if (!refreshedAt) return { minutes: [], done: [], failed: [] };
  const last = Math.floor(refreshedAt.getTime() / 60_000) * 60;
  const byMinute = new Map(rows.map(([m, d, f]) => [Number(m), [Number(d), Number(f)] as const]));
  const out: Overview['throughput'] = { minutes: [], done: [], failed: [] };
  for (let m = last - (ROLLUP_WINDOW_MINUTES - 1) * 60; m <= last; m += 60) {
    const [d, f] = byMinute.get(m) ?? [0, 0];
    out.minutes.push(m);
    out.done.push(d);
    out.failed.push(f);
  }
  return out;
}

/** OVERVIEW_SQL's parameters (exported with it for EXPLAIN in bench/dashboard.ts). */
export function overviewParams(namespace: string | null): unknown[] {
  return [
    namespace,
    LEASE_HORIZON_SECONDS,
    FAILURE_SAMPLE,
    WORKER_LIMIT,
    LEASE_LIMIT,
    SCHEDULE_LIMIT,
    FAILURE_CLASS_LIMIT,
    LIVE_FAILED_CAP,
    PRESENCE_LIVE_SECONDS,
    PRESENCE_RETENTION_SECONDS,
  ];
}

export async function loadOverview(ex: Executor, opts: { namespace?: string | undefined } = {}): Promise<Overview> {
  const ns = opts.namespace ?? null;
  const params = overviewParams(ns);
  const [[depth, depthMs], [rows, overviewMs]] = await Promise.all([
    timed(() => queueDepth(ex)),
    timed(() => run<OverviewRow>(ex, OVERVIEW_SQL, params)),
  ]);
  const row = rows[0];
  if (!row) throw new Error('overview query returned no row');
  const rollup = row.rollup ? { refreshedAt: new Date(row.rollup.refreshed_at), durationMs: row.rollup.duration_ms } : null;
  return {
    at: new Date(row.at),
    rollup,
    ...namespaceRows(
      depth.filter((d) => ns === null || d.namespace === ns),
      row,
      rollup !== null,
    ),
    throughput: fillMinutes(row.minutes, rollup?.refreshedAt),
    workers: row.workers.map((w) => ({
      workerId: w.worker_id,
      state: w.state,
      host: w.host ?? hostOf(w.worker_id),
      pid: w.pid,
      namespaces: w.namespaces,
      taskNames: w.task_names,
      concurrency: w.concurrency,
      tasks: Number(w.held),
      startedAt: w.started_at ? new Date(w.started_at) : null,
      lastSeen: new Date(w.last_seen),
    })),
    workerCount: Number(row.workers[0]?.workers ?? 0),
    quietWorkerCount: Number(row.workers[0]?.quiet ?? 0),
    leases: row.leases.map((l) => ({
      uid: l.uid,
      task: l.task,
      namespace: l.namespace,
      workerId: l.worker_id,
      leaseExpiresAt: new Date(l.lease_expires_at),
    })),
    schedules: row.schedules.map((s) => ({ ...s, nextFireAt: new Date(s.next_fire_at) })),
    failures: row.failures.map((f) => ({
      errorClass: f.class,
      count: Number(f.n),
      tasks: Number(f.tasks),
      lastAt: f.last_at ? new Date(f.last_at) : null,
      newestUid: f.newest_uid,
      newestTask: f.newest_task,
      newestNamespace: f.newest_namespace,
      message: f.message,
    })),
    failuresSampled: Number(row.failures_sampled),
    timings: { depth: depthMs, overview: overviewMs },
  };
}

/** One row per namespace that has live tasks, failed ones, or any in the rollup; sorted by name. */
function namespaceRows(depth: NamespaceDepth[], row: OverviewRow, rolledUp: boolean) {
  const rows = new Map<string, NamespaceRow>();
  const blank = (): Omit<NamespaceRow, 'namespace'> => ({
    waiting: 0,
    running: 0,
    retrying: 0,
    failed: 0,
    failedSource: 'live',
    done: rolledUp ? 0 : null,
    oldestWaitingAgeSeconds: null,
  });
  const entry = (namespace: string) => {
    let r = rows.get(namespace);
    if (!r) {
      r = { namespace, ...blank() };
      rows.set(namespace, r);
    }
    return r;
  };
  for (const d of depth) {
    const r = entry(d.namespace);
    r.waiting = d.counts.scheduled;
    r.retrying = d.counts.retry;
    r.running = d.counts.processing;
    r.oldestWaitingAgeSeconds = d.oldestWaitingAgeSeconds;
  }
  const rolledUpErrors = new Map<string, number>();
  for (const [namespace, status, n] of row.totals) {
    // A namespace whose tasks all finished long ago still gets its row (its done count).
    const r = entry(namespace);
    if ((status as TaskStatus) === 'done') r.done = Number(n);
    if ((status as TaskStatus) === 'error') rolledUpErrors.set(namespace, Number(n));
  }
  for (const [namespace, live] of row.failed) {
    const r = entry(namespace);
    r.failed = Number(live);
    if (r.failed < LIVE_FAILED_CAP) continue;
    const counted = rolledUpErrors.get(namespace);
    if (counted !== undefined && counted >= LIVE_FAILED_CAP) {
      r.failed = counted;
      r.failedSource = 'rollup';
    } else {
      r.failedSource = 'capped';
    }
  }
  const namespaces = [...rows.values()].sort((a, b) => (a.namespace < b.namespace ? -1 : a.namespace > b.namespace ? 1 : 0));
  const totals = blank();
  for (const r of namespaces) {
    totals.waiting += r.waiting;
    totals.running += r.running;
    totals.retrying += r.retrying;
    totals.failed += r.failed;
    if (r.failedSource === 'capped' || (r.failedSource === 'rollup' && totals.failedSource === 'live'))
      totals.failedSource = r.failedSource;
    if (totals.done !== null && r.done !== null) totals.done += r.done;
    if (r.oldestWaitingAgeSeconds !== null) {
      totals.oldestWaitingAgeSeconds = Math.max(totals.oldestWaitingAgeSeconds ?? 0, r.oldestWaitingAgeSeconds);
    }
  }
  return { namespaces, totals };
}
