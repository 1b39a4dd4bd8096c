import { type Executor, run } from '../db/executor.ts';
import { ValidationError } from '../errors.ts';
import { type CanonicalConfig, canonicalConfig } from './canonical.ts';
import { upsertConfig } from './configs.ts';
import { commitTimes, resolveCommits } from './git.ts';

/**
 * Commit-status tracking: which (repo, sha, config, architecture) pairs are benchmarked, running,
 * failed or waiting. The statuses, and who moves a pair in and out of each:
 *
 * - (no row)            waiting: never tried, or returned to waiting by cleanup.
 * - `in_progress`       In: mark/claim, with the uid of the task that runs it (or none, from a
 *                       seed-style CLI workflow). Out: the owner marks benchmark_complete,
 *                       complete or failed; cleanup when stale.
 * - `benchmark_complete` In: the owner, after the benchmark ran and before its metrics are stored.
 *                       Out: the owner marks complete; cleanup when stale (metrics unconfirmed).
 * - `complete`          In: the owner, once metrics are stored. Final: cleanup never touches it.
 * - `failed`            In: mark failed (attempts + 1, error kept); cleanup of a stale pair that
 *                       had failed before. Out: claim/mark again while attempts < max attempts;
 *                       re-queue (requeue.ts) deletes the row, attempts with it, back to waiting.
 *
 * A pair in `in_progress` or `benchmark_complete` is *live* while any of these holds, and *stale*
 * otherwise (determine then treats it as waiting, and cleanup returns it to waiting):
 * - its owner task is waiting or running (scheduled, retry, processing);
 * - it names an owner that cannot be found, and changed less than OWNER_GRACE_SECONDS ago (the
 *   owner may be a task not yet visible to this transaction; a finished task that was pruned is
 *   gone for good after that);
 * - it has no owner, and changed less than `staleSeconds` ago (EVENTIX_COMMITS_STALE_SECONDS).
 */

export const COMMIT_STATUSES = ['in_progress', 'benchmark_complete', 'complete', 'failed'] as const;
export type CommitStatus = (typeof COMMIT_STATUSES)[number];

export const DEFAULT_MAX_ATTEMPTS = 3;
export const DEFAULT_STALE_SECONDS = 6 * 3600;
export const OWNER_GRACE_SECONDS = 60;

export function isCommitStatus(v: unknown): v is CommitStatus {
  return typeof v === 'string' && (COMMIT_STATUSES as readonly string[]).includes(v);
}

/**
 * The live test as SQL over a commit_status row aliased `s`; `$stale` is the placeholder of the
 * ownerless staleness age in seconds. One text, used by determine, cleanup and the tests.
 */
export function liveSql(stale: string): string {
  return `(s.status in ('in_progress', 'benchmark_complete') and (
    exists (select 1 from tasks t where t.uid = s.task_uid and t.status in ('scheduled', 'retry', 'processing'))
    or (s.task_uid is not null and s.updated_at > now() - make_interval(secs => ${OWNER_GRACE_SECONDS})
        and not exists (select 1 from tasks t where t.uid = s.task_uid))
    or (s.task_uid is null and s.updated_at > now() - make_interval(secs => ${stale}::double precision))))`;
}

/**
 * CTE `attempt`: the task `$uid` is running under fencing token `$token` (placeholders), locked
 * FOR SHARE until the statement, or the transaction, ends, so no rescue, claim or completion of
 * the task commits in between. It guards every pair write of a benchmark attempt (sweeps/benchmark-task.ts):
 * a pair is owned by task uid, which stays the same across retries, so only the token tells an
 * attempt that lost its lease, but was not yet aborted, from the attempt that took over.
 */
export function attemptCte(uid: string, token: string): string {
  return `attempt as (
  select t.uid from tasks t
  where t.uid = ${uid}::uuid and t.fencing_token = ${token}::bigint and t.status = 'processing'
  for share of t
)`;
}

// ---------------------------------------------------------------------------------------------
// Configs

/** Insert the config if new (by canonical hash); a name fills an empty one, never replaces it. */
export function upsertCommitConfig(ex: Executor, config: unknown, name?: string | null): Promise<{ id: number; hash: string }> {
  return upsertConfig(ex, config, name);
}

// ---------------------------------------------------------------------------------------------
// Mark

