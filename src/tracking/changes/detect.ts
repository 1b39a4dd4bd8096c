import type { Direction } from '../formats/normalized.ts';
import { type ChangeKind, kindOf } from './direction.ts';
import { bestSplit, binarySegmentation, candidates, placeSplit } from './search.ts';
import { mannWhitney, mean, medianInPlace, studentTTestFromStats, variance } from './stats.ts';
import { stepOverTrend } from './trend.ts';

/**
 * Change-point detection for benchmark series: the commits where the distribution of a metric
 * shifts. Pure and synchronous; see the README section "Change-point detection" for the method,
 * the measurements behind it and the evaluation (`npm run bench:detect`).
 *
 * The method works on the per-commit medians (commits without samples are skipped; the raw
 * samples give the reported means, medians and the effect size):
 *
 * 1. **Candidates** by seeded binary segmentation (Kovács et al., 2020): intervals of every
 *    scale (the whole series, halves, quarters, … down to 2 × `minCommits` commits, each scale
 *    overlapping by half) each propose their best split by the standardized Mann–Whitney
 *    (rank-sum CUSUM, Pettitt) statistic; the strongest proposals are taken greedily, skipping
 *    intervals that already hold a taken split, while |z| ≥ `candidateZ`.
 * 2. **Confirmation** of each candidate on the windows either side (up to `window` commits,
 *    never crossing the neighbouring candidates): at least `minCommits` commits and
 *    `minSamples` samples each side; a relative change of the medians of the raw samples of at
 *    least `minEffect`; a two-sided Mann–Whitney U test of the per-commit medians with p ×
 *    (measured commits / `window`) ≤ `maxPValue` (Bonferroni over the independent windows of
 *    the series); and the **drift guard**: where a linear trend is visible (|t| of the slope of
 *    y = a + b·x + d·[x ≥ c] fitted on up to 2 × `window` commits either side ≥ `slopeGate`),
 *    the step d over that trend must have |t| ≥ `driftT`, the same sign, and at least half of
 *    `minEffect`.
 * 3. **Backward elimination** (as Otava's merge step): while a candidate fails, the weakest
 *    one is dropped and its neighbours are re-tested on their now wider windows; then each
 *    survivor moves to the best split between its neighbours, and the elimination runs again.
 */

export interface CommitSamples {
  sha: string;
  /** The measurements of this commit (repeats); empty when the commit was not measured. */
  samples: readonly number[];
}

export interface DetectOptions {
  /** Which way is better; unknown (null, the default) labels every change point `change`. */
  direction?: Direction | null | undefined;
  /** Minimum relative change of the medians either side (default 0.02 = 2 %). */
  minEffect?: number | undefined;
  /** Minimum number of measured commits on each side of a change point (default 5). */
  minCommits?: number | undefined;
  /** Minimum number of samples on each side of a change point (default 5). */
  minSamples?: number | undefined;
  /** The largest reported (corrected) p-value that is still a change point (default 0.001). */
  maxPValue?: number | undefined;
  /** The most commits either side compared when confirming a change point (default 80). */
  window?: number | undefined;
  /** The |z| a split must reach to become a candidate (default 3). */
  candidateZ?: number | undefined;
  /** The drift guard: the |t| the step must reach over a linear trend (default 4); 0 disables it. */
  driftT?: number | undefined;
  /** The drift guard applies when the fitted trend's |t| reaches this (default 0: always). */
  slopeGate?: number | undefined;
  /** The most commits either side in the drift guard's fit (default 2 × `window`). */
  driftWindow?: number | undefined;
  /** Bonferroni factor of the p-value: 'windows' (measured commits / window, the default), 'candidates' (those being tested) or 'commits'. */
  correction?: 'candidates' | 'commits' | 'windows' | undefined;
  /**
   * Alternatives kept for the evaluation's ablations (`npm run bench:detect -- --ablations`), not
   * for production use: the candidate search (`seeded` binary segmentation, the default, or plain
   * `binary` segmentation), the confirming test (`mann-whitney`, the default, or Student's
   * `t-test`) and its unit (per-commit medians, `commit`, the default, or the raw `sample`s).
   */
  method?: { search?: 'seeded' | 'binary'; test?: 'mann-whitney' | 't-test'; unit?: 'commit' | 'sample' } | undefined;
}

