import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.ts';
import { createLogger, silentLogger } from '../../src/logger.ts';
import { expectJson, expectProblem, get, type Json, post } from '../helpers/api.ts';
import { useTestDatabase } from '../helpers/db.ts';

const fixture = (): Json => JSON.parse(readFileSync(new URL('../fixtures/benchmarks/llm-profiles.json', import.meta.url), 'utf8'));
const SHA = 'f'.repeat(40);
const H100 = 'tags[model_hf_repo]=meta-llama/Llama-3.1-8B-Instruct&tags[hardware]=H100&tags[hardware_count]=1';
const nearest = (query: string) => `/benchmarks/nearest?${query}`;

describe('GET /benchmarks/nearest', () => {
  const db = useTestDatabase();
  const app = () => createApp({ database: db(), logger: silentLogger });

  beforeAll(async () => {
    // Seed 002's file, as it is, through the push route (format detected).
    const pushed = expectJson(await post(app(), '/benchmarks/results', { repo: 'acme/llm', sha: SHA, data: fixture() }), 201);
    expect(pushed).toMatchObject({ format: 'llm-profile', metrics: 280 });
  });

  it('answers the nearest stored result with its distance, parameters, tags and run, and logs the distance', async () => {
    const lines: Json[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l));
        done();
      },
    });
    const logged = createApp({ database: db(), logger: createLogger('info', sink) });
    const body = expectJson(await get(logged, nearest(`${H100}&target[mean_input_tokens]=500&target[mean_output_tokens]=250`)), 200);
    expect(body).toMatchObject({
      source: 'database',
      candidates: 5,
      ties: 1,
      tags: { model_hf_repo: 'meta-llama/Llama-3.1-8B-Instruct', hardware: 'H100', hardware_count: '1' },
      target: { mean_input_tokens: 500, mean_output_tokens: 250 },
      parameters: { mean_input_tokens: 512, mean_output_tokens: 256 },
      profile: { framework: 'vllm', framework_version: '0.6.2', hardware_count: 1, prompt_tokens_stdev: 41 },
      run: { repo: 'acme/llm', sha: SHA, format: 'llm-profile', branch: null, architecture: null },
      record: null,
    });
    expect(body.distance).toBeCloseTo(Math.sqrt(2 * (12 / 500) ** 2), 12);
    expect(body.run.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(body.metrics).toHaveLength(14);
    expect(body.metrics[0]).toEqual({ name: 'ttft_mean', value: expect.any(Number), unit: 'ms', direction: 'lower' });
    expect(lines.find((l) => l.distance !== undefined)).toMatchObject({ distance: body.distance, candidates: 5, run_uid: body.run.uid });
  });

  it('404 NoCandidates problem when nothing matches the exact tags', async () => {
    const p = expectProblem(await get(app(), nearest('tags[model_hf_repo]=nobody/none&target[mean_input_tokens]=100')), 404, {
      code: 'NoCandidates',
    });
    expect(p.type).toBe('urn:eventix:problem:no-candidates');
    expect(p.tags).toEqual({ model_hf_repo: 'nobody/none' });
    expect(p.parameters).toEqual(['mean_input_tokens']);
    expect(p.detail).toContain('model_hf_repo=nobody/none');
    // A repo with no runs is no candidate either.
    expectProblem(await get(app(), nearest(`${H100}&target[mean_input_tokens]=100&repo=acme/none`)), 404, { code: 'NoCandidates' });
  });

  it('400 naming the field for bad or missing targets and malformed queries', async () => {
    const cases: [string, string, RegExp | string][] = [
      [`${H100}&target[mean_input_tokens]=0`, 'target.mean_input_tokens', 'greater than 0'],
      [`${H100}&target[mean_input_tokens]=-2`, 'target.mean_input_tokens', 'greater than 0'],
      [`${H100}&target[mean_input_tokens]=many`, 'target.mean_input_tokens', 'finite number'],
      [`${H100}&target[mean_input_tokens]=`, 'target.mean_input_tokens', 'finite number'],
      [H100, 'target', 'is required'],
      [`${H100}&target=5`, 'target', 'target[<name>]=<number>'],
      [`${H100}&target[hardware]=1`, 'target.hardware', 'also an exact tag'],
      [`${H100}&tags[hardware]=A100&target[mean_input_tokens]=1`, 'tags.hardware', 'once'],
      [`${H100}&target[mean_input_tokens]=1&target[mean_input_tokens]=2`, 'target.mean_input_tokens', 'once'],
      [`${H100}&target[mean_input_tokens]=1&limit=3`, '(query)', 'unknown field(s): limit'],
    ];
    for (const [query, field, message] of cases) {
      const p = expectProblem(await get(app(), nearest(query)), 400, { field, message });
      expect(p.code, query).toBe('ValidationError');
    }
  });

  it('is documented in the OpenAPI document with its query, answer and errors', async () => {
    const doc = (await (await app().request('/openapi.json')).json()) as Json;
    const op = doc.paths['/benchmarks/nearest'].get;
    expect(op['x-eventix-scope']).toBe('read');
    expect(op.parameters.map((p: Json) => [p.name, p.required])).toEqual([
      ['tags', false],
      ['target', true],
      ['repo', false],
    ]);
    expect(Object.keys(op.responses).sort()).toEqual(['200', '400', '404', '503']);
    expect(op.responses['200'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/BenchmarkNearest' });
    expect(doc.components.schemas.BenchmarkNearest.properties).toHaveProperty('distance');
  });
});
