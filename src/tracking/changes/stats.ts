/**
 * The statistics the change-point detector needs, written out so that they stay pure, fast and
 * dependency-free: the normal and Student t distributions, the Mann–Whitney U test (exact or
 * normal approximation), the pooled t-test, medians by quickselect and the Hodges–Lehmann shift.
 *
 * Accuracy: the normal tail is W. J. Cody's rational approximation of erfc (relative error below
 * 1e-14 over the whole range, so tiny p-values stay meaningful); the t distribution goes through the
 * regularized incomplete beta function (Lentz's continued fraction, relative error ~1e-12). Both are
 * checked against SciPy's values in test/unit/changes-stats.test.ts.
 */

// ---------------------------------------------------------------------------------------------
// Normal distribution
// ---------------------------------------------------------------------------------------------

const SQRT1_2 = Math.SQRT1_2;

/** exp(−x²) without the rounding error of squaring x first (Cody's split). */
function expMinusSquare(x: number): number {
  const hi = Math.trunc(x * 16) / 16;
  const del = (x - hi) * (x + hi);
  return Math.exp(-hi * hi) * Math.exp(-del);
}

/** Complementary error function erfc(x) (Cody 1969, the rational approximations used by most libm's). */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  const ax = Math.abs(x);
  let r: number;
  if (ax < 0.5) {
    // erf(x) = x · P(x²)/Q(x²)
    const t = x * x;
    const p = (((0.1857777061846032 * t + 3.16112374387057) * t + 113.86415415105016) * t + 377.485237685302) * t + 3209.3775891384694;
    const q = (((t + 23.601290952344122) * t + 244.02463793444417) * t + 1282.6165260773723) * t + 2844.236833439171;
    return 1 - (x * p) / q;
  }
  if (ax < 4) {
    const p =
      (((((((2.1531153547440383e-8 * ax + 0.5641884969886701) * ax + 8.883149794388377) * ax + 66.11919063714163) * ax +
        298.6351381974001) *
        ax +
        881.952221241769) *
        ax +
        1712.0476126340707) *
        ax +
        2051.0783778260716) *
        ax +
      1230.3393547979972;
    const q =
      (((((((ax + 15.744926110709835) * ax + 117.6939508913125) * ax + 537.1811018620099) * ax + 1621.3895745666903) * ax +
        3290.7992357334597) *
        ax +
        4362.619090143247) *
        ax +
        3439.3676741437216) *
        ax +
      1230.3393548037495;
    r = (expMinusSquare(ax) * p) / q;
  } else {
    const z = 1 / (ax * ax);
    const p =
      ((((0.016315387137302097 * z + 0.30532663496123236) * z + 0.36034489994980445) * z + 0.12578172611122926) * z +
        0.016083785148742275) *
        z +
      0.0006587491615298378;
    const q =
      ((((z + 2.568520192289822) * z + 1.8729528499234673) * z + 0.5279051029514285) * z + 0.06051834131244132) * z + 0.0023352049762686918;
    r = (expMinusSquare(ax) / ax) * (0.5641895835477563 - (z * p) / q);
  }
  return x < 0 ? 2 - r : r;
}

/** P(Z ≤ z) for a standard normal Z. */
export function normalCdf(z: number): number {
  return 0.5 * erfc(-z * SQRT1_2);
}

/** P(Z > z) for a standard normal Z, accurate far into the tail. */
export function normalSf(z: number): number {
  return 0.5 * erfc(z * SQRT1_2);
}

// ---------------------------------------------------------------------------------------------
// Gamma, incomplete beta, Student t
// ---------------------------------------------------------------------------------------------

const LANCZOS = [
  0.9999999999998099, 676.5203681218851, -1259.1392167224028, 771.3234287776531, -176.6150291621406, 12.507343278686905,
  -0.13857109526572012, 9.984369578019572e-6, 1.5056327351493116e-7,
];

/** ln Γ(x) for x > 0 (Lanczos, g = 7). */
export function lnGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - lnGamma(1 - x);
  const xx = x - 1;
  let a = LANCZOS[0] as number;
  const t = xx + 7.5;
  for (let i = 1; i < 9; i++) a += (LANCZOS[i] as number) / (xx + i);
  return 0.5 * Math.log(2 * Math.PI) + (xx + 0.5) * Math.log(t) - t + Math.log(a);
}

function betaContinuedFraction(a: number, b: number, x: number): number {
  const TINY = 1e-300;
  const qab = a + b;
  const qap = a + 1;
  const qam = a - 1;
  let c = 1;
  let d = 1 - (qab * x) / qap;
  if (Math.abs(d) < TINY) d = TINY;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (qab + m) * x) / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-15) break;
  }
  return h;
}

/** The regularized incomplete beta function I_x(a, b). */
export function regularizedBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const lnFront = lnGamma(a + b) - lnGamma(a) - lnGamma(b) + a * Math.log(x) + b * Math.log1p(-x);
  const front = Math.exp(lnFront);
  if (x < (a + 1) / (a + b + 2)) return (front * betaContinuedFraction(a, b, x)) / a;
  return 1 - (front * betaContinuedFraction(b, a, 1 - x)) / b;
}

