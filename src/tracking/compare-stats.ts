import { mean, median, studentTQuantile, studentTSf, variance } from './changes/stats.ts';
import type { Direction } from './formats/normalized.ts';

/**
 * The statistics of comparing a candidate against a baseline, pure and synchronous (the database
 * side is src/tracking/compare.ts). One series, two groups of samples (the repeated runs of the
 * baseline's commit, and of the candidate), summarized as n, mean, standard deviation, median.
 *
 * **The interval.** The quantity judged is the relative change of the means,
 * r = (mean_c − mean_b) / |mean_b|. Its confidence interval is Fieller's interval for the ratio
 * ρ = mean_c / mean_b, with unequal variances (Welch) and Welch–Satterthwaite degrees of freedom
 * evaluated at ρ̂: the set of ρ for which mean_c − ρ·mean_b is not significantly different from 0,
 *
 *     (mean_c − ρ·mean_b)² ≤ t²·(se_c² + ρ²·se_b²),   se² = s²/n,  t = t_{(1+confidence)/2, df}.
 *
 * Why Fieller rather than "a Welch interval of the difference, divided by mean_b": dividing by
 * the baseline mean treats it as exact, which makes the interval too narrow by about the
 * baseline's own noise; Fieller accounts for it, and with precise baselines the two agree. Why
 * means rather than medians: a distribution-free interval (Hodges–Lehmann, from the Mann–Whitney
 * order statistics of the pairwise differences) only attains coarse levels with the usual five
 * repeats a side (96.8 %, 94.4 %, 90.5 % … with 5 + 5, never 95 %), bounds a shift rather than a
 * ratio, and needs every raw sample; the t interval attains the requested level and works from
 * summaries alone, so a baseline whose runs were pruned still compares from its snapshot
 * (n, mean, stddev). The relative change of the medians is reported next to it as a robustness
 * check, not judged.
 *
 * Edge cases, each reported with a reason rather than guessed:
 * - one sample on one side: its variance is taken to be the other side's (a pooled interval,
 *   df = n_other − 1); one sample on both sides: no interval (there is no estimate of noise);
 * - zero spread on both sides (a deterministic metric such as a size): the interval is the point;
 * - a baseline mean not distinguishable from 0 at this confidence (mean_b² ≤ t²·se_b²): Fieller's
 *   set is unbounded, so no interval; a baseline mean of exactly 0: no relative change at all.
 */

export interface SampleSummary {
  n: number;
  mean: number;
  median: number;
  /** Sample standard deviation (n − 1); null with one sample. */
  stddev: number | null;
  min: number;
  max: number;
}

export function summarize(samples: readonly number[]): SampleSummary {
  if (samples.length === 0) throw new Error('summarize needs at least one sample');
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const v of samples) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const plain = { mean: mean(samples), median: median(samples), stddev: samples.length > 1 ? Math.sqrt(variance(samples)) : null };
  // Values near the largest double overflow a sum (five points of 1e308): summarize them scaled
  // down, then scale back. Only then, so that everyday values keep their exact sums.
  let m = plain;
  if (!Number.isFinite(plain.mean) || !Number.isFinite(plain.median) || (plain.stddev !== null && !Number.isFinite(plain.stddev))) {
    const scale = Math.max(Math.abs(min), Math.abs(max));
    const xs = samples.map((v) => v / scale);
    m = {
      mean: mean(xs) * scale,
      median: median(xs) * scale,
      stddev: samples.length > 1 ? Math.min(Number.MAX_VALUE, Math.sqrt(variance(xs)) * scale) : null,
    };
  }
  return { n: samples.length, mean: m.mean, median: m.median, stddev: m.stddev, min, max };
}

/**
 * Both sides divided by one factor when squares of their values would overflow or underflow:
 * the ratio of the means and the t statistics do not change with the unit.
 */
function commonScale(b: SampleSummary, c: SampleSummary): [SampleSummary, SampleSummary] {
  const k = Math.max(Math.abs(b.mean), Math.abs(c.mean), b.stddev ?? 0, c.stddev ?? 0);
  if (!(k > 0) || (k < 1e150 && k > 1e-150)) return [b, c];
  const f = (s: SampleSummary): SampleSummary => ({
    ...s,
    mean: s.mean / k,
    median: s.median / k,
    stddev: s.stddev === null ? null : s.stddev / k,
    min: s.min / k,
    max: s.max / k,
  });
  return [f(b), f(c)];
}

export interface RatioInterval {
  /** Bounds of the relative change (mean_c − mean_b) / |mean_b|. */
  low: number;
  high: number;
  /** Degrees of freedom of the t quantile used (Infinity when both sides have no spread). */
  df: number;
}

export type IntervalResult = { interval: RatioInterval; reason?: undefined } | { interval: null; reason: string };

