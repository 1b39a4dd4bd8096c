import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rollbackImport } from '../../src/imports/rollback.ts';
import { runImport } from '../../src/imports/run.ts';
import { compassFile } from '../../src/imports/sources/compass.ts';
import { findNearest, PostgresRepository } from '../../src/tracking/nearest/index.ts';
import { runCli } from '../helpers/cli.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

const REPO = 'compass';
const SHA = '9f378aa0c1d2e3f405162738495a6b7c8d9e0f11';
const OTHER_SHA = 'a0b1c2d3e4f5061728394a5b6c7d8e9f00112233';

/**
 * Compass's data/benchmarks.json after its phase 1 (the SQL-aligned schema): a record per model,
 * GPU, GPU count and traffic profile, the five profiles of the seed, numbers scaled like its data.
 */
const PROFILES: [number, number][] = [
  [150, 200],
  [512, 256],
  [1024, 512],
  [2048, 1024],
  [100, 50],
];
const CONFIGS = [
  { model_hf_repo: 'meta-llama/Llama-3.1-8B-Instruct', hardware: 'H100', hardware_count: 1 },
  { model_hf_repo: 'meta-llama/Llama-3.1-8B-Instruct', hardware: 'A100-80', hardware_count: 2 },
  { model_hf_repo: 'mistralai/Mistral-7B-Instruct-v0.3', hardware: 'H100', hardware_count: 1 },
  { model_hf_repo: 'mistralai/Mistral-7B-Instruct-v0.3', hardware: 'L4', hardware_count: 4 },
];

function record(cfg: (typeof CONFIGS)[number], [input, output]: [number, number], scale = 1): Record<string, unknown> {
  const ttft = Math.round((20 + input / 25) * scale * 10) / 10;
  const itl = Math.round((8 + cfg.hardware_count) * scale * 10) / 10;
  const e2e = Math.round(ttft + output * itl);
  return {
    ...cfg,
    framework: 'vllm',
    framework_version: '0.6.2',
    mean_input_tokens: input,
    mean_output_tokens: output,
    prompt_tokens: input,
    prompt_tokens_stdev: Math.round(input * 0.08),
    output_tokens: output,
    output_tokens_stdev: Math.round(output * 0.1),
    ttft_mean: ttft,
    ttft_p90: Math.round(ttft * 1.3 * 10) / 10,
    ttft_p99: Math.round(ttft * 1.9 * 10) / 10,
    itl_mean: itl,
    itl_p90: Math.round(itl * 1.25 * 10) / 10,
    itl_p99: Math.round(itl * 1.6 * 10) / 10,
    e2e_mean: e2e,
    e2e_p90: Math.round(e2e * 1.2),
    e2e_p99: Math.round(e2e * 1.5),
    tokens_per_second: Math.round((60000 / itl) * 10) / 10,
    requests_per_second: Math.round((1000 / e2e) * 64 * 100) / 100,
  };
}

const GOOD = CONFIGS.flatMap((cfg) => PROFILES.map((p) => record(cfg, p)));
const { itl_p90: _itl, itl_mean: _itlMean, ...halfMigrated } = record(CONFIGS[0] as (typeof CONFIGS)[number], [300, 300]);
const BAD = [
  // 20: half-migrated: still the phase-0 tpot_* names.
  { ...halfMigrated, tpot_p90: 11.3, tpot_mean: 9.1 },
  // 21: a metric written as text.
  { ...record(CONFIGS[1] as (typeof CONFIGS)[number], [300, 300]), ttft_p90: 'fast' },
  // 22: the profile of record 3 again, with other numbers.
  record(CONFIGS[0] as (typeof CONFIGS)[number], PROFILES[3] as [number, number], 1.1),
  // 23: no hardware.
  { ...record(CONFIGS[2] as (typeof CONFIGS)[number], [300, 300]), hardware: undefined },
  // 24: not a record at all.
  'TODO: add the H200 runs',
];

