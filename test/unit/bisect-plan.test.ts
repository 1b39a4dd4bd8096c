import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BENCHMARK_TASK } from '../../src/sweeps/benchmark-task.ts';
import { BISECT_RUN_TASK } from '../../src/sweeps/bisect-hooks.ts';
import { classify, planStep, runBound, type Verdict } from '../../src/sweeps/bisect-plan.ts';
import { DEFAULT_BISECT_MAX_RUNS, parseSweeps, SweepsFileError } from '../../src/sweeps/config.ts';

/** `[good, c1, …, ck, bad]` as readable names. */
const chainOf = (k: number) => ['good', ...Array.from({ length: k }, (_, i) => `c${i + 1}`), 'bad'];

/**
 * Bisect a synthetic range whose first bad commit is chain[culprit] (1 … k + 1; k + 1 is the bad
 * end itself), measuring each midpoint the plan asks for: the "benchmark" of chain[i] is bad
 * exactly when i ≥ culprit. Returns the runs it took and where it ended.
 */
function simulate(
  k: number,
  culprit: number,
  opts: { premeasured?: ReadonlySet<number>; untestable?: ReadonlySet<number> } = {},
): { runs: number; plan: ReturnType<typeof planStep>; chain: string[] } {
  const chain = chainOf(k);
  const verdicts = new Map<string, Verdict>();
  const untestable = new Set<string>();
  for (const i of opts.premeasured ?? []) verdicts.set(chain[i] as string, i >= culprit ? 'bad' : 'good');
  let runs = 0;
  for (;;) {
    const plan = planStep({ chain, verdicts, untestable });
    if (plan.kind !== 'next') return { runs, plan, chain };
    const i = chain.indexOf(plan.sha);
    expect(i).toBeGreaterThan(0);
    expect(i).toBeLessThan(chain.length - 1);
    expect(verdicts.has(plan.sha) || untestable.has(plan.sha)).toBe(false);
    runs++;
    if (opts.untestable?.has(i)) untestable.add(plan.sha);
    else verdicts.set(plan.sha, i >= culprit ? 'bad' : 'good');
    if (runs > k) throw new Error(`no progress: ${runs} runs for k = ${k}`);
  }
}

