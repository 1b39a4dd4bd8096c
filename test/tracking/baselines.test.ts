import { describe, expect, it } from 'vitest';
import { withTransaction } from '../../src/db/transaction.ts';
import { BaselineExists, BaselineNotFound, BenchmarkRunsNotFound, ValidationError } from '../../src/errors.ts';
import { samplesAt } from '../../src/tracking/baseline-samples.ts';
import { createBaseline, deleteBaseline, getBaseline, listBaselines } from '../../src/tracking/baselines.ts';
import { compare } from '../../src/tracking/compare.ts';
import { pruneRuns } from '../../src/tracking/retention.ts';
import { listSnapshots, recordSnapshots, writeSnapshots } from '../../src/tracking/snapshots.ts';
import { pushCommit } from '../helpers/baseline-data.ts';
import { useTestDatabase } from '../helpers/db.ts';

const sha = (c: string) => c.repeat(40);

/** A repository with a baseline commit `a…` and candidates, each 5 runs, 1 % noise. */
async function seedRepo(pool: import('pg').Pool, repo: string) {
  const metrics = (rps: number, latency: number, widgets: number) => [
    { name: 'rps', level: rps, unit: 'req/s', direction: 'higher' as const, tags: { command: 'SET', data_size: 16 } },
    { name: 'p99_latency_ms', level: latency, unit: 'ms', tags: { command: 'SET', data_size: 16 } },
    // No direction, unit or telling name: which way is better is unknown.
    { name: 'widgets', level: widgets },
  ];
  await pushCommit(pool, { repo, sha: sha('a'), metrics: metrics(100_000, 1, 50), seed: 1 });
  // b: rps 10 % down (a regression), latency unchanged, widgets +20 %.
  await pushCommit(pool, { repo, sha: sha('b'), metrics: metrics(90_000, 1, 60), seed: 2 });
  // c: 0.5 % differences only: noise.
  await pushCommit(pool, { repo, sha: sha('c'), metrics: metrics(100_500, 1.005, 50.25), seed: 3 });
  // d: latency 15 % better, rps 10 % up.
  await pushCommit(pool, { repo, sha: sha('d'), metrics: metrics(110_000, 0.85, 50), seed: 4 });
}

