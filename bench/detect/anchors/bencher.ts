import { studentTQuantile } from '../../../src/tracking/changes/stats.ts';
import { type Anchor, collapseRuns, measured } from './common.ts';

/**
 * Bencher's t-test Threshold (bencherdev/bencher, lib/bencher_boundary): the new metric is tested
 * against the previous `max_sample_size` = 64 metrics of the same branch and testbed. With their
 * mean x̄ and sample standard deviation s (n − 1), the limit is the `boundary` = 0.99 quantile of a
 * Student t with n − 1 degrees of freedom, location x̄ and scale s·√(1 + 1/n) (a prediction
 * interval for one new value): alert when the metric is above x̄ + t₀.₉₉·s·√(1 + 1/n) (upper
 * boundary) or below x̄ − t₀.₉₉·s·√(1 + 1/n) (lower boundary). Bencher needs at least 2 values
 * and a non-zero deviation. One metric per commit: the mean of its samples.
 *
 * Bencher's documented setup names one boundary in the direction of a regression; with unknown
 * directions and labels that include improvements, both boundaries are set at 0.99 here.
 */
export const BENCHER_MAX_SAMPLE_SIZE = 64;
export const BENCHER_BOUNDARY = 0.99;

const quantiles = new Map<number, number>();
function tQuantile(df: number): number {
  let q = quantiles.get(df);
  if (q === undefined) {
    q = studentTQuantile(BENCHER_BOUNDARY, df);
    quantiles.set(df, q);
  }
  return q;
}

export const bencher: Anchor = ({ commits }) => {
  const { idx, values } = measured(commits);
  const flags = values.map((v, j) => {
    const from = Math.max(0, j - BENCHER_MAX_SAMPLE_SIZE);
    const n = j - from;
    if (n < 2) return false;
    let sum = 0;
    for (let i = from; i < j; i++) sum += values[i] as number;
    const mean = sum / n;
    let ss = 0;
    for (let i = from; i < j; i++) ss += ((values[i] as number) - mean) ** 2;
    const sd = Math.sqrt(ss / (n - 1));
    if (!(sd > 0) || !Number.isFinite(sd)) return false;
    const limit = tQuantile(n - 1) * sd * Math.sqrt(1 + 1 / n);
    return v > mean + limit || v < mean - limit;
  });
  return collapseRuns(flags, idx);
};