describe('bisection narrowing', () => {
  it('finds the exact culprit at every position of every gap up to 130 commits, within ⌈log₂ k⌉ + 1 runs', () => {
    for (let k = 0; k <= 130; k++) {
      let worst = 0;
      for (let culprit = 1; culprit <= k + 1; culprit++) {
        const { runs, plan, chain } = simulate(k, culprit);
        expect(plan).toMatchObject({ kind: 'found', culprit: chain[culprit], bad: chain[culprit], good: chain[culprit - 1] });
        expect(runs).toBeLessThanOrEqual(runBound(k));
        worst = Math.max(worst, runs);
      }
      // Balanced halving of the k + 1 positions: the worst case is exactly ⌈log₂(k + 1)⌉.
      expect(worst).toBe(Math.ceil(Math.log2(k + 1)));
    }
  });

  it('holds the bound for large gaps too', () => {
    for (const k of [511, 512, 513, 1000, 1023, 1024, 4096, 10_000]) {
      for (const culprit of [1, 2, Math.floor(k / 3), Math.floor(k / 2), k, k + 1]) {
        const { runs, plan, chain } = simulate(k, culprit);
        expect(plan).toMatchObject({ kind: 'found', culprit: chain[culprit] });
        expect(runs).toBeLessThanOrEqual(runBound(k));
      }
    }
  });

  it('with no commit between the ends, blames the first bad commit without a run', () => {
    expect(planStep({ chain: ['g', 'b'], verdicts: new Map(), untestable: new Set() })).toEqual({
      kind: 'found',
      good: 'g',
      bad: 'b',
      culprit: 'b',
    });
  });

  it('uses commits measured already, and never needs more runs for them', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 200 }).chain((k) =>
          fc.record({
            k: fc.constant(k),
            culprit: fc.integer({ min: 1, max: k + 1 }),
            premeasured: fc.uniqueArray(fc.integer({ min: 1, max: k }), { maxLength: k }),
          }),
        ),
        ({ k, culprit, premeasured }) => {
          const { runs, plan, chain } = simulate(k, culprit, { premeasured: new Set(premeasured) });
          expect(plan).toMatchObject({ kind: 'found', culprit: chain[culprit] });
          expect(runs).toBeLessThanOrEqual(runBound(k));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('skips commits that cannot be benchmarked: exact when they are not in the way, else the candidates hold the culprit', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 120 }).chain((k) =>
          fc.record({
            k: fc.constant(k),
            culprit: fc.integer({ min: 1, max: k + 1 }),
            untestable: fc.uniqueArray(fc.integer({ min: 1, max: k }), { maxLength: k }),
          }),
        ),
        ({ k, culprit, untestable }) => {
          const skipped = new Set(untestable);
          const { plan, chain } = simulate(k, culprit, { untestable: skipped });
          if (plan.kind === 'found') {
            expect(plan.culprit).toBe(chain[culprit]);
          } else {
            expect(plan.kind).toBe('ambiguous');
            if (plan.kind !== 'ambiguous') return;
            expect(plan.candidates).toContain(chain[culprit]);
            // Every candidate but the bad end is a skipped commit.
            for (const c of plan.candidates.slice(0, -1)) expect(skipped.has(chain.indexOf(c))).toBe(true);
            expect(plan.candidates.at(-1)).toBe(plan.bad);
          }
          // Exact whenever the culprit and the commit just before it could both be measured.
          if (!skipped.has(culprit - 1) && !skipped.has(culprit)) expect(plan).toMatchObject({ kind: 'found', culprit: chain[culprit] });
        },
      ),
      { numRuns: 500 },
    );
  });

  it('trusts the earliest bad verdict over a good one after it (noise in data measured earlier)', () => {
    const chain = chainOf(5);
    const verdicts = new Map<string, Verdict>([
      ['c2', 'bad'],
      ['c4', 'good'],
    ]);
    expect(planStep({ chain, verdicts, untestable: new Set() })).toEqual({
      kind: 'next',
      good: 'good',
      bad: 'c2',
      sha: 'c1',
      remaining: 1,
    });
  });

  it('classifies by the closer level, whichever way is better', () => {
    expect(classify(100.4, { good: 100, bad: 110 })).toBe('good');
    expect(classify(108, { good: 100, bad: 110 })).toBe('bad');
    expect(classify(94, { good: 100, bad: 90 })).toBe('bad');
    expect(classify(105, { good: 100, bad: 110 })).toBe('good');
  });

  it('states the issue’s bound', () => {
    expect([0, 1, 2, 3, 4, 5, 8, 9, 1024].map(runBound)).toEqual([0, 1, 2, 3, 3, 4, 4, 5, 11]);
  });

  it('names the benchmark task as run.ts does (the hooks module repeats it to avoid an import cycle)', () => {
    expect(BISECT_RUN_TASK).toBe(BENCHMARK_TASK);
  });
});

describe('sweeps file: bisect', () => {
  const doc = (bisect?: unknown) => ({
    sweeps: [
      {
        name: 's',
        repo: '/srv/repo',
        branch: 'main',
        configs: [{ config: { clients: 1 } }],
        max_commits: 5,
        command: ['bench'],
        timeout_seconds: 60,
        retry: { max_retries: 1 },
        namespace: 'bench',
        ...(bisect === undefined ? {} : { bisect }),
      },
    ],
  });

  it('is on by default, with the default budget', () => {
    expect(parseSweeps(doc()).byName.get('s')?.bisect).toEqual({ enabled: true, maxRuns: DEFAULT_BISECT_MAX_RUNS });
    expect(parseSweeps(doc({ max_runs: 3 })).byName.get('s')?.bisect).toEqual({ enabled: true, maxRuns: 3 });
    expect(parseSweeps(doc({ enabled: false })).byName.get('s')?.bisect).toEqual({ enabled: false, maxRuns: DEFAULT_BISECT_MAX_RUNS });
  });

  it('refuses a bad budget and unknown fields, naming them', () => {
    for (const [bisect, field] of [
      [{ max_runs: 0 }, 'sweeps[0].bisect.max_runs'],
      [{ max_runs: 1.5 }, 'sweeps[0].bisect.max_runs'],
      [{ max_runs: 65 }, 'sweeps[0].bisect.max_runs'],
      [{ enabled: 'yes' }, 'sweeps[0].bisect.enabled'],
      [{ limit: 3 }, 'sweeps[0].bisect'],
    ] as const) {
      expect(() => parseSweeps(doc(bisect))).toThrow(SweepsFileError);
      expect(() => parseSweeps(doc(bisect))).toThrow(field);
    }
  });
});
