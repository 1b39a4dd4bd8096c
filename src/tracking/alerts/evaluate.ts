import { createHash } from 'node:crypto';
import type pg from 'pg';
import { type Executor, run } from '../../db/executor.ts';
import { withTransaction } from '../../db/transaction.ts';
import { submitMany } from '../../queue/submit.ts';
import { requestBisection } from '../../sweeps/bisect-hooks.ts';
import { type ChangePoint, DETECT_DEFAULTS, detectChanges } from '../changes/detect.ts';
import { GitOrderCache, loadSeries, type Series, stableJson } from '../series-samples.ts';
import { ALERTS_NAMESPACE, type AlertSettings, EVALUATE_TASK, WEBHOOK_TASK } from './settings.ts';
import type { AlertStatus } from './store.ts';

/**
 * Re-evaluation of series: detect their change points and keep `benchmark_alerts` in step.
 *
 * The unit of work is a **series group**: one metric of one repo under one config (or none) and
 * one architecture, which holds every tag set's series. Storing results enqueues one
 * `benchmarks.evaluate` task per group it touched, keyed `evaluate:<group hash>`: the kwargs are
 * the group itself, so the queue's merge of a waiting task with the same key (which replaces its
 * kwargs) loses nothing, and a burst of pushes becomes one evaluation. A group is read with one
 * query, so evaluating all its series costs what evaluating one would.
 *
 * A group is evaluated in one transaction under an advisory lock on its hash, so two workers (or
 * a worker and `eventix results evaluate`) evaluating it at once take turns, and each sees what
 * the other wrote. For each series, with its regressions R (change points of kind `regression`)
 * and its alerts A (any status):
 *
 * 1. **Matching.** A regression is the same change as an alert when the alert's first bad commit
 *    lies within `minCommits` measured commits of the regression's first commit: more data can
 *    move the best split by a commit or two. Pairs are taken closest first, one to one. The
 *    unique key (series_hash, first_bad_sha) still guards against any duplicate.
 * 2. **Matched.** An `open` or `acknowledged` alert takes the new range and figures (unless that
 *    range is another alert's); a `resolved` or `false_positive` one is left alone, so a false
 *    positive never reopens for the same change. Its status is never changed here, except below.
 * 3. **New.** An unmatched regression inserts an `open` alert (`ON CONFLICT DO NOTHING`), and,
 *    when a webhook is configured, one delivery task in the same transaction.
 * 4. **Resolution.** An `open` alert is resolved when a later change point of the series brings
 *    the median back to within `minEffect` of the alert's before-median. A regression found
 *    together with its fix (a backfill of old history) is stored `resolved` straight away and
 *    not delivered: it needs nobody's attention.
 *
 * Alerts whose change point is no longer detected are left as they are (their evaluated_at shows
 * when the change was last seen).
 */

export interface SeriesGroup {
  repo: string;
  metric: string;
  /** null: runs without a config. */
  configId: number | null;
  /** '' when the runs named none. */
  architecture: string;
}

export const groupHash = (g: SeriesGroup) =>
  createHash('sha256')
    .update(stableJson([g.repo, g.metric, g.configId, g.architecture]))
    .digest('hex');

export const evaluationKey = (g: SeriesGroup) => `evaluate:${groupHash(g)}`;

export interface SeriesEvaluation {
  series: Series;
  changePoints: ChangePoint[];
}

export interface EvaluationResult {
  group: SeriesGroup;
  series: number;
  changePoints: number;
  regressions: number;
  /** Alerts inserted `open` (each delivered when a webhook is configured). */
  opened: number[];
  /** Alerts inserted already `resolved` (regression and fix found together). */
  openedResolved: number[];
  /** Alerts moved from `open` to `resolved`. */
  resolved: number[];
  /** Matched alerts whose range or figures changed and were written. */
  refreshed: number;
  truncated: boolean;
}

export function detectOptions(settings: AlertSettings, series: Series) {
  return {
    ...settings.detect,
    direction: series.direction,
    minEffect: settings.minEffect ?? DETECT_DEFAULTS.minEffect,
  };
}

