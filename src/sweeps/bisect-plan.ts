/**
 * The narrowing rule of automatic bisection (bisect.ts), pure so it can be checked on any range.
 *
 * A range is the first-parent chain `[good, c1, …, ck, bad]`, oldest first: `good` measured at the
 * old level, `bad` at the new one, and k commits between them that may or may not have samples.
 * Every commit with samples has a verdict (closer to the old level: `good`, else `bad`); commits
 * that could not be benchmarked (the run failed for good) are `untestable`, as `git bisect skip`.
 *
 * The culprit is the first bad commit, so it is one of the k + 1 positions c1 … ck, bad. Each step:
 *
 * 1. the range narrows to the first `bad` verdict after `good` and the last `good` verdict before it
 *    (a `good` after a `bad` cannot arise from midpoints of a shrinking range; pre-existing data
 *    that says so is noise, and the earliest bad wins);
 * 2. no testable commit left between the ends: the culprit is the `bad` end (or, when untestable
 *    commits remain between them, one of those or the bad end: `ambiguous`);
 * 3. otherwise the next commit to measure is the candidate at index ⌊n/2⌋ of the n testable ones:
 *    a `bad` verdict leaves ⌊n/2⌋ + 1 positions, a `good` one n − ⌊n/2⌋, so each run halves the
 *    k + 1 positions (rounding up) and a bisection takes at most ⌈log₂(k + 1)⌉ runs, within the
 *    issue's bound of ⌈log₂ k⌉ + 1.
 */

export type Verdict = 'good' | 'bad';

export interface RangeView {
  /** `[good, c1, …, ck, bad]`, oldest first. */
  chain: readonly string[];
  /** Verdicts of the commits with samples (the ends need none). */
  verdicts: ReadonlyMap<string, Verdict>;
  /** Commits whose benchmark cannot run (`git bisect skip`). */
  untestable: ReadonlySet<string>;
}

export type Plan =
  | { kind: 'found'; good: string; bad: string; culprit: string }
  | { kind: 'ambiguous'; good: string; bad: string; candidates: string[] }
  | { kind: 'next'; good: string; bad: string; sha: string; remaining: number };

export function planStep(view: RangeView): Plan {
  const { chain, verdicts, untestable } = view;
  if (chain.length < 2) throw new RangeError('a bisection range has at least its two ends');
  const last = chain.length - 1;
  let badAt = last;
  for (let i = 1; i < last; i++) {
    if (verdicts.get(chain[i] as string) === 'bad') {
      badAt = i;
      break;
    }
  }
  let goodAt = 0;
  for (let i = badAt - 1; i > 0; i--) {
    if (verdicts.get(chain[i] as string) === 'good') {
      goodAt = i;
      break;
    }
  }
  const good = chain[goodAt] as string;
  const bad = chain[badAt] as string;
  const between = chain.slice(goodAt + 1, badAt);
  const testable = between.filter((sha) => !untestable.has(sha));
  if (testable.length === 0) {
    return between.length === 0
      ? { kind: 'found', good, bad, culprit: bad }
      : { kind: 'ambiguous', good, bad, candidates: [...between, bad] };
  }
  return { kind: 'next', good, bad, sha: testable[Math.floor(testable.length / 2)] as string, remaining: testable.length };
}

/** Closer to which level: the midpoint's median against the old (good) and new (bad) medians. */
export function classify(median: number, levels: { good: number; bad: number }): Verdict {
  return Math.abs(median - levels.good) <= Math.abs(median - levels.bad) ? 'good' : 'bad';
}

/** The bound on extra runs for k unmeasured commits: ⌈log₂ k⌉ + 1 (0 when there are none). */
export function runBound(k: number): number {
  return k <= 0 ? 0 : Math.ceil(Math.log2(k)) + 1;
}
