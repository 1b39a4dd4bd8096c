import { describe, expect, it } from 'vitest';
import {
  hodgesLehmannShift,
  lnGamma,
  mannWhitney,
  median,
  normalCdf,
  normalSf,
  rankInto,
  regularizedBeta,
  studentTQuantile,
  studentTSf,
  studentTTestFromStats,
} from '../../src/tracking/changes/stats.ts';

// Reference values from SciPy 1.17 (scipy.stats / scipy.special).
const close = (actual: number, expected: number, rel = 1e-9) =>
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(rel * Math.abs(expected));

describe('normal distribution', () => {
  it('matches scipy.stats.norm.sf far into the tail', () => {
    close(normalSf(0), 0.5);
    close(normalSf(1.96), 0.024997895148220435);
    close(normalSf(3), 0.0013498980316300933);
    close(normalSf(6), 9.865876450376946e-10);
    close(normalSf(10), 7.61985302416047e-24);
    close(normalSf(20), 2.7536241186061556e-89);
  });
  it('matches scipy.stats.norm.cdf', () => {
    close(normalCdf(-1.5), 0.06680720126885807);
    close(normalCdf(0.3), 0.6179114221889526);
  });
});

describe('gamma, beta and Student t', () => {
  it('lnGamma and the regularized incomplete beta match scipy.special', () => {
    close(lnGamma(0.5), 0.5723649429247, 1e-12);
    close(lnGamma(100), 359.1342053695754, 1e-12);
    close(regularizedBeta(0.3, 2, 5), 0.5798250000000003);
    close(regularizedBeta(0.9, 0.5, 0.5), 0.7951672353008665);
  });
  it('studentTSf matches scipy.stats.t.sf', () => {
    close(studentTSf(2, 5), 0.050969739414929174);
    close(studentTSf(-1, 3), 0.8044988905221148);
    close(studentTSf(10, 30), 2.287625704114809e-11);
    close(studentTSf(0.5, 1), 0.35241638234956674);
    close(studentTSf(3.2, 120), 0.0008792849619446538);
  });
  it('studentTQuantile matches scipy.stats.t.ppf', () => {
    close(studentTQuantile(0.99, 63), 2.3870078634697967);
    close(studentTQuantile(0.99, 1), 31.820515953773935);
    close(studentTQuantile(0.975, 10), 2.228138851986274);
    close(studentTQuantile(0.01, 5), -3.364929998907218);
  });
  it('the pooled two-sample t-test matches scipy.stats.ttest_ind_from_stats', () => {
    const r = studentTTestFromStats(10, 2, 12, 12, 3, 15);
    close(r.t, -1.9802950859533486);
    close(r.pValue, 0.05877686880594053);
  });
});

describe('Mann–Whitney U', () => {
  it('is exact for small samples without ties (scipy method="exact")', () => {
    const x = [1.83, 0.5, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.3];
    const y = [0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29];
    // y has ties (1.06, 1.29), so this one is asymptotic: check the exact path on tie-free data.
    expect(mannWhitney(x, y).exact).toBe(false);
    const r = mannWhitney([1, 2, 3, 4, 5], [6, 7, 8, 9, 10]);
    expect(r.exact).toBe(true);
    expect(r.u).toBe(0);
    close(r.pValue, 2 / 252);
    close(mannWhitney([1, 4, 2, 8], [3, 5, 6, 7, 9]).pValue, 0.2857142857142857);
    const a = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13];
    const b = [2.5, 30, 40, 50, 60, 70, 80, 90, 100, 110, ...Array.from({ length: 18 }, (_, i) => 111 + i)];
    close(mannWhitney(a, b).pValue, 2.2133842784322642e-8);
    // A short side against a long one (a change near the newest commits) stays exact.
    const few = mannWhitney(
      [100.5, 101.2, 99.7],
      Array.from({ length: 80 }, (_, i) => 1.1 * i),
    );
    expect(few.exact).toBe(true);
    expect(few.u).toBe(240);
    close(few.pValue, 2.176728594595183e-5);
  });
  it('uses the tie- and continuity-corrected normal approximation otherwise (scipy method="asymptotic")', () => {
    const r = mannWhitney([1, 2, 2, 3, 4, 5, 7], [3, 3, 6, 7, 8, 9, 10, 11]);
    expect(r.u).toBe(8.5);
    close(r.pValue, 0.027056781135476094);
    const a = [
      0.3, 0.8, 0.3, -1.3, 0.9, 0.4, -0.5, 0.6, 0.4, 0.3, 0, 0.5, -0.7, -0.2, -0.5, 0.6, 0, -0.3, -0.8, -0.3, 0, -0.3, 1.3, 1, -2.7, -1.9,
      -0.2, -0.4, 0.2, 0.2,
    ];
    const b = [
      2.9, -0.3, 0.4, 2.8, 1.4, 1.5, 0.3, -0.8, 1, 0.9, -0.4, 0.1, 0.7, -0.1, 0.7, 0.9, 0.8, 0.3, 1.4, 1.7, 1.1, 0, 1.5, 0.3, 1.7, -0.3,
      1.7, 0.8, -0.4, 0.5, 0.9, 1.1, -0.2, -0.3, 1, 0.3, 1, 1.6, -0.8, 1.1, 2, 0.5, 0, 1.6, 1.1,
    ];
    const big = mannWhitney(a, b);
    expect(big.u).toBe(333.5);
    close(big.pValue, 0.00022209643788614412, 1e-8);
  });
  it('is symmetric and gives p = 1 for identical samples', () => {
    expect(mannWhitney([3, 1, 2], [6, 5, 4]).pValue).toBe(mannWhitney([6, 5, 4], [3, 1, 2]).pValue);
    expect(mannWhitney([1, 1, 1, 1], [1, 1, 1, 1]).pValue).toBe(1);
  });
});

describe('descriptive helpers', () => {
  it('median of odd and even counts', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });
  it('average ranks for ties and the tie term Σ(t³ − t)', () => {
    const r = new Float64Array(5);
    expect(rankInto([10, 20, 20, 30, 20], r)).toBe(24);
    expect([...r]).toEqual([1, 3, 3, 5, 3]);
  });
  it('Hodges–Lehmann shift is the median pairwise difference', () => {
    expect(hodgesLehmannShift([1, 2, 3], [11, 12, 13])).toBe(10);
  });
});
