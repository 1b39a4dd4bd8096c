import { type Executor, run } from '../db/executor.ts';
import { BenchmarkRunsNotFound, ValidationError } from '../errors.ts';
import { runOf, type SeriesIdentity, type SeriesSamples, samplesAt, seriesId } from './baseline-samples.ts';
import { type BaselineRecord, findBaseline } from './baselines.ts';
import { canonicalJson } from './canonical.ts';
import { resolveDirection } from './changes/direction.ts';
import {
  overallVerdict,
  relativeChangeInterval,
  type SampleSummary,
  summarize,
  VERDICTS,
  type Verdict,
  verdictOf,
  welchPValue,
} from './compare-stats.ts';
import type { Direction } from './formats/normalized.ts';
import { baselineSnapshots, type StoredSnapshot } from './snapshots.ts';

/**
 * Compare a commit (or one run) against a named baseline, series by series: the question a CI
 * job asks before merging. The statistics and the verdict rule are in compare-stats.ts; here
 * the two sides are gathered and matched.
 *
 * - The baseline side is the live runs the baseline pins (every run of its sha, or its one
 *   run); a series whose runs were pruned since falls back to the baseline's snapshot of it
 *   (`source: 'snapshot'`: n, mean, stddev and median are all an interval needs).
 * - The candidate side is every run of the candidate commit, or the one run named.
 * - Series are matched by identity (metric, config, architecture, tags). A series on one side
 *   only is listed in `missing`, with the side it lacks, never silently dropped; it does not
 *   enter the overall verdict.
 * - Which way is better follows the direction rule (src/tracking/changes/direction.ts), with
 *   `directions` as overrides; unknown direction gives `change`, never `regression`.
 */

export const COMPARE_DEFAULTS = { threshold: 0.05, confidence: 0.95 } as const;
/** Thresholds above this (1000 %) are surely a unit mistake (5 meant as 5 %). */
export const MAX_THRESHOLD = 10;

export interface CompareInput {
  /** The baseline's repository; absent: the one repository with a baseline of that name. */
  repo?: string | undefined;
  baseline: string;
  /** The candidate: every run of this commit (a full sha)… */
  sha?: string | undefined;
  /** …or this one run. */
  runUid?: string | undefined;
  /** Relative change that matters, as a fraction (0.05 = 5 %; default). */
  threshold?: number | undefined;
  /** Per-metric thresholds (exact metric names), as fractions. */
  thresholds?: Readonly<Record<string, number>> | undefined;
  /** Confidence level of the intervals (default 0.95). */
  confidence?: number | undefined;
  metrics?: readonly string[] | undefined;
  tags?: Record<string, readonly string[]> | undefined;
  configId?: number | undefined;
  configHash?: string | undefined;
  architecture?: string | undefined;
  /** Which way is better, per metric, overriding the stored direction and the name rule. */
  directions?: Readonly<Record<string, Direction | null>> | undefined;
}

export interface SideStats extends SampleSummary {
  runs: number;
  sha: string;
  /** `runs`: computed from the stored runs now; `snapshot`: the baseline's snapshot (its runs are gone). */
  source: 'runs' | 'snapshot';
}

interface SeriesOut {
  metric: string;
  config: { id: number; hash: string | null } | null;
  architecture: string | null;
  tags: Record<string, unknown>;
  unit: string | null;
}

export interface MetricComparison extends SeriesOut {
  direction: Direction | null;
  threshold: number;
  baseline: SideStats;
  candidate: SideStats;
  delta: {
    /** mean_c − mean_b. */
    absolute: number;
    /** (mean_c − mean_b) / |mean_b|; null when mean_b is 0. */
    relative: number | null;
    /** (median_c − median_b) / |median_b|, for reference; null when median_b is 0. */
    relativeMedian: number | null;
  };
  /** Confidence interval of `delta.relative`; null with a reason when there is none. */
  interval: { low: number; high: number; level: number; df: number } | null;
  /** Welch's two-sided p-value of equal means; null without a noise estimate. */
  pValue: number | null;
  verdict: Verdict;
  /** Why the verdict is inconclusive without an interval (or the units differ); else null. */
  reason: string | null;
}

export interface MissingSeries extends SeriesOut {
  /** The side that has no data for this series. */
  missing: 'baseline' | 'candidate';
  present: SideStats;
}

export interface CompareResult {
  repo: string;
  baseline: { name: string; sha: string; runUid: string | null };
  candidate: { sha: string; runUid: string | null };
  threshold: number;
  confidence: number;
  /** The interval method, for readers of stored results: Fieller's ratio interval, Welch df. */
  method: 'fieller-welch';
  verdict: Verdict;
  counts: Record<Verdict, number> & { missingBaseline: number; missingCandidate: number };
  comparisons: MetricComparison[];
  missing: MissingSeries[];
}

