import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rollbackImport } from '../../src/imports/rollback.ts';
import { runImport } from '../../src/imports/run.ts';
import { medbilldozer, transactionRunUid } from '../../src/imports/sources/medbilldozer.ts';
import { listBaselines } from '../../src/tracking/baselines.ts';
import { compare } from '../../src/tracking/compare.ts';
import { pushResults } from '../../src/tracking/ingest.ts';
import { recordSnapshots } from '../../src/tracking/snapshots.ts';
import { runCli } from '../helpers/cli.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { fillMedbilldozer, metrics, push, SHA, tx } from '../helpers/legacy-medbilldozer.ts';

const REPO = 'medbilldozer';
const OPENAI = {
  model_version: 'openai-v1.0',
  dataset_version: 'benchmark-set-v1',
  prompt_version: 'v1',
  environment: 'github-actions',
  benchmark_type: 'standard',
};

let legacy: TestDatabase;
let legacyClient: pg.Client;
let dir: string;

beforeAll(async () => {
  legacy = await createTestDatabase({ empty: true, poolMax: 2 });
  legacyClient = new pg.Client({ connectionString: legacy.url });
  await legacyClient.connect();
  // The exports below write times as this session shows them.
  await legacyClient.query(`set timezone = 'UTC'`);
  await fillMedbilldozer(legacyClient);
  dir = mkdtempSync(join(tmpdir(), 'eventix-medbilldozer-'));
});
afterAll(async () => {
  await legacyClient?.end();
  await legacy?.drop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const source = (o: { timezone?: string } = {}) => medbilldozer({ from: legacy.url, repo: REPO, ...o });
const count = async (db: TestDatabase, table: string, where = 'true') =>
  Number((await db.pool.query(`select count(*)::int as n from ${table} where ${where}`)).rows[0].n);

/** The imported snapshots of one series, in version order. */
async function series(db: TestDatabase, metric: string, tags: Record<string, unknown>) {
  const { rows } = await db.pool.query(
    `select version, sha, is_current, is_baseline, baseline_name, run_uid::text, mean, n, runs, created_at, created_by
     from benchmark_snapshots where repo = $1 and metric = $2 and tags = $3::jsonb order by version`,
    [REPO, metric, JSON.stringify(tags)],
  );
  return rows;
}

/** The two tables as their JSON exports (`psql -c "select json_agg(t) from benchmark_transactions t"`). */
async function exportTables(naive = false): Promise<{ transactions: string; snapshots: string }> {
  const out = {
    transactions: join(dir, naive ? 'naive-transactions.json' : 'transactions.json'),
    snapshots: join(dir, naive ? 'naive-snapshots.json' : 'snapshots.json'),
  };
  for (const [table, file] of [
    ['benchmark_transactions', out.transactions],
    ['benchmark_snapshots', out.snapshots],
  ] as const) {
    const { rows } = await legacyClient.query(`select coalesce(json_agg(t order by t.created_at), '[]')::text as j from ${table} t`);
    const text = naive ? (rows[0].j as string).replace(/("created_at"\s*:\s*"[^"]+?)\+00:00"/g, '$1"') : rows[0].j;
    writeFileSync(file, text);
  }
  return out;
}

describe('import medbilldozer (Supabase / PostgreSQL)', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => db?.drop());

  it('a dry run reports what it would do by field path and writes nothing', async () => {
    const r = await runImport(db.pool, await source(), { dryRun: true });
    expect(r.byKind.benchmark_run).toEqual({ created: 9, updated: 0, unchanged: 0, refused: 2, skipped: 0 });
    expect(r.byKind.benchmark_snapshot).toEqual({ created: 8, updated: 0, unchanged: 0, refused: 2, skipped: 1 });
    expect(r.byKind.benchmark_baseline).toEqual({ created: 2, updated: 0, unchanged: 0, refused: 0, skipped: 1 });
    const notice = (field: string | RegExp) => r.notices.find((n) => (typeof field === 'string' ? n.field === field : field.test(n.field)));
    expect(notice(`benchmark_transactions[id=${tx(10)}].commit_sha`)?.message).toBe('must be a full commit sha (40 or 64 hex digits)');
    expect(notice(`benchmark_transactions[id=${tx(11)}].metrics.f1`)?.message).toBe('must be a finite JSON number');
    expect(notice(/^benchmark_snapshots\[id=[0-9a-f-]{36}\]\.commit_sha$/)).toMatchObject({
      kind: 'benchmark_snapshot',
      outcome: 'refused',
    });
    expect(notice(/^benchmark_snapshots\[id=[0-9a-f-]{36}\]\.metrics\.f1$/)).toMatchObject({
      kind: 'benchmark_snapshot',
      outcome: 'refused',
    });
    expect(r.notices.find((n) => n.kind === 'benchmark_snapshot' && n.outcome === 'skipped')?.message).toMatch(
      /soft-deleted .*is_active = false/,
    );
    expect(r.notices.find((n) => n.kind === 'benchmark_baseline' && n.outcome === 'skipped')?.message).toMatch(
      /^medbilldozer-openai-v1\.0 is made from the newer benchmark_snapshots\[id=.*\]: Eventix has one baseline per name/,
    );
    for (const t of ['benchmark_runs', 'benchmark_snapshots', 'benchmark_baselines', 'imports']) expect(await count(db, t)).toBe(0);
  });

  it('one refused record keeps the whole import out, unless skipInvalid', async () => {
    const r = await runImport(db.pool, await source());
    expect(r).toMatchObject({ written: false, id: null, refused: 4 });
    expect(await count(db, 'benchmark_runs')).toBe(0);
  });

  let first: number;
  it('imports transactions as runs with directions, and snapshots and baselines in the legacy order', async () => {
    const r = await runImport(db.pool, await source(), { skipInvalid: true });
    expect(r).toMatchObject({ written: true, created: 19, refused: 4, skipped: 2 });
    first = r.id as number;

    // A transaction → a run: its commit, branch, when it ran, its facts, and each metric tagged with its configuration.
    expect(await count(db, 'benchmark_runs')).toBe(9);
    const run = (await db.pool.query('select * from benchmark_runs where uid = $1', [transactionRunUid(tx(6))])).rows[0];
    expect(run).toMatchObject({ repo: REPO, sha: SHA.three, branch: 'develop', format: 'eventix', architecture: '', config_id: null });
    expect(run.finished_at.toISOString()).toBe('2026-02-03T02:00:00.000Z');
    expect(run.started_at.toISOString()).toBe('2026-02-03T01:59:14.800Z'); // created_at − duration_seconds (45.2)
    expect(run.environment).toEqual({
      transaction_id: tx(6),
      model_provider: 'openai',
      dataset_size: 12,
      run_id: 'run-00000000',
      triggered_by: 'github-actions[bot]',
      duration_seconds: 45.2,
      error_count: 0,
      success_count: 12,
      tags: ['nightly'],
    });
    const points = (
      await db.pool.query('select name, value, unit, direction, tags from benchmark_metrics where run_id = $1 order by name', [run.id])
    ).rows;
    expect(points.map((p) => [p.name, p.value, p.unit, p.direction])).toEqual([
      ['analysis_cost', 0.0042, 'USD', 'lower'],
      ['f1', 0.3, null, 'higher'],
      ['inference_cost_usd', 0.051, 'USD', 'lower'],
      ['latency_ms', 2400, 'ms', 'lower'],
      ['p95_latency_ms', 5120.5, 'ms', 'lower'],
      ['precision', 0.4, null, 'higher'],
      ['recall', 0.25, null, 'higher'],
      ['risk_weighted_recall', 0.41, null, 'higher'],
      ['total_documents', 12, null, null],
      ['total_issues_detected', 9, null, null],
      ['total_issues_expected', 15, null, null],
    ]);
    for (const p of points) expect(p.tags).toEqual(OPENAI);
    // No duration recorded: it finished when it was stored, and that is all that is known.
    const noDuration = (
      await db.pool.query('select started_at, finished_at from benchmark_runs where uid = $1', [transactionRunUid(tx(3))])
    ).rows[0];
    expect(noDuration.started_at).toEqual(noDuration.finished_at);
    const nested = (
      await db.pool.query(
        `select m.name, m.direction from benchmark_metrics m join benchmark_runs r on r.id = m.run_id where r.uid = $1 and m.name like 'by_category.%' order by m.name`,
        [transactionRunUid(tx(8))],
      )
    ).rows;
    expect(nested).toEqual([
      { name: 'by_category.duplicate_charge.detected', direction: null },
      { name: 'by_category.duplicate_charge.recall', direction: 'higher' },
      { name: 'by_category.upcoding.detected', direction: null },
      { name: 'by_category.upcoding.recall', direction: 'higher' },
    ]);

    // Snapshots: versions 1..n in the legacy order, the legacy's current one current, each of one run.
    const f1 = await series(db, 'f1', OPENAI);
    expect(f1.map((s) => [s.version, s.sha, s.is_current, s.run_uid, s.mean, s.n, s.runs])).toEqual([
      [1, SHA.one, false, transactionRunUid(tx(1)), 0.2, 1, 1],
      [2, SHA.two, false, transactionRunUid(tx(4)), 0.25, 1, 1],
      [3, SHA.three, true, transactionRunUid(tx(6)), 0.3, 1, 1],
    ]);
    expect(f1[0].created_at.toISOString()).toBe('2026-02-01T02:00:00.000Z');
    expect(f1[0].created_by).toBe('eventix import medbilldozer');
    // medgemma's first snapshot was soft-deleted: its second is version 1 here, then the baseline's. Its
    // configuration's current snapshot is the later patient_cross_document one, a series of its own here.
    const medgemma = { ...OPENAI, model_version: 'medgemma-v1.0' };
    expect((await series(db, 'f1', medgemma)).map((s) => [s.version, s.sha, s.is_current, s.is_baseline, s.baseline_name])).toEqual([
      [1, SHA.two, false, false, null],
      [2, SHA.two, false, true, 'medbilldozer-medgemma-v1.0'],
    ]);
    const patient = await series(db, 'f1', { ...medgemma, benchmark_type: 'patient_cross_document' });
    expect(patient.map((s) => [s.version, s.sha, s.is_current])).toEqual([[1, SHA.three, true]]);
    expect(await count(db, 'benchmark_snapshots', 'baseline_name is null')).toBe(8 * 6 + 11 + 12);
    expect(await count(db, 'benchmark_snapshots', 'is_current')).toBe(8 * 2 + 11 + 12);

    // Baselines: one per model_version, the newest marked snapshot's run.
    const baselines = await listBaselines(db.pool, { repo: REPO });
    expect(baselines.map((b) => [b.name, b.sha, b.runUid, b.series])).toEqual([
      ['medbilldozer-medgemma-v1.0', SHA.two, transactionRunUid(tx(5)), 8],
      ['medbilldozer-openai-v1.0', SHA.three, transactionRunUid(tx(7)), 8],
    ]);
    expect(baselines[0]?.description).toMatch(
      /^medbilldozer is_baseline: snapshot_version 2 of medgemma-v1\.0 \/ benchmark-set-v1 \/ v1 \/ github-actions/,
    );

    // And compare reads them with the directions the import gave: f1 is higher-is-better.
    const cmp = await compare(db.pool, {
      repo: REPO,
      baseline: 'medbilldozer-medgemma-v1.0',
      sha: SHA.one,
      tags: { model_version: ['medgemma-v1.0'], environment: ['github-actions'], benchmark_type: ['standard'] },
    });
    const f1cmp = cmp.comparisons.find((c) => c.metric === 'f1');
    expect(f1cmp).toMatchObject({ direction: 'higher', baseline: { mean: 0.3, source: 'runs' }, candidate: { mean: 0.2222 } });
  });

  it('running it again is idempotent: everything unchanged', async () => {
    const r = await runImport(db.pool, await source(), { skipInvalid: true });
    expect(r).toMatchObject({ created: 0, updated: 0, unchanged: 19, refused: 4, skipped: 2 });
    expect(await count(db, 'benchmark_runs')).toBe(9);
  });

  it('the JSON exports are the same records: unchanged; times without a zone need --timezone', async () => {
    const files = await exportTables();
    const r = await runImport(db.pool, await medbilldozer({ ...files, repo: REPO }), { dryRun: true });
    expect(r).toMatchObject({ created: 0, unchanged: 19, refused: 4, skipped: 2 });
    expect(r.notices.map((n) => n.field)).toContain('transactions.json[9].commit_sha');

    const naive = await exportTables(true);
    const without = await runImport(db.pool, await medbilldozer({ ...naive, repo: REPO }), { dryRun: true });
    expect(without.byKind.benchmark_run?.refused).toBe(11);
    expect(without.notices.find((n) => n.field === 'naive-transactions.json[0].created_at')?.message).toMatch(
      /no time zone: pass --timezone/,
    );
    const withZone = await runImport(db.pool, await medbilldozer({ ...naive, repo: REPO, timezone: 'UTC' }), { dryRun: true });
    expect(withZone).toMatchObject({ created: 0, unchanged: 19, refused: 4 });
  });

  it('a newer legacy result: one run and snapshot created, the old current one updated; its rollback puts it back', async () => {
    await push(legacyClient, { id: tx(12), at: '2026-02-05T02:00:00+00:00', sha: SHA.four, model: 'openai-v1.0', metrics: metrics(0.33) });
    try {
      const r = await runImport(db.pool, await source(), { skipInvalid: true });
      expect(r.byKind.benchmark_run).toMatchObject({ created: 1, unchanged: 9 });
      expect(r.byKind.benchmark_snapshot).toMatchObject({ created: 1, updated: 1, unchanged: 7 });
      expect(r.byKind.benchmark_baseline).toMatchObject({ created: 0, unchanged: 2 });
      expect((await series(db, 'f1', OPENAI)).map((s) => [s.version, s.is_current])).toEqual([
        [1, false],
        [2, false],
        [3, false],
        [4, true],
      ]);
      const back = await rollbackImport(db.pool, r.id as number);
      expect(back).toMatchObject({ removed: { benchmark_run: 1, benchmark_snapshot: 1 }, restored: { benchmark_snapshot: 1 } });
      expect((await series(db, 'f1', OPENAI)).map((s) => [s.version, s.is_current])).toEqual([
        [1, false],
        [2, false],
        [3, true],
      ]);
    } finally {
      await legacyClient.query('delete from benchmark_snapshots where transaction_id = $1', [tx(12)]);
      await legacyClient.query('delete from benchmark_transactions where id = $1', [tx(12)]);
      await legacyClient.query('update benchmark_snapshots set is_current = true where transaction_id = $1', [tx(6)]);
    }
  });

  it('a legacy snapshot whose numbers changed is refused: snapshots are history', async () => {
    await legacyClient.query(`update benchmark_snapshots set metrics = jsonb_set(metrics, '{f1}', '0.26') where transaction_id = $1`, [
      tx(4),
    ]);
    try {
      const r = await runImport(db.pool, await source(), { dryRun: true });
      expect(r.byKind.benchmark_snapshot).toMatchObject({ refused: 3, updated: 0, unchanged: 7 });
      const why = r.notices.find((n) => /snapshots are history/.test(n.message));
      expect(why?.field).toMatch(/^benchmark_snapshots\[id=[0-9a-f-]{36}\]$/);
    } finally {
      await legacyClient.query(`update benchmark_snapshots set metrics = jsonb_set(metrics, '{f1}', '0.25') where transaction_id = $1`, [
        tx(4),
      ]);
    }
  });

  it('rollback removes exactly what the import created', async () => {
    const dry = await rollbackImport(db.pool, first, { dryRun: true });
    expect(dry.removed).toEqual({ benchmark_run: 9, benchmark_snapshot: 8, benchmark_baseline: 2 });
    await rollbackImport(db.pool, first);
    for (const t of ['benchmark_runs', 'benchmark_metrics', 'benchmark_snapshots', 'benchmark_baselines'])
      expect(await count(db, t)).toBe(0);
  });
});

