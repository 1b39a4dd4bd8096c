import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.ts';
import { detectFormat, directionOfUnit, parseResults } from '../../src/tracking/formats/index.ts';
import { prepareResults } from '../../src/tracking/ingest.ts';

const fixture = (name: string): unknown => JSON.parse(readFileSync(new URL(`../fixtures/benchmarks/${name}`, import.meta.url), 'utf8'));
const clone = <T>(v: T): T => structuredClone(v);

/** The issues a parse throws, as `field: message` lines; fails the test when it does not throw one. */
function issues(fn: () => unknown): { field: string; message: string }[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ValidationError) return err.issues;
    throw err;
  }
  throw new Error('expected a ValidationError');
}

const SHA_A = '3f1c2b7a9d0e4f5a6b7c8d9e0f1a2b3c4d5e6f70';
const SHA_V = '9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b';

describe('benchmark result formats parse to the normalized form', () => {
  it('eventix: runs as written, sha lowercased, times in UTC, nulls absent', () => {
    const parsed = parseResults(fixture('eventix.json'));
    expect(parsed.format).toBe('eventix');
    expect(parsed.skipped).toEqual([]);
    expect(parsed.runs).toStrictEqual([
      {
        repo: 'valkey-io/valkey',
        sha: SHA_A,
        branch: 'unstable',
        config: { requests: 1000000, keyspacelen: 1000000, data_sizes: [16, 512], pipelines: [1, 10] },
        architecture: 'x86_64',
        repeat_index: 0,
        started_at: '2026-03-01T09:00:00.000Z',
        finished_at: '2026-03-01T09:05:30.250Z',
        environment: { kernel: '6.8.0-1019-aws', cpu_model: 'Intel(R) Xeon(R) Platinum 8488C', cores: 16, hostname: 'bench-x86-1' },
        metrics: [
          { name: 'rps', value: 182003.25, unit: 'req/s', direction: 'higher', tags: { command: 'SET', data_size: 16, pipeline: 10 } },
          { name: 'p99_latency_ms', value: 0.415, unit: 'ms', direction: 'lower', tags: { command: 'SET', data_size: 16, pipeline: 10 } },
          { name: 'rps', value: 201114, unit: 'req/s', direction: 'higher', tags: { command: 'GET', data_size: 16, pipeline: 10 } },
        ],
      },
      {
        repo: 'valkey-io/valkey',
        sha: SHA_A,
        repeat_index: 1,
        metrics: [{ name: 'used_memory_bytes', value: 1048576, tags: {} }],
      },
    ]);
    expect(parsed.origins[0]).toEqual({
      repo: 'runs.0.repo',
      sha: 'runs.0.sha',
      branch: 'runs.0.branch',
      config: 'runs.0.config',
      architecture: 'runs.0.architecture',
    });
  });

  it('valkey metrics.json: rps and *_latency_ms become metrics, other fields tags, env_* the environment, failed rows skipped', () => {
    const parsed = parseResults(fixture('valkey-metrics.json'));
    expect(parsed.format).toBe('valkey');
    const tags = (command: string) => ({
      command,
      data_size: 16,
      pipeline: 10,
      clients: 50,
      cluster_mode: false,
      tls: false,
      requests: 10000000,
      benchmark_mode: 'requests',
      io_threads: 4,
      warmup: 0,
    });
    const latencies = (command: string, v: number[]) =>
      ['avg', 'min', 'p50', 'p95', 'p99', 'max'].map((p, i) => ({
        name: `${p}_latency_ms`,
        value: v[i],
        unit: 'ms',
        direction: 'lower',
        tags: tags(command),
      }));
    expect(parsed.runs).toStrictEqual([
      {
        sha: SHA_V,
        architecture: 'x86_64',
        environment: {
          kernel: '6.8.0-1019-aws',
          cpu_model: 'Intel(R) Xeon(R) Platinum 8488C',
          thp: 'never',
          commit_time: '2026-02-27T16:41:07+00:00',
        },
        metrics: [
          { name: 'rps', value: 1182033.5, unit: 'req/s', direction: 'higher', tags: tags('SET') },
          ...latencies('SET', [0.391, 0.088, 0.383, 0.527, 0.615, 2.903]),
          { name: 'rps', value: 1390820.25, unit: 'req/s', direction: 'higher', tags: tags('GET') },
          ...latencies('GET', [0.327, 0.064, 0.319, 0.447, 0.535, 1.751]),
        ],
      },
    ]);
    expect(parsed.skipped).toEqual([{ field: '2', message: "status 'failed': a failed benchmark, not stored" }]);
    expect(parsed.origins).toEqual([{ sha: '0.commit', architecture: '0.architecture' }]);
  });

  it('valkey: rows of several commits are several runs; a non-sha commit (the seed writes HEAD) is left to the request', () => {
    const rows = fixture('valkey-metrics.json') as Record<string, unknown>[];
    const other = { ...clone(rows[0]), commit: 'HEAD', repository: 'valkey-io/valkey' };
    const parsed = parseResults([rows[0], other]);
    expect(parsed.runs).toHaveLength(2);
    expect(parsed.runs[0]?.sha).toBe(SHA_V);
    expect(parsed.runs[1]).toMatchObject({ repo: 'valkey-io/valkey', architecture: 'x86_64' });
    expect(parsed.runs[1]).not.toHaveProperty('sha');
  });

  it('github-action-benchmark: one run; direction from the unit, or from the flag for every entry; range and extra not stored', () => {
    const parsed = parseResults(fixture('github-action-benchmark.json'));
    expect(parsed.format).toBe('github-action-benchmark');
    expect(parsed.runs).toStrictEqual([
      {
        metrics: [
          { name: 'submit 10000 tasks', value: 212.4, unit: 'ms', direction: 'lower' },
          { name: 'claim throughput', value: 48210, unit: 'tasks/s', direction: 'higher' },
          { name: 'heap after sweep', value: 61.5, unit: 'MB', direction: 'lower' },
          { name: 'p99 / p50 ratio', value: 3.2, unit: 'x' },
        ],
      },
    ]);
    const bigger = parseResults(fixture('github-action-benchmark.json'), { direction: 'bigger-is-better' });
    expect(bigger.runs[0]?.metrics.map((m) => m.direction)).toEqual(['higher', 'higher', 'higher', 'higher']);
    const smaller = parseResults(fixture('github-action-benchmark.json'), {
      format: 'github-action-benchmark',
      direction: 'smaller-is-better',
    });
    expect(smaller.runs[0]?.metrics.map((m) => m.direction)).toEqual(['lower', 'lower', 'lower', 'lower']);
  });

  it.each([
    ['ops/sec', 'higher'],
    ['iter/sec', 'higher'],
    ['req/s', 'higher'],
    ['MB/s', 'higher'],
    ['ns/iter', 'lower'],
    ['ns/op', 'lower'],
    ['ms', 'lower'],
    ['µs', 'lower'],
    ['B/op', 'lower'],
    ['allocs/op', 'lower'],
    ['bytes', 'lower'],
    ['x', undefined],
    ['%', undefined],
    ['', undefined],
  ])('the unit %j says %s is better', (unit, expected) => {
    expect(directionOfUnit(unit)).toBe(expected);
  });

  it('detects each format from its shape, and says so when it cannot', () => {
    expect(detectFormat(fixture('eventix.json'))).toBe('eventix');
    expect(detectFormat({ runs: [] })).toBe('eventix');
    expect(detectFormat(fixture('valkey-metrics.json'))).toBe('valkey');
    expect(detectFormat(fixture('github-action-benchmark.json'))).toBe('github-action-benchmark');
    expect(detectFormat({ results: [] })).toBeUndefined();
    expect(detectFormat([1, 2])).toBeUndefined();
    expect(issues(() => parseResults({ results: [] }))).toEqual([
      {
        field: '(file)',
        message: expect.stringContaining('give the format (eventix, valkey, github-action-benchmark, llm-profile) explicitly'),
      },
    ]);
    expect(issues(() => parseResults([], { prefix: 'data' }))).toEqual([{ field: 'data', message: 'is an empty array: no results' }]);
  });
});

