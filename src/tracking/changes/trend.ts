import { medianInPlace } from './stats.ts';

/**
 * The drift guard's fit on the per-commit medians of [l, r): y = a + b·x + d·[x ≥ x_c] by least
 * squares (x = input index), refitted once with the residuals clipped at 2.5 robust standard
 * deviations (MAD) so that outliers do not decide. Returns d and its t statistic.
 */
export function stepOverTrend(x: ArrayLike<number>, y: ArrayLike<number>, split: number): { step: number; t: number; slopeT: number } {
  const n = y.length;
  if (n < 4 || split <= 0 || split >= n) return { step: 0, t: 0, slopeT: 0 };
  const x0 = x[0] as number;
  const w = new Float64Array(n);
  for (let i = 0; i < n; i++) w[i] = y[i] as number;
  let fit = ols3(x, w, split, x0);
  const res = new Float64Array(n);
  for (let i = 0; i < n; i++) res[i] = Math.abs((y[i] as number) - fit.predict(i));
  const mad = medianInPlace(res.slice()) * 1.4826;
  if (mad > 0) {
    const lim = 2.5 * mad;
    for (let i = 0; i < n; i++) {
      const p = fit.predict(i);
      const r = (y[i] as number) - p;
      w[i] = r > lim ? p + lim : r < -lim ? p - lim : (y[i] as number);
    }
    fit = ols3(x, w, split, x0);
  }
  const ratio = (v: number, se: number) => (se > 0 ? v / se : v === 0 ? 0 : Math.sign(v) * Number.POSITIVE_INFINITY);
  return { step: fit.step, t: ratio(fit.step, fit.se), slopeT: ratio(fit.slope, fit.slopeSe) };
}

function ols3(x: ArrayLike<number>, y: ArrayLike<number>, split: number, x0: number) {
  const n = y.length;
  // Normal equations for columns [1, x − x0, step].
  let sx = 0;
  let sxx = 0;
  let ss = 0;
  let sxs = 0;
  let sy = 0;
  let sxy = 0;
  let ssy = 0;
  for (let i = 0; i < n; i++) {
    const xi = (x[i] as number) - x0;
    const si = i >= split ? 1 : 0;
    const yi = y[i] as number;
    sx += xi;
    sxx += xi * xi;
    ss += si;
    sxs += xi * si;
    sy += yi;
    sxy += xi * yi;
    ssy += si * yi;
  }
  // Solve [[n, sx, ss], [sx, sxx, sxs], [ss, sxs, ss]] · [a, b, d] = [sy, sxy, ssy] (Cramer).
  const m00 = n;
  const m01 = sx;
  const m02 = ss;
  const m11 = sxx;
  const m12 = sxs;
  const m22 = ss;
  const c00 = m11 * m22 - m12 * m12;
  const c01 = m02 * m12 - m01 * m22;
  const c02 = m01 * m12 - m02 * m11;
  const det = m00 * c00 + m01 * c01 + m02 * c02;
  if (!(Math.abs(det) > 0)) return { step: 0, se: 0, slope: 0, slopeSe: 0, predict: (_: number) => sy / n };
  const c11 = m00 * m22 - m02 * m02;
  const c12 = m01 * m02 - m00 * m12;
  const c22 = m00 * m11 - m01 * m01;
  const a = (c00 * sy + c01 * sxy + c02 * ssy) / det;
  const b = (c01 * sy + c11 * sxy + c12 * ssy) / det;
  const d = (c02 * sy + c12 * sxy + c22 * ssy) / det;
  const predict = (i: number) => a + b * ((x[i] as number) - x0) + (i >= split ? d : 0);
  let rss = 0;
  for (let i = 0; i < n; i++) rss += ((y[i] as number) - predict(i)) ** 2;
  const sigma2 = n > 3 ? rss / (n - 3) : 0;
  return { step: d, se: Math.sqrt((sigma2 * c22) / det), slope: b, slopeSe: Math.sqrt((sigma2 * c11) / det), predict };
}
