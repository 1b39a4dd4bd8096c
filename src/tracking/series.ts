import { type Executor, run } from '../db/executor.ts';
import type { Direction } from './formats/normalized.ts';

export interface SeriesQuery {
  metric: string;
  repo: string;
  configId?: number | undefined;
  configHash?: string | undefined;
  /** '' selects runs without an architecture. */
  architecture?: string | undefined;
  branch?: string | undefined;
  /** tag → accepted values: a point matches when, for every tag, its value (as text) is one of them. */
  tags?: Record<string, readonly string[]> | undefined;
  /** Commit time at or after / before (see the ordering rule). */
  since?: string | undefined;
  until?: string | undefined;
  /** The newest points kept when there are more (default 5000). */
  limit?: number | undefined;
}

export interface SeriesPoint {
  sha: string;
  /** The commit's committer time from commit_status, when tracked; else null. */
  committedAt: Date | null;
  /** The instant the commit is ordered by: committedAt, or else its first run's start (or storage) time. */
  at: Date;
  runUid: string;
  repeatIndex: number;
  architecture: string | null;
  configHash: string | null;
  value: number;
  unit: string | null;
  direction: Direction | null;
  tags: Record<string, unknown>;
}

/**
 * One metric over commits, in commit order, for plotting.
 *
 * The ordering rule: a commit is placed at its committer time from commit_status (any config or
 * architecture of the same repo and sha; the sweeps record it from `git show -s --format=%cI`).
 * A commit nobody tracked there is placed at the earliest start of its runs in this series,
 * started_at, or created_at when the run did not say when it started. Points of one commit stay
 * together, ordered by their run's start, run and push order. Ties between commits at the same
 * instant break by sha, so the order is total and stable.
 *
 * With more points than `limit`, the newest are kept (a plot's right-hand end), still returned
 * oldest first. Tags match as text (`tags[data_size]=16` matches the number 16,
 * `tags[tls]=false` the boolean).
 */
const SERIES_SQL = `
with points as (
  select r.id as run_id, r.uid as run_uid, r.sha, r.repeat_index, r.architecture, r.config_id,
    coalesce(r.started_at, r.created_at) as run_at, m.id as metric_id, m.value, m.unit, m.direction, m.tags
  from benchmark_metrics m
  join benchmark_runs r on r.id = m.run_id
  where m.name = $1 and r.repo = $2
    and ($3::bigint is null or r.config_id = $3)
    and ($4::text is null or r.config_id = (select id from benchmark_configs where hash = $4))
    and ($5::text is null or r.architecture = $5)
    and ($6::text is null or r.branch = $6)
    and not exists (
      select 1 from jsonb_each($7::jsonb) want
      where not coalesce((m.tags ->> want.key) = any (array(select jsonb_array_elements_text(want.value))), false)
    )
), commits as (
  select p.sha,
    (select max(s.committed_at) from commit_status s where s.repo = $2 and s.sha = p.sha) as committed_at,
    min(p.run_at) as first_run_at
  from points p group by p.sha
), newest as (
  select p.*, cm.committed_at, coalesce(cm.committed_at, cm.first_run_at) as at
  from points p join commits cm on cm.sha = p.sha
  where ($8::timestamptz is null or coalesce(cm.committed_at, cm.first_run_at) >= $8)
    and ($9::timestamptz is null or coalesce(cm.committed_at, cm.first_run_at) < $9)
  order by at desc, p.sha desc, p.run_at desc, p.run_id desc, p.metric_id desc
  limit $10
)
select n.*, c.hash as config_hash
from newest n left join benchmark_configs c on c.id = n.config_id
order by n.at, n.sha, n.run_at, n.run_id, n.metric_id
`;

interface PointRaw {
  run_uid: string;
  sha: string;
  repeat_index: number;
  architecture: string;
  config_hash: string | null;
  value: number;
  unit: string | null;
  direction: Direction | null;
  tags: Record<string, unknown>;
  committed_at: Date | null;
  at: Date;
}

export async function metricSeries(ex: Executor, q: SeriesQuery): Promise<{ points: SeriesPoint[]; truncated: boolean }> {
  const limit = q.limit ?? 5000;
  const rows = await run<PointRaw>(ex, SERIES_SQL, [
    q.metric,
    q.repo,
    q.configId ?? null,
    q.configHash?.toLowerCase() ?? null,
    q.architecture ?? null,
    q.branch ?? null,
    JSON.stringify(q.tags ?? {}),
    q.since ?? null,
    q.until ?? null,
    limit + 1,
  ]);
  // One row past the limit means there were more: drop the oldest, which is first.
  const truncated = rows.length > limit;
  const kept = truncated ? rows.slice(1) : rows;
  return {
    truncated,
    points: kept.map((p) => ({
      sha: p.sha,
      committedAt: p.committed_at,
      at: p.at,
      runUid: p.run_uid,
      repeatIndex: p.repeat_index,
      architecture: p.architecture || null,
      configHash: p.config_hash,
      value: p.value,
      unit: p.unit,
      direction: p.direction,
      tags: p.tags,
    })),
  };
}
