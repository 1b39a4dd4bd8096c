import { medianInPlace, rankInto } from './stats.ts';

/** The candidate search of `detectChanges` (see detect.ts): seeded or plain binary segmentation by the rank-sum statistic, and the exact placement of a split. */

export interface Split {
  a: number;
  b: number;
  at: number;
  z: number;
}

/** The best split of y[a, b) by the standardized rank-sum statistic, or null when none is allowed. */
export function bestSplit(y: Float64Array, a: number, b: number, minLen: number, vals: Float64Array, ranks: Float64Array): Split | null {
  const n = b - a;
  if (n < 2 * minLen) return null;
  const v = vals.subarray(0, n);
  for (let i = 0; i < n; i++) v[i] = y[a + i] as number;
  const r = ranks.subarray(0, n);
  const ties = rankInto(v, r);
  const tieFactor = n + 1 - ties / (n * (n - 1));
  if (!(tieFactor > 0)) return null;
  let s = 0;
  let bestZ = 0;
  let bestK = -1;
  const half = (n + 1) / 2;
  for (let k = 1; k < n; k++) {
    s += r[k - 1] as number;
    if (k < minLen || n - k < minLen) continue;
    const z = (s - k * half) / Math.sqrt(((k * (n - k)) / 12) * tieFactor);
    if (Math.abs(z) > Math.abs(bestZ)) {
      bestZ = z;
      bestK = k;
    }
  }
  return bestK < 0 ? null : { a, b, at: a + bestK, z: bestZ };
}

/** Sum of absolute deviations of y[a, b) from its median. */
function absDeviation(y: Float64Array, a: number, b: number): number {
  const part = y.slice(a, b);
  const med = medianInPlace(part.slice());
  let sum = 0;
  for (let i = 0; i < part.length; i++) sum += Math.abs((part[i] as number) - med);
  return sum;
}

/** The split within two commits of `c` (each side of [l, r) keeping minLen) with the least absolute deviation. */
export function placeSplit(y: Float64Array, l: number, r: number, c: number, minLen: number): number {
  let best = c;
  let bestCost = absDeviation(y, l, c) + absDeviation(y, c, r);
  for (let s = Math.max(l + minLen, c - 2); s <= Math.min(r - minLen, c + 2); s++) {
    if (s === c) continue;
    const cost = absDeviation(y, l, s) + absDeviation(y, s, r);
    // Strictly better only: a tie keeps the rank statistic's choice.
    if (cost < bestCost - 1e-12 * Math.abs(bestCost)) {
      best = s;
      bestCost = cost;
    }
  }
  return best;
}

/** Seeded binary segmentation: candidate split positions (indices into the measured commits). */
export function candidates(y: Float64Array, minLen: number, zMin: number): number[] {
  const m = y.length;
  const vals = new Float64Array(m);
  const ranks = new Float64Array(m);
  const splits: Split[] = [];
  const smallest = Math.max(2 * minLen, 10);
  for (let len = m; len >= smallest; len = Math.floor(len / 2)) {
    const shift = Math.max(1, Math.floor(len / 2));
    for (let a = 0; ; a += shift) {
      const b = Math.min(m, a + len);
      const s = bestSplit(y, b - len < 0 ? 0 : b - len, b, minLen, vals, ranks);
      if (s && Math.abs(s.z) >= zMin) splits.push(s);
      if (b >= m) break;
    }
    if (len === smallest) break;
  }
  splits.sort((p, q) => Math.abs(q.z) - Math.abs(p.z));
  const taken: number[] = [];
  for (const s of splits) {
    if (taken.some((t) => t > s.a && t < s.b)) continue;
    taken.push(s.at);
  }
  return taken.sort((p, q) => p - q);
}

/** Plain binary segmentation (for the ablations): split while the best |z| of a segment reaches zMin. */
export function binarySegmentation(y: Float64Array, minLen: number, zMin: number): number[] {
  const vals = new Float64Array(y.length);
  const ranks = new Float64Array(y.length);
  const out: number[] = [];
  const stack: [number, number][] = [[0, y.length]];
  while (stack.length) {
    const [a, b] = stack.pop() as [number, number];
    const s = bestSplit(y, a, b, minLen, vals, ranks);
    if (!s || Math.abs(s.z) < zMin) continue;
    out.push(s.at);
    stack.push([a, s.at], [s.at, b]);
  }
  return out.sort((p, q) => p - q);
}
