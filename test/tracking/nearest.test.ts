import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { nearestToJson } from '../../src/api/nearest-schemas.ts';
import { NoCandidates, ValidationError } from '../../src/errors.ts';
import { pushResults } from '../../src/tracking/ingest.ts';
import {
  type BenchmarkRepository,
  findNearest,
  JsonFileRepository,
  type NearestInput,
  PostgresRepository,
} from '../../src/tracking/nearest/index.ts';
import { listRuns } from '../../src/tracking/runs.ts';
import { useTestDatabase } from '../helpers/db.ts';

// biome-ignore lint/suspicious/noExplicitAny: fixture records are edited freely below.
const fixture = (): { benchmarks: any[] } =>
  JSON.parse(readFileSync(new URL('../fixtures/benchmarks/llm-profiles.json', import.meta.url), 'utf8'));
const SHA = 'd'.repeat(40);
const MODELS = [
  { model_hf_repo: 'meta-llama/Llama-3.1-8B-Instruct', hardware: 'H100', hardware_count: '1' },
  { model_hf_repo: 'meta-llama/Llama-3.1-8B-Instruct', hardware: 'A100-80', hardware_count: '1' },
  { model_hf_repo: 'meta-llama/Llama-3.1-70B-Instruct', hardware: 'H100', hardware_count: '4' },
  { model_hf_repo: 'mistralai/Mistral-7B-Instruct-v0.3', hardware: 'L4', hardware_count: '1.0' },
];
const TARGETS: Record<string, number>[] = [
  { mean_input_tokens: 512, mean_output_tokens: 256 },
  { mean_input_tokens: 300, mean_output_tokens: 120 },
  { mean_input_tokens: 1, mean_output_tokens: 1 },
  { mean_input_tokens: 5000, mean_output_tokens: 40 },
  { mean_input_tokens: 700 },
  { prompt_tokens_stdev: 100, output_tokens: 300 },
];

/** What both implementations must agree on: everything but where the result came from. */
async function answer(repo: BenchmarkRepository, input: NearestInput) {
  const { run: _run, record: _record, source: _source, ...rest } = nearestToJson(await findNearest(repo, input));
  return rest;
}

