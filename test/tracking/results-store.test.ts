import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.ts';
import { pushResults } from '../../src/tracking/ingest.ts';
import { type PruneProgress, pruneRuns } from '../../src/tracking/retention.ts';
import { listRuns } from '../../src/tracking/runs.ts';
import { useTestDatabase } from '../helpers/db.ts';

const fixture = (name: string): unknown => JSON.parse(readFileSync(new URL(`../fixtures/benchmarks/${name}`, import.meta.url), 'utf8'));
const SHA = 'b'.repeat(40);

describe('benchmark results store', () => {
  const db = useTestDatabase();
  const counts = async () => {
    const { rows } = await db().pool.query<{ runs: number; metrics: number; configs: number }>(
      `select (select count(*)::int from benchmark_runs) as runs, (select count(*)::int from benchmark_metrics) as metrics,
              (select count(*)::int from benchmark_configs) as configs`,
    );
    return rows[0];
  };

  it('stores every run and point of a push, exactly, with the config upserted once by its canonical form', async () => {
    const before = await counts();
    const pushed = await pushResults(db().pool, { data: fixture('eventix.json') });
    expect(pushed.format).toBe('eventix');
    expect(pushed.runs.map((r) => r.metrics)).toEqual([3, 1]);
    expect(pushed.metrics).toBe(4);
    expect(pushed.runs[0]?.config?.hash).toMatch(/^[0-9a-f]{64}$/);
    // run 1 has no config of its own and the request gave none.
    expect(pushed.runs[1]?.config).toBeNull();

    // A value with all 17 significant digits comes back bit for bit.
    const precise = await pushResults(db().pool, {
      data: [{ name: 'ratio', value: 1.6139974294471835, unit: 'x' }],
      repo: 'r/precise',
      sha: SHA,
      config: { requests: 1000000, keyspacelen: 1000000, data_sizes: [16, 512], pipelines: [1, 10] },
    });
    expect(precise.runs[0]?.config).toEqual(pushed.runs[0]?.config);
    const page = await listRuns(db().pool, { repo: 'r/precise' });
    expect(page.runs[0]?.metrics).toEqual([{ name: 'ratio', value: 1.6139974294471835, unit: 'x', direction: null, tags: {} }]);

    const after = await counts();
    expect(after).toEqual({ runs: (before?.runs ?? 0) + 3, metrics: (before?.metrics ?? 0) + 5, configs: (before?.configs ?? 0) + 1 });
  });

  it('a malformed document stores nothing, not even its config, and says why', async () => {
    const doc = fixture('eventix.json') as { runs: { config?: unknown; metrics: { value: unknown }[] }[] };
    (doc.runs[0] as { config: unknown }).config = { brand: 'new config' };
    (doc.runs[1]?.metrics[0] as { value: unknown }).value = 'NaN';
    const before = await counts();
    const err = await pushResults(db().pool, { data: doc }, { prefix: 'data' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).issues).toEqual([{ field: 'data.runs.1.metrics.0.value', message: 'must be a finite JSON number' }]);
    expect(await counts()).toEqual(before);
  });

  describe('append-only: the database refuses to change results', () => {
    const refused = async (statement: string) => {
      const err = await db()
        .pool.query(statement)
        .catch((e: unknown) => e as Error & { code?: string });
      expect(err, statement).toBeInstanceOf(Error);
      expect((err as Error).message, statement).toMatch(/not allowed: benchmark results are append-only/);
      expect((err as { code?: string }).code).toBe('42501');
    };

    it('UPDATE and DELETE of runs and of metric points, and TRUNCATE of either table, fail', async () => {
      await pushResults(db().pool, { data: fixture('github-action-benchmark.json'), repo: 'r/append-only', sha: SHA });
      const before = await counts();
      await refused(`update benchmark_runs set branch = 'rewritten' where repo = 'r/append-only'`);
      await refused(`delete from benchmark_runs where repo = 'r/append-only'`);
      await refused(`update benchmark_metrics set value = 0`);
      await refused(`delete from benchmark_metrics`);
      await refused('truncate benchmark_runs cascade');
      await refused('truncate benchmark_metrics');
      expect(await counts()).toEqual(before);
    });

    it('the retention setting allows DELETE only, never UPDATE or TRUNCATE', async () => {
      await pushResults(db().pool, { data: fixture('github-action-benchmark.json'), repo: 'r/retention-setting', sha: SHA });
      const client = await db().pool.connect();
      try {
        await client.query('begin');
        await client.query(`set local eventix.benchmark_retention = 'on'`);
        await expect(client.query(`update benchmark_metrics set value = 0`)).rejects.toThrow(/UPDATE on benchmark_metrics is not allowed/);
        await client.query('rollback');
        await client.query('begin');
        await client.query(`set local eventix.benchmark_retention = 'on'`);
        await expect(client.query('truncate benchmark_metrics')).rejects.toThrow(/TRUNCATE on benchmark_metrics is not allowed/);
      } finally {
        await client.query('rollback');
        client.release();
      }
    });
  });

  describe('retention: eventix results prune', () => {
    /** Runs stored `daysAgo` days ago (created_at is only settable on insert), each with `points` metric points. */
    const seed = async (repo: string, n: number, daysAgo: number, points = 2) => {
      await db().pool.query(
        `with r as (
           insert into benchmark_runs (repo, sha, format, created_at)
           select $1, $2, 'eventix', now() - ($4::double precision * interval '1 day') - (g * interval '1 second')
           from generate_series(1, $3::int) g
           returning id
         )
         insert into benchmark_metrics (run_id, name, value) select r.id, 'm' || p, p from r, generate_series(1, $5::int) p`,
        [repo, SHA, n, daysAgo, points],
      );
    };
    const runsOf = async (repo: string) =>
      (await db().pool.query<{ n: number }>('select count(*)::int as n from benchmark_runs where repo = $1', [repo])).rows[0]?.n;

    it('a dry run counts; the prune deletes only runs older than the cutoff, their points with them, in batches', async () => {
      // Everything else in this database is new, so only these count as old.
      await seed('r/old', 7, 40, 3);
      await seed('r/new', 4, 10, 3);
      const dry = await pruneRuns(db().pool, { olderThanDays: 30, dryRun: true });
      expect(dry).toMatchObject({ dryRun: true, matched: { runs: 7, metrics: 21 }, deleted: { runs: 0, metrics: 0 }, batches: 0 });
      expect(await runsOf('r/old')).toBe(7);

      const progress: PruneProgress[] = [];
      const pruned = await pruneRuns(db().pool, { olderThanDays: 30, batchSize: 3, onProgress: (p) => progress.push(p) });
      expect(pruned).toMatchObject({
        dryRun: false,
        matched: { runs: 7, metrics: 21 },
        deleted: { runs: 7, metrics: 21 },
        interrupted: false,
      });
      expect(progress.map((p) => [p.runs, p.metrics, p.batches, p.total])).toEqual([
        [3, 9, 1, 7],
        [6, 18, 2, 7],
        [7, 21, 3, 7],
      ]);
      expect(await runsOf('r/old')).toBe(0);
      expect(await runsOf('r/new')).toBe(4);
      const orphans = await db().pool.query(
        'select count(*)::int as n from benchmark_metrics m where not exists (select 1 from benchmark_runs r where r.id = m.run_id)',
      );
      expect(orphans.rows[0].n).toBe(0);
      // SET LOCAL ended with each batch's transaction: the pool's connections are append-only again.
      await expect(db().pool.query(`delete from benchmark_runs where repo = 'r/new'`)).rejects.toThrow(/append-only/);
    });

    it('stops between batches when aborted, keeping what it deleted, and a later prune finishes', async () => {
      await seed('r/interrupted', 5, 400, 1);
      const controller = new AbortController();
      const first = await pruneRuns(db().pool, {
        olderThanDays: 365,
        batchSize: 2,
        signal: controller.signal,
        onProgress: () => controller.abort(),
      });
      expect(first).toMatchObject({ interrupted: true, batches: 1, deleted: { runs: 2, metrics: 2 }, matched: { runs: 5 } });
      expect(await runsOf('r/interrupted')).toBe(3);
      const rest = await pruneRuns(db().pool, { olderThanDays: 365, batchSize: 2 });
      expect(rest).toMatchObject({ interrupted: false, deleted: { runs: 3, metrics: 3 } });
      expect(await runsOf('r/interrupted')).toBe(0);
    });

    it('refuses a nonsensical age or batch size', async () => {
      await expect(pruneRuns(db().pool, { olderThanDays: Number.NaN })).rejects.toThrow(/older-than/);
      await expect(pruneRuns(db().pool, { olderThanDays: 1, batchSize: 0 })).rejects.toThrow(/batch-size/);
    });
  });
});
