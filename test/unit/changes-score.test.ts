import { describe, expect, it } from 'vitest';
import { matchDetections, prf } from '../../bench/detect/score.ts';

describe('change-point scoring', () => {
  it('counts a detection within ±5 commits of a label', () => {
    expect(matchDetections([105], [100])).toMatchObject({ tp: 1, fp: 0, fn: 0 });
    expect(matchDetections([95], [100])).toMatchObject({ tp: 1, fp: 0, fn: 0 });
    expect(matchDetections([106], [100])).toMatchObject({ tp: 0, fp: 1, fn: 1 });
    expect(matchDetections([94], [100])).toMatchObject({ tp: 0, fp: 1, fn: 1 });
  });
  it('matches each label at most once', () => {
    expect(matchDetections([99, 100, 101], [100])).toMatchObject({ tp: 1, fp: 2, fn: 0 });
  });
  it('matches each detection at most once, and finds the maximum matching', () => {
    // 103 could take either label; greedy order gives 96 → 100 and 103 → 107.
    expect(matchDetections([103, 96], [100, 107])).toMatchObject({ tp: 2, fp: 0, fn: 0 });
    expect(matchDetections([100], [97, 103])).toMatchObject({ tp: 1, fp: 0, fn: 1 });
  });
  it('ignores unmatched detections inside ignore ranges (inclusive)', () => {
    expect(matchDetections([60, 67, 68], [], 5, [[56, 67]])).toMatchObject({ tp: 0, fp: 1, fn: 0 });
  });
  it('precision, recall and F1', () => {
    expect(prf({ tp: 3, fp: 1, fn: 1 })).toEqual({ precision: 0.75, recall: 0.75, f1: 0.75 });
    expect(prf({ tp: 0, fp: 0, fn: 0 })).toEqual({ precision: 1, recall: 1, f1: 1 });
    expect(prf({ tp: 0, fp: 2, fn: 0 }).f1).toBe(0);
  });
});
