import { studentTTestFromStats } from '../../../src/tracking/changes/stats.ts';
import { type Anchor, measured } from './common.ts';

/**
 * Apache Otava (formerly Hunter) `compute_change_points(series, window_len=50, max_pvalue=0.001,
 * min_magnitude=0.0)` (otava/analysis.py), on one value per commit (the mean of its samples):
 *
 * 1. **Split**: E-divisive means (Matteson & James) on sliding windows of 50 points that advance
 *    by 25 (or to the last change point found, if further). In each window, repeatedly: every
 *    interval between the change points found so far proposes the τ (and right end κ) that
 *    maximize the energy statistic
 *    Q(X, Y) = 2/(m+n)·ΣΣ|Xᵢ−Yⱼ| − 2m/((m+n)(n−1))·Σ|Xᵢ−Xₖ| − 2n/((m+n)(m−1))·Σ|Yⱼ−Yₖ|
 *    with X = [start, τ), Y = [τ, κ); the best proposal is kept if Student's two-sample t-test
 *    (pooled variance, NumPy's population standard deviations, SciPy's
 *    `ttest_ind_from_stats`) of its interval's two sides gives p ≤ 10 × max_pvalue (the weak
 *    first pass), else the window is done.
 * 2. **Merge**: with all weak change points, each re-tested on the segments between its
 *    neighbours, the one with the largest p-value is dropped while it is ≥ max_pvalue (then the
 *    one with the smallest relative change, while ≤ min_magnitude) and its neighbours re-tested.
 */
export const OTAVA_WINDOW = 50;
export const OTAVA_MAX_PVALUE = 0.001;
export const OTAVA_MIN_MAGNITUDE = 0;

interface Stats {
  pValue: number;
  magnitude: number;
}

function compare(series: readonly number[], a: number, c: number, b: number): Stats {
  const nl = c - a;
  const nr = b - c;
  let ml = 0;
  let mr = 0;
  for (let i = a; i < c; i++) ml += series[i] as number;
  for (let i = c; i < b; i++) mr += series[i] as number;
  ml /= nl;
  mr /= nr;
  let vl = 0;
  let vr = 0;
  for (let i = a; i < c; i++) vl += ((series[i] as number) - ml) ** 2;
  for (let i = c; i < b; i++) vr += ((series[i] as number) - mr) ** 2;
  const sl = nl >= 2 ? Math.sqrt(vl / nl) : 0;
  const sr = nr >= 2 ? Math.sqrt(vr / nr) : 0;
  let pValue = 1;
  if (nl + nr > 2) {
    const p = studentTTestFromStats(ml, sl, nl, mr, sr, nr).pValue;
    pValue = Number.isNaN(p) ? 1 : p;
  }
  const forward = ml === 0 ? 0 : mr / ml - 1;
  const backward = mr === 0 ? 0 : ml / mr - 1;
  return { pValue, magnitude: Math.max(Math.abs(forward), Math.abs(backward)) };
}

/** The best (τ, Q) of the energy statistic over start < τ < κ ≤ end of `w` (local indices). */
function bestCandidate(w: readonly number[], start: number, end: number): { tau: number; q: number } | null {
  const len = end - start;
  if (len < 2) return null;
  // colPrefix[j][i] = Σ_{start ≤ i' < start + i} |w[i'] − w[start + j]|
  const col: Float64Array[] = [];
  for (let j = 0; j < len; j++) {
    const row = new Float64Array(len + 1);
    const wj = w[start + j] as number;
    for (let i = 0; i < len; i++) row[i + 1] = (row[i] as number) + Math.abs((w[start + i] as number) - wj);
    col.push(row);
  }
  let best: { tau: number; q: number } | null = null;
  let withinX = 0;
  for (let t = 1; t < len; t++) {
    // X = [0, t): add element t − 1 to the within-X sum.
    withinX += (col[t - 1] as Float64Array)[t - 1] as number;
    const n = t;
    let cross = 0;
    let withinY = 0;
    for (let k = t + 1; k <= len; k++) {
      const j = k - 1;
      const cj = col[j] as Float64Array;
      cross += cj[t] as number;
      withinY += (cj[j] as number) - (cj[t] as number);
      const m = k - t;
      let q = (2 / (m + n)) * cross;
      if (n > 1) q -= ((2 * m) / ((m + n) * (n - 1))) * withinX;
      if (m > 1) q -= ((2 * n) / ((m + n) * (m - 1))) * withinY;
      if (best === null || q > best.q) best = { tau: start + t, q };
    }
  }
  // NumPy's argmax over the whole matrix sees the zeros below its diagonal: when every valid Q is
  // negative, it lands on the first of them, τ = start + 2.
  if (best && best.q < 0 && len > 2) return { tau: start + 2, q: 0 };
  return best;
}

