import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { type EventixError, NoCandidates, ValidationError } from '../../src/errors.ts';
import { createLogger } from '../../src/logger.ts';
import { findNearest, JsonFileRepository, nearestQuery, relativeDistance } from '../../src/tracking/nearest/index.ts';

const FIXTURE = new URL('../fixtures/benchmarks/llm-profiles.json', import.meta.url);
// biome-ignore lint/suspicious/noExplicitAny: fixture records are edited freely below.
const fixture = (): { benchmarks: any[] } => JSON.parse(readFileSync(FIXTURE, 'utf8'));
const H100_8B = { model_hf_repo: 'meta-llama/Llama-3.1-8B-Instruct', hardware: 'H100', hardware_count: '1' };

/** The issues a call throws, failing the test when it throws no ValidationError. */
async function issues(fn: () => unknown): Promise<{ field: string; message: string }[]> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof ValidationError) return err.issues;
    throw err;
  }
  throw new Error('expected a ValidationError');
}

/** A pino logger writing into an array of parsed JSON lines. */
function capture() {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l));
      done();
    },
  });
  return { lines, logger: createLogger('info', sink) };
}

/** A minimal seed-002 record at one traffic profile. */
const record = (input: number, output: number, extra: Record<string, unknown> = {}) => ({
  model_hf_repo: 'm/x',
  hardware: 'H100',
  hardware_count: 1,
  mean_input_tokens: input,
  mean_output_tokens: output,
  ttft_mean: input / 10,
  ...extra,
});

describe('relativeDistance: seed 002 traffic_distance', () => {
  it('is sqrt(Σ ((candidate − target) / target)²), 0 for an exact match', () => {
    expect(relativeDistance({ a: 512, b: 256 }, { a: 500, b: 250 })).toBeCloseTo(Math.sqrt(2 * (12 / 500) ** 2), 15);
    expect(relativeDistance({ a: 150, b: 200 }, { a: 150, b: 200 })).toBe(0);
    // Relative: the same share off weighs the same at any scale, above or below.
    expect(relativeDistance({ a: 1650 }, { a: 1500 })).toBeCloseTo(relativeDistance({ a: 135 }, { a: 150 }), 15);
    // Only the target's parameters count; others on the candidate are ignored.
    expect(relativeDistance({ a: 200, other: 1e9 }, { a: 100 })).toBe(1);
  });

  it('refuses a target that is not > 0 (it divides by it)', () => {
    expect(() => relativeDistance({ a: 1 }, { a: 0 })).toThrow(RangeError);
    expect(() => relativeDistance({ a: 1 }, { a: -5 })).toThrow(RangeError);
    expect(() => relativeDistance({}, { a: 5 })).toThrow(RangeError);
  });
});

describe('nearestQuery: input validation names the field', () => {
  it('refuses zero, negative, non-numeric and missing targets, and a field both exact and target', async () => {
    expect(await issues(() => nearestQuery({ target: { mean_input_tokens: 0 } }))).toEqual([
      { field: 'target.mean_input_tokens', message: expect.stringContaining('greater than 0') },
    ]);
    expect(await issues(() => nearestQuery({ target: { a: '-3', b: 'abc', c: '1e400', d: '' } }))).toEqual([
      { field: 'target.a', message: expect.stringContaining('greater than 0') },
      { field: 'target.b', message: expect.stringContaining('finite number') },
      { field: 'target.c', message: expect.stringContaining('finite number') },
      { field: 'target.d', message: expect.stringContaining('finite number') },
    ]);
    expect(await issues(() => nearestQuery({ target: {} }))).toEqual([{ field: 'target', message: expect.stringContaining('required') }]);
    expect(await issues(() => nearestQuery({ exact: { hardware: 'H100' }, target: { hardware: 1 } }))).toEqual([
      { field: 'target.hardware', message: expect.stringContaining('also an exact tag') },
    ]);
    // The API names exact tags as it receives them.
    expect(await issues(() => nearestQuery({ exact: { x: 'a\u0000b' }, target: { y: 1 } }, { exact: 'tags' }))).toEqual([
      { field: 'tags.x', message: expect.stringContaining('NUL') },
    ]);
  });

  it('reads decimal text, and numbers and booleans as exact tags through their text', () => {
    expect(nearestQuery({ exact: { hardware_count: 1, tls: false }, target: { a: '512', b: '1.5e3', c: 0.25 } })).toEqual({
      exact: { hardware_count: '1', tls: 'false' },
      target: { a: 512, b: 1500, c: 0.25 },
      repo: undefined,
    });
  });

  it('findNearest validates before asking the repository', async () => {
    const repo = { source: 'file' as const, candidates: () => Promise.reject(new Error('must not be called')) };
    expect(await issues(() => findNearest(repo, { exact: H100_8B, target: { mean_input_tokens: 0 } }))).toEqual([
      { field: 'target.mean_input_tokens', message: expect.any(String) },
    ]);
  });
});