function checkFraction(value: number | undefined, field: string, lo: number, hi: number, rule: string): void {
  if (value === undefined) return;
  if (!Number.isFinite(value) || value < lo || value > hi) throw new ValidationError([{ field, message: rule }]);
}

/** Does a tag filter (tag → accepted texts) admit these tags? The same rule as the SQL (`->>` text). */
function tagsMatch(tags: Record<string, unknown>, want: Record<string, readonly string[]> | undefined): boolean {
  if (!want) return true;
  return Object.entries(want).every(([k, values]) => {
    const v = tags[k];
    if (v === undefined || v === null) return false;
    return values.includes(typeof v === 'string' ? v : JSON.stringify(v));
  });
}

function fromSnapshot(s: StoredSnapshot): { identity: SeriesIdentity; unit: string | null; direction: Direction | null; stats: SideStats } {
  return {
    identity: {
      metric: s.metric,
      configId: s.config?.id ?? null,
      configHash: s.config?.hash ?? null,
      architecture: s.architecture ?? '',
      tags: s.tags,
    },
    unit: s.unit,
    direction: s.direction,
    stats: {
      n: s.n,
      mean: s.mean,
      median: s.median,
      stddev: s.stddev,
      min: s.min,
      max: s.max,
      runs: s.runs,
      sha: s.sha,
      source: 'snapshot',
    },
  };
}

const sideOf = (s: SeriesSamples): SideStats => ({ ...summarize(s.samples), runs: s.runs, sha: s.sha, source: 'runs' });

const seriesOut = (id: SeriesIdentity, unit: string | null): SeriesOut => ({
  metric: id.metric,
  config: id.configId === null ? null : { id: id.configId, hash: id.configHash },
  architecture: id.architecture || null,
  tags: id.tags,
  unit,
});

function relative(from: number, to: number): number | null {
  if (from === 0) return null;
  const r = (to - from) / Math.abs(from);
  // to − from overflows for values near the largest double; the ratio form does not.
  return Number.isFinite(r) ? r : to / Math.abs(from) - Math.sign(from);
}

interface Side {
  identity: SeriesIdentity;
  unit: string | null;
  direction: Direction | null;
  stats: SideStats;
}

/** Judge one series present on both sides. */
export function compareSeries(
  b: Side,
  c: Side,
  opts: { threshold: number; confidence: number; directions?: Readonly<Record<string, Direction | null>> | undefined },
): MetricComparison {
  const metric = c.identity.metric;
  const unit = c.unit ?? b.unit;
  const direction = resolveDirection({ metric, unit, stored: c.direction ?? b.direction, overrides: opts.directions });
  const base = {
    ...seriesOut(c.identity, unit),
    direction,
    threshold: opts.threshold,
    baseline: b.stats,
    candidate: c.stats,
    delta: {
      absolute: c.stats.mean - b.stats.mean,
      relative: relative(b.stats.mean, c.stats.mean),
      relativeMedian: relative(b.stats.median, c.stats.median),
    },
  };
  if (b.unit !== null && c.unit !== null && b.unit !== c.unit) {
    return { ...base, interval: null, pValue: null, verdict: 'inconclusive', reason: `the units differ: ${b.unit} (baseline), ${c.unit}` };
  }
  // Identical constant samples (0 and 0 included) are no change, whatever their relative form.
  if (b.stats.min === b.stats.max && c.stats.min === c.stats.max && b.stats.mean === c.stats.mean && b.stats.n + c.stats.n > 2) {
    return {
      ...base,
      interval: { low: 0, high: 0, level: opts.confidence, df: Number.POSITIVE_INFINITY },
      pValue: 1,
      verdict: 'no_change',
      reason: null,
    };
  }
  const r = relativeChangeInterval(b.stats, c.stats, opts.confidence);
  const interval = r.interval ? { low: r.interval.low, high: r.interval.high, level: opts.confidence, df: r.interval.df } : null;
  return {
    ...base,
    interval,
    pValue: welchPValue(b.stats, c.stats),
    verdict: verdictOf(interval, opts.threshold, direction),
    reason: r.interval ? null : r.reason,
  };
}

