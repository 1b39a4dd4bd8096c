import type pg from 'pg';
import { pushResults } from '../../src/tracking/ingest.ts';
import { prng } from './api.ts';

/**
 * Results for the baseline and compare tests: `repeats` runs of one commit, each holding one
 * point per metric, with seeded Gaussian noise, so every run of a test sees the same numbers.
 */

export interface MetricSpec {
  name: string;
  /** The true value (the mean the samples are drawn around). */
  level: number;
  /** Relative standard deviation of the noise (default 0.01 = 1 %). */
  noise?: number;
  unit?: string;
  direction?: 'higher' | 'lower';
  tags?: Record<string, unknown>;
}

export interface CommitSpec {
  repo: string;
  sha: string;
  metrics: MetricSpec[];
  /** Runs of the commit (default 5): the samples of each series. */
  repeats?: number;
  seed?: number;
  config?: Record<string, unknown>;
  architecture?: string;
}

/** Standard normal draws (Box–Muller) from the tests' seeded PRNG. */
export function normals(seed: number) {
  const r = prng(seed);
  return () => {
    const u = Math.max(r.next(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r.next());
  };
}

/** Push the runs of one commit; resolves with their uids. */
export async function pushCommit(pool: pg.Pool, spec: CommitSpec): Promise<string[]> {
  const z = normals(spec.seed ?? 1);
  const repeats = spec.repeats ?? 5;
  const runs = Array.from({ length: repeats }, (_, i) => ({
    repeat_index: i,
    metrics: spec.metrics.map((m) => ({
      name: m.name,
      value: m.level * (1 + (m.noise ?? 0.01) * z()),
      ...(m.unit === undefined ? {} : { unit: m.unit }),
      ...(m.direction === undefined ? {} : { direction: m.direction }),
      ...(m.tags === undefined ? {} : { tags: m.tags }),
    })),
  }));
  const pushed = await pushResults(pool, {
    data: { format: 'eventix', version: 1, runs },
    repo: spec.repo,
    sha: spec.sha,
    config: spec.config,
    architecture: spec.architecture,
  });
  return pushed.runs.map((r) => r.uid);
}