describe('findNearest over a seed-002 JSON file', () => {
  const repo = () => JsonFileRepository.fromDocument(fixture());

  it('picks the closest of the five traffic profiles of the model+GPU, with the distance, and logs it', async () => {
    const { lines, logger } = capture();
    const r = await findNearest(repo(), { exact: H100_8B, target: { mean_input_tokens: 500, mean_output_tokens: 250 }, logger });
    expect(r.source).toBe('file');
    expect(r.candidates).toBe(5);
    expect(r.ties).toBe(1);
    expect(r.result.parameters).toEqual({ mean_input_tokens: 512, mean_output_tokens: 256 });
    expect(r.distance).toBeCloseTo(Math.sqrt(2 * (12 / 500) ** 2), 12);
    expect(r.result.record).toBe(1);
    expect(r.result.run).toBeNull();
    expect(r.result.tags).toMatchObject({ ...H100_8B, hardware_count: 1, framework: 'vllm', prompt_tokens: 512 });
    expect(r.result.metrics).toHaveLength(14);
    expect(r.result.metrics).toContainEqual({ name: 'ttft_p90', value: expect.any(Number), unit: 'ms', direction: 'lower' });
    expect(r.result.metrics).toContainEqual({
      name: 'tokens_per_second',
      value: expect.any(Number),
      unit: 'tokens/s',
      direction: 'higher',
    });

    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 30,
      source: 'file',
      distance: r.distance,
      candidates: 5,
      parameters: { mean_input_tokens: 512, mean_output_tokens: 256 },
      target: { mean_input_tokens: 500, mean_output_tokens: 250 },
      record: 1,
    });
    expect(lines[0]?.msg).toBe(
      'using benchmark with (mean_input_tokens=512, mean_output_tokens=256) for requested (mean_input_tokens=500, mean_output_tokens=250), distance=0.034',
    );
  });

  it('always answers with the closest, however far (no rejection threshold), and 0 for an exact match', async () => {
    const far = await findNearest(repo(), { exact: H100_8B, target: { mean_input_tokens: 100_000, mean_output_tokens: 100_000 } });
    expect(far.result.parameters).toEqual({ mean_input_tokens: 2048, mean_output_tokens: 1024 });
    expect(far.distance).toBeGreaterThan(1.3);
    const exact = await findNearest(repo(), { exact: H100_8B, target: { mean_input_tokens: 100, mean_output_tokens: 50 } });
    expect(exact.distance).toBe(0);
    expect(exact.result.record).toBe(4);
  });

  it('filters by every exact tag: numbers numerically, a missing tag or value matches nothing', async () => {
    const seventy = await findNearest(repo(), {
      exact: { model_hf_repo: 'meta-llama/Llama-3.1-70B-Instruct', hardware_count: '4.0' },
      target: { mean_input_tokens: 150, mean_output_tokens: 200 },
    });
    expect(seventy.candidates).toBe(5);
    expect(seventy.result.tags).toMatchObject({ hardware: 'H100', hardware_count: 4 });
    // Without the hardware tag, both GPUs of the 8B model are candidates.
    const both = await findNearest(repo(), {
      exact: { model_hf_repo: H100_8B.model_hf_repo },
      target: { mean_input_tokens: 150, mean_output_tokens: 200 },
    });
    expect(both.candidates).toBe(10);

    for (const exact of [
      { ...H100_8B, hardware_count: '2' },
      { ...H100_8B, hardware: 'h100' }, // strings are compared exactly
      { ...H100_8B, region: 'eu' }, // a tag no record has
    ]) {
      const err = await findNearest(repo(), { exact, target: { mean_input_tokens: 1 } }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NoCandidates);
      expect((err as EventixError).code).toBe('NoCandidates');
      expect((err as EventixError).details).toEqual({ tags: exact, parameters: ['mean_input_tokens'] });
    }
  });

  it('counts only profiles holding every target parameter as a number', async () => {
    const doc = fixture();
    doc.benchmarks[0].prompt_tokens_max = 180;
    const r = await findNearest(JsonFileRepository.fromDocument(doc), { exact: H100_8B, target: { prompt_tokens_max: 2000 } });
    expect(r.candidates).toBe(1);
    expect(r.result.record).toBe(0);
    const err = await findNearest(JsonFileRepository.fromDocument(doc), { exact: H100_8B, target: { framework: 1 } }).catch((e) => e);
    expect(err).toBeInstanceOf(NoCandidates);
  });

  it('breaks ties by the smaller parameters, then the tag set, whatever the order in the file', async () => {
    const target = { mean_input_tokens: 100, mean_output_tokens: 100 };
    const docs = [
      [record(150, 100), record(50, 100)],
      [record(50, 100), record(150, 100)],
    ];
    for (const doc of docs) {
      const r = await findNearest(JsonFileRepository.fromDocument(doc), { target });
      expect(r.distance).toBe(0.5);
      expect(r.ties).toBe(2);
      expect(r.result.parameters).toEqual({ mean_input_tokens: 50, mean_output_tokens: 100 });
    }
    // Same parameters, different tags: the tag set whose sorted JSON sorts first ("0.6" < "0.7").
    const versions = [record(100, 100, { framework_version: '0.7' }), record(100, 100, { framework_version: '0.6' })];
    for (const doc of [versions, [...versions].reverse()]) {
      const r = await findNearest(JsonFileRepository.fromDocument(doc), { target });
      expect(r).toMatchObject({ distance: 0, ties: 2 });
      expect(r.result.tags.framework_version).toBe('0.6');
    }
  });

  it('keeps only the last result of a profile written twice', async () => {
    const doc = [record(100, 100, { ttft_mean: 1 }), record(400, 400), record(100, 100, { ttft_mean: 2 })];
    const r = await findNearest(JsonFileRepository.fromDocument(doc), { target: { mean_input_tokens: 90, mean_output_tokens: 90 } });
    expect(r.candidates).toBe(2);
    expect(r.result.record).toBe(2);
    expect(r.result.metrics).toEqual([{ name: 'ttft_mean', value: 2, unit: 'ms', direction: 'lower' }]);
  });

  it('works on any results format: valkey rows, nearest by clients and data size', async () => {
    const rows = [];
    for (const clients of [10, 50, 200])
      for (const data_size of [16, 512, 4096])
        rows.push({ command: 'SET', clients, data_size, pipeline: 1, rps: clients * 1000 - data_size, p99_latency_ms: data_size / 100 });
    rows.push({ command: 'GET', clients: 64, data_size: 600, pipeline: 1, rps: 1 });
    const r = await findNearest(JsonFileRepository.fromDocument(rows), {
      exact: { command: 'SET' },
      target: { clients: 64, data_size: 600 },
    });
    expect(r.candidates).toBe(9);
    expect(r.result.tags).toEqual({ command: 'SET', clients: 50, data_size: 512, pipeline: 1 });
    expect(r.result.metrics.map((m) => m.name)).toEqual(['rps', 'p99_latency_ms']);
  });

  it('names a bad record by its path, and a file it cannot read', async () => {
    const doc = fixture();
    doc.benchmarks[3].itl_p90 = 'fast';
    expect(await issues(() => findNearest(JsonFileRepository.fromDocument(doc), { target: { mean_input_tokens: 1 } }))).toEqual([
      { field: 'benchmarks.3.itl_p90', message: expect.stringContaining('finite JSON number') },
    ]);
    const missing = new JsonFileRepository('/nonexistent/benchmarks.json', { field: '--file' });
    expect(await issues(() => findNearest(missing, { target: { mean_input_tokens: 1 } }))).toEqual([
      { field: '--file', message: expect.stringContaining('cannot read /nonexistent/benchmarks.json') },
    ]);
  });

  it('reads the file from disk once, however many lookups', async () => {
    const file = new JsonFileRepository(FIXTURE.pathname);
    const a = await findNearest(file, { exact: H100_8B, target: { mean_input_tokens: 1000, mean_output_tokens: 500 } });
    const b = await findNearest(file, { exact: H100_8B, target: { mean_input_tokens: 2000, mean_output_tokens: 1000 } });
    expect([a.result.record, b.result.record]).toEqual([2, 3]);
  });
});