const order = (a: SeriesOut, b: SeriesOut) => {
  const ka = [a.metric, a.config?.hash ?? '', a.architecture ?? '', canonicalJson(a.tags)];
  const kb = [b.metric, b.config?.hash ?? '', b.architecture ?? '', canonicalJson(b.tags)];
  for (let i = 0; i < ka.length; i++) {
    const x = ka[i] as string;
    const y = kb[i] as string;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
};

export async function compare(ex: Executor, input: CompareInput): Promise<CompareResult> {
  const threshold = input.threshold ?? COMPARE_DEFAULTS.threshold;
  const confidence = input.confidence ?? COMPARE_DEFAULTS.confidence;
  const thresholdRule = `must be a fraction from 0 to ${MAX_THRESHOLD} (0.05 = 5 %)`;
  checkFraction(input.threshold, 'threshold', 0, MAX_THRESHOLD, thresholdRule);
  for (const [metric, t] of Object.entries(input.thresholds ?? {}))
    checkFraction(t, `thresholds.${metric}`, 0, MAX_THRESHOLD, thresholdRule);
  checkFraction(input.confidence, 'confidence', 0.5, 0.9999, 'must be a fraction from 0.5 to 0.9999 (0.95 = 95 %)');
  if ((input.sha === undefined) === (input.runUid === undefined)) {
    throw new ValidationError([{ field: 'commit', message: 'name exactly one candidate: a commit or a run_uid' }]);
  }

  const baseline: BaselineRecord = await findBaseline(ex, { name: input.baseline, repo: input.repo }, { name: 'baseline' });
  const repo = baseline.repo;
  const filter = {
    repo,
    metrics: input.metrics,
    tags: input.tags,
    configId: input.configId,
    configHash: input.configHash,
    architecture: input.architecture,
  };

  let candidateSha: string;
  if (input.runUid !== undefined) {
    const found = await runOf(ex, repo, input.runUid);
    if (!found) throw new BenchmarkRunsNotFound(repo, { runUid: input.runUid });
    candidateSha = found.sha;
  } else {
    candidateSha = (input.sha as string).toLowerCase();
    const [any] = await run<{ found: boolean }>(ex, 'select exists (select 1 from benchmark_runs where repo = $1 and sha = $2) as found', [
      repo,
      candidateSha,
    ]);
    if (!any?.found) throw new BenchmarkRunsNotFound(repo, { sha: candidateSha });
  }

  const [baseSamples, candSamples, snapshots] = await Promise.all([
    samplesAt(ex, baseline.runUid ? { ...filter, runUid: baseline.runUid } : { ...filter, sha: baseline.sha }),
    samplesAt(ex, input.runUid !== undefined ? { ...filter, runUid: input.runUid } : { ...filter, sha: candidateSha }),
    baselineSnapshots(ex, baseline.id),
  ]);

  const baseSide = new Map<string, Side>();
  for (const s of baseSamples) baseSide.set(seriesId(s), { identity: s, unit: s.unit, direction: s.direction, stats: sideOf(s) });
  const wanted = new Set(input.metrics ?? []);
  for (const snap of snapshots) {
    const side = fromSnapshot(snap);
    const id = side.identity;
    const key = seriesId(id);
    if (baseSide.has(key)) continue;
    if (wanted.size > 0 && !wanted.has(id.metric)) continue;
    if (!tagsMatch(id.tags, input.tags)) continue;
    if (input.configId !== undefined && id.configId !== input.configId) continue;
    if (input.configHash !== undefined && id.configHash !== input.configHash.toLowerCase()) continue;
    if (input.architecture !== undefined && id.architecture !== input.architecture) continue;
    baseSide.set(key, side);
  }

  const comparisons: MetricComparison[] = [];
  const missing: MissingSeries[] = [];
  const seen = new Set<string>();
  for (const s of candSamples) {
    const key = seriesId(s);
    seen.add(key);
    const c: Side = { identity: s, unit: s.unit, direction: s.direction, stats: sideOf(s) };
    const b = baseSide.get(key);
    if (!b) {
      missing.push({ ...seriesOut(s, s.unit), missing: 'baseline', present: c.stats });
      continue;
    }
    const t = input.thresholds && Object.hasOwn(input.thresholds, s.metric) ? (input.thresholds[s.metric] as number) : threshold;
    comparisons.push(compareSeries(b, c, { threshold: t, confidence, directions: input.directions }));
  }
  for (const [key, b] of baseSide) {
    if (!seen.has(key)) missing.push({ ...seriesOut(b.identity, b.unit), missing: 'candidate', present: b.stats });
  }
  comparisons.sort(order);
  missing.sort(order);

  const counts = Object.fromEntries(VERDICTS.map((v) => [v, 0])) as Record<Verdict, number>;
  for (const c of comparisons) counts[c.verdict]++;
  return {
    repo,
    baseline: { name: baseline.name, sha: baseline.sha, runUid: baseline.runUid },
    candidate: { sha: candidateSha, runUid: input.runUid ?? null },
    threshold,
    confidence,
    method: 'fieller-welch',
    verdict: overallVerdict(comparisons.map((c) => c.verdict)),
    counts: {
      ...counts,
      missingBaseline: missing.filter((m) => m.missing === 'baseline').length,
      missingCandidate: missing.filter((m) => m.missing === 'candidate').length,
    },
    comparisons,
    missing,
  };
}