/** E-divisive with the t-test on one window: change points (local indices). */
function eDivisive(w: readonly number[], maxPValue: number): number[] {
  const cps: number[] = [];
  for (;;) {
    const bounds = [0, ...cps, w.length];
    let best: { tau: number; q: number; a: number; b: number } | null = null;
    for (let i = 0; i + 1 < bounds.length; i++) {
      const a = bounds[i] as number;
      const b = bounds[i + 1] as number;
      if (b - a <= 1) continue;
      const c = bestCandidate(w, a, b);
      if (c && (best === null || c.q > best.q)) best = { ...c, a, b };
    }
    if (!best) break;
    if (compare(w, best.a, best.tau, best.b).pValue > maxPValue) break;
    cps.push(best.tau);
    cps.sort((x, y) => x - y);
  }
  return cps;
}

/** Otava's change points of a series of values (indices into `series`). */
export function otavaChangePoints(
  series: readonly number[],
  windowLen = OTAVA_WINDOW,
  maxPValue = OTAVA_MAX_PVALUE,
  minMagnitude = OTAVA_MIN_MAGNITUDE,
): number[] {
  const firstPass = maxPValue < 0.05 ? maxPValue * 10 : maxPValue < 0.5 ? maxPValue * 2 : maxPValue;
  // Split.
  const step = Math.floor(windowLen / 2);
  const found = new Set<number>();
  let start = 0;
  while (start < series.length) {
    const end = Math.min(start + windowLen, series.length);
    const local = eDivisive(series.slice(start, end), firstPass).map((i) => i + start);
    const last = local.length ? (local[local.length - 1] as number) : 0;
    start = Math.max(last, start + step);
    for (const i of local) found.add(i);
  }
  const cps = [...found].sort((a, b) => a - b);
  // Merge.
  const statsOf = (i: number): Stats => {
    const a = i > 0 ? (cps[i - 1] as number) : 0;
    const b = i + 1 < cps.length ? (cps[i + 1] as number) : series.length;
    return compare(series, a, cps[i] as number, b);
  };
  const stats = cps.map((_, i) => statsOf(i));
  while (cps.length) {
    let weakest = 0;
    for (let i = 1; i < stats.length; i++) if ((stats[i] as Stats).pValue > (stats[weakest] as Stats).pValue) weakest = i;
    if ((stats[weakest] as Stats).pValue < maxPValue) {
      weakest = 0;
      for (let i = 1; i < stats.length; i++) if ((stats[i] as Stats).magnitude < (stats[weakest] as Stats).magnitude) weakest = i;
      if ((stats[weakest] as Stats).magnitude > minMagnitude) break;
    }
    cps.splice(weakest, 1);
    stats.splice(weakest, 1);
    // As Otava's merge(): after the deletion it recomputes the points now at `weakest` and
    // `weakest + 1` (the right neighbour and the one after), not the left neighbour.
    if (weakest < cps.length) stats[weakest] = statsOf(weakest);
    if (weakest + 1 < cps.length) stats[weakest + 1] = statsOf(weakest + 1);
  }
  return cps;
}

export const otava: Anchor = ({ commits }) => {
  const { idx, values } = measured(commits);
  return otavaChangePoints(values).map((i) => idx[i] as number);
};