/** The two squared standard errors and the degrees of freedom, with the one-sample fallbacks. */
function spread(b: SampleSummary, c: SampleSummary, rho: number): { vb: number; vc: number; df: number } | string {
  const sb = b.stddev;
  const sc = c.stddev;
  if (b.n < 2 && c.n < 2) return 'one sample on each side: there is no estimate of the noise; run more repeats';
  if (sb === null || b.n < 2) {
    const s2 = (sc as number) ** 2;
    return { vb: s2 / b.n, vc: s2 / c.n, df: c.n - 1 };
  }
  if (sc === null || c.n < 2) {
    const s2 = sb ** 2;
    return { vb: s2 / b.n, vc: s2 / c.n, df: b.n - 1 };
  }
  const vb = (sb * sb) / b.n;
  const vc = (sc * sc) / c.n;
  // Welch–Satterthwaite for mean_c − ρ·mean_b at the point estimate of ρ.
  const num = (vc + rho * rho * vb) ** 2;
  const den = (vc * vc) / (c.n - 1) + (rho ** 4 * vb * vb) / (b.n - 1);
  return { vb, vc, df: den > 0 ? num / den : Number.POSITIVE_INFINITY };
}

/** Fieller's interval of the relative change of the means (see the module comment). */
export function relativeChangeInterval(base: SampleSummary, cand: SampleSummary, confidence: number): IntervalResult {
  const [b, c] = commonScale(base, cand);
  const mb = b.mean;
  const mc = c.mean;
  if (mb === 0) return { interval: null, reason: 'the baseline mean is 0: a relative change is undefined' };
  const rho = mc / mb;
  const s = spread(b, c, rho);
  if (typeof s === 'string') return { interval: null, reason: s };
  const { vb, vc } = s;
  // No spread anywhere: the samples are exact, and so is the ratio.
  const df = vb === 0 && vc === 0 ? Number.POSITIVE_INFINITY : s.df;
  const t = df === Number.POSITIVE_INFINITY ? 0 : studentTQuantile((1 + confidence) / 2, df);
  const t2 = t * t;
  const a = mb * mb - t2 * vb;
  if (!(a > 0)) {
    return { interval: null, reason: 'the baseline mean is not distinguishable from 0 at this confidence: the interval is unbounded' };
  }
  const disc = Math.sqrt(Math.max(0, t2 * (vb * mc * mc + vc * a)));
  const rhoLow = (mb * mc - disc) / a;
  const rhoHigh = (mb * mc + disc) / a;
  // r = sign(mean_b)·(ρ − 1): for a negative baseline mean, a larger ρ is a smaller value.
  const interval = mb > 0 ? { low: rhoLow - 1, high: rhoHigh - 1, df } : { low: 1 - rhoHigh, high: 1 - rhoLow, df };
  return { interval };
}

/** Two-sided p-value of Welch's t-test of equal means (with the same one-sample fallbacks); null without a noise estimate. */
export function welchPValue(base: SampleSummary, cand: SampleSummary): number | null {
  const [b, c] = commonScale(base, cand);
  const s = spread(b, c, 1);
  if (typeof s === 'string') return null;
  const diff = c.mean - b.mean;
  const se = Math.sqrt(s.vb + s.vc);
  if (se === 0) return diff === 0 ? 1 : 0;
  return Math.min(1, 2 * studentTSf(Math.abs(diff / se), s.df));
}

export const VERDICTS = ['regression', 'improvement', 'no_change', 'inconclusive', 'change'] as const;
export type Verdict = (typeof VERDICTS)[number];

/**
 * The verdict of one series, from the interval [low, high] of the relative change r and the
 * threshold τ (a fraction: 0.05 = 5 %). "Worse" is up for lower-is-better, down for
 * higher-is-better.
 *
 * - `regression`: the whole interval is beyond τ in the worse direction (low > τ, or high < −τ);
 * - `improvement`: the whole interval is beyond τ in the better direction;
 * - `change`: the direction is unknown and the whole interval is beyond τ either way (never a
 *   regression: nobody said which way is worse);
 * - `no_change`: the whole interval lies within [−τ, τ], i.e. any change is smaller than τ at
 *   this confidence (a significant 1 % shift under a 5 % threshold is `no_change`);
 * - `inconclusive`: anything else: the interval straddles ±τ (more repeats would tell), or there
 *   is no interval (see relativeChangeInterval).
 */
export function verdictOf(interval: { low: number; high: number } | null, threshold: number, direction: Direction | null): Verdict {
  if (!interval) return 'inconclusive';
  const { low, high } = interval;
  const up = low > threshold;
  const down = high < -threshold;
  if (up || down) {
    if (direction === null) return 'change';
    return up === (direction === 'lower') ? 'regression' : 'improvement';
  }
  if (low >= -threshold && high <= threshold) return 'no_change';
  return 'inconclusive';
}

/**
 * The overall verdict: `regression` if any series regressed; else `inconclusive` if any series
 * was, or nothing could be compared; else `change`, else `improvement` if any, else `no_change`.
 * Series missing on one side do not enter it (they are listed apart).
 */
export function overallVerdict(verdicts: readonly Verdict[]): Verdict {
  if (verdicts.length === 0) return 'inconclusive';
  for (const v of ['regression', 'inconclusive', 'change', 'improvement'] as const) if (verdicts.includes(v)) return v;
  return 'no_change';
}
