import type { CommitSamples } from '../../src/tracking/changes/detect.ts';
import type { Direction } from '../../src/tracking/formats/normalized.ts';
import { Rng } from './rng.ts';
import type { LabelledSeries } from './series.ts';

/**
 * The synthetic labelled set: every category is a kind of trouble real benchmark series have.
 * Steps are 2–30 % (log-uniform, either sign), noise 1–10 % of the level per sample (Gaussian
 * unless said otherwise), 5 samples per commit unless said otherwise, 300–600 commits, steps at
 * least 30 commits apart and 10 from either end. A third of the series of each category (all of
 * `no-change`) have no change at all.
 *
 * - `step`: clean steps in Gaussian noise.
 * - `no-change`: Gaussian noise only.
 * - `heavy-tail`: Student t noise with 2 or 3 degrees of freedom (the scale is the noise level).
 * - `outliers`: 2 % of commits are outliers (all their samples ×(1 ± 20–100 %)), 1 % of samples too.
 * - `bimodal`: two machine states: each commit runs on the slow one with probability 20–50 %,
 *   which adds 4–12 %; the proportion never changes.
 * - `drift`: a slow linear drift of 5–30 % over the whole series (either sign), not a change point.
 * - `missing`: 10–40 % of the commits not measured (half of the series with empty samples, half
 *   with the commits absent), plus gaps of 5–20 commits.
 * - `samples`: one sample per commit, or 1–10 samples (varying per commit).
 * - `transient`: a regression fixed 10–40 commits later (two change points), plus steps.
 */
export const SYNTHETIC_CATEGORIES = [
  'step',
  'no-change',
  'heavy-tail',
  'outliers',
  'bimodal',
  'drift',
  'missing',
  'samples',
  'transient',
] as const;
export type SyntheticCategory = (typeof SYNTHETIC_CATEGORIES)[number];

interface Plan {
  n: number;
  steps: { at: number; factor: number }[];
}

function placeSteps(rng: Rng, n: number, count: number, minGap = 30, edge = 10): number[] {
  for (let attempt = 0; attempt < 200; attempt++) {
    const at = Array.from({ length: count }, () => rng.int(edge, n - edge)).sort((a, b) => a - b);
    let ok = true;
    for (let i = 1; i < at.length; i++) if ((at[i] as number) - (at[i - 1] as number) < minGap) ok = false;
    if (ok) return at;
  }
  return [];
}

function magnitude(rng: Rng): number {
  const m = rng.logUniform(0.02, 0.3);
  return rng.chance(0.5) ? 1 + m : 1 / (1 + m);
}

function plan(rng: Rng, category: SyntheticCategory, withChange: boolean): Plan {
  const n = rng.int(300, 600);
  if (!withChange) return { n, steps: [] };
  if (category === 'transient') {
    const start = rng.int(20, n - 80);
    const length = rng.int(10, 40);
    const m = rng.logUniform(0.02, 0.3);
    const steps = [
      { at: start, factor: 1 + m },
      { at: start + length, factor: 1 / (1 + m) },
    ];
    // Plus up to one ordinary step elsewhere.
    if (rng.chance(0.5)) {
      const at = rng.int(10, n - 10);
      if (at < start - 30 || at > start + length + 30) steps.push({ at, factor: magnitude(rng) });
    }
    return { n, steps: steps.sort((a, b) => a.at - b.at) };
  }
  const count = rng.int(1, 3);
  return { n, steps: placeSteps(rng, n, count).map((at) => ({ at, factor: magnitude(rng) })) };
}

