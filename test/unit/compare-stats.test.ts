import { describe, expect, it } from 'vitest';
import { overallVerdict, relativeChangeInterval, summarize, verdictOf, welchPValue } from '../../src/tracking/compare-stats.ts';
import { normals } from '../helpers/baseline-data.ts';

const draw = (z: () => number, n: number, mean: number, sd: number) => Array.from({ length: n }, () => mean + sd * z());

describe('compare statistics', () => {
  it('Fieller’s interval of the ratio covers the true relative change at about the stated level (5 vs 5 samples)', () => {
    const z = normals(42);
    const trials = 4000;
    let covered = 0;
    for (let i = 0; i < trials; i++) {
      const b = summarize(draw(z, 5, 100, 3));
      const c = summarize(draw(z, 5, 110, 3));
      const r = relativeChangeInterval(b, c, 0.95);
      if (r.interval && r.interval.low <= 0.1 && 0.1 <= r.interval.high) covered++;
    }
    // Binomial standard error at 95 % over 4000 trials is 0.34 %: allow a few of them.
    expect(covered / trials).toBeGreaterThan(0.935);
    expect(covered / trials).toBeLessThan(0.965);
  });

  it('reduces to the exact ratio without noise, and handles a negative baseline mean', () => {
    const exact = relativeChangeInterval(summarize([100, 100, 100]), summarize([90, 90]), 0.95);
    expect(exact.interval).toEqual({ low: expect.closeTo(-0.1, 12), high: expect.closeTo(-0.1, 12), df: Number.POSITIVE_INFINITY });
    // (−90 − (−100)) / |−100| = +10 %: a larger value is a positive change whatever the sign.
    const negative = relativeChangeInterval(summarize([-101, -100, -99]), summarize([-91, -90, -89]), 0.95);
    expect(negative.interval?.low).toBeLessThan(0.1);
    expect(negative.interval?.high).toBeGreaterThan(0.1);
    expect(negative.interval?.low).toBeGreaterThan(0);
  });

  it('states why there is no interval: one sample a side, a zero or noisy-zero baseline mean', () => {
    expect(relativeChangeInterval(summarize([1]), summarize([2]), 0.95)).toEqual({
      interval: null,
      reason: expect.stringContaining('one sample on each side'),
    });
    expect(relativeChangeInterval(summarize([0, 0]), summarize([1, 2]), 0.95).reason).toContain('baseline mean is 0');
    expect(relativeChangeInterval(summarize([-1, 1.2]), summarize([1, 2]), 0.95).reason).toContain('not distinguishable from 0');
    // One sample on one side borrows the other side's spread.
    const one = relativeChangeInterval(summarize([100]), summarize([99, 100, 101]), 0.95);
    expect(one.interval?.df).toBe(2);
    expect(welchPValue(summarize([1]), summarize([2]))).toBeNull();
  });

  it('matches SciPy: Welch’s p-value, and Fieller’s bounds found by root-finding', () => {
    // scipy.stats.ttest_ind([1, 2, 3, 4, 5], [2, 4, 6, 8, 10], equal_var=False).pvalue
    expect(welchPValue(summarize([1, 2, 3, 4, 5]), summarize([2, 4, 6, 8, 10]))).toBeCloseTo(0.10753119493062728, 10);
    // brentq on (mc − ρ·mb)² − t²(vc + ρ²·vb), t = scipy.stats.t.ppf(0.975, df) with the Welch df at ρ̂.
    const r = relativeChangeInterval(summarize([100, 101, 99, 102, 98]), summarize([110, 111, 108, 112, 109]), 0.95);
    expect(r.interval?.low).toBeCloseTo(0.0760098275552128, 8);
    expect(r.interval?.high).toBeCloseTo(0.12457711372626101, 8);
    expect(r.interval?.df).toBeCloseTo(7.928411996266385, 8);
  });

  it('verdicts: the whole interval beyond the threshold in the worse direction is a regression, and so on', () => {
    const t = 0.05;
    expect(verdictOf({ low: 0.06, high: 0.12 }, t, 'lower')).toBe('regression');
    expect(verdictOf({ low: 0.06, high: 0.12 }, t, 'higher')).toBe('improvement');
    expect(verdictOf({ low: -0.12, high: -0.06 }, t, 'higher')).toBe('regression');
    expect(verdictOf({ low: -0.12, high: -0.06 }, t, null)).toBe('change');
    expect(verdictOf({ low: -0.02, high: 0.03 }, t, 'higher')).toBe('no_change');
    // Significant but smaller than the threshold: no change that matters.
    expect(verdictOf({ low: 0.01, high: 0.04 }, t, 'lower')).toBe('no_change');
    expect(verdictOf({ low: 0.03, high: 0.08 }, t, 'lower')).toBe('inconclusive');
    expect(verdictOf({ low: 0.05, high: 0.05 }, t, 'lower')).toBe('no_change');
    expect(verdictOf(null, t, 'lower')).toBe('inconclusive');
  });

  it('the overall verdict is a regression if any series regressed', () => {
    expect(overallVerdict(['no_change', 'improvement', 'regression', 'inconclusive'])).toBe('regression');
    expect(overallVerdict(['no_change', 'inconclusive', 'improvement'])).toBe('inconclusive');
    expect(overallVerdict(['no_change', 'change', 'improvement'])).toBe('change');
    expect(overallVerdict(['no_change', 'improvement'])).toBe('improvement');
    expect(overallVerdict(['no_change'])).toBe('no_change');
    expect(overallVerdict([])).toBe('inconclusive');
  });
});