/** Change points of every loaded series, computed on demand (GET /benchmarks/changes; nothing is stored). */
export function changesOf(series: readonly Series[], settings: AlertSettings): SeriesEvaluation[] {
  return series.map((s) => ({ series: s, changePoints: detectChanges(s.commits, detectOptions(settings, s)) }));
}

interface ExistingAlert {
  id: number;
  series_hash: string;
  first_bad_sha: string;
  status: AlertStatus;
  before_median: number;
}

const LOCK_SQL = 'select pg_advisory_xact_lock($1::bigint)';
const EXISTING_SQL =
  'select id, series_hash, first_bad_sha, status, before_median from benchmark_alerts where series_hash = any($1::text[]) order by id';

const INSERT_SQL = `
insert into benchmark_alerts as a (series_hash, repo, metric, config_id, config_hash, architecture, tags, direction, unit,
  last_good_sha, first_bad_sha, before_mean, before_median, after_mean, after_median, relative_change, p_value, kind,
  status, resolved_by_sha, resolved_at)
values ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,
  $19, $20, case when $19 = 'resolved' then now() end)
on conflict (series_hash, first_bad_sha) do nothing
returning id
`;

/**
 * The range moves with the estimate unless another alert of the series already holds it; the
 * status guard keeps a person's concurrent `resolved`/`false_positive` from being touched. Only
 * a real change is written (and counted), so updated_at means "the figures changed"; SEEN_SQL
 * records every evaluation.
 */
const REFRESH_SQL = `
update benchmark_alerts a set
  last_good_sha = case when t.free then $2 else a.last_good_sha end,
  first_bad_sha = case when t.free then $3 else a.first_bad_sha end,
  before_mean = $4, before_median = $5, after_mean = $6, after_median = $7, relative_change = $8, p_value = $9,
  direction = $10, unit = $11, updated_at = now()
from (
  select not exists (select 1 from benchmark_alerts o where o.series_hash = $12 and o.first_bad_sha = $3 and o.id <> $1) as free
) t
where a.id = $1 and a.status in ('open', 'acknowledged')
  and (a.last_good_sha, a.first_bad_sha, a.before_mean, a.before_median, a.after_mean, a.after_median, a.relative_change,
    a.p_value, a.direction, a.unit)
    is distinct from (case when t.free then $2 else a.last_good_sha end, case when t.free then $3 else a.first_bad_sha end,
    $4::float8, $5::float8, $6::float8, $7::float8, $8::float8, $9::float8, $10::text, $11::text)
returning a.id
`;
const SEEN_SQL = 'update benchmark_alerts set evaluated_at = now() where id = any($1::bigint[])';
const RESOLVE_SQL = `
update benchmark_alerts set status = 'resolved', resolved_by_sha = $2, resolved_at = now(), updated_at = now(),
  revision = revision + 1
where id = $1 and status = 'open'
returning id
`;

/** The advisory lock key of a group: 63 bits of its hash (the high bit cleared, so it is a positive bigint). */
function lockKey(hash: string): string {
  return (BigInt(`0x${hash.slice(0, 16)}`) & 0x7fffffffffffffffn).toString();
}

/** Is `level` back within `minEffect` of `reference`? */
function restores(level: number, reference: number, minEffect: number): boolean {
  if (reference === 0) return level === 0;
  return Math.abs(level - reference) <= minEffect * Math.abs(reference);
}

/** The first change point after `index` whose after-median restores `reference`, if any. */
function restoringPoint(cps: readonly ChangePoint[], index: number, reference: number, minEffect: number): ChangePoint | undefined {
  return cps.find((cp) => cp.index > index && restores(cp.after.median, reference, minEffect));
}