// biome-ignore lint/suspicious/noExplicitAny: fixtures are mutated freely
type Mutate = (doc: any) => unknown;

describe('malformed documents are refused naming the path', () => {
  const cases: [string, string, Mutate, string, RegExp | string][] = [
    [
      'eventix',
      'a value as a string',
      (d) => {
        d.runs[0].metrics[2].value = '201114';
      },
      'runs.0.metrics.2.value',
      /finite JSON number/,
    ],
    [
      'eventix',
      'NaN as a string',
      (d) => {
        d.runs[0].metrics[1].value = 'NaN';
      },
      'runs.0.metrics.1.value',
      /finite JSON number/,
    ],
    [
      'eventix',
      'Infinity as a string',
      (d) => {
        d.runs[1].metrics[0].value = 'Infinity';
      },
      'runs.1.metrics.0.value',
      /finite/,
    ],
    [
      'eventix',
      'a metric without a value',
      (d) => {
        delete d.runs[0].metrics[0].value;
      },
      'runs.0.metrics.0.value',
      /finite/,
    ],
    [
      'eventix',
      'no runs',
      (d) => {
        d.runs = [];
      },
      'runs',
      'must hold at least one run',
    ],
    [
      'eventix',
      'a run without metrics',
      (d) => {
        d.runs[1].metrics = [];
      },
      'runs.1.metrics',
      'must hold at least one metric',
    ],
    [
      'eventix',
      'extra junk in a run',
      (d) => {
        d.runs[0].junk = 1;
      },
      'runs.0',
      /unknown field\(s\): junk/,
    ],
    [
      'eventix',
      'extra junk at the top',
      (d) => {
        d.extra = { a: 1 };
      },
      '(file)',
      /unknown field\(s\): extra/,
    ],
    [
      'eventix',
      'an abbreviated sha',
      (d) => {
        d.runs[0].sha = '3f1c2b7';
      },
      'runs.0.sha',
      /full commit sha/,
    ],
    [
      'eventix',
      'a bad direction',
      (d) => {
        d.runs[0].metrics[0].direction = 'up';
      },
      'runs.0.metrics.0.direction',
      /higher/,
    ],
    [
      'eventix',
      'tags not an object',
      (d) => {
        d.runs[0].metrics[0].tags = ['SET'];
      },
      'runs.0.metrics.0.tags',
      /object/,
    ],
    [
      'eventix',
      'finished before started',
      (d) => {
        d.runs[0].finished_at = '2026-03-01T08:00:00Z';
      },
      'runs.0.finished_at',
      /before/,
    ],
    [
      'eventix',
      'a config that is a number',
      (d) => {
        d.runs[0].config = 5;
      },
      'runs.0.config',
      /object or array/,
    ],
    [
      'eventix',
      'a NUL in a tag',
      (d) => {
        d.runs[0].metrics[0].tags.command = 'S\u0000ET';
      },
      'runs.0.metrics.0.tags.command',
      /NUL/,
    ],
    [
      'valkey',
      'rps missing',
      (d) => {
        delete d[1].rps;
      },
      '1.rps',
      /required/,
    ],
    [
      'valkey',
      'rps as a string',
      (d) => {
        d[0].rps = '1182033.5';
      },
      '0.rps',
      /finite JSON number/,
    ],
    [
      'valkey',
      'a latency as "NaN"',
      (d) => {
        d[1].p99_latency_ms = 'NaN';
      },
      '1.p99_latency_ms',
      /finite JSON number, not "NaN"/,
    ],
    [
      'valkey',
      'a latency as null',
      (d) => {
        d[0].p50_latency_ms = null;
      },
      '0.p50_latency_ms',
      /finite JSON number/,
    ],
    [
      'valkey',
      'a commit that is a number',
      (d) => {
        d[0].commit = 42;
      },
      '0.commit',
      'must be a string',
    ],
    [
      'valkey',
      'junk rows',
      (d) => {
        d.push('junk');
      },
      '3',
      /must be a JSON object/,
    ],
    ['valkey', 'every row failed', (d) => d.map((r: object) => ({ ...r, status: 'failed' })), '(file)', /no successful row/],
    [
      'github-action-benchmark',
      'a value as a string',
      (d) => {
        d[3].value = '3.2';
      },
      '3.value',
      /finite JSON number/,
    ],
    [
      'github-action-benchmark',
      'Infinity as a string',
      (d) => {
        d[0].value = 'Infinity';
      },
      '0.value',
      /finite/,
    ],
    [
      'github-action-benchmark',
      'no unit',
      (d) => {
        delete d[1].unit;
      },
      '1.unit',
      /string/,
    ],
    [
      'github-action-benchmark',
      'extra junk',
      (d) => {
        d[2].samples = 30;
      },
      '2',
      /unknown field\(s\): samples/,
    ],
    [
      'github-action-benchmark',
      'an empty name',
      (d) => {
        d[0].name = '';
      },
      '0.name',
      /too small|at least/i,
    ],
  ];
  const files: Record<string, string> = {
    eventix: 'eventix.json',
    valkey: 'valkey-metrics.json',
    'github-action-benchmark': 'github-action-benchmark.json',
  };

  it.each(cases)('%s: %s → %s', (format, _what, mutate, field, message) => {
    const doc = clone(fixture(files[format] as string));
    const mutated = mutate(doc) ?? doc;
    const found = issues(() => parseResults(mutated, { format: format as 'eventix' }));
    const hit = found.find((i) => i.field === field);
    expect(hit, JSON.stringify(found)).toBeDefined();
    if (typeof message === 'string') expect(hit?.message).toContain(message);
    else expect(hit?.message).toMatch(message);
    // Detected, the same document fails the same way (valkey's "every row failed" still looks like valkey).
    const detected = issues(() => parseResults(mutated, { prefix: 'data' }));
    expect(detected.map((i) => i.field)).toContain(field === '(file)' ? 'data' : `data.${field}`);
  });

  it('empty arrays of every kind are refused', () => {
    expect(issues(() => parseResults([], { format: 'valkey' }))).toEqual([{ field: '(file)', message: 'must hold at least one row' }]);
    expect(issues(() => parseResults([], { format: 'github-action-benchmark' }))).toEqual([
      { field: '(file)', message: 'must hold at least one entry' },
    ]);
    expect(issues(() => parseResults({ runs: [] }))).toEqual([{ field: 'runs', message: 'must hold at least one run' }]);
  });

  it('a direction flag with another format is refused', () => {
    expect(issues(() => parseResults(fixture('valkey-metrics.json'), { direction: 'bigger-is-better' }))).toEqual([
      { field: 'direction', message: 'applies only to the github-action-benchmark format' },
    ]);
  });
});