export interface SideSummary {
  /** Measured commits in the window on this side. */
  commits: number;
  /** Samples in the window on this side. */
  samples: number;
  /** Mean and median of the raw samples of the window. */
  mean: number;
  median: number;
}

export interface ChangePoint {
  /** The first commit of the new regime. */
  sha: string;
  /** The last measured commit before it. */
  previousSha: string;
  /** Index of `sha` in the input array. */
  index: number;
  /** Index of `previousSha` in the input array. */
  previousIndex: number;
  before: SideSummary;
  after: SideSummary;
  /** (after.median − before.median) / |before.median|; null when before.median is 0. */
  relativeChange: number | null;
  /**
   * The two-sided Mann–Whitney p-value of the per-commit medians of the windows either side
   * (exact for small samples without ties, else the tie-corrected normal approximation),
   * multiplied by the number of independent windows in the series (measured commits / `window`,
   * at least 1; Bonferroni) and capped at 1: roughly, the chance that noise alone would show a
   * split this strong somewhere in the series. The split position was itself chosen to maximize
   * the statistic, so it is a screening score more than an exact probability; how often noise
   * alone passes is measured by `npm run bench:detect` (the "silent" rate).
   */
  pValue: number;
  kind: ChangeKind;
}

export const DETECT_DEFAULTS = {
  minEffect: 0.02,
  minCommits: 5,
  minSamples: 5,
  maxPValue: 0.001,
  window: 80,
  candidateZ: 3,
  driftT: 4,
  slopeGate: 1.5,
  correction: 'windows',
} as const;

type Resolved = {
  minEffect: number;
  minCommits: number;
  minSamples: number;
  maxPValue: number;
  window: number;
  candidateZ: number;
  driftT: number;
  driftWindow: number;
  slopeGate: number;
  correction: 'candidates' | 'commits' | 'windows';
  search: 'seeded' | 'binary';
  test: 'mann-whitney' | 't-test';
  unit: 'commit' | 'sample';
};

interface Prepared {
  /** Input index of each measured commit. */
  idx: Int32Array;
  /** Per-commit median. */
  y: Float64Array;
  /** Offsets of each commit's samples in `flat` (length m + 1). */
  off: Int32Array;
  flat: Float64Array;
}

function prepare(series: readonly CommitSamples[]): Prepared {
  const idx: number[] = [];
  const y: number[] = [];
  const off: number[] = [0];
  const flat: number[] = [];
  const buf: number[] = [];
  for (let i = 0; i < series.length; i++) {
    const s = (series[i] as CommitSamples).samples;
    buf.length = 0;
    for (const v of s) if (Number.isFinite(v)) buf.push(v);
    if (buf.length === 0) continue;
    for (const v of buf) flat.push(v);
    off.push(flat.length);
    idx.push(i);
    y.push(buf.length === 1 ? (buf[0] as number) : medianInPlace(buf.slice()));
  }
  return { idx: Int32Array.from(idx), y: Float64Array.from(y), off: Int32Array.from(off), flat: Float64Array.from(flat) };
}

function confirm(x: ArrayLike<number>, y: ArrayLike<number>, test: Resolved['test']): number {
  if (test === 'mann-whitney') return mannWhitney(x, y).pValue;
  const t = studentTTestFromStats(mean(x), Math.sqrt(variance(x)), x.length, mean(y), Math.sqrt(variance(y)), y.length).pValue;
  return Number.isNaN(t) ? 1 : t;
}

interface Test {
  ok: boolean;
  /** 0 = passes; 1 = too small; 2 = effect or drift; 3 = p-value (set by the caller). */
  failure: number;
  pRaw: number;
  rel: number;
  before: SideSummary;
  after: SideSummary;
}

