import { directionsWith } from '../../api/alert-schemas.ts';
import { type Executor, run } from '../../db/executor.ts';
import { changesOf } from '../../tracking/alerts/evaluate.ts';
import type { AlertSettings } from '../../tracking/alerts/settings.ts';
import { type Alert, listAlerts } from '../../tracking/alerts/store.ts';
import type { ChangePoint } from '../../tracking/changes/detect.ts';
import { median } from '../../tracking/changes/stats.ts';
import { loadSeries, type Series, type SeriesFilter } from '../../tracking/series-samples.ts';
import { commitInfo } from './commits.ts';

/**
 * What the benchmark pages read: the index of series groups (what there is to plot), the filter
 * choices, and a metric's trends: the series and change points exactly as GET /benchmarks/changes
 * computes them (loadSeries, then changesOf, with the server's alert settings), plus the open
 * alerts of each series, shaped for the `trend` chart of charts.js.
 */

export interface GroupRow {
  repo: string;
  metric: string;
  config_id: number | null;
  config_name: string | null;
  architecture: string;
  unit: string | null;
  commits: number;
  points: number;
  last_run: Date;
}

/** Every (repo, metric, config, architecture) with points, newest activity first. */
export async function seriesGroups(ex: Executor, f: { repo?: string | undefined; metric?: string | undefined }): Promise<GroupRow[]> {
  return run<GroupRow>(
    ex,
    `select r.repo, m.name as metric, r.config_id, c.name as config_name, r.architecture, max(m.unit) as unit,
       count(distinct r.sha)::int as commits, count(*)::int as points, max(coalesce(r.started_at, r.created_at)) as last_run
     from benchmark_metrics m
     join benchmark_runs r on r.id = m.run_id
     left join benchmark_configs c on c.id = r.config_id
     where ($1::text is null or r.repo = $1) and ($2::text is null or m.name = $2)
     group by r.repo, m.name, r.config_id, c.name, r.architecture
     order by last_run desc, r.repo, m.name
     limit 500`,
    [f.repo ?? null, f.metric ?? null],
  );
}

/** The repositories with results, and the metrics of one (or all) of them, for the filter menus. */
export async function benchFacets(ex: Executor, repo: string | undefined): Promise<{ repos: string[]; metrics: string[] }> {
  const [row] = await run<{ repos: string[]; metrics: string[] }>(
    ex,
    `select array(select distinct repo from benchmark_runs order by 1) as repos,
       array(select distinct m.name from benchmark_metrics m join benchmark_runs r on r.id = m.run_id
             where $1::text is null or r.repo = $1 order by 1 limit 2000) as metrics`,
    [repo ?? null],
  );
  return { repos: row?.repos ?? [], metrics: row?.metrics ?? [] };
}

/** One series' chart: column arrays (one entry per measured commit, in series order), for charts.js `trend`. */
export interface TrendChart {
  metric: string;
  unit: string | null;
  order: string;
  shas: string[];
  subjects: (string | null)[];
  /** Committer time (ISO), from commit status or git, when known. */
  at: (string | null)[];
  hrefs: string[];
  medians: number[];
  samples: number[][];
  changes: { index: number; previousIndex: number; sha: string; relative: number | null; kind: string }[];
  alerts: { index: number; id: number; sha: string; status: string }[];
}

export interface TrendSeries {
  series: Series;
  changePoints: ChangePoint[];
  alerts: Alert[];
  chart: TrendChart;
}

export interface TrendOptions {
  settings: AlertSettings;
  repos?: readonly string[] | undefined;
  /** Overrides of this request, as GET /benchmarks/changes takes them. */
  minEffect?: number | undefined;
  direction?: 'higher' | 'lower' | 'unknown' | undefined;
}

/**
 * Every series of the filter (one per tag set), with its change points and open or acknowledged
 * alerts. `offset`/`limit` pick which series get charts; all are counted.
 */
export async function metricTrends(
  ex: Executor,
  filter: SeriesFilter,
  opts: TrendOptions,
  page: { offset: number; limit: number },
): Promise<{ total: number; shown: TrendSeries[]; truncated: boolean }> {
  const settings = opts.settings;
  const directions = directionsWith(settings.directions, filter.metric, opts.direction);
  const loaded = await loadSeries(ex, filter, { repos: settings.repos, directions });
  const picked = loaded.series.slice(page.offset, page.offset + page.limit);
  const evaluations = changesOf(picked, { ...settings, minEffect: opts.minEffect ?? settings.minEffect });
  const [open, git] = await Promise.all([
    picked.length
      ? listAlerts(ex, { repo: filter.repo, metric: filter.metric, statuses: ['open', 'acknowledged'], limit: 500 })
      : Promise.resolve({ alerts: [] as Alert[] }),
    commitInfo(
      filter.repo,
      opts.repos,
      picked.flatMap((s) => s.commits.map((c) => c.sha)),
    ),
  ]);
  const shown = evaluations.map(({ series, changePoints }) => {
    const alerts = open.alerts.filter((a) => a.seriesHash === series.hash);
    const position = new Map(series.commits.map((c, i) => [c.sha, i]));
    const chart: TrendChart = {
      metric: filter.metric,
      unit: series.unit,
      order: series.order.by,
      shas: series.commits.map((c) => c.sha),
      subjects: series.commits.map((c) => git.get(c.sha)?.subject ?? null),
      // Commit status's committer time, else git's: the tip says when, whoever recorded it.
      at: series.commits.map((c) => (c.committedAt ? c.committedAt.toISOString() : (git.get(c.sha)?.committedAt ?? null))),
      hrefs: series.commits.map((c) => `/ui/commits/${c.sha}?repo=${encodeURIComponent(filter.repo)}`),
      medians: series.commits.map((c) => (c.samples.length ? median(c.samples) : Number.NaN)),
      samples: series.commits.map((c) => [...c.samples]),
      changes: changePoints.map((cp) => ({
        index: cp.index,
        previousIndex: cp.previousIndex,
        sha: cp.sha,
        relative: cp.relativeChange,
        kind: cp.kind,
      })),
      alerts: alerts.flatMap((a) => {
        const index = position.get(a.firstBadSha);
        return index === undefined ? [] : [{ index, id: a.id, sha: a.firstBadSha, status: a.status }];
      }),
    };
    return { series, changePoints, alerts, chart };
  });
  return { total: loaded.series.length, shown, truncated: loaded.truncated };
}

/** Alerts by status (of one repo or metric), for the counts above the list. */
export async function alertCounts(
  ex: Executor,
  f: { repo?: string | undefined; metric?: string | undefined },
): Promise<Record<string, number>> {
  const rows = await run<{ status: string; n: number }>(
    ex,
    `select status, count(*)::int as n from benchmark_alerts
     where ($1::text is null or repo = $1) and ($2::text is null or metric = $2)
     group by status`,
    [f.repo ?? null, f.metric ?? null],
  );
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}

/** The newest commits with results in a repository: candidates to compare with a baseline. */
export async function recentCommits(ex: Executor, repo: string): Promise<{ sha: string; last: Date; runs: number }[]> {
  return run(
    ex,
    `select sha, max(created_at) as last, count(*)::int as runs from benchmark_runs
     where repo = $1 group by sha order by last desc limit 10`,
    [repo],
  );
}
