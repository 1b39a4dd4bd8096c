import { type Executor, run } from '../db/executor.ts';
import { ValidationError } from '../errors.ts';
import { canonicalConfig, type JsonValue } from './canonical.ts';
import { DEFAULT_MAX_ATTEMPTS, DEFAULT_STALE_SECONDS, liveSql } from './commits.ts';
import { revList } from './git.ts';
import { covers } from './subset.ts';

export const DETERMINE_STRATEGIES = ['newest', 'spread'] as const;
export type DetermineStrategy = (typeof DETERMINE_STRATEGIES)[number];

export interface DetermineOptions {
  /** The repository's identity in the table. */
  repo: string;
  /** Where to run git, when it differs from `repo`. */
  gitDir?: string | undefined;
  branch: string;
  /** Absent: a commit counts as done when complete under any config (the seed without --config-file). */
  config?: unknown;
  maxCommits: number;
  /** Skip commits complete under a config that covers this one (default on, as in the seed). */
  subsetDetection?: boolean | undefined;
  firstParent?: boolean | undefined;
  since?: Date | undefined;
  strategy?: DetermineStrategy | undefined;
  architecture?: string | null | undefined;
  /** Failed pairs are retried while they failed fewer times than this. */
  maxAttempts?: number | undefined;
  /** Ownerless in_progress pairs count as running for this long. */
  staleSeconds?: number | undefined;
}

export interface DetermineResult {
  /** Newest first. */
  shas: string[];
  /** Commits walked. */
  walked: number;
  /** Commits that need a benchmark, before max_commits picked among them. */
  eligible: number;
  /** Of the commits skipped, how many only because a covering config was complete. */
  subsetSkipped: number;
  /** Stored configs found to cover this one. */
  supersetConfigIds: number[];
}

/**
 * The stored configs determine needs: this config's own row (by hash), and, for subset detection,
 * every other config with a complete pair in this repo and architecture. Which of those cover the
 * config is decided in TypeScript (subset.ts), so the rules stay readable and unit-tested.
 */
const CONFIGS_SQL = `
select c.id, c.hash, c.canonical from benchmark_configs c
where c.hash = $1
   or ($2::boolean and exists (
     select 1 from commit_status s
     where s.config_id = c.id and s.repo = $3 and s.architecture = $4 and s.status = 'complete'))
`;

/**
 * Of the candidate shas, those that need no benchmark now: complete for this config (or, with
 * $5, for any config); failed $6 or more times; in progress under a live owner; or complete for a
 * covering config ($8). One statement for the whole candidate list: the unique index
 * (repo, sha, config_id, architecture) serves `sha = any($3)`.
 */
const OWN_SQL = `(($5::boolean or s.config_id = $4) and (
      s.status = 'complete'
      or (s.status = 'failed' and s.attempts >= $6)
      or ${liveSql('$7')}))`;
const DONE_SQL = `
select s.sha, bool_or(${OWN_SQL}) as own from commit_status s
where s.repo = $1 and s.architecture = $2 and s.sha = any($3::text[])
  and (${OWN_SQL} or (s.status = 'complete' and s.config_id = any($8::bigint[])))
group by s.sha
`;

/**
 * Which commits of `branch` still need a benchmark with `config`, newest first, at most
 * `maxCommits`. The walk is `git rev-list` (newest first), then two SQL statements whatever the
 * number of commits: one for configs, one for the pairs that rule commits out.
 *
 * - `newest` (default, the seed's): the first `maxCommits` eligible commits of the walk.
 * - `spread`: `maxCommits` commits evenly spaced over the eligible ones, by position in the walk
 *   (not by date), always including the newest and the oldest eligible commit; a backfill over
 *   the whole range rather than only its top. With fewer eligible commits than the maximum, all.
 *
 * Read-only: unlike the seed, determine does not clean up first; stale pairs simply count as
 * waiting here, and `cleanup` returns them.
 */
export async function determineCommits(ex: Executor, opts: DetermineOptions): Promise<DetermineResult> {
  if (!Number.isSafeInteger(opts.maxCommits) || opts.maxCommits < 1) {
    throw new ValidationError([{ field: 'max_commits', message: 'must be a whole number ≥ 1' }]);
  }
  const strategy = opts.strategy ?? 'newest';
  if (!(DETERMINE_STRATEGIES as readonly string[]).includes(strategy)) {
    throw new ValidationError([{ field: 'strategy', message: `must be one of ${DETERMINE_STRATEGIES.join(', ')}` }]);
  }
  const config = opts.config === undefined ? undefined : canonicalConfig(opts.config);
  const subset = (opts.subsetDetection ?? true) && config !== undefined;
  const architecture = opts.architecture ?? '';

  const walk = await revList(opts.gitDir ?? opts.repo, opts.branch, { firstParent: opts.firstParent, since: opts.since });

  let exactId: number | null = null;
  const supersetIds: number[] = [];
  if (config) {
    const rows = await run<{ id: number; hash: string; canonical: string }>(ex, CONFIGS_SQL, [
      config.hash,
      subset,
      opts.repo,
      architecture,
    ]);
    for (const row of rows) {
      if (row.hash === config.hash) exactId = row.id;
      else if (covers(JSON.parse(row.canonical) as JsonValue, config.value)) supersetIds.push(row.id);
    }
  }

  const anyConfig = config === undefined;
  const done = new Set<string>();
  let subsetSkipped = 0;
  if (walk.length > 0 && (anyConfig || exactId !== null || supersetIds.length > 0)) {
    const rows = await run<{ sha: string; own: boolean }>(ex, DONE_SQL, [
      opts.repo,
      architecture,
      walk,
      exactId,
      anyConfig,
      opts.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
      opts.staleSeconds ?? DEFAULT_STALE_SECONDS,
      supersetIds,
    ]);
    for (const r of rows) {
      done.add(r.sha);
      if (!r.own) subsetSkipped++;
    }
  }

  const eligible = walk.filter((sha) => !done.has(sha));
  const shas = strategy === 'spread' ? spread(eligible, opts.maxCommits) : eligible.slice(0, opts.maxCommits);
  return {
    shas,
    walked: walk.length,
    eligible: eligible.length,
    subsetSkipped,
    supersetConfigIds: supersetIds,
  };
}

/** `count` items evenly spaced over `items` (first and last included), in their order. */
export function spread<T>(items: readonly T[], count: number): T[] {
  if (items.length <= count) return [...items];
  if (count === 1) return items.slice(0, 1);
  const out: T[] = [];
  for (let i = 0; i < count; i++) out.push(items[Math.round((i * (items.length - 1)) / (count - 1))] as T);
  return out;
}
