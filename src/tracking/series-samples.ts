import { createHash } from 'node:crypto';
import { type Executor, run } from '../db/executor.ts';
import type { CommitSamples } from './changes/detect.ts';
import { directionOfName, resolveDirection } from './changes/direction.ts';
import { directionOfUnit } from './formats/github-action-benchmark.ts';
import type { Direction } from './formats/normalized.ts';
import { revList } from './git.ts';
import { repoKey } from './repos.ts';

/**
 * Series for change-point detection: one metric of one repo under one config and architecture,
 * with one exact tag set, whose points are grouped by commit (every repeated run of a commit is a
 * sample of that commit) and whose commits are in history order.
 *
 * **Identity.** A series is (repo, metric, config, architecture, tags), where tags are the point's
 * whole tag set (valkey: command, data_size, pipeline, clients, cluster_mode, tls, …), compared as
 * JSON (16 and "16" differ). Its hash, {@link seriesHash}, names it in alerts.
 *
 * **Order.** When the repository is one of `EVENTIX_REPOS` (a local clone the server may run git
 * in), commits follow `git rev-list --first-parent <ref>`, oldest first, where the ref is the
 * filter's branch, else the branch most of the series' runs name (ties: the newest run's), else
 * HEAD. Measured commits that are not on that first-parent history (other branches, commits of a
 * merged side branch, or commits the clone has not fetched) are left out and counted in
 * `excludedCommits`: their place in the branch's history is undefined. Otherwise (the repository
 * is not listed, or git cannot answer for that ref) commits follow the rule of metricSeries
 * (series.ts): committer time from commit_status, else the first run's start (or storage) time,
 * ties broken by sha; `order.note` says why git was not used when the repository is listed.
 *
 * **Direction and unit** come from the newest point that gives them; without one, from the
 * documented rule of resolveDirection (changes/direction.ts): an override, the stored value, the
 * metric's name, the unit. Unknown stays null, and its change points are `change`.
 */

export interface SeriesKey {
  repo: string;
  metric: string;
  config: { id: number; hash: string } | null;
  /** '' when the runs named no architecture. */
  architecture: string;
  tags: Record<string, unknown>;
}

/** Which runs to read: repo and metric always; the other fields narrow. */
export interface SeriesFilter {
  repo: string;
  metric: string;
  /** A config id or hash; null: only runs without a config; absent: any config. */
  config?: { id: number } | { hash: string } | null | undefined;
  /** '' selects runs without an architecture. */
  architecture?: string | undefined;
  /** Only runs of this branch; also the ref whose first-parent history orders the commits. */
  branch?: string | undefined;
  /** tag → accepted values (as text), as GET /benchmarks/series: every tag named must match one. */
  tags?: Record<string, readonly string[]> | undefined;
}

export type DirectionSource = 'override' | 'stored' | 'name' | 'unit' | null;

export interface SeriesOrder {
  by: 'git-first-parent' | 'committer-time';
  /** The ref whose first-parent history was walked (git order only). */
  ref: string | null;
  /** Why git order was not used, when the repository is listed but git could not answer. */
  note: string | null;
}

export interface SeriesCommit extends CommitSamples {
  samples: number[];
  /** Committer time from commit_status, when tracked. */
  committedAt: Date | null;
}

export interface Series {
  key: SeriesKey;
  hash: string;
  unit: string | null;
  /** The direction stored with the newest point that had one. */
  storedDirection: Direction | null;
  direction: Direction | null;
  directionSource: DirectionSource;
  order: SeriesOrder;
  /** Measured commits, oldest first. */
  commits: SeriesCommit[];
  samples: number;
  /** Measured commits left out because they are not on the first-parent history (git order only). */
  excludedCommits: number;
}

export interface LoadSeriesOptions {
  /** Local repositories git may run in (EVENTIX_REPOS); others are ordered by committer time. */
  repos?: readonly string[] | undefined;
  /** Per-metric direction overrides (EVENTIX_METRIC_DIRECTIONS), the first rule of resolveDirection. */
  directions?: Readonly<Record<string, Direction | null>> | undefined;
  /** The newest points read (default 200,000); older ones are left out and `truncated` says so. */
  maxPoints?: number | undefined;
  /** Shared rev-list results, so evaluating many series of one repo runs git once per ref. */
  gitCache?: GitOrderCache | undefined;
}

/** Sorted keys at every level: the same tags in another key order are the same series. */
export function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

