import { describe, expect, it } from 'vitest';
import { Rng } from '../../bench/detect/rng.ts';
import { type CommitSamples, detectChanges } from '../../src/tracking/changes/detect.ts';

interface Shape {
  n: number;
  noise: number;
  samples?: number;
  /** Multiplier of the level at each commit. */
  level?: (i: number, rng: Rng) => number;
  seed?: number;
}

function series({ n, noise, samples = 5, level = () => 1, seed = 1 }: Shape): CommitSamples[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, (_, i) => {
    const l = 1000 * level(i, rng);
    return { sha: `c${i}`, samples: Array.from({ length: samples }, () => l * (1 + noise * rng.normal())) };
  });
}

const step =
  (at: number, factor: number) =>
  (i: number): number =>
    i >= at ? factor : 1;

describe('detectChanges', () => {
  it('finds a 10 % step at 2 % noise at its commit (±1), with its statistics', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const cps = detectChanges(series({ n: 200, noise: 0.02, level: step(120, 1.1), seed }));
      expect(cps).toHaveLength(1);
      const cp = cps[0]!;
      expect(Math.abs(cp.index - 120)).toBeLessThanOrEqual(1);
      expect(cp.sha).toBe(`c${cp.index}`);
      expect(cp.previousSha).toBe(`c${cp.index - 1}`);
      expect(cp.previousIndex).toBe(cp.index - 1);
      expect(cp.relativeChange).toBeGreaterThan(0.08);
      expect(cp.relativeChange).toBeLessThan(0.12);
      expect(cp.before.median).toBeCloseTo(1000, -1);
      expect(cp.after.median).toBeCloseTo(1100, -1);
      expect(cp.before.mean).toBeCloseTo(1000, -1);
      expect(cp.after.mean).toBeCloseTo(1100, -1);
      expect(cp.before.samples).toBe(cp.before.commits * 5);
      expect(cp.pValue).toBeGreaterThan(0);
      expect(cp.pValue).toBeLessThanOrEqual(0.001);
      expect(cp.kind).toBe('change');
    }
  });

  it('places a clear step exactly: the reported last good commit is never already at the new level', () => {
    // A bisection starts from (previousSha, sha): one commit off and it blames the wrong commit.
    // Short series with few commits a side are where the rank statistic alone drifted by one.
    let exact = 0;
    let total = 0;
    for (let seed = 1; seed <= 60; seed++) {
      const n = 12 + (seed % 10);
      const at = 5 + (seed % (n - 10));
      const cps = detectChanges(series({ n, noise: 0.005, level: step(at, 1.1), seed }), { minCommits: 4 });
      if (cps.length !== 1) continue;
      total++;
      if (cps[0]!.index === at) exact++;
    }
    expect(total).toBeGreaterThanOrEqual(40);
    expect(exact).toBe(total);
  });

  it('labels by direction; unknown direction is never a regression', () => {
    const down = series({ n: 200, noise: 0.02, level: step(100, 0.9) });
    expect(detectChanges(down, { direction: 'higher' }).map((c) => c.kind)).toEqual(['regression']);
    expect(detectChanges(down, { direction: 'lower' }).map((c) => c.kind)).toEqual(['improvement']);
    expect(detectChanges(down, { direction: null }).map((c) => c.kind)).toEqual(['change']);
    const up = series({ n: 200, noise: 0.02, level: step(100, 1.1) });
    expect(detectChanges(up, { direction: 'lower' }).map((c) => c.kind)).toEqual(['regression']);
    expect(detectChanges(up, { direction: 'higher' }).map((c) => c.kind)).toEqual(['improvement']);
  });

  it('finds several steps, a transient regression included', () => {
    const level = (i: number) => (i >= 300 ? 1.15 : i >= 200 ? 1.0 : i >= 150 ? 0.9 : i >= 60 ? 1.05 : 1);
    const cps = detectChanges(series({ n: 400, noise: 0.02, level }));
    const at = cps.map((c) => c.index);
    expect(at).toHaveLength(4);
    for (const [k, x] of [60, 150, 200, 300].entries()) expect(Math.abs((at[k] as number) - x)).toBeLessThanOrEqual(1);
  });

  it('raises nothing on noise alone', () => {
    for (let seed = 1; seed <= 20; seed++) expect(detectChanges(series({ n: 500, noise: 0.02, seed }))).toEqual([]);
    // At 5 % noise the 2 % minimum effect is within reach of chance: alarms stay rare.
    let alarmed = 0;
    for (let seed = 1; seed <= 40; seed++) if (detectChanges(series({ n: 500, noise: 0.05, seed: 100 + seed })).length) alarmed++;
    expect(alarmed).toBeLessThanOrEqual(2);
  });

  it('raises nothing for single outliers', () => {
    const s = series({ n: 300, noise: 0.02 });
    (s[150] as CommitSamples).samples = (s[150] as CommitSamples).samples.map((v) => v * 3);
    (s[200] as CommitSamples).samples = (s[200] as CommitSamples).samples.map((v) => v * 0.3);
    (s[250] as CommitSamples).samples = [1e9, ...(s[250] as CommitSamples).samples.slice(1)]; // one wild sample
    expect(detectChanges(s)).toEqual([]);
  });

  it('raises nothing for bimodal noise (two machine states at random)', () => {
    for (let seed = 1; seed <= 10; seed++) {
      const bimodal = (_: number, rng: Rng) => (rng.chance(0.4) ? 1.08 : 1);
      expect(detectChanges(series({ n: 400, noise: 0.01, level: bimodal, seed }))).toEqual([]);
    }
  });

  it('raises nothing for a slow drift', () => {
    for (let seed = 1; seed <= 10; seed++) {
      const drift = (i: number) => 1 + (0.2 * i) / 400;
      const cps = detectChanges(series({ n: 400, noise: 0.02, level: drift, seed }), { direction: 'lower' });
      expect(cps).toEqual([]);
    }
  });

  it('still finds a step on top of a drift', () => {
    const level = (i: number) => (1 + (0.2 * i) / 400) * (i >= 250 ? 0.85 : 1);
    const cps = detectChanges(series({ n: 400, noise: 0.02, level }), { direction: 'higher' });
    expect(cps.map((c) => c.kind)).toEqual(['regression']);
    expect(Math.abs((cps[0]?.index as number) - 250)).toBeLessThanOrEqual(1);
  });

  it('handles missing commits: empty samples and absent commits', () => {
    const s = series({ n: 300, noise: 0.02, level: step(150, 0.9) });
    const rng = new Rng(9);
    for (let i = 0; i < s.length; i++) if (rng.chance(0.3)) (s[i] as CommitSamples).samples = [];
    for (let i = 140; i < 150; i++) (s[i] as CommitSamples).samples = []; // a gap right before the step
    (s[150] as CommitSamples).samples = [];
    const cps = detectChanges(s);
    expect(cps).toHaveLength(1);
    const cp = cps[0]!;
    // The change is reported at the first measured commit of the new regime, and the previous sha is the last measured one.
    const firstAfter = s.findIndex((c, i) => i >= 150 && c.samples.length > 0);
    const lastBefore = s.findLastIndex((c, i) => i < 150 && c.samples.length > 0);
    expect(Math.abs(cp.index - firstAfter)).toBeLessThanOrEqual(1);
    if (cp.index === firstAfter) {
      expect(cp.previousIndex).toBe(lastBefore);
      expect(cp.previousSha).toBe(`c${lastBefore}`);
    }
    const absent = s.filter((c) => c.samples.length > 0);
    const again = detectChanges(absent);
    expect(again).toHaveLength(1);
    expect(again[0]?.sha).toBe(cp.sha);
  });

  it('uses repeated samples, and works with one sample per commit', () => {
    const one = series({ n: 300, noise: 0.02, samples: 1, level: step(180, 1.1) });
    const cps = detectChanges(one);
    expect(cps).toHaveLength(1);
    expect(Math.abs((cps[0]?.index as number) - 180)).toBeLessThanOrEqual(1);
    const rng = new Rng(3);
    const varying = series({ n: 300, noise: 0.02, samples: 10, level: step(180, 1.1) }).map((c) => ({
      sha: c.sha,
      samples: c.samples.slice(0, rng.int(1, 10)),
    }));
    const v = detectChanges(varying);
    expect(v).toHaveLength(1);
    expect(v[0]?.before.samples).toBeGreaterThan(v[0]?.before.commits as number);
  });

  it('has a minimum effect size (default 2 %, configurable)', () => {
    const small = series({ n: 300, noise: 0.002, level: step(150, 1.015) });
    expect(detectChanges(small)).toEqual([]);
    const cps = detectChanges(small, { minEffect: 0.01 });
    expect(cps.map((c) => c.index)).toEqual([150]);
  });

  it('has a minimum sample size per side', () => {
    const late = series({ n: 200, noise: 0.01, level: step(197, 1.2) });
    expect(detectChanges(late)).toEqual([]);
    expect(detectChanges(late, { minCommits: 3, minSamples: 10 }).map((c) => c.index)).toEqual([197]);
    expect(detectChanges(late, { minCommits: 3, minSamples: 20 })).toEqual([]);
  });

  it('returns nothing for short or empty input, and ignores non-finite samples', () => {
    expect(detectChanges([])).toEqual([]);
    expect(detectChanges(series({ n: 8, noise: 0.01 }))).toEqual([]);
    const s = series({ n: 200, noise: 0.02, level: step(100, 1.1) });
    (s[10] as CommitSamples).samples = [Number.NaN, Number.POSITIVE_INFINITY];
    expect(detectChanges(s).map((c) => c.index)).toEqual([100]);
  });
});
