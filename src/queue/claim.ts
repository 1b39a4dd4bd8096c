import { type Executor, run } from '../db/executor.ts';
import { type ClaimedTask, type TaskRowRaw, toClaimedTask } from './task.ts';

export interface ClaimOptions {
  workerId: string;
  namespaces: readonly string[];
  /** Only tasks with these names are claimed: a worker never takes a task it cannot run. */
  tasks: readonly string[];
  limit: number;
  leaseSeconds: number;
  /**
   * How many of the claimed tasks start at once: the first `start` in claim order have their
   * attempt counted and started_at set by this statement. The rest are reserved for the worker's
   * local buffer (see src/worker/local-buffer.ts): held under the same lease and token, but with
   * started_at null and the attempt not counted until the worker starts them. Default: all.
   */
  start?: number;
}

/**
 * One statement: pick the due waiting tasks in claim order, skipping rows other workers hold
 * locked at this instant, and mark them ours. SKIP LOCKED means concurrent claimers never wait on
 * each other and never take the same row; the row lock lasts only for this statement.
 *
 * The order is highest priority, then earliest eta, then id (first come first served).
 * `tasks_claim_idx` is (namespace, priority desc, eta, id) over waiting rows, and the scan walks
 * it in order only when namespace is compared to a single value: with `namespace = any($1)` the
 * planner sorted the whole backlog under FOR UPDATE (measured: 50 ms at 100k waiting rows, against
 * 0.2 ms for the indexed walk). So each namespace gets its own LATERAL indexed walk of at most
 * `limit` rows, and the outer query merges them. With several namespaces that can lock up to
 * limit × namespaces rows for the instant of this statement; the unused ones are released at its
 * end, and other claimers skip them meanwhile.
 *
 * Each claimed row draws a fresh fencing token from a sequence: a worker that lost its lease holds an
 * old token, and every later change it attempts matches no row.
 *
 * The update finds its rows by `t.id = any(array(select id from next))` as well as by the join:
 * the join alone, for a limit of a few hundred, was planned as a hash join over a scan of the
 * whole table. The array's length is unknown when the statement is planned, so the rows are
 * fetched through the primary key whatever the limit (test/queue/complete-lookup.test.ts).
 */
/** The claim as two CTEs, `next` and `claimed`, over the given placeholders; reused by completeAndClaim. */
export function claimCtes(p: {
  namespaces: string;
  /** The task names' placeholder; null claims every task name (claimAnyTask). */
  tasks: string | null;
  limit: string;
  start: string;
  workerId: string;
  leaseSeconds: string;
}): string {
  return `next as (
  select c.id, row_number() over (order by c.priority desc nulls last, c.eta, c.id) as rn
  from unnest(${p.namespaces}) as ns(name)
  cross join lateral (
    select id, priority, eta from tasks
    where status in ('scheduled', 'retry')
      and namespace = ns.name
      ${p.tasks === null ? '' : `and task = any(${p.tasks}::text[])`}
      and eta <= now()
    order by priority desc nulls last, eta, id
    limit ${p.limit}
    for update skip locked
  ) c
  order by c.priority desc nulls last, c.eta, c.id
  limit ${p.limit}
), claimed as (
  update tasks t set
    status = 'processing',
    worker_id = ${p.workerId},
    lease_expires_at = now() + make_interval(secs => ${p.leaseSeconds}),
    lease_seconds = ${p.leaseSeconds},
    fencing_token = nextval('tasks_fencing_token_seq'),
    attempts = t.attempts + (next.rn <= ${p.start})::int,
    cancel_requested = false,
    started_at = case when next.rn <= ${p.start} then now() end,
    updated_at = now(),
    revision = t.revision + 1
  from next
  where t.id = next.id and t.id = any(array(select id from next))
  returning t.*
)`;
}

/**
 * The namespaces as an array of `count` text parameters from `$first` on, rather than one text[]
 * parameter: the planner then knows how many LATERAL walks there are. Given one array parameter,
 * a generic plan assumes 10 elements, costs ten walks, and the plan cache therefore re-planned
 * the claim on every call (0.36 ms of planning per claim, a quarter of an idle worker's
 * submit-to-start). With the count in the text, the generic plan costs what the custom one does
 * and is kept. So there is one prepared statement per number of namespaces.
 */
export function namespaceArray(first: number, count: number): string {
  return `array[${Array.from({ length: count }, (_, i) => `$${first + i}::text`).join(', ')}]::text[]`;
}

/** Statement texts by namespace count: built once each, so a prepared statement's text never varies. */
export function memoize<R>(build: (n: number) => R): (n: number) => R {
  const cache = new Map<number, R>();
  return (n) => {
    let v = cache.get(n);
    if (v === undefined) {
      v = build(n);
      cache.set(n, v);
    }
    return v;
  };
}

const claimSql = memoize(
  (namespaces: number) => `
with ${claimCtes({ namespaces: namespaceArray(6, namespaces), tasks: '$1', limit: '$2', start: '$5', workerId: '$3', leaseSeconds: '$4' })}
select * from claimed order by priority desc nulls last, eta, id
`,
);

export async function claim(ex: Executor, opts: ClaimOptions): Promise<ClaimedTask[]> {
  if (opts.limit <= 0 || opts.tasks.length === 0 || opts.namespaces.length === 0) return [];
  const namespaces = [...new Set(opts.namespaces)];
  const rows = await run<TaskRowRaw>(
    ex,
    claimSql(namespaces.length),
    [[...new Set(opts.tasks)], opts.limit, opts.workerId, opts.leaseSeconds, opts.start ?? opts.limit, ...namespaces],
    `eventix_claim_n${namespaces.length}`,
  );
  // UPDATE … RETURNING gives no order guarantee, so the statement sorts its result into claim order
  // (in SQL: a JS Date drops the microseconds of eta, and only the row id records submission order).
  return rows.map(toClaimedTask);
}

const claimAnySql = memoize(
  (namespaces: number) => `
with ${claimCtes({ namespaces: namespaceArray(5, namespaces), tasks: null, limit: '$1', start: '$4', workerId: '$2', leaseSeconds: '$3' })}
select * from claimed order by priority desc nulls last, eta, id
`,
);

/**
 * The claim without the task-name filter: whatever is due first in the namespaces, in claim order.
 * For clients that claim by namespace alone, as the Python Eventix's workers did (its
 * /tasks/next_scheduled, served by src/api/compat/). Same statement otherwise, so the same
 * SKIP LOCKED guarantees; without the name filter the walk of tasks_claim_idx is its own order.
 */
export async function claimAnyTask(ex: Executor, opts: Omit<ClaimOptions, 'tasks'>): Promise<ClaimedTask[]> {
  if (opts.limit <= 0 || opts.namespaces.length === 0) return [];
  const namespaces = [...new Set(opts.namespaces)];
  const rows = await run<TaskRowRaw>(
    ex,
    claimAnySql(namespaces.length),
    [opts.limit, opts.workerId, opts.leaseSeconds, opts.start ?? opts.limit, ...namespaces],
    `eventix_claim_any_n${namespaces.length}`,
  );
  return rows.map(toClaimedTask);
}