/** sha256 (hex) of the series identity; the config enters by its hash, so it means the same in any database. */
export function seriesHash(key: SeriesKey): string {
  const text = stableJson({
    repo: key.repo,
    metric: key.metric,
    config: key.config?.hash ?? null,
    architecture: key.architecture,
    tags: key.tags,
  });
  return createHash('sha256').update(text).digest('hex');
}

/** The resolved direction and which of resolveDirection's rules gave it. */
export function directionWithSource(
  metric: string,
  unit: string | null,
  stored: Direction | null,
  overrides?: Readonly<Record<string, Direction | null>>,
): { direction: Direction | null; source: DirectionSource } {
  const direction = resolveDirection({ metric, unit, stored, overrides });
  if (overrides && Object.hasOwn(overrides, metric)) return { direction, source: direction ? 'override' : null };
  if (direction === null) return { direction, source: null };
  if (stored === direction) return { direction, source: 'stored' };
  if (directionOfName(metric) === direction) return { direction, source: 'name' };
  if (unit && directionOfUnit(unit) === direction) return { direction, source: 'unit' };
  return { direction, source: null };
}

const POINTS_SQL = `
select r.id as run_id, r.sha, r.branch, r.architecture, r.config_id, c.hash as config_hash,
  coalesce(r.started_at, r.created_at) as run_at, m.value, m.unit, m.direction, m.tags
from benchmark_metrics m
join benchmark_runs r on r.id = m.run_id
left join benchmark_configs c on c.id = r.config_id
where m.name = $1 and r.repo = $2
  and (not $3::boolean or r.config_id is not distinct from $4::bigint)
  and ($5::text is null or c.hash = $5)
  and ($6::text is null or r.architecture = $6)
  and ($7::text is null or r.branch = $7)
  and not exists (
    select 1 from jsonb_each($8::jsonb) want
    where not coalesce((m.tags ->> want.key) = any (array(select jsonb_array_elements_text(want.value))), false)
  )
order by r.id desc, m.id desc
limit $9
`;

const COMMITTED_SQL = `
select sha, max(committed_at) as committed_at from commit_status
where repo = $1 and sha = any($2::text[]) and committed_at is not null
group by sha
`;

interface PointRaw {
  run_id: number;
  sha: string;
  branch: string | null;
  architecture: string;
  config_id: number | null;
  config_hash: string | null;
  run_at: Date;
  value: number;
  unit: string | null;
  direction: Direction | null;
  tags: Record<string, unknown>;
}

interface Building {
  id: string;
  key: SeriesKey;
  commits: Map<string, { samples: number[]; firstRunAt: Date }>;
  branches: Map<string, { count: number; newestRun: number }>;
  unit: string | null;
  direction: Direction | null;
}

/** rev-list results by (directory, ref): a position map (0 = oldest), or why git could not give one. */
export class GitOrderCache {
  private readonly cache = new Map<string, Promise<Map<string, number> | string>>();

  get(dir: string, ref: string): Promise<Map<string, number> | string> {
    const key = `${dir}\u0000${ref}`;
    let hit = this.cache.get(key);
    if (!hit) {
      hit = revList(dir, ref, { firstParent: true }).then(
        (shas) => {
          const positions = new Map<string, number>();
          // rev-list walks newest first; position 0 is the oldest commit.
          for (let i = 0; i < shas.length; i++) positions.set(shas[i] as string, shas.length - 1 - i);
          return positions;
        },
        (err: unknown) => `git rev-list --first-parent ${ref} failed: ${(err as Error).message}`,
      );
      this.cache.set(key, hit);
    }
    return hit;
  }
}

/** The directory git runs in for a stored repo name, when it is one of the configured repositories. */
export function gitDirectory(repo: string, repos: readonly string[] | undefined): string | undefined {
  for (const entry of repos ?? []) {
    const key = repoKey(entry);
    if (repo === entry || repo === key) return key;
  }
  return undefined;
}

function mostCommonBranch(branches: Map<string, { count: number; newestRun: number }>): string | undefined {
  let best: [string, { count: number; newestRun: number }] | undefined;
  for (const entry of branches) {
    if (!best || entry[1].count > best[1].count || (entry[1].count === best[1].count && entry[1].newestRun > best[1].newestRun)) {
      best = entry;
    }
  }
  return best?.[0];
}

const bySha = (x: { sha: string }, y: { sha: string }) => (x.sha < y.sha ? -1 : x.sha > y.sha ? 1 : 0);

/**
 * Every series matching the filter, each with its samples per commit in history order. Series
 * come sorted by config, architecture and tags (as canonical JSON), so output is stable.
 */
