import { type Executor, run } from '../db/executor.ts';
import { ValidationError } from '../errors.ts';
import { jsonFieldIssue } from '../validation/json.ts';
import { explainLoss, type Lease } from './ownership.ts';

/**
 * Finish many tasks in one statement: the worker's completer batches whatever finished while the
 * previous flush was in flight, so a busy worker pays one round trip for many tasks and an idle
 * one pays no added latency. Every row is guarded by status, worker and fencing token in the same
 * statement; a row that no longer matches is simply not returned, and its caller gets LeaseLost.
 * Tasks with store_result off are deleted instead of kept.
 *
 * The rows are found through the uid index by `uid = any($uids)`. Without it the planner, sure
 * that `status = 'processing'` is rare, bitmap-scanned tasks_lease_idx; a bitmap scan never marks
 * dead index entries, and every finished task leaves one there until vacuum, so each flush read
 * all of them: 18,000 entries per statement after 18,000 tasks, halving throughput over a
 * 20,000-task backlog. With the uid index scanned, the planner then ANDed the two bitmaps instead,
 * reading the same entries; so tasks_lease_idx's predicate is now `lease_expires_at is not null`
 * (migration 0012), which nothing here implies.
 *
 * Each found row then takes its token, result and start from the payload by key: `input` is ONE
 * jsonb object from uid (as uuid text, so any spelling the uuid type accepts matches) to its
 * entry, and `->` is a binary search of its keys. The payload used to be joined as a set, and the
 * same estimate (one processing row) put it on the inner side of a nested loop, rescanned for
 * every row: batch² comparisons, 9,900 for a batch of 100 (test/queue/complete-lookup.test.ts).
 * Looked up by key, one connection finishing and claiming batches of 300 used 38–41 µs of server
 * CPU per task, against 77–96 µs joined. The object is read through `(select o from input)`, a
 * value computed once, not a table in FROM: there is no join left to plan, and no copy of the
 * whole object per row for the update's recheck.
 *
 * The uid arrays are wrapped the same way, `any((select $n::uuid[])::uuid[])`, so that the
 * planner does not know how many there are. Told (a custom plan sees the array), it priced a large
 * batch's probes of the uid index above one pass over the heap, and with 600 tasks out of 20,000
 * scanned every row of the table instead (a 40,000-row table and batches of 300 did it in most
 * statements, 68 µs of server CPU per task against 47). Unknown, the array counts as a few
 * elements, and an index probe per uid is the plan at every size.
 */
/**
 * The body of a CTE giving one row, `o`: the jsonb array of entries at `payload`, as one object
 * from each entry's uid (cast through uuid, so any spelling the type accepts matches `t.uid::text`)
 * to the entry. A statement then reads a row's entry as `o -> t.uid::text`. Shared by the
 * completion and the start records (completeAndClaim).
 */
export function byUidSql(payload: string): string {
  return `select jsonb_object_agg((e ->> 'uid')::uuid::text, e) as o from jsonb_array_elements(${payload}::jsonb) as e`;
}

/**
 * A uuid[] parameter whose length the planner cannot see (see above): a batch of any size is
 * then found by index probes. Shared by the completion and the start records.
 */
export function unsizedUuids(param: string): string {
  return `(select ${param}::uuid[])::uuid[]`;
}

/** The completion as CTEs `input`, `deleted` and `updated` over the given placeholders; reused by completeAndClaim. */
export function completeCtes(p: { workerId: string; payload: string; deleteUids: string; updateUids: string }): string {
  return `input as (${byUidSql(p.payload)}), deleted as (
  delete from tasks t
  where t.uid = any(${unsizedUuids(p.deleteUids)})
    and t.status = 'processing' and t.worker_id = ${p.workerId} and not t.store_result
    and t.fencing_token = ((select o from input) -> t.uid::text ->> 'token')::bigint
  returning t.uid, t.namespace
), updated as (
  update tasks t set
    status = 'done',
    -- A task the worker started from its local buffer, and finished before the start was
    -- recorded: its attempt is counted here (see src/worker/local-buffer.ts).
    attempts = t.attempts + (t.started_at is null)::int,
    started_at = coalesce(t.started_at, ((select o from input) -> t.uid::text ->> 'started_at')::timestamptz),
    result = nullif((select o from input) -> t.uid::text -> 'result', 'null'::jsonb),
    error = null,
    lease_expires_at = null,
    finished_at = now(),
    updated_at = now(),
    expires_at = case when t.result_expires is null then null else now() + make_interval(secs => t.result_expires) end,
    revision = t.revision + 1
  where t.uid = any(${unsizedUuids(p.updateUids)})
    and t.status = 'processing' and t.worker_id = ${p.workerId} and t.store_result
    and t.fencing_token = ((select o from input) -> t.uid::text ->> 'token')::bigint
  returning t.uid, t.namespace
)`;
}