describe('nearest-profile lookup against the results store', () => {
  const db = useTestDatabase();
  const pg = () => new PostgresRepository(db().pool);
  const counts = async () =>
    (
      await db().pool.query<{ runs: number; metrics: number }>(
        'select (select count(*)::int from benchmark_runs) as runs, (select count(*)::int from benchmark_metrics) as metrics',
      )
    ).rows[0];

  it('stores a seed-002 file as llm-profile runs; a bad record stores nothing and is named', async () => {
    const before = await counts();
    const bad = fixture();
    bad.benchmarks[7].itl_p90 = 'quick';
    const err = await pushResults(db().pool, { data: bad, repo: 'acme/llm', sha: SHA }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).issues).toEqual([{ field: 'benchmarks.7.itl_p90', message: expect.any(String) }]);
    expect(await counts()).toEqual(before);

    const pushed = await pushResults(db().pool, { data: fixture(), repo: 'acme/llm', sha: SHA });
    expect(pushed).toMatchObject({ format: 'llm-profile', metrics: 280 });
    expect(pushed.runs).toHaveLength(20);
    const page = await listRuns(db().pool, { repo: 'acme/llm', limit: 1 });
    expect(page.runs[0]).toMatchObject({ format: 'llm-profile', sha: SHA });
    expect(page.runs[0]?.metrics[0]).toMatchObject({ unit: 'ms', direction: 'lower', tags: { hardware: 'L4', hardware_count: 1 } });
  });

  it('answers exactly as the JSON file does, for every model+GPU and target', async () => {
    const file = JsonFileRepository.fromDocument(fixture());
    let compared = 0;
    for (const exact of MODELS) {
      for (const target of TARGETS) {
        const fromDb = await answer(pg(), { exact, target });
        expect(fromDb, JSON.stringify({ exact, target })).toEqual(await answer(file, { exact, target }));
        expect(fromDb.candidates).toBe(5);
        compared++;
      }
    }
    expect(compared).toBe(24);
  });

  it('names the stored run, and logs nothing unless given a logger', async () => {
    const r = await findNearest(pg(), { exact: MODELS[0], target: { mean_input_tokens: 500, mean_output_tokens: 250 } });
    expect(r.source).toBe('database');
    expect(r.result.record).toBeNull();
    expect(r.result.run).toMatchObject({ repo: 'acme/llm', sha: SHA, format: 'llm-profile', architecture: null });
    expect(r.result.parameters).toEqual({ mean_input_tokens: 512, mean_output_tokens: 256 });
    const { rows } = await db().pool.query(
      `select m.tags ->> 'mean_input_tokens' as input from benchmark_runs r join benchmark_metrics m on m.run_id = r.id
       where r.uid = $1 limit 1`,
      [r.result.run?.uid],
    );
    expect(rows[0].input).toBe('512');
  });

  it('takes the latest run of a profile pushed again, in the database as in a file written twice', async () => {
    const again = fixture();
    again.benchmarks = [{ ...again.benchmarks[1], ttft_mean: 1.25 }];
    await pushResults(db().pool, { data: again, repo: 'acme/llm', sha: 'e'.repeat(40) });
    const exact = MODELS[0];
    const target = { mean_input_tokens: 500, mean_output_tokens: 250 };
    const r = await findNearest(pg(), { exact, target });
    expect(r.candidates).toBe(5);
    expect(r.result.run?.sha).toBe('e'.repeat(40));
    expect(r.result.metrics[0]).toEqual({ name: 'ttft_mean', value: 1.25, unit: 'ms', direction: 'lower' });
    expect(r.result.metrics).toHaveLength(14);
    const both = fixture();
    both.benchmarks.push(...again.benchmarks);
    expect(await answer(pg(), { exact, target })).toEqual(await answer(JsonFileRepository.fromDocument(both), { exact, target }));
  });

  it('filters by repo, and refuses an empty candidate set with NoCandidates', async () => {
    const other = fixture();
    other.benchmarks = other.benchmarks.slice(0, 5).map((b) => ({ ...b, mean_input_tokens: b.mean_input_tokens + 1 }));
    await pushResults(db().pool, { data: other, repo: 'acme/other', sha: SHA });
    const target = { mean_input_tokens: 151, mean_output_tokens: 200 };
    expect((await findNearest(pg(), { exact: MODELS[0], target, repo: 'acme/other' })).distance).toBe(0);
    expect((await findNearest(pg(), { exact: MODELS[0], target, repo: 'acme/llm' })).distance).toBeCloseTo(1 / 151, 12);
    // Without a repo, both repositories' profiles are candidates (the shifted ones are other tag sets).
    expect((await findNearest(pg(), { exact: MODELS[0], target })).candidates).toBe(10);

    for (const input of [
      { exact: { ...MODELS[0], hardware: 'B200' }, target },
      { exact: MODELS[0], target, repo: 'acme/none' },
      { exact: MODELS[0], target: { no_such_parameter: 1 } },
    ]) {
      const err = await findNearest(pg(), input).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NoCandidates);
    }
  });

  it('works over any pushed format: valkey rows by clients and data size, as from the file', async () => {
    const rows = [];
    for (const clients of [10, 50, 200])
      for (const data_size of [16, 512, 4096])
        rows.push({ command: 'SET', clients, data_size, tls: false, rps: clients * 1000 - data_size, p99_latency_ms: data_size / 100 });
    rows.push({ command: 'GET', clients: 64, data_size: 600, tls: false, rps: 1 });
    // A parameter written as a string is no number: that profile is no candidate, on either side.
    rows.push({ command: 'SET', clients: '64', data_size: 600, tls: false, rps: 2 });
    await pushResults(db().pool, { data: rows, repo: 'valkey-io/valkey', sha: SHA });
    const input = { exact: { command: 'SET', tls: 'false' }, target: { clients: 64, data_size: 600 }, repo: 'valkey-io/valkey' };
    const fromDb = await answer(pg(), input);
    expect(fromDb).toMatchObject({ candidates: 9, profile: { command: 'SET', clients: 50, data_size: 512, tls: false } });
    expect(fromDb).toEqual(await answer(JsonFileRepository.fromDocument(rows), { ...input, repo: undefined }));
  });
});
