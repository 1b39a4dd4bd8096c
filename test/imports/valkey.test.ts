import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rollbackImport } from '../../src/imports/rollback.ts';
import { runImport } from '../../src/imports/run.ts';
import { valkeyPostgres } from '../../src/imports/sources/valkey.ts';
import { repoKey } from '../../src/tracking/repos.ts';
import { runCli } from '../helpers/cli.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { A, fillValkey } from '../helpers/legacy-valkey.ts';

describe('import valkey (seed 000 on PostgreSQL)', () => {
  let legacy: TestDatabase;
  let db: TestDatabase;
  let repo: string;
  let searchRepo: string;
  beforeAll(async () => {
    legacy = await createTestDatabase({ empty: true, poolMax: 2 });
    const c = new pg.Client({ connectionString: legacy.url });
    await c.connect();
    await fillValkey(c);
    await c.end();
    db = await createTestDatabase();
    repo = mkdtempSync(join(tmpdir(), 'valkey-'));
    searchRepo = mkdtempSync(join(tmpdir(), 'valkey-search-'));
  });
  afterAll(async () => {
    await legacy?.drop();
    await db?.drop();
    rmSync(repo, { recursive: true, force: true });
    rmSync(searchRepo, { recursive: true, force: true });
  });
  const source = (timezone: string | null = 'UTC') =>
    valkeyPostgres({ from: legacy.url, repo, moduleRepos: { search: searchRepo }, timezone: timezone ?? undefined });

  it('dry run: pairs and runs counted, bad rows named, in_progress and unmapped modules skipped', async () => {
    const r = await runImport(db.pool, await source(), { dryRun: true });
    expect(r.byKind.commit_status).toEqual({ created: 4, updated: 0, unchanged: 0, refused: 2, skipped: 2 });
    expect(r.byKind.benchmark_run).toMatchObject({ created: 3, refused: 2, skipped: 1 });
    const msg = (f: RegExp) => r.notices.find((n) => f.test(n.field))?.message;
    expect(msg(/^benchmark_commits\[sha=HEAD,.*\]\.sha$/)).toMatch(/full sha/);
    expect(msg(/\]\.status$/)).toMatch(/must be one of/);
    expect(msg(/^benchmark_commits_json$/)).toMatch(/--module-repos json=<path>/);
    expect(msg(/^benchmark_metrics\[id=4\]\.commit$/)).toMatch(/full sha/);
    expect(r.notices.some((n) => n.field.startsWith('benchmark_metrics[id=6]') && n.outcome === 'refused')).toBe(true);
    expect(r.notices.find((n) => n.field === 'benchmark_metrics[id=5]')).toMatchObject({
      outcome: 'skipped',
      message: expect.stringMatching(/failed/),
    });
    expect(Number((await db.pool.query('select count(*) from commit_status')).rows[0].count)).toBe(0);
  });

  it('naive timestamps need --timezone', async () => {
    const r = await runImport(db.pool, await source(null), { dryRun: true });
    expect(r.notices.find((n) => /^benchmark_commits\[sha=aaaa.*\]\.timestamp$/.test(n.field))?.message).toMatch(/--timezone/);
  });

  it('imports pairs and runs, idempotently, and rolls back through the append-only guard', async () => {
    const r = await runImport(db.pool, await source('Europe/Berlin'), { skipInvalid: true });
    expect(r.created).toBe(7);
    const pairs = (
      await db.pool.query(
        `select s.repo, s.sha, s.status, s.architecture, s.committed_at, c.config from commit_status s join benchmark_configs c on c.id = s.config_id order by sha, status`,
      )
    ).rows;
    expect(pairs.map((p) => [p.sha[0], p.status, p.architecture])).toEqual([
      ['a', 'complete', 'x86_64'],
      ['b', 'complete', 'x86_64'],
      ['c', 'failed', ''],
      ['d', 'complete', ''],
    ]);
    expect(pairs[0].repo).toBe(repoKey(repo));
    expect(pairs[3].repo).toBe(repoKey(searchRepo));
    expect(pairs[0].committed_at.toISOString()).toBe('2026-05-01T08:00:00.000Z'); // 10:00 in Berlin (CEST)
    expect(pairs[0].config).toEqual({ requests: 10000000, clients: [50], pipelines: [1, 10] });

    const runs = (
      await db.pool.query(
        `select r.sha, r.config_id is not null as has_config, r.environment, array_agg(m.name || '=' || m.value order by m.name) as m
       from benchmark_runs r join benchmark_metrics m on m.run_id = r.id group by r.id order by r.id`,
      )
    ).rows;
    expect(runs).toHaveLength(3);
    expect(runs[0]).toMatchObject({ sha: A, has_config: true });
    expect(runs[0].m).toEqual(['avg_latency_ms=0.261', 'p50_latency_ms=0.255', 'p99_latency_ms=0.415', 'rps=182000.5']);
    expect(runs[0].environment.commit_time).toBe('2026-05-01T08:00:00.000Z');
    // The run and the pair name one config row.
    const cfgs = Number((await db.pool.query('select count(distinct config_id) from benchmark_runs')).rows[0].count);
    expect(cfgs).toBe(1);

    const again = await runImport(db.pool, await source('Europe/Berlin'), { skipInvalid: true });
    expect(again.created).toBe(0);
    expect(again.unchanged).toBe(7);

    await rollbackImport(db.pool, r.id as number);
    expect(Number((await db.pool.query('select count(*) from benchmark_runs')).rows[0].count)).toBe(0);
    expect(Number((await db.pool.query('select count(*) from commit_status')).rows[0].count)).toBe(0);
    // The append-only guard is back for everyone else.
    await runImport(db.pool, await source('Europe/Berlin'), { skipInvalid: true });
    await expect(db.pool.query('delete from benchmark_runs')).rejects.toThrow(/append-only/);
  });

  it('a run whose source row changed is refused: results are append-only', async () => {
    const c = new pg.Client({ connectionString: legacy.url });
    await c.connect();
    await c.query('update benchmark_metrics set rps = 1 where id = 1');
    await c.end();
    const r = await runImport(db.pool, await source('Europe/Berlin'), { skipInvalid: true });
    expect(r.notices.find((n) => n.field === 'benchmark_metrics[id=1]')?.message).toMatch(/append-only/);
  });

  it('CLI: exit 1 on refusals, 0 with --skip-invalid, 2 on a bad --module-repos', async () => {
    const env = { DATABASE_URL: db.url };
    const base = ['import', 'valkey', '--from', legacy.url, '--repo', repo, '--timezone', 'UTC'];
    expect((await runCli([...base, '--dry-run'], env)).code).toBe(1);
    const bad = await runCli([...base, '--module-repos', 'search'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--module-repos: expected module=path/);
  });
});