function summarize(p: Prepared, from: number, to: number): { summary: SideSummary; pool: Float64Array } {
  const s = p.off[from] as number;
  const e = p.off[to] as number;
  const pool = p.flat.slice(s, e);
  let sum = 0;
  for (let i = 0; i < pool.length; i++) sum += pool[i] as number;
  const summary = { commits: to - from, samples: pool.length, mean: sum / pool.length, median: 0 };
  summary.median = medianInPlace(pool);
  return { summary, pool };
}

function relative(after: number, before: number): number {
  const base = Math.abs(before) > 0 ? Math.abs(before) : Math.abs(after);
  return base > 0 ? (after - before) / base : 0;
}

/** Tests the split at c with neighbours (or ends) `prev` and `next`. */
function testSplit(p: Prepared, prev: number, c: number, next: number, o: Resolved): Test {
  const l = Math.max(prev, c - o.window);
  const r = Math.min(next, c + o.window);
  const fail = (failure: number, pRaw = 1, rel = 0): Test => ({ ok: false, failure, pRaw, rel, before: empty, after: empty });
  if (c - l < o.minCommits || r - c < o.minCommits) return fail(1);
  const left = p.y.subarray(l, c);
  const right = p.y.subarray(c, r);
  const b = summarize(p, l, c);
  const a = summarize(p, c, r);
  if (b.summary.samples < o.minSamples || a.summary.samples < o.minSamples) return fail(1);
  const rel = relative(a.summary.median, b.summary.median);
  if (!(Math.abs(rel) >= o.minEffect)) return fail(2, 1, rel);
  const pRaw = confirm(o.unit === 'commit' ? left : b.pool, o.unit === 'commit' ? right : a.pool, o.test);
  const result: Test = { ok: true, failure: 0, pRaw, rel, before: b.summary, after: a.summary };
  if (o.driftT > 0) {
    const dl = Math.max(prev, c - o.driftWindow);
    const dr = Math.min(next, c + o.driftWindow);
    const fit = stepOverTrend(p.idx.subarray(dl, dr), p.y.subarray(dl, dr), c - dl);
    const base = Math.abs(b.summary.median) > 0 ? Math.abs(b.summary.median) : 1;
    const trend = Math.abs(fit.slopeT) >= o.slopeGate;
    if (trend && (Math.sign(fit.step) !== Math.sign(rel) || Math.abs(fit.t) < o.driftT || Math.abs(fit.step) / base < o.minEffect / 2)) {
      return { ...result, ok: false, failure: 2 };
    }
  }
  return result;
}

const empty: SideSummary = { commits: 0, samples: 0, mean: Number.NaN, median: Number.NaN };