describe('import compass (benchmarks.json)', () => {
  let dir: string;
  let file: string;
  let db: TestDatabase;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'eventix-compass-'));
    file = join(dir, 'benchmarks.json');
    writeFileSync(file, JSON.stringify([...GOOD, ...BAD], null, 2));
    db = await createTestDatabase();
  });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await db?.drop();
  });
  const source = (o: { sha?: string; path?: string } = {}) => compassFile({ file: o.path ?? file, repo: REPO, sha: o.sha ?? SHA });
  const runs = async () => Number((await db.pool.query('select count(*)::int as n from benchmark_runs')).rows[0].n);

  it('a dry run names each refused record by its place in the file, with the push’s own messages', async () => {
    const r = await runImport(db.pool, await source(), { dryRun: true });
    expect(r.byKind.benchmark_run).toEqual({ created: 20, updated: 0, unchanged: 0, refused: 5, skipped: 0 });
    const said = Object.fromEntries(r.notices.map((n) => [n.field, n.message]));
    expect(said['benchmarks.json[20].tpot_p90']).toBe("is seed 002's old name: rename it to itl_p90");
    expect(said['benchmarks.json[20].tpot_mean']).toBe("is seed 002's old name: rename it to itl_mean");
    expect(said['benchmarks.json[21].ttft_p90']).toBe('must be a finite JSON number ≥ 0, not "fast"');
    expect(said['benchmarks.json[22]']).toMatch(/^is the same benchmark_run as benchmarks\.json\[3\] \(key [0-9a-f-]{36}\)$/);
    expect(said['benchmarks.json[23].hardware']).toBe('is required in every record');
    expect(said['benchmarks.json[24]']).toBe('must be a JSON object (a benchmark record)');
    expect(await runs()).toBe(0);
  });

  let first: number;
  it('imports one run per record, as `eventix results push` stores it, and the lookup finds them', async () => {
    const r = await runImport(db.pool, await source(), { skipInvalid: true });
    expect(r).toMatchObject({ written: true, created: 20, refused: 5 });
    first = r.id as number;
    expect(await runs()).toBe(20);
    const { rows } = await db.pool.query(
      `select r.repo, r.sha, r.branch, r.format, m.name, m.value, m.unit, m.direction, m.tags
       from benchmark_runs r join benchmark_metrics m on m.run_id = r.id
       where m.tags @> '{"hardware": "A100-80", "mean_input_tokens": 512}'::jsonb order by m.name`,
    );
    expect(rows).toHaveLength(11);
    expect(rows[0]).toMatchObject({ repo: REPO, sha: SHA, branch: null, format: 'llm-profile' });
    const by = Object.fromEntries(rows.map((m) => [m.name, m]));
    expect(by.ttft_mean).toMatchObject({ value: 40.5, unit: 'ms', direction: 'lower' });
    expect(by.tokens_per_second).toMatchObject({ unit: 'tokens/s', direction: 'higher' });
    expect(by.requests_per_second).toMatchObject({ unit: 'req/s', direction: 'higher' });
    expect(by.ttft_mean.tags).toEqual({
      model_hf_repo: 'meta-llama/Llama-3.1-8B-Instruct',
      hardware: 'A100-80',
      hardware_count: 2,
      framework: 'vllm',
      framework_version: '0.6.2',
      mean_input_tokens: 512,
      mean_output_tokens: 256,
      prompt_tokens: 512,
      prompt_tokens_stdev: 41,
      output_tokens: 256,
      output_tokens_stdev: 26,
    });
    const near = await findNearest(new PostgresRepository(db.pool), {
      exact: { model_hf_repo: 'meta-llama/Llama-3.1-8B-Instruct', hardware: 'A100-80', hardware_count: 2 },
      target: { mean_input_tokens: 600, mean_output_tokens: 300 },
      repo: REPO,
    });
    expect(near.result.parameters).toEqual({ mean_input_tokens: 512, mean_output_tokens: 256 });
  });

  it('running it again is idempotent', async () => {
    const r = await runImport(db.pool, await source(), { skipInvalid: true });
    expect(r).toMatchObject({ created: 0, unchanged: 20, refused: 5 });
  });

  it('a file that gained a record (at the top, so every index moved) creates only that one', async () => {
    const grown = join(dir, 'grown.json');
    const added = record(CONFIGS[0] as (typeof CONFIGS)[number], [4096, 1024]);
    writeFileSync(grown, JSON.stringify({ description: 'Compass synthetic benchmarks', benchmarks: [added, ...GOOD] }));
    const r = await runImport(db.pool, await source({ path: grown }));
    expect(r).toMatchObject({ written: true, created: 1, unchanged: 20, refused: 0 });
    expect(await runs()).toBe(21);
    await rollbackImport(db.pool, r.id as number);
    expect(await runs()).toBe(20);
  });

  it('a record whose numbers changed is refused (runs are append-only); another commit is new runs', async () => {
    const changed = join(dir, 'changed.json');
    writeFileSync(changed, JSON.stringify([{ ...GOOD[0], ttft_mean: 99.9 }, ...GOOD.slice(1)]));
    const r = await runImport(db.pool, await source({ path: changed }), { dryRun: true });
    expect(r.byKind.benchmark_run).toMatchObject({ unchanged: 19, refused: 1 });
    expect(r.notices[0]).toMatchObject({ field: 'changed.json[0]' });
    expect(r.notices[0]?.message).toMatch(/differs from what import \d+ stored, and benchmark_runs are append-only/);
    const other = await runImport(db.pool, await source({ sha: OTHER_SHA }), { skipInvalid: true });
    expect(other.created).toBe(20);
    await rollbackImport(db.pool, other.id as number);
  });

  it('rollback removes exactly what the import created', async () => {
    const back = await rollbackImport(db.pool, first);
    expect(back.removed).toEqual({ benchmark_run: 20 });
    expect(await runs()).toBe(0);
    expect(Number((await db.pool.query('select count(*)::int as n from benchmark_metrics')).rows[0].n)).toBe(0);
  });

  it('the CLI: a dry run exits 1 on refusals, an import with --json 0, bad flags 2', async () => {
    const env = { DATABASE_URL: db.url };
    const dry = await runCli(['import', 'compass', '--file', file, '--repo', REPO, '--sha', SHA, '--dry-run'], env);
    expect(dry.code).toBe(1);
    expect(dry.stdout).toContain('benchmark_run: 20 created, 0 updated, 0 unchanged, 5 refused, 0 skipped');
    expect(dry.stdout).toContain("benchmarks.json[20].tpot_p90: is seed 002's old name: rename it to itl_p90");
    const done = await runCli(['import', 'compass', '--file', file, '--repo', REPO, '--sha', SHA, '--skip-invalid', '--json'], env);
    expect(done.code).toBe(0);
    expect(JSON.parse(done.stdout)).toMatchObject({ source: 'compass', written: true, created: 20, refused: 5 });
    const bad = await runCli(['import', 'compass', '--file', file, '--repo', REPO, '--sha', '9f378aa'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--sha: must be a full commit sha/);
    const noSha = await runCli(['import', 'compass', '--file', file, '--repo', REPO], env);
    expect(noSha.code).toBe(2);
    expect(noSha.stderr).toMatch(/--sha: is required/);
    const notJson = join(dir, 'notes.txt');
    writeFileSync(notJson, 'model,hardware\n');
    const garbled = await runCli(['import', 'compass', '--file', notJson, '--repo', REPO, '--sha', SHA], env);
    expect(garbled.code).toBe(2);
    expect(garbled.stderr).toMatch(/--file: is not JSON/);
  });
});