/** Evaluate one series group now, in a transaction of its own; see the module comment. */
export async function evaluateGroup(
  pool: Pick<pg.Pool, 'connect'>,
  group: SeriesGroup,
  settings: AlertSettings = {},
  opts: { gitCache?: GitOrderCache } = {},
): Promise<EvaluationResult> {
  const hash = groupHash(group);
  return withTransaction(pool, async (client) => {
    await run(client, LOCK_SQL, [lockKey(hash)]);
    const loaded = await loadSeries(
      client,
      {
        repo: group.repo,
        metric: group.metric,
        config: group.configId === null ? null : { id: group.configId },
        architecture: group.architecture,
      },
      { repos: settings.repos, directions: settings.directions, gitCache: opts.gitCache ?? new GitOrderCache() },
    );
    const result: EvaluationResult = {
      group,
      series: loaded.series.length,
      changePoints: 0,
      regressions: 0,
      opened: [],
      openedResolved: [],
      resolved: [],
      refreshed: 0,
      truncated: loaded.truncated,
    };
    // Every alert of the group's series in one query: a group may hold hundreds of tag sets.
    const bySeries = new Map<string, ExistingAlert[]>();
    if (loaded.series.length) {
      for (const a of await run<ExistingAlert>(client, EXISTING_SQL, [loaded.series.map((s) => s.hash)])) {
        bySeries.set(a.series_hash, [...(bySeries.get(a.series_hash) ?? []), a]);
      }
    }
    for (const { series, changePoints } of changesOf(loaded.series, settings)) {
      result.changePoints += changePoints.length;
      await applySeries(client, series, changePoints, bySeries.get(series.hash) ?? [], settings, result);
    }
    if (settings.webhook && result.opened.length) {
      const retry = settings.webhook.retry ?? {};
      await submitMany(
        client,
        result.opened.map((id) => ({
          task: WEBHOOK_TASK,
          namespace: ALERTS_NAMESPACE,
          kwargs: { alert_id: id },
          uniqueKey: `alert-webhook:${id}`,
          maxRetries: retry.maxRetries ?? 8,
          errorEtaInc: retry.errorEtaInc ?? 15,
          errorEtaMax: retry.errorEtaMax ?? 3600,
          timeoutSeconds: Math.ceil((settings.webhook?.timeoutMs ?? 10_000) / 1000) + 30,
        })),
      );
    }
    // Alerts of sweep series get a bisection step, committed with them (src/sweeps/bisect-hooks.ts).
    await requestBisection(client, result.opened);
    return result;
  });
}

