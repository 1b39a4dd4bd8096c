import { type Anchor, collapseRuns, measured } from './common.ts';

/**
 * Conbench's lookback z-score (conbench/conbench, conbench/entities/history.py, defaults
 * `DISTRIBUTION_COMMITS = 100`, `DEFAULT_Z_SCORE_THRESHOLD = 5.0`, `SVS_TYPE = "best"`):
 *
 * - each commit's single value summary is the "best" of its samples: the maximum for
 *   higher-is-better units, otherwise the minimum;
 * - the baseline distribution of a commit is the results of the last 100 commits of its
 *   ancestry (the parent inclusive);
 * - outliers of that history are dropped first ("trimmed estimators"): the differences between
 *   consecutive values, with those outside their 5th–95th percentile set aside, give a rolling
 *   mean and standard deviation; a difference more than 5 of those deviations away is a shift,
 *   and a shift immediately followed by another (it reverts) marks an outlier;
 * - the distribution's mean is the mean of the kept values; its deviation is the standard
 *   deviation (n − 1) of the residuals of each kept value from the mean of the kept values before
 *   it (the first one's residual is 0);
 * - z = (value − mean) / deviation, and |z| > 5 indicates a regression or an improvement.
 *
 * Without manual "distribution change" annotations, which need a curator.
 */
export const CONBENCH_COMMITS = 100;
export const CONBENCH_Z = 5;

function quantile(sorted: readonly number[], q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return (sorted[lo] as number) + ((sorted[hi] as number) - (sorted[lo] as number)) * (pos - lo);
}

function std(xs: readonly number[]): number {
  if (xs.length < 2) return Number.NaN;
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1));
}

/** Outlier flags of a history (Conbench's `_detect_shifts_with_trimmed_estimators`). */
function outliers(svs: readonly number[]): boolean[] {
  const n = svs.length;
  const diff = svs.map((v, i) => (i === 0 ? Number.NaN : v - (svs[i - 1] as number)));
  const finite = diff.filter((d) => !Number.isNaN(d)).sort((a, b) => a - b);
  if (finite.length === 0) return new Array<boolean>(n).fill(false);
  const q05 = quantile(finite, 0.05);
  const q95 = quantile(finite, 0.95);
  const clipped = diff.map((d) => (Number.isNaN(d) || d < q05 || d > q95 ? Number.NaN : d));
  // The rolling window (100 rows) covers the whole history (at most 100 commits): running sums.
  const shift: boolean[] = [];
  let count = 0;
  let sum = 0;
  let sumSq = 0;
  for (let i = 0; i < n; i++) {
    const c = clipped[i] as number;
    if (!Number.isNaN(c)) {
      count++;
      sum += c;
      sumSq += c * c;
    }
    const m = sum / count;
    const sd = count < 2 ? Number.NaN : Math.sqrt(Math.max(0, (sumSq - count * m * m) / (count - 1)));
    const z = ((diff[i] as number) - m) / sd;
    shift.push(Math.abs(z) > CONBENCH_Z);
  }
  return shift.map((s, i) => s && shift[i + 1] === true);
}

export const conbench: Anchor = ({ commits, direction }) => {
  const best = (s: number[]) => (direction === 'higher' ? Math.max(...s) : Math.min(...s));
  const { idx, values } = measured(commits, best);
  const flags = values.map((v, j) => {
    // The history: measured commits among the last 100 commits before this one.
    let from = j;
    while (from > 0 && (idx[j] as number) - (idx[from - 1] as number) <= CONBENCH_COMMITS) from--;
    const history = values.slice(from, j);
    if (history.length < 2) return false;
    const out = outliers(history);
    const kept = history.filter((_, i) => !out[i]);
    if (kept.length < 2) return false;
    const residuals: number[] = [];
    let sum = 0;
    kept.forEach((x, i) => {
      residuals.push(i === 0 ? 0 : x - sum / i);
      sum += x;
    });
    const mean = sum / kept.length;
    const sd = std(residuals);
    if (!(sd > 0)) return false;
    return Math.abs((v - mean) / sd) > CONBENCH_Z;
  });
  return collapseRuns(flags, idx);
};