describe('baselines, snapshots and compare', () => {
  const db = useTestDatabase({ poolMax: 20 });
  const pool = () => db().pool;
  const pgError = async (p: Promise<unknown>) => {
    const err = (await p.then(
      () => undefined,
      (e: unknown) => e,
    )) as { code?: string; constraint?: string } | undefined;
    return { code: err?.code, constraint: err?.constraint };
  };

  describe('schema', () => {
    const insert = (cols: Record<string, unknown>) => {
      const row = {
        repo: 'r/schema',
        metric: 'm',
        sha: sha('e'),
        runs: 1,
        n: 1,
        mean: 1,
        median: 1,
        min: 1,
        max: 1,
        version: 1,
        ...cols,
      };
      const keys = Object.keys(row);
      return pool().query(
        `insert into benchmark_snapshots (${keys.join(', ')}) values (${keys.map((_, i) => `$${i + 1}`).join(', ')})`,
        Object.values(row),
      );
    };

    it('one current snapshot per series, one row per version, named CHECKs', async () => {
      await insert({ version: 1, is_current: true });
      expect(await pgError(insert({ version: 2, is_current: true }))).toEqual({
        code: '23505',
        constraint: 'benchmark_snapshots_one_current_key',
      });
      expect(await pgError(insert({ version: 1 }))).toEqual({ code: '23505', constraint: 'benchmark_snapshots_series_version_key' });
      // Another tag set is another series.
      await insert({ version: 1, is_current: true, tags: { k: 1 } });
      expect(await pgError(insert({ version: 0, tags: { k: 2 } }))).toEqual({
        code: '23514',
        constraint: 'benchmark_snapshots_version_positive',
      });
      expect(await pgError(insert({ version: 3, is_baseline: true }))).toEqual({
        code: '23514',
        constraint: 'benchmark_snapshots_baseline_named',
      });
      expect(await pgError(insert({ version: 3, n: 0 }))).toEqual({ code: '23514', constraint: 'benchmark_snapshots_samples_positive' });
      expect(await pgError(insert({ version: 3, stddev: -1 }))).toEqual({ code: '23514', constraint: 'benchmark_snapshots_stddev_valid' });
      expect(await pgError(insert({ version: 3, direction: 'up' }))).toEqual({
        code: '23514',
        constraint: 'benchmark_snapshots_direction_valid',
      });
      expect(await pgError(insert({ version: 3, sha: 'HEAD' }))).toEqual({ code: '23514', constraint: 'benchmark_snapshots_sha_valid' });
      expect(await pgError(pool().query(`insert into benchmark_baselines (repo, name, sha) values ('r', '-bad', $1)`, [sha('e')]))).toEqual(
        { code: '23514', constraint: 'benchmark_baselines_name_valid' },
      );
      // The identity columns derive series_key; nobody writes it.
      expect((await pgError(insert({ version: 3, series_key: 'x' }))).code).toBe('428C9');
    });

    it('8 concurrent writers of the same series: versions 1..8 without gaps or duplicates, exactly one current', async () => {
      const repo = 'r/concurrent';
      await pushCommit(pool(), {
        repo,
        sha: sha('1'),
        metrics: [
          { name: 'rps', level: 10, tags: { t: 1 } },
          { name: 'rps', level: 10, tags: { t: 2 } },
          { name: 'ops', level: 5 },
        ],
      });
      const series = await samplesAt(pool(), { repo, sha: sha('1') });
      expect(series).toHaveLength(3);
      // Half the writers list the series in reverse: the sorted lock order must keep them from deadlocking.
      await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          withTransaction(pool(), (client) =>
            writeSnapshots(
              client,
              (i % 2 ? [...series].reverse() : series).map((s) => ({ series: s, runUid: null, direction: null })),
              { repo, current: true, createdBy: `writer-${i}` },
            ),
          ),
        ),
      );
      const { rows } = await pool().query<{ series_key: string; versions: number[]; current: number[] }>(
        `select series_key, array_agg(version order by version) as versions,
                array_agg(version order by version) filter (where is_current) as current
         from benchmark_snapshots where repo = $1 group by series_key`,
        [repo],
      );
      expect(rows).toHaveLength(3);
      for (const r of rows) {
        expect(r.versions).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
        expect(r.current).toEqual([8]);
      }
      // And through the library: the current view has one row per series.
      const current = await listSnapshots(pool(), { repo, current: true });
      expect(current.snapshots.map((s) => s.version)).toEqual([8, 8, 8]);
      // recordSnapshots computes the same statistics the tests can compute.
      const again = await recordSnapshots(pool(), { repo, sha: sha('1'), metrics: ['ops'] });
      expect(again).toHaveLength(1);
      expect(again[0]).toMatchObject({ metric: 'ops', version: 9, isCurrent: true, n: 5, runs: 5, direction: 'higher' });
      expect((await listSnapshots(pool(), { seriesKey: again[0]?.seriesKey, current: false })).snapshots).toHaveLength(8);
    });
  });

  describe('baselines', () => {
    const repo = 'acme/baselines';

    it('create at a commit: one is_baseline snapshot per series with runs there, versions after the existing ones', async () => {
      await seedRepo(pool(), repo);
      await recordSnapshots(pool(), { repo, sha: sha('a') });
      const { baseline, snapshots } = await createBaseline(pool(), {
        repo,
        name: 'release-1.2',
        sha: sha('a').toUpperCase(),
        description: 'the 1.2 release',
        createdBy: 'ci',
      });
      expect(baseline).toMatchObject({ repo, name: 'release-1.2', sha: sha('a'), runUid: null, series: 3, createdBy: 'ci' });
      expect(snapshots).toHaveLength(3);
      for (const s of snapshots) {
        expect(s).toMatchObject({
          isBaseline: true,
          baselineName: 'release-1.2',
          isCurrent: false,
          version: 2,
          n: 5,
          runs: 5,
          sha: sha('a'),
        });
      }
      expect(snapshots.map((s) => [s.metric, s.direction])).toEqual([
        ['p99_latency_ms', 'lower'],
        ['rps', 'higher'],
        ['widgets', null],
      ]);
      // The plain snapshots are still the current ones.
      expect((await listSnapshots(pool(), { repo, current: true })).snapshots.map((s) => s.version)).toEqual([1, 1, 1]);
      expect((await getBaseline(pool(), { name: 'release-1.2' })).snapshots).toHaveLength(3);
      expect((await listBaselines(pool(), { repo })).map((b) => b.name)).toEqual(['release-1.2']);
    });

    it('refuses a taken name, a commit without results and a bad name, leaving nothing behind', async () => {
      await expect(createBaseline(pool(), { repo, name: 'release-1.2', sha: sha('b') })).rejects.toBeInstanceOf(BaselineExists);
      await expect(createBaseline(pool(), { repo, name: 'empty', sha: sha('f') })).rejects.toBeInstanceOf(BenchmarkRunsNotFound);
      await expect(createBaseline(pool(), { repo, name: '../x', sha: sha('a') })).rejects.toBeInstanceOf(ValidationError);
      expect((await listBaselines(pool(), { repo })).map((b) => b.name)).toEqual(['release-1.2']);
    });

    it('two concurrent creators of one name: one wins, the other is told it exists', async () => {
      const results = await Promise.allSettled([
        createBaseline(pool(), { repo, name: 'race', sha: sha('a') }),
        createBaseline(pool(), { repo, name: 'race', sha: sha('b') }),
      ]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      expect(results.find((r) => r.status === 'rejected')?.reason).toBeInstanceOf(BaselineExists);
    });

    it('delete: the snapshots stay, unflagged, and no run is deleted; the name can be used again', async () => {
      const runs = async () => (await pool().query('select count(*)::int as n from benchmark_runs where repo = $1', [repo])).rows[0].n;
      const before = await runs();
      const deleted = await deleteBaseline(pool(), { repo, name: 'race' });
      expect(deleted.name).toBe('race');
      expect(await runs()).toBe(before);
      const { rows } = await pool().query(
        `select count(*)::int as n, bool_or(is_baseline) as flagged from benchmark_snapshots where baseline_name = 'race'`,
      );
      expect(rows[0]).toEqual({ n: 3, flagged: false });
      await expect(deleteBaseline(pool(), { repo, name: 'race' })).rejects.toBeInstanceOf(BaselineNotFound);
      const again = await createBaseline(pool(), { repo, name: 'race', sha: sha('c') });
      expect(again.snapshots.every((s) => s.isBaseline && s.version >= 3)).toBe(true);
      await deleteBaseline(pool(), { repo, name: 'race' });
    });
  });

  describe('compare', () => {
    const repo = 'acme/baselines';
    const byMetric = async (candidate: string, extra: Parameters<typeof compare>[1] extends infer T ? Partial<T> : never = {}) => {
      const r = await compare(pool(), { baseline: 'release-1.2', sha: candidate, ...extra });
      return { r, m: Object.fromEntries(r.comparisons.map((c) => [c.metric, c])) };
    };

    it('a clear 10 % regression (5 samples each, 1 % noise) is a regression, with its interval beyond the threshold', async () => {
      const { r, m } = await byMetric(sha('b'));
      expect(r.verdict).toBe('regression');
      expect(r).toMatchObject({ repo, threshold: 0.05, confidence: 0.95, method: 'fieller-welch', candidate: { sha: sha('b') } });
      const rps = m.rps;
      expect(rps?.verdict).toBe('regression');
      expect(rps?.delta.relative).toBeCloseTo(-0.1, 1);
      expect(rps?.interval?.level).toBe(0.95);
      expect(rps?.interval?.high).toBeLessThan(-0.05);
      expect(rps?.interval?.low).toBeLessThan(rps?.delta.relative as number);
      expect(rps?.interval?.high).toBeGreaterThan(rps?.delta.relative as number);
      expect(rps?.pValue).toBeLessThan(0.001);
      expect(rps?.baseline).toMatchObject({ n: 5, runs: 5, source: 'runs', sha: sha('a') });
      expect(m.p99_latency_ms?.verdict).toBe('no_change');
      // widgets rose 20 % but nobody said which way is better.
      expect(m.widgets?.direction).toBeNull();
      expect(m.widgets?.verdict).toBe('change');
      expect(r.counts).toMatchObject({ regression: 1, no_change: 1, change: 1, missingBaseline: 0, missingCandidate: 0 });
    });

    it('a 0.5 % noise-only difference is no_change; an improvement is improvement', async () => {
      const noise = await byMetric(sha('c'));
      expect(noise.r.verdict).toBe('no_change');
      for (const c of noise.r.comparisons) {
        expect(c.verdict).toBe('no_change');
        expect(c.interval?.low).toBeGreaterThanOrEqual(-0.05);
        expect(c.interval?.high).toBeLessThanOrEqual(0.05);
      }
      const better = await byMetric(sha('d'));
      expect(better.m.rps?.verdict).toBe('improvement');
      expect(better.m.p99_latency_ms?.verdict).toBe('improvement');
      expect(better.r.verdict).toBe('improvement');
    });

    it('thresholds per metric, direction overrides, filters and a candidate run', async () => {
      // A 25 % threshold for rps makes the 10 % drop no change that matters.
      const loose = await byMetric(sha('b'), { thresholds: { rps: 0.25 } });
      expect(loose.m.rps).toMatchObject({ verdict: 'no_change', threshold: 0.25 });
      expect(loose.r.verdict).toBe('change');
      const directed = await byMetric(sha('b'), { directions: { widgets: 'lower' }, metrics: ['widgets'] });
      expect(directed.r.comparisons.map((c) => [c.metric, c.verdict])).toEqual([['widgets', 'regression']]);
      const tagged = await byMetric(sha('b'), { tags: { data_size: ['16'] } });
      expect(tagged.r.comparisons.map((c) => c.metric)).toEqual(['p99_latency_ms', 'rps']);
      // One run against five: the run's single sample borrows the baseline's spread.
      const [run] = (
        await pool().query<{ uid: string }>('select uid from benchmark_runs where repo = $1 and sha = $2 limit 1', [repo, sha('b')])
      ).rows;
      const one = await compare(pool(), { baseline: 'release-1.2', runUid: run?.uid });
      expect(one.candidate).toEqual({ sha: sha('b'), runUid: run?.uid });
      expect(one.comparisons.find((c) => c.metric === 'rps')).toMatchObject({ candidate: { n: 1 }, verdict: 'regression' });
    });

    it('missing data on either side is reported, not dropped', async () => {
      await pushCommit(pool(), {
        repo,
        sha: sha('9'),
        metrics: [
          { name: 'rps', level: 100_000, unit: 'req/s', direction: 'higher', tags: { command: 'SET', data_size: 16 } },
          { name: 'new_metric_ms', level: 3 },
        ],
      });
      const r = await compare(pool(), { baseline: 'release-1.2', sha: sha('9') });
      expect(r.comparisons.map((c) => c.metric)).toEqual(['rps']);
      expect(r.missing.map((m) => [m.metric, m.missing])).toEqual([
        ['new_metric_ms', 'baseline'],
        ['p99_latency_ms', 'candidate'],
        ['widgets', 'candidate'],
      ]);
      expect(r.missing[0]?.present).toMatchObject({ n: 5, source: 'runs', sha: sha('9') });
      expect(r.counts).toMatchObject({ missingBaseline: 1, missingCandidate: 2 });
    });

    it('unknown baselines and commits without results are errors; bad thresholds name the field', async () => {
      await expect(compare(pool(), { baseline: 'nope', sha: sha('b') })).rejects.toBeInstanceOf(BaselineNotFound);
      await expect(compare(pool(), { baseline: 'release-1.2', sha: sha('f') })).rejects.toBeInstanceOf(BenchmarkRunsNotFound);
      await expect(compare(pool(), { baseline: 'release-1.2', sha: sha('b'), threshold: -1 })).rejects.toMatchObject({
        issues: [{ field: 'threshold' }],
      });
      await expect(compare(pool(), { baseline: 'release-1.2', sha: sha('b'), confidence: 1 })).rejects.toMatchObject({
        issues: [{ field: 'confidence' }],
      });
    });

    it('a baseline whose runs were pruned compares from its snapshots', async () => {
      const old = 'acme/pruned';
      // Runs stored 40 days ago, as only a direct insert can make them.
      await pool().query(
        `with r as (
           insert into benchmark_runs (repo, sha, format, repeat_index, created_at)
           select $1, $2, 'eventix', g, now() - interval '40 days' from generate_series(0, 4) g returning id, repeat_index
         )
         insert into benchmark_metrics (run_id, name, value, unit, direction)
         select id, 'rps', 1000 * (1 + 0.01 * (repeat_index - 2)), 'req/s', 'higher' from r`,
        [old, sha('a')],
      );
      await createBaseline(pool(), { repo: old, name: 'v1', sha: sha('a') });
      await pruneRuns(pool(), { olderThanDays: 30 });
      await pushCommit(pool(), { repo: old, sha: sha('b'), metrics: [{ name: 'rps', level: 800, unit: 'req/s', direction: 'higher' }] });
      const r = await compare(pool(), { baseline: 'v1', repo: old, sha: sha('b') });
      expect(r.comparisons).toHaveLength(1);
      expect(r.comparisons[0]).toMatchObject({ verdict: 'regression', baseline: { source: 'snapshot', n: 5, mean: 1000 } });
    });

    it('a baseline name in two repositories must be told apart by repo', async () => {
      await pushCommit(pool(), { repo: 'acme/other', sha: sha('a'), metrics: [{ name: 'rps', level: 1 }] });
      await createBaseline(pool(), { repo: 'acme/other', name: 'release-1.2', sha: sha('a') });
      await expect(compare(pool(), { baseline: 'release-1.2', sha: sha('b') })).rejects.toMatchObject({ issues: [{ field: 'repo' }] });
      const r = await compare(pool(), { baseline: 'release-1.2', repo, sha: sha('b') });
      expect(r.verdict).toBe('regression');
    });
  });
});