const COMPLETE_MANY_SQL = `
with ${completeCtes({ workerId: '$1', payload: '$2', deleteUids: '$3', updateUids: '$4' })}
select uid, namespace from deleted union all select uid, namespace from updated
`;

export interface Completion extends Lease {
  result?: unknown;
  /**
   * The task's store_result, when the caller has its claimed row (the worker does). Known, the
   * uid is looked up only by the part of the statement that can match it: kept tasks are updated,
   * the others deleted, and each part is one probe of the uid index per task it is given. Unknown,
   * both parts look. The parts still check store_result themselves, so a wrong value can only
   * leave the task unfinished, never finish it the wrong way.
   */
  storeResult?: boolean | undefined;
  /** When a task from the worker's local buffer started, if that start is not recorded yet. */
  startedAt?: Date | undefined;
}

/**
 * A result as it will be stored: undefined becomes null; anything jsonb cannot hold (a bigint, a
 * Date, undefined inside an object, a NUL character) throws ValidationError naming where. The
 * worker's completer checks each result before it joins a batch: one thrown here would fail the
 * whole statement, and every task flushed with it.
 */
export function checkResult(result: unknown): unknown {
  if (result === undefined) return null;
  const issue = jsonFieldIssue(result, 'result');
  if (issue) throw new ValidationError([issue]);
  return result;
}

/** The uids each part of the completion looks up: see Completion.storeResult. */
export function completionTargets(items: readonly Pick<Completion, 'uid' | 'storeResult'>[]): {
  deleteUids: string[];
  updateUids: string[];
} {
  const deleteUids: string[] = [];
  const updateUids: string[] = [];
  for (const i of items) {
    if (i.storeResult !== true) deleteUids.push(i.uid);
    if (i.storeResult !== false) updateUids.push(i.uid);
  }
  return { deleteUids, updateUids };
}

/**
 * The statement's payload. `checked`: every result has been through checkResult already (the
 * worker's completer checks each one before it joins a batch), so it is not walked a second time
 * on the hot path.
 */
export function completionPayload(items: readonly Omit<Completion, 'workerId'>[], checked = false) {
  return items.map((i) => ({
    uid: i.uid,
    token: i.fencingToken,
    result: checked ? (i.result ?? null) : checkResult(i.result),
    started_at: i.startedAt?.toISOString() ?? null,
  }));
}

/** Complete tasks held under one worker id. Returns uid → namespace of those completed; the rest had lost their lease. */
export async function completeBatch(
  ex: Executor,
  workerId: string,
  items: readonly Omit<Completion, 'workerId'>[],
  opts: { resultsChecked?: boolean } = {},
): Promise<Map<string, string>> {
  if (items.length === 0) return new Map();
  const payload = completionPayload(items, opts.resultsChecked);
  const { deleteUids, updateUids } = completionTargets(items);
  const rows = await run<{ uid: string; namespace: string }>(
    ex,
    COMPLETE_MANY_SQL,
    [workerId, JSON.stringify(payload), deleteUids, updateUids],
    'eventix_complete',
  );
  return new Map(rows.map((r) => [r.uid, r.namespace]));
}

/** Complete tasks held under one worker id. Returns the uids that were completed; the rest had lost their lease. */
export async function completeMany(
  ex: Executor,
  workerId: string,
  items: readonly Omit<Completion, 'workerId'>[],
  opts: { resultsChecked?: boolean } = {},
): Promise<Set<string>> {
  return new Set((await completeBatch(ex, workerId, items, opts)).keys());
}

/** Complete one task, or throw LeaseLost / TaskNotFound and change nothing. */
export async function complete(ex: Executor, c: Completion): Promise<void> {
  const done = await completeMany(ex, c.workerId, [c]);
  if (!done.has(c.uid)) throw await explainLoss(ex, c);
}