describe('import medbilldozer: never changes what Eventix wrote', () => {
  it('a snapshot recorded in Eventix since keeps the import from being rolled back, and from being re-imported over', async () => {
    const db = await createTestDatabase();
    try {
      const r = await runImport(db.pool, await source(), { skipInvalid: true });
      // `eventix results snapshot record` at the third commit makes its own snapshots current.
      await recordSnapshots(db.pool, { repo: REPO, sha: SHA.three });
      await expect(rollbackImport(db.pool, r.id as number)).rejects.toMatchObject({
        code: 'ImportConflict',
        message: /benchmark_snapshot medbilldozer\|[0-9a-f-]{36} \(points\)/,
      });
      const again = await runImport(db.pool, await source(), { skipInvalid: true });
      expect(again.byKind.benchmark_snapshot).toMatchObject({ refused: 2, skipped: 1 + 4, updated: 0 });
      expect(again.notices.filter((n) => /changed in Eventix since import \d+/.test(n.message))).toHaveLength(4);
    } finally {
      await db.drop();
    }
  });

  it('a current snapshot Eventix has of a series is not retired by an import: that record is refused', async () => {
    const db = await createTestDatabase();
    try {
      await pushResults(db.pool, {
        data: { runs: [{ metrics: [{ name: 'f1', value: 0.5, direction: 'higher', tags: OPENAI }] }] },
        repo: REPO,
        sha: SHA.four,
      });
      await recordSnapshots(db.pool, { repo: REPO, sha: SHA.four });
      const r = await runImport(db.pool, await source(), { dryRun: true });
      expect(r.byKind.benchmark_snapshot).toMatchObject({ created: 7, refused: 3 });
      const why = r.notices.find((n) => n.kind === 'benchmark_snapshot' && /would retire/.test(n.message));
      expect(why?.message).toMatch(
        /^would retire the current snapshot \(version 1\) of series f1 \{.*"model_version":"openai-v1\.0".*\}, which this import did not write/,
      );
    } finally {
      await db.drop();
    }
  });
});

