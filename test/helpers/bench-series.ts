import { prng } from './api.ts';

/**
 * Benchmark histories for the change-point and alert tests: eventix-format documents of one
 * metric over commits, with a few repeated runs per commit and seeded noise, so every run of a
 * test sees the same numbers.
 */

export const shaOf = (n: number, salt = 0) => (n + salt * 1_000_003).toString(16).padStart(8, '0').repeat(5);

export interface StepSeries {
  repo: string;
  metric?: string;
  unit?: string | null;
  direction?: 'higher' | 'lower' | null;
  config?: Record<string, unknown>;
  architecture?: string;
  tags?: Record<string, unknown>;
  /** Commit numbers, 1-based, in history order. */
  from: number;
  to: number;
  /** The level of commit i. */
  level: (i: number) => number;
  /** Relative noise (default 0.005). */
  noise?: number;
  repeats?: number;
  seed?: number;
  /** sha of commit i (default shaOf). */
  sha?: (i: number) => string;
  /** Run start of commit i (default: 2026-01-01 plus i minutes), the committer-time fallback's key. */
  startedAt?: (i: number) => string;
}

/** One eventix document per commit (as `eventix results push` or POST /benchmarks/results would get them). */
export function stepDocuments(s: StepSeries): { sha: string; doc: Record<string, unknown> }[] {
  const rng = prng(s.seed ?? 42);
  const gauss = () => {
    // Box–Muller from the seeded generator.
    const u = Math.max(rng.next(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next());
  };
  const out: { sha: string; doc: Record<string, unknown> }[] = [];
  for (let i = s.from; i <= s.to; i++) {
    const sha = (s.sha ?? shaOf)(i);
    const startedAt = s.startedAt?.(i) ?? new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString();
    const runs = [];
    for (let r = 0; r < (s.repeats ?? 3); r++) {
      runs.push({
        repo: s.repo,
        sha,
        ...(s.config ? { config: s.config } : {}),
        ...(s.architecture ? { architecture: s.architecture } : {}),
        repeat_index: r,
        started_at: startedAt,
        metrics: [
          {
            name: s.metric ?? 'rps',
            value: s.level(i) * (1 + (s.noise ?? 0.005) * gauss()),
            ...(s.unit ? { unit: s.unit } : {}),
            ...(s.direction ? { direction: s.direction } : {}),
            ...(s.tags ? { tags: s.tags } : {}),
          },
        ],
      });
    }
    out.push({ sha, doc: { format: 'eventix', version: 1, runs } });
  }
  return out;
}

/** A level of 1000 that drops by `drop` (default 10 %) from commit `at` on, and comes back from `back` on. */
export const step =
  (at: number, drop = 0.1, back = Number.POSITIVE_INFINITY) =>
  (i: number) =>
    i >= at && i < back ? 1000 * (1 - drop) : 1000;
