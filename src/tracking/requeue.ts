import { type Executor, run } from '../db/executor.ts';
import { EventixError, ValidationError } from '../errors.ts';
import { canonicalConfig } from './canonical.ts';
import type { CommitStatus } from './commits.ts';
import { ConfigNotFound } from './commits-read.ts';
import { FULL_SHA } from './git.ts';

/**
 * Re-queueing a failed commit × config pair, the one way back from `failed` besides a claim
 * (see the status table in commits.ts). The API (POST /commits/requeue), the CLI
 * (`eventix commits requeue`) and the dashboard's Re-queue button all call requeueFailedPair.
 */

/** A re-queue refused: the pair is not failed (it is running, complete, or waiting already). */
export class PairNotFailed extends EventixError {
  declare readonly code: 'PairNotFailed';
  constructor(pair: { repo: string; sha: string; config_id: number; architecture: string }, status: CommitStatus | null) {
    const now = status === null ? 'it has no row: it is waiting already' : status === 'failed' ? 'it changed meanwhile' : `it is ${status}`;
    super(
      'PairNotFailed',
      `The pair of ${pair.sha.slice(0, 12)} under config #${pair.config_id} is not failed (${now}): only a failed pair can be re-queued.`,
      // Not `status`: the API's problem body keeps that member for the HTTP status.
      { ...pair, pair_status: status },
    );
  }
}

export interface RequeueOptions {
  /** The repository's identity in the table (see repoKey). */
  repo: string;
  /** A full sha (40 or 64 lowercase hex digits), as stored; no ref is resolved. */
  sha: string;
  /** The config by id, or by value (canonicalised); neither means `{}`, as mark takes it. */
  configId?: number | undefined;
  config?: unknown;
  architecture?: string | null | undefined;
}

export interface RequeueResult {
  repo: string;
  sha: string;
  config_id: number;
  architecture: string;
  /** The attempts the removed row had counted, and its last error. */
  attempts: number;
  error: string | null;
}

/**
 * One statement: the config by id or hash, the delete of the pair only while it is `failed`, and
 * (when nothing was deleted) whether the config exists and the pair's status, to say why.
 */
const REQUEUE_SQL = `
with cfg as (
  select c.id from benchmark_configs c where c.id = $3::bigint or c.hash = $4::text
),
gone as (
  delete from commit_status s using cfg
  where s.repo = $1 and s.sha = $2 and s.config_id = cfg.id and s.architecture = $5 and s.status = 'failed'
  returning s.attempts, s.error
)
select (select id from cfg) as config_id,
  (select s.status from commit_status s join cfg on s.config_id = cfg.id
   where s.repo = $1 and s.sha = $2 and s.architecture = $5) as status,
  gone.attempts, gone.error, gone.attempts is not null as removed
from (select 1) as one left join gone on true
`;

/**
 * Re-queue a failed pair: return it to waiting, as cleanup returns a never-failed stale pair, by
 * deleting its row (waiting is "no row"). Its attempts go with it, so determine and a sweep offer
 * it again even past EVENTIX_COMMITS_MAX_ATTEMPTS: that is the person's call, made after fixing
 * what failed. Only a row still `failed` is deleted, checked in the statement itself, so a pair a
 * sweep claimed meanwhile is left alone (PairNotFailed). An unknown config is ConfigNotFound.
 */
export async function requeueFailedPair(ex: Executor, opts: RequeueOptions): Promise<RequeueResult> {
  const issues = [];
  if (typeof opts.repo !== 'string' || opts.repo === '') issues.push({ field: 'repo', message: 'is required' });
  if (typeof opts.sha !== 'string' || !FULL_SHA.test(opts.sha))
    issues.push({ field: 'sha', message: 'must be a full sha (40 or 64 lowercase hex digits)' });
  if (opts.configId !== undefined && (!Number.isSafeInteger(opts.configId) || opts.configId < 1))
    issues.push({ field: 'config_id', message: 'must be a config id (a whole number ≥ 1)' });
  if (opts.configId !== undefined && opts.config !== undefined)
    issues.push({ field: 'config_id', message: 'give config or config_id, not both' });
  if (issues.length) throw new ValidationError(issues);
  const hash = opts.configId === undefined ? canonicalConfig(opts.config ?? {}).hash : null;
  const architecture = opts.architecture ?? '';
  const [row] = await run<{
    config_id: number | null;
    status: CommitStatus | null;
    attempts: number | null;
    error: string | null;
    removed: boolean;
  }>(ex, REQUEUE_SQL, [opts.repo, opts.sha, opts.configId ?? null, hash, architecture]);
  if (!row || row.config_id === null)
    throw new ConfigNotFound(opts.configId !== undefined ? `with id ${opts.configId}` : `with hash ${hash}`);
  const pair = { repo: opts.repo, sha: opts.sha, config_id: row.config_id, architecture };
  if (!row.removed) throw new PairNotFailed(pair, row.status);
  return { ...pair, attempts: row.attempts ?? 0, error: row.error };
}
