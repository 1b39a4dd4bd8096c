import { z } from 'zod';
import { cursorOrderAt, jsonCursor } from '../db/cursor.ts';
import { type Executor, run } from '../db/executor.ts';
import { EventixError, ValidationError } from '../errors.ts';
import type { JsonValue } from './canonical.ts';
import { COMMIT_STATUSES, type CommitStatus } from './commits.ts';

/** Reading commit status: query, stats, export and the configs. Every filter is a bound parameter. */

export class ConfigNotFound extends EventixError {
  declare readonly code: 'ConfigNotFound';
  constructor(what: string) {
    super('ConfigNotFound', `No benchmark config ${what}`, { config: what });
  }
}

export interface CommitRecord {
  repo: string;
  sha: string;
  /** Null when absent. */
  architecture: string | null;
  config_id: number;
  config_hash: string;
  config: JsonValue;
  status: CommitStatus;
  committed_at: string | null;
  attempts: number;
  error: string | null;
  task_uid: string | null;
  created_at: string;
  updated_at: string;
}

export interface CommitFilter {
  repo?: string | undefined;
  /** A full sha or a prefix of at least 4 hex digits. */
  sha?: string | undefined;
  configId?: number | undefined;
  configHash?: string | undefined;
  statuses?: readonly CommitStatus[] | undefined;
  /** '' selects pairs without architecture. */
  architecture?: string | undefined;
}

interface Row {
  id: number;
  repo: string;
  sha: string;
  architecture: string;
  config_id: number;
  hash: string;
  canonical: string;
  status: CommitStatus;
  committed_at: Date | null;
  attempts: number;
  error: string | null;
  task_uid: string | null;
  created_at: Date;
  updated_at: Date;
  order_at: string;
}

function toRecord(r: Row): CommitRecord {
  return {
    repo: r.repo,
    sha: r.sha,
    architecture: r.architecture === '' ? null : r.architecture,
    config_id: r.config_id,
    config_hash: r.hash,
    config: JSON.parse(r.canonical) as JsonValue,
    status: r.status,
    committed_at: r.committed_at ? r.committed_at.toISOString() : null,
    attempts: r.attempts,
    error: r.error,
    task_uid: r.task_uid,
    created_at: r.created_at.toISOString(),
    updated_at: r.updated_at.toISOString(),
  };
}

function checkFilter(f: CommitFilter): void {
  if (f.sha !== undefined && !/^[0-9a-f]{4,64}$/.test(f.sha)) {
    throw new ValidationError([{ field: 'sha', message: 'must be 4 to 64 lowercase hex digits (a sha or its prefix)' }]);
  }
  if (f.statuses?.some((s) => !(COMMIT_STATUSES as readonly string[]).includes(s))) {
    throw new ValidationError([{ field: 'status', message: `must be one of ${COMMIT_STATUSES.join(', ')}` }]);
  }
}

/** The shared WHERE of query and export: $1 repo, $2 sha prefix, $3 config id, $4 config hash, $5 statuses, $6 architecture. */
const FILTER_SQL = `
  ($1::text is null or s.repo = $1)
  and ($2::text is null or s.sha like $2 || '%')
  and ($3::bigint is null or s.config_id = $3)
  and ($4::text is null or c.hash = $4)
  and ($5::text[] is null or s.status = any($5::text[]))
  and ($6::text is null or s.architecture = $6)`;

const filterParams = (f: CommitFilter) => [
  f.repo ?? null,
  f.sha ?? null,
  f.configId ?? null,
  f.configHash ?? null,
  f.statuses?.length ? f.statuses : null,
  f.architecture ?? null,
];

/**
 * Newest commit first (committed_at, pairs without a date last), then newest row: a total order,
 * so the keyset cursor (the order key as PostgreSQL text, and the id) never skips or repeats.
 */
const QUERY_SQL = `
select s.*, c.hash, c.canonical,
       coalesce(s.committed_at, '-infinity'::timestamptz)::text as order_at
from commit_status s join benchmark_configs c on c.id = s.config_id
where ${FILTER_SQL}
  and ($7::timestamptz is null or (coalesce(s.committed_at, '-infinity'::timestamptz), s.id) < ($7::timestamptz, $8::bigint))
order by coalesce(s.committed_at, '-infinity'::timestamptz) desc, s.id desc
limit $9
`;

/** Ordered by (committed_at or -infinity, id) descending. */
const commitCursor = jsonCursor(z.object({ a: cursorOrderAt, i: z.int() }));