async function applySeries(
  client: Executor,
  series: Series,
  cps: ChangePoint[],
  existing: ExistingAlert[],
  settings: AlertSettings,
  result: EvaluationResult,
): Promise<void> {
  const minEffect = settings.minEffect ?? DETECT_DEFAULTS.minEffect;
  const tolerance = settings.detect?.minCommits ?? DETECT_DEFAULTS.minCommits;
  const regressions = cps.filter((cp) => cp.kind === 'regression');
  result.regressions += regressions.length;
  if (regressions.length === 0 && existing.length === 0) return;

  // Measured commits are the detector's input, so a change point's index is a position here too.
  const position = new Map(series.commits.map((c, i) => [c.sha, i]));
  const pairs: { cp: ChangePoint; alert: ExistingAlert; distance: number }[] = [];
  for (const cp of regressions) {
    for (const alert of existing) {
      const at = position.get(alert.first_bad_sha);
      if (at !== undefined && Math.abs(at - cp.index) <= tolerance) pairs.push({ cp, alert, distance: Math.abs(at - cp.index) });
    }
  }
  pairs.sort((a, b) => a.distance - b.distance || a.alert.id - b.alert.id);
  const matchedCp = new Map<ChangePoint, ExistingAlert>();
  const matchedAlert = new Set<number>();
  for (const p of pairs) {
    if (matchedCp.has(p.cp) || matchedAlert.has(p.alert.id)) continue;
    matchedCp.set(p.cp, p.alert);
    matchedAlert.add(p.alert.id);
  }

  const k = series.key;
  const seen: number[] = [];
  /** Where each alert's change is now: its matched change point, else its stored first bad commit. */
  const now = new Map(existing.map((a) => [a.id, position.get(a.first_bad_sha)]));
  for (const cp of regressions) {
    const alert = matchedCp.get(cp);
    if (alert) {
      seen.push(alert.id);
      now.set(alert.id, cp.index);
      if (alert.status === 'open' || alert.status === 'acknowledged') {
        const changed = await run(client, REFRESH_SQL, [
          alert.id,
          cp.previousSha,
          cp.sha,
          cp.before.mean,
          cp.before.median,
          cp.after.mean,
          cp.after.median,
          cp.relativeChange,
          cp.pValue,
          series.direction,
          series.unit,
          series.hash,
        ]);
        alert.before_median = cp.before.median;
        result.refreshed += changed.length;
      }
      continue;
    }
    const fix = restoringPoint(cps, cp.index, cp.before.median, minEffect);
    const [row] = await run<{ id: number }>(client, INSERT_SQL, [
      series.hash,
      k.repo,
      k.metric,
      k.config?.id ?? null,
      k.config?.hash ?? null,
      k.architecture,
      JSON.stringify(k.tags),
      series.direction,
      series.unit,
      cp.previousSha,
      cp.sha,
      cp.before.mean,
      cp.before.median,
      cp.after.mean,
      cp.after.median,
      cp.relativeChange,
      cp.pValue,
      'regression',
      fix ? 'resolved' : 'open',
      fix?.sha ?? null,
    ]);
    if (row) (fix ? result.openedResolved : result.opened).push(Number(row.id));
  }
  if (seen.length) await run(client, SEEN_SQL, [seen]);

  // Open alerts, matched or not, whose level a later change point restored.
  for (const alert of existing) {
    if (alert.status !== 'open') continue;
    const at = now.get(alert.id);
    if (at === undefined) continue;
    const fix = restoringPoint(cps, at, alert.before_median, minEffect);
    if (!fix) continue;
    const [row] = await run<{ id: number }>(client, RESOLVE_SQL, [alert.id, fix.sha]);
    if (row) result.resolved.push(alert.id);
  }
}

/** Every series group with points, optionally of one repo and metric, in a stable order (for `eventix results evaluate`). */
export async function listGroups(ex: Executor, f: { repo?: string | undefined; metric?: string | undefined } = {}): Promise<SeriesGroup[]> {
  const rows = await run<{ repo: string; metric: string; config_id: number | null; architecture: string }>(
    ex,
    `select distinct r.repo, m.name as metric, r.config_id, r.architecture
     from benchmark_metrics m join benchmark_runs r on r.id = m.run_id
     where ($1::text is null or r.repo = $1) and ($2::text is null or m.name = $2)
     order by r.repo, m.name, r.config_id nulls first, r.architecture`,
    [f.repo ?? null, f.metric ?? null],
  );
  return rows.map((r) => ({ repo: r.repo, metric: r.metric, configId: r.config_id, architecture: r.architecture }));
}

/** One evaluation task per group, keyed so that waiting ones absorb new pushes; part of the caller's transaction. */
export async function enqueueEvaluations(
  ex: Executor,
  groups: readonly SeriesGroup[],
  retry: AlertSettings['evaluateRetry'] = {},
): Promise<number> {
  const unique = new Map<string, SeriesGroup>();
  for (const g of groups) unique.set(evaluationKey(g), g);
  // Keys in one order in every transaction: two pushes of the same groups never wait on each other crosswise.
  const keys = [...unique.keys()].sort();
  const results = await submitMany(
    ex,
    keys.map((key) => {
      const g = unique.get(key) as SeriesGroup;
      return {
        task: EVALUATE_TASK,
        namespace: ALERTS_NAMESPACE,
        uniqueKey: key,
        kwargs: { repo: g.repo, metric: g.metric, config_id: g.configId, architecture: g.architecture },
        maxRetries: retry?.maxRetries ?? 5,
        errorEtaInc: retry?.errorEtaInc ?? 5,
        errorEtaMax: retry?.errorEtaMax ?? 300,
        timeoutSeconds: 900,
      };
    }),
  );
  return results.length;
}