/** P(T > t) for Student's t with `df` degrees of freedom. */
export function studentTSf(t: number, df: number): number {
  if (Number.isNaN(t) || !(df > 0)) return Number.NaN;
  if (t === Number.POSITIVE_INFINITY) return 0;
  if (t === Number.NEGATIVE_INFINITY) return 1;
  const tail = 0.5 * regularizedBeta(df / (df + t * t), df / 2, 0.5);
  return t > 0 ? tail : 1 - tail;
}

/** P(T ≤ t) for Student's t with `df` degrees of freedom. */
export function studentTCdf(t: number, df: number): number {
  return studentTSf(-t, df);
}

/** The p-quantile of Student's t with `df` degrees of freedom (bisection on the CDF, |error| < 1e-10). */
export function studentTQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1) || !(df > 0)) return Number.NaN;
  if (p === 0.5) return 0;
  if (p < 0.5) return -studentTQuantile(1 - p, df);
  let lo = 0;
  let hi = 1;
  while (studentTCdf(hi, df) < p) {
    lo = hi;
    hi *= 2;
    if (hi > 1e12) return hi;
  }
  for (let i = 0; i < 200 && hi - lo > 1e-12 * Math.max(1, hi); i++) {
    const mid = (lo + hi) / 2;
    if (studentTCdf(mid, df) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/**
 * Student's two-sample t-test from summary statistics, pooled variance (SciPy's
 * `ttest_ind_from_stats(..., equal_var=True)`). Returns the two-sided p-value and the t statistic.
 */
export function studentTTestFromStats(
  mean1: number,
  std1: number,
  n1: number,
  mean2: number,
  std2: number,
  n2: number,
): { t: number; df: number; pValue: number } {
  const df = n1 + n2 - 2;
  if (df <= 0) return { t: Number.NaN, df, pValue: Number.NaN };
  const pooled = ((n1 - 1) * std1 * std1 + (n2 - 1) * std2 * std2) / df;
  const se = Math.sqrt(pooled * (1 / n1 + 1 / n2));
  const diff = mean1 - mean2;
  if (se === 0) return { t: diff === 0 ? Number.NaN : Math.sign(diff) * Number.POSITIVE_INFINITY, df, pValue: diff === 0 ? Number.NaN : 0 };
  const t = diff / se;
  return { t, df, pValue: Math.min(1, 2 * studentTSf(Math.abs(t), df)) };
}

// ---------------------------------------------------------------------------------------------
// Descriptive statistics
// ---------------------------------------------------------------------------------------------

export function mean(xs: ArrayLike<number>): number {
  if (xs.length === 0) return Number.NaN;
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i] as number;
  return s / xs.length;
}

/** Sample variance (n − 1 in the denominator); `ddof = 0` gives the population variance. */
export function variance(xs: ArrayLike<number>, ddof = 1): number {
  const n = xs.length;
  if (n - ddof <= 0) return Number.NaN;
  const m = mean(xs);
  let s = 0;
  for (let i = 0; i < n; i++) {
    const d = (xs[i] as number) - m;
    s += d * d;
  }
  return s / (n - ddof);
}

/** The k-th smallest value (0-based) of `a`, reordering `a` in place (Hoare's quickselect). */
export function selectInPlace(a: Float64Array | number[], k: number): number {
  let lo = 0;
  let hi = a.length - 1;
  while (hi > lo) {
    const pivot = a[(lo + hi) >> 1] as number;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while ((a[i] as number) < pivot) i++;
      while ((a[j] as number) > pivot) j--;
      if (i <= j) {
        const t = a[i] as number;
        a[i] = a[j] as number;
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k] as number;
  }
  return a[k] as number;
}

/** The median of `a`, reordering `a` in place: the mean of the middle two for an even count. */
export function medianInPlace(a: Float64Array | number[]): number {
  const n = a.length;
  if (n === 0) return Number.NaN;
  const hi = selectInPlace(a, n >> 1);
  if (n % 2 === 1) return hi;
  // After selecting index n/2, everything before it is ≤ it: the largest of those is the lower middle.
  let lo = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < n >> 1; i++) if ((a[i] as number) > lo) lo = a[i] as number;
  return (lo + hi) / 2;
}

/** The median of `xs` (not modified). */
export function median(xs: ArrayLike<number>): number {
  return medianInPlace(Float64Array.from(xs as ArrayLike<number>));
}

/** Hodges–Lehmann shift estimate: the median of all differences y_j − x_i. */
export function hodgesLehmannShift(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const d = new Float64Array(x.length * y.length);
  let k = 0;
  for (let i = 0; i < x.length; i++) for (let j = 0; j < y.length; j++) d[k++] = (y[j] as number) - (x[i] as number);
  return medianInPlace(d);
}

// ---------------------------------------------------------------------------------------------
// Ranks and the Mann–Whitney U test
// ---------------------------------------------------------------------------------------------

/**
 * Ranks 1..n of `xs` (average ranks for ties) written into `out`, and Σ(t³ − t) over tie groups
 * (for the variance correction).
 */