export async function queryCommits(
  ex: Executor,
  f: CommitFilter & { limit?: number | undefined; cursor?: string | undefined },
): Promise<{ commits: CommitRecord[]; nextCursor: string | null }> {
  checkFilter(f);
  const limit = f.limit ?? 50;
  const cursor = f.cursor ? commitCursor.decode(f.cursor) : undefined;
  const rows = await run<Row>(ex, QUERY_SQL, [...filterParams(f), cursor?.a ?? null, cursor?.i ?? null, limit + 1]).catch(
    (err: unknown) => {
      throw cursor ? commitCursor.queryError(err) : err;
    },
  );
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return {
    commits: page.map(toRecord),
    nextCursor: rows.length > limit && last ? commitCursor.encode({ a: last.order_at, i: last.id }) : null,
  };
}

// ---------------------------------------------------------------------------------------------

export interface CommitStats {
  total: number;
  unique_commits: number;
  unique_configs: number;
  by_status: Record<CommitStatus, number>;
}

const STATS_SQL = `
select count(*)::int as total,
       count(distinct s.sha)::int as unique_commits,
       count(distinct s.config_id)::int as unique_configs,
       count(*) filter (where s.status = 'in_progress')::int as in_progress,
       count(*) filter (where s.status = 'benchmark_complete')::int as benchmark_complete,
       count(*) filter (where s.status = 'complete')::int as complete,
       count(*) filter (where s.status = 'failed')::int as failed
from commit_status s
where ($1::text is null or s.repo = $1)
`;

/** The seed's stats, in one statement. */
export async function commitStats(ex: Executor, opts: { repo?: string | undefined } = {}): Promise<CommitStats> {
  const [r] = await run<Record<string, number>>(ex, STATS_SQL, [opts.repo ?? null]);
  const n = (k: string) => r?.[k] ?? 0;
  return {
    total: n('total'),
    unique_commits: n('unique_commits'),
    unique_configs: n('unique_configs'),
    by_status: {
      in_progress: n('in_progress'),
      benchmark_complete: n('benchmark_complete'),
      complete: n('complete'),
      failed: n('failed'),
    },
  };
}

// ---------------------------------------------------------------------------------------------

/**
 * The seed's export format, `{sha, timestamp, status, config}`, newest first, with what the seed
 * had no column for added as extra keys: `repo`, and `architecture`, `attempts`, `error` where
 * they say something. A reader of the seed's format ignores them; import reads them back.
 */
export interface ExportRecord {
  sha: string;
  timestamp: string | null;
  status: CommitStatus;
  config: JsonValue;
  repo: string;
  architecture?: string;
  attempts?: number;
  error?: string;
}

const EXPORT_SQL = `
select s.*, c.hash, c.canonical, '' as order_at
from commit_status s join benchmark_configs c on c.id = s.config_id
where ${FILTER_SQL}
order by s.committed_at desc nulls last, s.id desc
`;

export async function exportCommits(ex: Executor, f: CommitFilter = {}): Promise<ExportRecord[]> {
  checkFilter(f);
  const rows = await run<Row>(ex, EXPORT_SQL, filterParams(f));
  return rows.map((r) => ({
    sha: r.sha,
    timestamp: r.committed_at ? r.committed_at.toISOString() : null,
    status: r.status,
    config: JSON.parse(r.canonical) as JsonValue,
    repo: r.repo,
    ...(r.architecture ? { architecture: r.architecture } : {}),
    ...(r.attempts > 0 ? { attempts: r.attempts } : {}),
    ...(r.error !== null ? { error: r.error } : {}),
  }));
}

// ---------------------------------------------------------------------------------------------

export interface ConfigRecord {
  id: number;
  hash: string;
  name: string | null;
  config: JsonValue;
  /** Pairs with this config, all statuses. */
  pairs: number;
  created_at: string;
}

const CONFIGS_SQL = `
select c.id, c.hash, c.name, c.canonical, c.created_at,
       (select count(*)::int from commit_status s where s.config_id = c.id) as pairs
from benchmark_configs c
where ($1::bigint is null or c.id = $1) and ($2::text is null or c.hash = $2)
order by c.id
`;

interface ConfigRow {
  id: number;
  hash: string;
  name: string | null;
  canonical: string;
  created_at: Date;
  pairs: number;
}

const toConfig = (r: ConfigRow): ConfigRecord => ({
  id: r.id,
  hash: r.hash,
  name: r.name,
  config: JSON.parse(r.canonical) as JsonValue,
  pairs: r.pairs,
  created_at: r.created_at.toISOString(),
});

/** Every config, oldest first (the seed's --list-configs). */
export async function listConfigs(ex: Executor): Promise<ConfigRecord[]> {
  return (await run<ConfigRow>(ex, CONFIGS_SQL, [null, null])).map(toConfig);
}

export async function getConfig(ex: Executor, ref: { id?: number; hash?: string }): Promise<ConfigRecord> {
  const [row] = await run<ConfigRow>(ex, CONFIGS_SQL, [ref.id ?? null, ref.hash ?? null]);
  if (!row) throw new ConfigNotFound(ref.id !== undefined ? `with id ${ref.id}` : `with hash ${ref.hash}`);
  return toConfig(row);
}