export interface MarkOptions {
  /** The repository's identity in the table (see repoKey) and, unless `gitDir` says otherwise, its path. */
  repo: string;
  /** Where to run git, when it differs from `repo`. */
  gitDir?: string | undefined;
  /** Shas or refs (HEAD, branch names, HEAD~2…), resolved to full shas. */
  refs: readonly string[];
  /** The config; absent means `{}`, as the seed stored a missing config. */
  config?: unknown;
  configName?: string | null | undefined;
  status: CommitStatus;
  taskUid?: string | null | undefined;
  error?: string | null | undefined;
  architecture?: string | null | undefined;
  /**
   * Claim instead of overwrite (status in_progress only): take a pair only if it has no row, or
   * it failed fewer than `maxAttempts` times. A pair another claim holds, a complete one, or a
   * stale one not yet returned by cleanup is left alone and reported in `skipped`.
   */
  claim?: boolean | undefined;
  maxAttempts?: number | undefined;
  /**
   * With `taskUid`: write only while that task is `processing` under this fencing token, checked
   * in the same statement (see attemptCte). A benchmark attempt's claim passes its own, so an
   * attempt that lost its lease takes nothing.
   */
  fencingToken?: number | undefined;
}

export interface MarkResult {
  config: { id: number; hash: string };
  /** Each pair written, in the order given: the ref as given, its sha, and whether the row is new. */
  marked: { ref: string; sha: string; created: boolean }[];
  /** Claims not taken. */
  skipped: { ref: string; sha: string }[];
}

/**
 * One statement: the config upsert in a CTE, then an upsert of every pair from unnest().
 * - failed: attempts + 1, the error stored; complete clears the error; others keep it, so a
 *   retried pair shows why it failed last;
 * - in_progress replaces the owner (none if none is given); other statuses keep it unless a new
 *   one is given, so a complete pair still says which task completed it;
 * - committed_at comes from git, and is kept if git gave none.
 * With $11 (claim), an existing row is updated only when it failed fewer than $12 times: under
 * READ COMMITTED, ON CONFLICT locks the row and evaluates this WHERE on its newest version, so
 * of two concurrent claims exactly one takes the pair.
 * With $13 (a fencing token), nothing is written unless task $8 is processing under it.
 */
const MARK_SQL = `
with cfg as (
  insert into benchmark_configs as c (hash, canonical, config, name)
  values ($1::text, $2::text, $2::text::jsonb, $3::text)
  on conflict (hash) do update set name = coalesce(c.name, excluded.name)
  returning c.id
), ${attemptCte('$8', '$13')}
insert into commit_status as s (repo, sha, config_id, architecture, committed_at, status, error, attempts, task_uid)
select $4::text, x.sha, cfg.id, $5::text, x.committed_at, $6::text, $7::text, case when $6::text = 'failed' then 1 else 0 end, $8::uuid
from unnest($9::text[], $10::timestamptz[]) as x(sha, committed_at) cross join cfg
where $13::bigint is null or exists (select 1 from attempt)
on conflict (repo, sha, config_id, architecture) do update set
  status = excluded.status,
  attempts = s.attempts + case when excluded.status = 'failed' then 1 else 0 end,
  error = case excluded.status when 'failed' then excluded.error when 'complete' then null else s.error end,
  task_uid = case when excluded.status = 'in_progress' then excluded.task_uid else coalesce(excluded.task_uid, s.task_uid) end,
  committed_at = coalesce(excluded.committed_at, s.committed_at),
  updated_at = now()
where not $11::boolean or (s.status = 'failed' and s.attempts < $12)
returning s.sha, s.config_id, (s.xmax = 0) as created
`;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function markCommits(ex: Executor, opts: MarkOptions): Promise<MarkResult> {
  if (!isCommitStatus(opts.status))
    throw new ValidationError([{ field: 'status', message: `must be one of ${COMMIT_STATUSES.join(', ')}` }]);
  if (opts.claim && opts.status !== 'in_progress')
    throw new ValidationError([{ field: 'claim', message: 'only an in_progress mark can claim' }]);
  if (opts.taskUid && !UUID.test(opts.taskUid)) throw new ValidationError([{ field: 'task_uid', message: 'must be a UUID' }]);
  if (opts.fencingToken !== undefined && !opts.taskUid)
    throw new ValidationError([{ field: 'fencing_token', message: 'needs the task_uid it belongs to' }]);
  if (opts.refs.length === 0) throw new ValidationError([{ field: 'shas', message: 'give at least one sha or ref' }]);
  const config: CanonicalConfig = canonicalConfig(opts.config ?? {});
  const dir = opts.gitDir ?? opts.repo;
  const shas = await resolveCommits(dir, opts.refs);
  const unique = [...new Set(shas)];
  const times = await commitTimes(dir, unique);
  const rows = await run<{ sha: string; config_id: number; created: boolean }>(ex, MARK_SQL, [
    config.hash,
    config.canonical,
    opts.configName ?? null,
    opts.repo,
    opts.architecture ?? '',
    opts.status,
    opts.status === 'failed' ? (opts.error ?? null) : null,
    opts.taskUid ?? null,
    unique,
    unique.map((s) => times.get(s) ?? null),
    opts.claim ?? false,
    opts.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
    opts.fencingToken ?? null,
  ]);
  const written = new Map(rows.map((r) => [r.sha, r.created]));
  // Every claim refused leaves no row to return the config's id; only then ask for it.
  const configId =
    rows[0]?.config_id ?? (await run<{ id: number }>(ex, 'select id from benchmark_configs where hash = $1', [config.hash]))[0]?.id ?? 0;
  const result: MarkResult = { config: { id: configId, hash: config.hash }, marked: [], skipped: [] };
  opts.refs.forEach((ref, i) => {
    const sha = shas[i] as string;
    const created = written.get(sha);
    if (created === undefined) result.skipped.push({ ref, sha });
    else result.marked.push({ ref, sha, created });
  });
  return result;
}