describe('eventix import medbilldozer (CLI)', () => {
  it('dry-runs and imports with --json; refusals exit 1, usage errors exit 2', async () => {
    const db = await createTestDatabase();
    const env = { DATABASE_URL: db.url };
    try {
      const dry = await runCli(['import', 'medbilldozer', '--from', legacy.url, '--repo', REPO, '--dry-run'], env);
      expect(dry.code).toBe(1);
      expect(dry.stdout).toMatch(/medbilldozer \(medbilldozer:[^)]+\): dry run, nothing written/);
      expect(dry.stdout).toContain('benchmark_snapshot: 8 created, 0 updated, 0 unchanged, 2 refused, 1 skipped');
      expect(dry.stdout).toContain(`benchmark_transactions[id=${tx(10)}].commit_sha: must be a full commit sha`);
      const done = await runCli(['import', 'medbilldozer', '--from', legacy.url, '--repo', REPO, '--skip-invalid', '--json'], env);
      expect(done.code).toBe(0);
      const report = JSON.parse(done.stdout);
      expect(report).toMatchObject({ written: true, created: 19, refused: 4, skipped: 2, source: 'medbilldozer' });
      expect(report.sourceKey).not.toMatch(/password|postgres@/);
      const back = await runCli(['import', 'rollback', String(report.id)], env);
      expect(back.code).toBe(0);
      expect(back.stdout).toMatch(/^rolled back import \d+: removed .*9 benchmark_run\(s\)/);

      const noRepo = await runCli(['import', 'medbilldozer', '--from', legacy.url], env);
      expect(noRepo.code).toBe(2);
      expect(noRepo.stderr).toMatch(/--repo: is required/);
      const both = await runCli(['import', 'medbilldozer', '--from', legacy.url, '--transactions', 'x.json', '--repo', REPO], env);
      expect(both.code).toBe(2);
      expect(both.stderr).toMatch(/--from: read either the database/);
      const missing = await runCli(['import', 'medbilldozer', '--transactions', join(dir, 'nowhere.json'), '--repo', REPO], env);
      expect(missing.code).toBe(2);
      expect(missing.stderr).toMatch(/--transactions: cannot be read/);
    } finally {
      await db.drop();
    }
  });
});
