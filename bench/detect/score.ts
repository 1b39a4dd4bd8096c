/**
 * Scoring detections against labels: a detection counts when it lies within ±`tolerance` indices
 * of a labelled change point, and each labelled point is matched at most once (so is each
 * detection). Matching is greedy in index order, each detection taking the earliest unmatched
 * label within reach, which gives a maximum matching for intervals of equal width. An unmatched
 * detection inside an `ignore` range (inclusive) is neither a true nor a false positive.
 */
export interface Score {
  tp: number;
  fp: number;
  fn: number;
}

export function matchDetections(
  detections: readonly number[],
  labels: readonly number[],
  tolerance = 5,
  ignore: readonly (readonly [number, number])[] = [],
): Score & { matches: [number, number][] } {
  const d = [...detections].sort((a, b) => a - b);
  const l = [...labels].sort((a, b) => a - b);
  const used = new Array<boolean>(l.length).fill(false);
  const matches: [number, number][] = [];
  let fp = 0;
  let from = 0;
  for (const x of d) {
    while (from < l.length && (l[from] as number) < x - tolerance) from++;
    let hit = -1;
    for (let j = from; j < l.length && (l[j] as number) <= x + tolerance; j++) {
      if (!used[j]) {
        hit = j;
        break;
      }
    }
    if (hit >= 0) {
      used[hit] = true;
      matches.push([x, l[hit] as number]);
    } else if (!ignore.some(([a, b]) => x >= a && x <= b)) {
      fp++;
    }
  }
  return { tp: matches.length, fp, fn: l.length - matches.length, matches };
}

export function add(a: Score, b: Score): Score {
  return { tp: a.tp + b.tp, fp: a.fp + b.fp, fn: a.fn + b.fn };
}

export const ZERO: Score = { tp: 0, fp: 0, fn: 0 };

/** Precision, recall and F1. With nothing to find and nothing found, all three are 1. */
export function prf(s: Score): { precision: number; recall: number; f1: number } {
  const precision = s.tp + s.fp === 0 ? 1 : s.tp / (s.tp + s.fp);
  const recall = s.tp + s.fn === 0 ? 1 : s.tp / (s.tp + s.fn);
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { precision, recall, f1 };
}