export function rankInto(xs: ArrayLike<number>, out: Float64Array): number {
  const n = xs.length;
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => (xs[a] as number) - (xs[b] as number));
  let ties = 0;
  let i = 0;
  while (i < n) {
    let j = i + 1;
    const v = xs[order[i] as number] as number;
    while (j < n && (xs[order[j] as number] as number) === v) j++;
    const r = (i + j + 1) / 2; // ranks i+1..j averaged
    for (let k = i; k < j; k++) out[order[k] as number] = r;
    const t = j - i;
    if (t > 1) ties += t * t * t - t;
    i = j;
  }
  return ties;
}

export interface MannWhitneyResult {
  /** U of the first sample: the number of pairs (x, y) with x > y, ties counting one half. */
  u: number;
  /** Normal-approximation z of U (continuity- and tie-corrected); 0 when exact. */
  z: number;
  /** Two-sided p-value. */
  pValue: number;
  exact: boolean;
}

const exactCache = new Map<string, Float64Array>();

/** Cumulative counts of U (no ties) for sizes m ≤ n: cdf[u] = #{arrangements with U ≤ u}. */
function exactUCounts(m: number, n: number): Float64Array {
  const key = `${m},${n}`;
  const hit = exactCache.get(key);
  if (hit) return hit;
  // Generating function of U: Π_{i=1..m} (1 − q^{n+i}) / (1 − q^i), a polynomial of degree m·n.
  const deg = m * n;
  const c = new Float64Array(deg + 1);
  c[0] = 1;
  for (let i = 1; i <= m; i++) {
    const a = n + i;
    for (let k = deg; k >= a; k--) c[k] = (c[k] as number) - (c[k - a] as number);
    for (let k = i; k <= deg; k++) c[k] = (c[k] as number) + (c[k - i] as number);
  }
  for (let k = 1; k <= deg; k++) c[k] = (c[k] as number) + (c[k - 1] as number);
  if (exactCache.size >= 256) exactCache.clear();
  exactCache.set(key, c);
  return c;
}

/** Without ties, U is exact while C(n1 + n2, n1) stays below this (all counts exact in doubles). */
const EXACT_MAX_ARRANGEMENTS = 1e15;
const EXACT_MAX_DEGREE = 20_000;

function exactApplies(n1: number, n2: number): boolean {
  const m = Math.min(n1, n2);
  if (m * Math.max(n1, n2) > EXACT_MAX_DEGREE) return false;
  return lnGamma(n1 + n2 + 1) - lnGamma(n1 + 1) - lnGamma(n2 + 1) < Math.log(EXACT_MAX_ARRANGEMENTS);
}

/**
 * The two-sided Mann–Whitney U test of x against y. Exact without ties when the number of
 * arrangements C(n1 + n2, n1) is below 10^15 (e.g. 5 against 200, or 12 against 40); otherwise the normal approximation with tie and continuity
 * corrections (SciPy's `mannwhitneyu(..., method='asymptotic')`).
 */
export function mannWhitney(x: ArrayLike<number>, y: ArrayLike<number>): MannWhitneyResult {
  const n1 = x.length;
  const n2 = y.length;
  if (n1 === 0 || n2 === 0) return { u: Number.NaN, z: 0, pValue: 1, exact: false };
  const all = new Float64Array(n1 + n2);
  for (let i = 0; i < n1; i++) all[i] = x[i] as number;
  for (let j = 0; j < n2; j++) all[n1 + j] = y[j] as number;
  const ranks = new Float64Array(n1 + n2);
  const ties = rankInto(all, ranks);
  let r1 = 0;
  for (let i = 0; i < n1; i++) r1 += ranks[i] as number;
  return mannWhitneyFromRankSum(r1, n1, n2, ties);
}

/** The Mann–Whitney test from the rank sum of the first sample in the pooled ranking. */
export function mannWhitneyFromRankSum(r1: number, n1: number, n2: number, ties: number): MannWhitneyResult {
  const u = r1 - (n1 * (n1 + 1)) / 2;
  const n = n1 + n2;
  const mu = (n1 * n2) / 2;
  if (ties === 0 && exactApplies(n1, n2)) {
    const m = Math.min(n1, n2);
    const cdf = exactUCounts(m, Math.max(n1, n2));
    const total = cdf[cdf.length - 1] as number;
    // U of the smaller sample's side is symmetric: use the lower tail of min(U, n1·n2 − U).
    const uLow = Math.min(u, n1 * n2 - u);
    const p = Math.min(1, (2 * (cdf[Math.floor(uLow + 1e-9)] as number)) / total);
    return { u, z: 0, pValue: p, exact: true };
  }
  const varU = ((n1 * n2) / 12) * (n + 1 - ties / (n * (n - 1)));
  if (!(varU > 0)) return { u, z: 0, pValue: 1, exact: false };
  const dev = Math.abs(u - mu) - 0.5;
  const z = dev <= 0 ? 0 : (Math.sign(u - mu) * dev) / Math.sqrt(varU);
  return { u, z, pValue: Math.min(1, 2 * normalSf(Math.abs(z))), exact: false };
}