/** One synthetic series of a category. */
export function syntheticSeries(rng: Rng, category: SyntheticCategory, id: number): LabelledSeries {
  const withChange = category !== 'no-change' && id % 3 !== 0;
  const { n, steps } = plan(rng, category, withChange);
  const sigma = rng.uniform(0.01, 0.1);
  const base = rng.logUniform(10, 100_000);
  const direction: Direction | null = rng.pick(['higher', 'lower', null] as const);
  const df = rng.pick([2, 3]);
  const slowShift = rng.uniform(0.04, 0.12);
  const slowShare = rng.uniform(0.2, 0.5);
  const drift = (rng.chance(0.5) ? 1 : -1) * rng.uniform(0.05, 0.3);
  const variable = rng.chance(0.5);

  const commits: CommitSamples[] = [];
  let factor = 1;
  let s = 0;
  for (let i = 0; i < n; i++) {
    while (s < steps.length && (steps[s] as Plan['steps'][number]).at === i) factor *= (steps[s++] as Plan['steps'][number]).factor;
    let level = base * factor;
    if (category === 'drift') level *= 1 + (drift * i) / n;
    if (category === 'bimodal' && rng.chance(slowShare)) level *= 1 + slowShift;
    let count = 5;
    if (category === 'samples') count = variable ? rng.int(1, 10) : 1;
    const commitOutlier = category === 'outliers' && rng.chance(0.02) ? 1 + (rng.chance(0.5) ? 1 : -0.5) * rng.uniform(0.2, 1) : 1;
    const samples: number[] = [];
    for (let k = 0; k < count; k++) {
      const e = category === 'heavy-tail' ? rng.studentT(df) : rng.normal();
      let v = level * (1 + sigma * e) * commitOutlier;
      if (category === 'outliers' && rng.chance(0.01)) v *= 1 + rng.uniform(0.5, 3);
      samples.push(v);
    }
    commits.push({ sha: `${category}-${id}-${i.toString(16).padStart(4, '0')}`, samples });
  }
  let changePoints = steps.map((x) => x.at);

  if (category === 'missing') {
    const rate = rng.uniform(0.1, 0.4);
    const missing = new Set<number>();
    for (let i = 0; i < n; i++) if (rng.chance(rate)) missing.add(i);
    for (let g = rng.int(1, 3); g > 0; g--) {
      const at = rng.int(0, n - 20);
      for (let i = at, e = at + rng.int(5, 20); i < e; i++) missing.add(i);
    }
    // A change point is the first measured commit of the new regime.
    changePoints = changePoints.map((c) => {
      let i = c;
      while (missing.has(i) && i < n - 1) i++;
      return i;
    });
    if (variable) {
      for (const i of missing) (commits[i] as CommitSamples).samples = [];
    } else {
      const newIndex = new Int32Array(n);
      const kept: CommitSamples[] = [];
      for (let i = 0; i < n; i++) {
        newIndex[i] = kept.length;
        if (!missing.has(i)) kept.push(commits[i] as CommitSamples);
      }
      changePoints = changePoints.map((c) => newIndex[c] as number);
      commits.splice(0, commits.length, ...kept);
    }
  }
  return { name: `${category}-${id}`, category, commits, direction, changePoints, ignore: [] };
}

/** The whole synthetic set: `perCategory` series of each category, from one seed. */
export function syntheticSet(seed: number, perCategory: number): LabelledSeries[] {
  const rng = new Rng(seed);
  const out: LabelledSeries[] = [];
  for (const category of SYNTHETIC_CATEGORIES) for (let id = 0; id < perCategory; id++) out.push(syntheticSeries(rng, category, id));
  return out;
}

/** A series for the speed benchmark: `n` commits × `samples` samples, Gaussian noise 1–10 %, 0–3 steps. */
export function speedSeries(rng: Rng, n = 1000, samples = 5): CommitSamples[] {
  const steps = placeSteps(rng, n, rng.int(0, 3));
  const sigma = rng.uniform(0.01, 0.1);
  let level = rng.logUniform(10, 100_000);
  const out: CommitSamples[] = [];
  for (let i = 0; i < n; i++) {
    if (steps.includes(i)) level *= magnitude(rng);
    out.push({ sha: i.toString(16).padStart(8, '0'), samples: Array.from({ length: samples }, () => level * (1 + sigma * rng.normal())) });
  }
  return out;
}