// ---------------------------------------------------------------------------------------------
// Cleanup

export interface CleanupOptions {
  /** Ownerless pairs count as stale after this many seconds without change. */
  olderThanSeconds?: number | undefined;
  repo?: string | undefined;
  /** Only pairs of this config (by value; canonicalised). */
  config?: unknown;
  architecture?: string | undefined;
}

export interface CleanupResult {
  /** Pairs returned to waiting: deleted ones plus failed ones. */
  reset: number;
  /** Never-failed pairs: the row is deleted, as if never tried (the seed's cleanup). */
  deleted: number;
  /** Pairs that had failed before: back to `failed` with their attempts, so the retry budget holds. */
  failed: number;
  pairs: { repo: string; sha: string; config_id: number; architecture: string; status: CommitStatus; task_uid: string | null }[];
}

/**
 * Stale in_progress and benchmark_complete pairs go back to waiting; live ones, complete ones and
 * failed ones are never touched. The seed deleted every in_progress row, which took pairs from
 * under a sweep running at that moment. SKIP LOCKED passes over a pair someone is writing now.
 */
const CLEANUP_SQL = `
with stale as (
  select s.id, s.status from commit_status s
  where s.status in ('in_progress', 'benchmark_complete')
    and ($2::text is null or s.repo = $2)
    and ($3::text is null or s.config_id = (select id from benchmark_configs where hash = $3))
    and ($4::text is null or s.architecture = $4)
    and not ${liveSql('$1')}
  for update of s skip locked
),
deleted as (
  delete from commit_status d using stale
  where d.id = stale.id and d.attempts = 0
  returning d.repo, d.sha, d.config_id, d.architecture, d.status, d.task_uid, 'deleted' as action
),
failed as (
  update commit_status u set status = 'failed', updated_at = now()
  from stale
  where u.id = stale.id and u.attempts > 0
  returning u.repo, u.sha, u.config_id, u.architecture, stale.status, u.task_uid, 'failed' as action
)
select * from deleted union all select * from failed
`;

export async function cleanupCommits(ex: Executor, opts: CleanupOptions = {}): Promise<CleanupResult> {
  const age = opts.olderThanSeconds ?? DEFAULT_STALE_SECONDS;
  if (!Number.isFinite(age) || age < 0) throw new ValidationError([{ field: 'older_than_seconds', message: 'must be a number ≥ 0' }]);
  const hash = opts.config === undefined ? null : canonicalConfig(opts.config).hash;
  const rows = await run<CleanupResult['pairs'][number] & { action: 'deleted' | 'failed' }>(ex, CLEANUP_SQL, [
    age,
    opts.repo ?? null,
    hash,
    opts.architecture ?? null,
  ]);
  const deleted = rows.filter((r) => r.action === 'deleted').length;
  return {
    reset: rows.length,
    deleted,
    failed: rows.length - deleted,
    pairs: rows.map(({ action: _a, ...r }) => r),
  };
}