export async function loadSeries(
  ex: Executor,
  filter: SeriesFilter,
  opts: LoadSeriesOptions = {},
): Promise<{ series: Series[]; truncated: boolean }> {
  const maxPoints = opts.maxPoints ?? 200_000;
  const exactConfig = filter.config === null || (filter.config !== undefined && 'id' in filter.config);
  const rows = await run<PointRaw>(ex, POINTS_SQL, [
    filter.metric,
    filter.repo,
    exactConfig,
    filter.config && 'id' in filter.config ? filter.config.id : null,
    filter.config && 'hash' in filter.config ? filter.config.hash.toLowerCase() : null,
    filter.architecture ?? null,
    filter.branch ?? null,
    JSON.stringify(filter.tags ?? {}),
    maxPoints + 1,
  ]);
  // Read newest first, so that the limit keeps the newest; built oldest first, so the newest unit wins.
  const truncated = rows.length > maxPoints;
  if (truncated) rows.length = maxPoints;
  rows.reverse();

  const building = new Map<string, Building>();
  for (const p of rows) {
    const id = stableJson([p.config_hash, p.architecture, p.tags]);
    let b = building.get(id);
    if (!b) {
      b = {
        id,
        key: {
          repo: filter.repo,
          metric: filter.metric,
          config: p.config_id === null ? null : { id: p.config_id, hash: p.config_hash ?? '' },
          architecture: p.architecture,
          tags: p.tags,
        },
        commits: new Map(),
        branches: new Map(),
        unit: null,
        direction: null,
      };
      building.set(id, b);
    }
    let c = b.commits.get(p.sha);
    if (!c) {
      c = { samples: [], firstRunAt: p.run_at };
      b.commits.set(p.sha, c);
    }
    c.samples.push(p.value);
    if (p.run_at < c.firstRunAt) c.firstRunAt = p.run_at;
    if (p.unit !== null) b.unit = p.unit;
    if (p.direction !== null) b.direction = p.direction;
    if (p.branch !== null) {
      const n = b.branches.get(p.branch);
      b.branches.set(p.branch, { count: (n?.count ?? 0) + 1, newestRun: p.run_id });
    }
  }

  const shas = [...new Set(rows.map((p) => p.sha))];
  const committed = new Map<string, Date>();
  if (shas.length) {
    for (const r of await run<{ sha: string; committed_at: Date }>(ex, COMMITTED_SQL, [filter.repo, shas])) {
      committed.set(r.sha, r.committed_at);
    }
  }

  const dir = gitDirectory(filter.repo, opts.repos);
  const cache = opts.gitCache ?? new GitOrderCache();
  const out: Series[] = [];
  for (const b of [...building.values()].sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0))) {
    const all = [...b.commits.entries()].map(([sha, c]) => ({
      sha,
      samples: c.samples,
      committedAt: committed.get(sha) ?? null,
      at: c.firstRunAt,
    }));
    let order: SeriesOrder = { by: 'committer-time', ref: null, note: null };
    let ordered: typeof all | undefined;
    let excluded = 0;
    if (dir !== undefined) {
      const ref = filter.branch ?? mostCommonBranch(b.branches) ?? 'HEAD';
      const positions = await cache.get(dir, ref);
      if (typeof positions === 'string') {
        order = { by: 'committer-time', ref: null, note: positions };
      } else {
        order = { by: 'git-first-parent', ref, note: null };
        ordered = all.filter((c) => positions.has(c.sha));
        excluded = all.length - ordered.length;
        ordered.sort((x, y) => (positions.get(x.sha) as number) - (positions.get(y.sha) as number));
      }
    }
    if (!ordered) {
      // The fallback of series.ts: committer time, else the first run's time; ties by sha.
      ordered = all.sort((x, y) => (x.committedAt ?? x.at).getTime() - (y.committedAt ?? y.at).getTime() || bySha(x, y));
    }
    const commits: SeriesCommit[] = ordered.map(({ sha, samples, committedAt }) => ({ sha, samples, committedAt }));
    const { direction, source } = directionWithSource(filter.metric, b.unit, b.direction, opts.directions);
    out.push({
      key: b.key,
      hash: seriesHash(b.key),
      unit: b.unit,
      storedDirection: b.direction,
      direction,
      directionSource: source,
      order,
      commits,
      samples: commits.reduce((n, c) => n + c.samples.length, 0),
      excludedCommits: excluded,
    });
  }
  return { series: out, truncated };
}
