import { type Executor, run } from '../db/executor.ts';
import { attemptCte, COMMIT_STATUSES, type CommitStatus } from '../tracking/commits.ts';

/**
 * The few commit_status statements sweeps need beyond mark/determine/cleanup (src/tracking).
 * Every write here is guarded by the owner task's uid, so it can never touch a pair that another
 * task has claimed in the meantime, and those of a benchmark attempt also by its fencing token,
 * in the same statement: the uid is the same on every retry, so without the token an attempt that
 * lost its lease could still rewrite the pair its successor completed.
 */

/** One pair of a benchmark attempt: the task that owns it, and the attempt's fencing token. */
export interface AttemptPair {
  repo: string;
  sha: string;
  configHash: string;
  architecture?: string | undefined;
  taskUid: string;
  fencingToken: number;
}

/**
 * A pair whose owner task ended in `error` is `failed`, with the task's error and one more
 * attempt. Two callers, one statement:
 *
 * - the benchmark worker's `task:failed` listener, right after the queue decided `error` (the
 *   database's own verdict on "no retries left", so no second copy of the retry rule lives here);
 * - every sweep fire, for the repository it sweeps, before cleanup: it records what no process
 *   lived to record, such as a worker killed during its last attempt, whose task rescue moved to
 *   `error` (lease expired). Without it, cleanup would return such a pair to waiting as if it had
 *   never failed, and a benchmark that always kills its machine would be retried forever.
 *
 * `t.status = 'error'` is the guard: a task in retry still owns its pair (it will run again).
 * The listener also passes the attempt's fencing token: only the attempt the queue failed for
 * good marks the pair, never one whose task was retried by hand and claimed again meanwhile.
 */
const FAIL_OWNED_SQL = `
update commit_status s set
  status = 'failed',
  attempts = s.attempts + 1,
  error = left(coalesce(t.error ->> 'message', 'the benchmark task failed'), 4000),
  updated_at = now()
from tasks t
where t.uid = s.task_uid and t.status = 'error'
  and s.status in ('in_progress', 'benchmark_complete')
  and ($1::uuid is null or s.task_uid = $1)
  and ($2::text is null or s.repo = $2)
  and ($3::bigint is null or t.fencing_token = $3)
returning s.sha, s.task_uid
`;

export async function failPairsOfErroredTasks(
  ex: Executor,
  scope: { taskUid?: string; repo?: string; fencingToken?: number },
): Promise<{ sha: string; task_uid: string }[]> {
  return run(ex, FAIL_OWNED_SQL, [scope.taskUid ?? null, scope.repo ?? null, scope.fencingToken ?? null]);
}

export interface PairState {
  status: CommitStatus;
  taskUid: string | null;
  attempts: number;
}

const PAIR_SQL = `
select s.status, s.task_uid, s.attempts from commit_status s
join benchmark_configs c on c.id = s.config_id
where s.repo = $1 and s.sha = $2 and c.hash = $3 and s.architecture = $4
`;

export async function getPair(
  ex: Executor,
  pair: { repo: string; sha: string; configHash: string; architecture?: string | undefined },
): Promise<PairState | undefined> {
  const [row] = await run<{ status: CommitStatus; task_uid: string | null; attempts: number }>(ex, PAIR_SQL, [
    pair.repo,
    pair.sha,
    pair.configHash,
    pair.architecture ?? '',
  ]);
  return row && { status: row.status, taskUid: row.task_uid, attempts: row.attempts };
}

export type StatusCounts = Record<CommitStatus, number>;

export const emptyCounts = (): StatusCounts => Object.fromEntries(COMMIT_STATUSES.map((s) => [s, 0])) as StatusCounts;

/**
 * Pairs by status for many (repo, config hash, architecture) at once: one statement for the whole
 * GET /sweeps page. The configs are found by hash first, so the count reads the
 * (config_id, status) index, never the whole table.
 */
const COUNTS_SQL = `
with wanted as (
  select w.repo, w.hash, w.architecture, c.id as config_id
  from unnest($1::text[], $2::text[], $3::text[]) as w(repo, hash, architecture)
  join benchmark_configs c on c.hash = w.hash
)
select w.repo, w.hash, w.architecture, s.status, count(*)::int as n
from wanted w join commit_status s on s.config_id = w.config_id and s.repo = w.repo and s.architecture = w.architecture
group by 1, 2, 3, 4
`;

export async function countPairs(
  ex: Executor,
  keys: readonly { repo: string; hash: string; architecture: string }[],
): Promise<Map<string, StatusCounts>> {
  const out = new Map<string, StatusCounts>();
  if (keys.length === 0) return out;
  const rows = await run<{ repo: string; hash: string; architecture: string; status: CommitStatus; n: number }>(ex, COUNTS_SQL, [
    keys.map((k) => k.repo),
    keys.map((k) => k.hash),
    keys.map((k) => k.architecture),
  ]);
  for (const r of rows) {
    const key = pairKey(r.repo, r.hash, r.architecture);
    const counts = out.get(key) ?? emptyCounts();
    counts[r.status] = r.n;
    out.set(key, counts);
  }
  return out;
}

export const pairKey = (repo: string, hash: string, architecture: string) => `${repo}\u0000${hash}\u0000${architecture}`;

const OWNED_SQL = `
with ${attemptCte('$5', '$6')}
select s.id from commit_status s
join benchmark_configs c on c.id = s.config_id
join attempt a on a.uid = s.task_uid
where s.repo = $1 and s.sha = $2 and c.hash = $3 and s.architecture = $4
  and s.status in ('in_progress', 'benchmark_complete')
for update of s
`;

/**
 * Inside the transaction that stores a run's results: does this attempt still own the pair (its
 * task owns it, and is processing under the attempt's fencing token)? Both rows stay locked until
 * commit: nobody can take the pair, and no rescue or claim can move the task to another attempt,
 * between this check and the final mark.
 */
export async function lockOwnedPair(ex: Executor, pair: AttemptPair): Promise<boolean> {
  const rows = await run(ex, OWNED_SQL, [pair.repo, pair.sha, pair.configHash, pair.architecture ?? '', pair.taskUid, pair.fencingToken]);
  return rows.length > 0;
}

const MARK_OWNED_SQL = `
with ${attemptCte('$5', '$6')}
update commit_status s set
  status = $7::text,
  error = case when $7::text = 'complete' then null else s.error end,
  updated_at = now()
from benchmark_configs c, attempt a
where c.id = s.config_id and s.repo = $1 and s.sha = $2 and c.hash = $3 and s.architecture = $4
  and s.task_uid = a.uid and s.status in ('in_progress', 'benchmark_complete')
returning s.id
`;

/**
 * Move a pair the attempt owns on to `benchmark_complete` or `complete`, in one statement guarded
 * by the attempt (see attemptCte) and by the pair being live and the task's. False, and nothing
 * written, when the attempt lost its lease or the pair its owner: a complete pair stays complete.
 */
export async function markOwnedPair(ex: Executor, pair: AttemptPair, status: 'benchmark_complete' | 'complete'): Promise<boolean> {
  const rows = await run(ex, MARK_OWNED_SQL, [
    pair.repo,
    pair.sha,
    pair.configHash,
    pair.architecture ?? '',
    pair.taskUid,
    pair.fencingToken,
    status,
  ]);
  return rows.length > 0;
}
