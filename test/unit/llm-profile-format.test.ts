import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.ts';
import { detectFormat, parseResults } from '../../src/tracking/formats/index.ts';
import { prepareResults } from '../../src/tracking/ingest.ts';

// biome-ignore lint/suspicious/noExplicitAny: fixture records are edited freely below.
const fixture = (): { benchmarks: any[] } =>
  JSON.parse(readFileSync(new URL('../fixtures/benchmarks/llm-profiles.json', import.meta.url), 'utf8'));

function issues(fn: () => unknown): { field: string; message: string }[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ValidationError) return err.issues;
    throw err;
  }
  throw new Error('expected a ValidationError');
}

describe('llm-profile: seed 002 benchmark records as a results format', () => {
  it('is detected from the benchmarks.json wrapper and from a bare array of records', () => {
    expect(detectFormat(fixture())).toBe('llm-profile');
    expect(detectFormat(fixture().benchmarks)).toBe('llm-profile');
    expect(detectFormat({ format: 'llm-profile', benchmarks: [] })).toBe('llm-profile');
  });

  it('turns each record into one run: exact fields and traffic as tags, latencies and rates as metrics', () => {
    const parsed = parseResults(fixture());
    expect(parsed.format).toBe('llm-profile');
    expect(parsed.runs).toHaveLength(20);
    expect(parsed.skipped).toEqual([]);
    const first = parsed.runs[0];
    expect(first).not.toHaveProperty('repo');
    expect(first).not.toHaveProperty('sha');
    const tags = {
      model_hf_repo: 'meta-llama/Llama-3.1-8B-Instruct',
      hardware: 'H100',
      hardware_count: 1,
      framework: 'vllm',
      framework_version: '0.6.2',
      mean_input_tokens: 150,
      mean_output_tokens: 200,
      prompt_tokens: 150,
      prompt_tokens_stdev: 12,
      output_tokens: 200,
      output_tokens_stdev: 20,
    };
    expect(first?.metrics.map((m) => [m.name, m.unit, m.direction])).toEqual([
      ...['ttft_mean', 'ttft_p90', 'ttft_p95', 'ttft_p99', 'itl_mean', 'itl_p90', 'itl_p95', 'itl_p99'].map((n) => [n, 'ms', 'lower']),
      ...['e2e_mean', 'e2e_p90', 'e2e_p95', 'e2e_p99'].map((n) => [n, 'ms', 'lower']),
      ['tokens_per_second', 'tokens/s', 'higher'],
      ['requests_per_second', 'req/s', 'higher'],
    ]);
    for (const m of first?.metrics ?? []) expect(m.tags).toEqual(tags);
    expect(first?.metrics[0]?.value).toBe(24.8);
    // Five traffic profiles for each of the four model+GPU configurations.
    const configs = new Set(parsed.runs.map((r) => JSON.stringify([r.metrics[0]?.tags?.model_hf_repo, r.metrics[0]?.tags?.hardware])));
    expect(configs.size).toBe(4);
  });

  it('keeps other scalar fields as tags and leaves nulls out', () => {
    const doc = fixture();
    doc.benchmarks = [{ ...doc.benchmarks[0], max_num_seqs: 256, quantized: false, framework_version: null, e2e_p90: null }];
    const [run] = parseResults(doc).runs;
    expect(run?.metrics[0]?.tags).toMatchObject({ max_num_seqs: 256, quantized: false });
    expect(run?.metrics[0]?.tags).not.toHaveProperty('framework_version');
    expect(run?.metrics.map((m) => m.name)).not.toContain('e2e_p90');
  });

  it('refuses a bad document whole, naming every bad field by its path', () => {
    const doc = fixture();
    doc.benchmarks[3].ttft_p90 = 'slow';
    doc.benchmarks[5].hardware_count = 1.5;
    delete doc.benchmarks[6].mean_output_tokens;
    doc.benchmarks[7].mean_input_tokens = -1;
    doc.benchmarks[8].tpot_p90 = 12;
    doc.benchmarks[9].gpu_type = 'H100';
    doc.benchmarks[10].notes = { a: 1 };
    doc.benchmarks[11] = { model_hf_repo: 'm', hardware: 'h', hardware_count: 1, mean_input_tokens: 1, mean_output_tokens: 1 };
    doc.benchmarks[12].model_hf_repo = '';
    expect(issues(() => parseResults(doc))).toEqual([
      { field: 'benchmarks.3.ttft_p90', message: 'must be a finite JSON number ≥ 0, not "slow"' },
      { field: 'benchmarks.5.hardware_count', message: 'must be a whole number ≥ 1, not 1.5' },
      { field: 'benchmarks.6.mean_output_tokens', message: 'is required in every record' },
      { field: 'benchmarks.7.mean_input_tokens', message: 'must be a finite JSON number ≥ 0, not -1' },
      { field: 'benchmarks.8.tpot_p90', message: "is seed 002's old name: rename it to itl_p90" },
      { field: 'benchmarks.9.gpu_type', message: "is seed 002's old name: rename it to hardware" },
      { field: 'benchmarks.10.notes', message: expect.stringContaining('must be a string, number or boolean') },
      { field: 'benchmarks.11', message: expect.stringContaining('has no metric') },
      { field: 'benchmarks.12.model_hf_repo', message: expect.stringContaining('non-empty string') },
    ]);
  });

  it('names paths under a bare array, under the API prefix, and the document itself', () => {
    const rows = fixture().benchmarks;
    rows[2].e2e_mean = Number.NaN;
    expect(issues(() => parseResults(rows))).toEqual([{ field: '2.e2e_mean', message: expect.any(String) }]);
    expect(issues(() => parseResults(rows, { prefix: 'data' }))).toEqual([{ field: 'data.2.e2e_mean', message: expect.any(String) }]);
    expect(issues(() => parseResults({ benchmarks: [] }))).toEqual([{ field: 'benchmarks', message: 'must hold at least one record' }]);
    expect(issues(() => parseResults({ benchmarks: 'x' }, { format: 'llm-profile' }))).toEqual([
      { field: 'benchmarks', message: expect.stringContaining('JSON array') },
    ]);
    expect(issues(() => parseResults([1], { format: 'llm-profile' }))).toEqual([
      { field: '0', message: expect.stringContaining('object') },
    ]);
  });

  it('needs the repo and sha from the push, since records name neither', () => {
    expect(issues(() => prepareResults({ data: fixture() }))).toEqual([
      { field: 'repo', message: 'is required: the llm-profile document does not give it, so the request must' },
      { field: 'sha', message: 'is required: the llm-profile document does not give it, so the request must' },
    ]);
    const prepared = prepareResults({ data: fixture(), repo: 'acme/llm', sha: 'a'.repeat(40) });
    expect(prepared.format).toBe('llm-profile');
    expect(prepared.runs).toHaveLength(20);
    expect(prepared.runs.every((r) => r.run.format === 'llm-profile' && r.metrics.length === 14)).toBe(true);
  });
});
