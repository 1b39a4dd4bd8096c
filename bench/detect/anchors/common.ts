import type { CommitSamples } from '../../../src/tracking/changes/detect.ts';
import type { Direction } from '../../../src/tracking/formats/normalized.ts';

/** What every anchor gets: the commits in order (with their samples) and the series' direction. */
export interface AnchorInput {
  commits: readonly CommitSamples[];
  direction: Direction | null;
}

/** An anchor returns the indices (into `commits`) of the commits it raises. */
export type Anchor = (input: AnchorInput) => number[];

/** The measured commits: their input indices and one value each (the mean of the samples, unless `reduce` says otherwise). */
export function measured(
  commits: readonly CommitSamples[],
  reduce: (samples: number[]) => number = (s) => s.reduce((a, b) => a + b, 0) / s.length,
): { idx: number[]; values: number[] } {
  const idx: number[] = [];
  const values: number[] = [];
  commits.forEach((c, i) => {
    const s = c.samples.filter(Number.isFinite);
    if (s.length === 0) return;
    idx.push(i);
    values.push(reduce(s));
  });
  return { idx, values };
}

/**
 * Per-commit alert rules (Conbench, github-action-benchmark, Bencher) flag every commit that
 * crosses their threshold. A run of consecutive flagged commits is one event: it becomes one
 * detection at its first commit. That can only help these anchors (the later alerts of a run
 * would otherwise be false positives).
 */
export function collapseRuns(flags: readonly boolean[], idx: readonly number[]): number[] {
  const out: number[] = [];
  for (let j = 0; j < flags.length; j++) if (flags[j] && !flags[j - 1]) out.push(idx[j] as number);
  return out;
}