/** The change points of a series, oldest first. See the module comment for the method. */
export function detectChanges(series: readonly CommitSamples[], options: DetectOptions = {}): ChangePoint[] {
  const window = Math.max(2, Math.floor(options.window ?? DETECT_DEFAULTS.window));
  const o: Resolved = {
    minEffect: options.minEffect ?? DETECT_DEFAULTS.minEffect,
    minCommits: Math.max(2, Math.floor(options.minCommits ?? DETECT_DEFAULTS.minCommits)),
    minSamples: Math.max(1, Math.floor(options.minSamples ?? DETECT_DEFAULTS.minSamples)),
    maxPValue: options.maxPValue ?? DETECT_DEFAULTS.maxPValue,
    window,
    candidateZ: options.candidateZ ?? DETECT_DEFAULTS.candidateZ,
    driftT: options.driftT ?? DETECT_DEFAULTS.driftT,
    driftWindow: Math.max(2, Math.floor(options.driftWindow ?? 2 * window)),
    correction: options.correction ?? DETECT_DEFAULTS.correction,
    slopeGate: options.slopeGate ?? DETECT_DEFAULTS.slopeGate,
    search: options.method?.search ?? 'seeded',
    test: options.method?.test ?? 'mann-whitney',
    unit: options.method?.unit ?? 'commit',
  };
  const p = prepare(series);
  const m = p.y.length;
  if (m < 2 * o.minCommits) return [];
  // With r commits on its short side, the rank statistic cannot exceed about √(3r): keep a
  // change near the newest commit reachable when minCommits is lowered.
  const zMin = Math.min(o.candidateZ, 0.9 * Math.sqrt(3 * o.minCommits));
  const cands = o.search === 'seeded' ? candidates(p.y, o.minCommits, zMin) : binarySegmentation(p.y, o.minCommits, zMin);
  const cache = new Map<string, Test>();
  const testAt = (i: number): Test => {
    const prev = i > 0 ? (cands[i - 1] as number) : 0;
    const c = cands[i] as number;
    const next = i + 1 < cands.length ? (cands[i + 1] as number) : m;
    const key = `${prev},${c},${next}`;
    let t = cache.get(key);
    if (!t) {
      t = testSplit(p, prev, c, next, o);
      cache.set(key, t);
    }
    return t;
  };
  const factor = (k: number) => (o.correction === 'candidates' ? k : o.correction === 'commits' ? m : Math.max(1, m / o.window));
  const tests: Test[] = [];
  const eliminate = () => {
    for (;;) {
      const k = cands.length;
      tests.length = 0;
      if (k === 0) return;
      let worst = -1;
      let worstKey = -1;
      for (let i = 0; i < k; i++) {
        const t = testAt(i);
        tests.push(t);
        const pAdj = Math.min(1, t.pRaw * factor(k));
        const failure = t.ok ? (pAdj > o.maxPValue ? 3 : 0) : t.failure;
        if (failure === 0) continue;
        // Weakest first: too small, then the largest p-value, then the smallest effect.
        const score = (failure === 1 ? 4 : 2) + pAdj - Math.min(1, Math.abs(t.rel)) * 1e-3;
        if (score > worstKey) {
          worstKey = score;
          worst = i;
        }
      }
      if (worst < 0) return;
      cands.splice(worst, 1);
    }
  };
  const vals = new Float64Array(m);
  const ranks = new Float64Array(m);
  for (let round = 0; round < 4; round++) {
    eliminate();
    // Refine: each change point moves to the best split of the window between its neighbours.
    let moved = false;
    for (let i = 0; i < cands.length; i++) {
      const prev = i > 0 ? (cands[i - 1] as number) : 0;
      const c = cands[i] as number;
      const next = i + 1 < cands.length ? (cands[i + 1] as number) : m;
      const s = bestSplit(p.y, Math.max(prev, c - o.window), Math.min(next, c + o.window), o.minCommits, vals, ranks);
      if (s && s.at !== c) {
        cands[i] = s.at;
        moved = true;
      }
    }
    if (!moved) break;
  }
  eliminate();
  // Place each survivor exactly. The rank statistic's normalisation by √(k(n−k)) can favour a
  // split one commit early when the commit at the boundary sits at the old level (measured in a
  // bisection test: |z| 3.46 one commit early against 3.42 at the true step), and then the
  // reported "last good" commit is already bad. Among the nearby splits, the one whose two
  // sides lie closest to their own medians (least absolute deviation) is where the level moves.
  let placed = false;
  for (let i = 0; i < cands.length; i++) {
    const prev = i > 0 ? (cands[i - 1] as number) : 0;
    const next = i + 1 < cands.length ? (cands[i + 1] as number) : m;
    const c = cands[i] as number;
    const at = placeSplit(p.y, Math.max(prev, c - o.window), Math.min(next, c + o.window), c, o.minCommits);
    if (at !== c) {
      cands[i] = at;
      placed = true;
    }
  }
  if (placed) eliminate();
  const k = cands.length;
  const out: ChangePoint[] = [];
  for (let i = 0; i < k; i++) {
    const c = cands[i] as number;
    const t = tests[i] as Test;
    const index = p.idx[c] as number;
    const previousIndex = p.idx[c - 1] as number;
    const relativeChange = t.before.median === 0 ? null : (t.after.median - t.before.median) / Math.abs(t.before.median);
    out.push({
      sha: (series[index] as CommitSamples).sha,
      previousSha: (series[previousIndex] as CommitSamples).sha,
      index,
      previousIndex,
      before: t.before,
      after: t.after,
      relativeChange,
      pValue: Math.min(1, t.pRaw * factor(k)),
      kind: kindOf(t.rel, options.direction ?? null),
    });
  }
  return out;
}