describe('the request fills what the document lacks, and must agree with what it gives', () => {
  it('fills repo, sha, config and environment (the file winning key by key)', () => {
    const prepared = prepareResults({
      data: fixture('valkey-metrics.json'),
      repo: 'valkey-io/valkey',
      config: { clients: 50 },
      environment: { kernel: 'ignored: the file says', hostname: 'bench-1' },
    });
    expect(prepared.runs).toHaveLength(1);
    expect(prepared.runs[0]?.run).toMatchObject({
      repo: 'valkey-io/valkey',
      sha: SHA_V,
      branch: null,
      architecture: 'x86_64',
      environment: { kernel: '6.8.0-1019-aws', hostname: 'bench-1', thp: 'never' },
      format: 'valkey',
    });
    expect(prepared.runs[0]?.config?.canonical).toBe('{"clients":50}');
    expect(prepared.runs[0]?.metrics).toHaveLength(14);
  });

  it('names a conflict at the path in the document, and a missing repo or sha as the request field', () => {
    expect(issues(() => prepareResults({ data: fixture('eventix.json'), sha: SHA_V }, { prefix: 'data' }))).toEqual([
      { field: 'data.runs.0.sha', message: `is "${SHA_A}" but the request's sha is "${SHA_V}"` },
      { field: 'data.runs.1.sha', message: `is "${SHA_A}" but the request's sha is "${SHA_V}"` },
    ]);
    expect(
      issues(() => prepareResults({ data: fixture('eventix.json'), config: { requests: 1 } }, { prefix: 'data' })).map((i) => i.field),
    ).toEqual(['data.runs.0.config']);
    expect(issues(() => prepareResults({ data: fixture('github-action-benchmark.json'), sha: SHA_V }))).toEqual([
      { field: 'repo', message: 'is required: the github-action-benchmark document does not give it, so the request must' },
    ]);
    expect(issues(() => prepareResults({ data: fixture('github-action-benchmark.json'), repo: 'r', sha: 'HEAD' }))).toEqual([
      { field: 'sha', message: 'must be a full commit sha (40 or 64 hex digits)' },
    ]);
  });

  it('the same config in another key order is the same config', () => {
    const a = prepareResults({ data: fixture('eventix.json') }).runs[0]?.config;
    const b = prepareResults({
      data: fixture('eventix.json'),
      config: { pipelines: [1, 10], data_sizes: [16, 512], keyspacelen: 1e6, requests: 1000000.0 },
    }).runs[0]?.config;
    expect(b?.hash).toBe(a?.hash);
  });
});
