import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.ts';
import { useTestDatabase } from '../helpers/db.ts';

const FILE = fileURLToPath(new URL('../fixtures/benchmarks/llm-profiles.json', import.meta.url));
const SHA = 'a'.repeat(40);
const H100 = ['--tag', 'model_hf_repo=meta-llama/Llama-3.1-8B-Instruct', '--tag', 'hardware=H100', '--tag', 'hardware_count=1'];
const TARGET = ['--target', 'mean_input_tokens=500', '--target', 'mean_output_tokens=250'];

/** A port nothing listens on: bound, then closed at once. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('eventix results nearest', () => {
  const db = useTestDatabase();
  let dir: string;
  let deadDb: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'eventix-cli-nearest-'));
    deadDb = `postgres://eventix:x@127.0.0.1:${await closedPort()}/eventix`;
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('--file answers with no database at all: a dead DATABASE_URL is never used', async () => {
    const started = Date.now();
    const r = await runCli(['results', 'nearest', '--file', FILE, ...H100, ...TARGET, '--json'], { DATABASE_URL: deadDb });
    expect(r.code, r.stderr).toBe(0);
    expect(Date.now() - started).toBeLessThan(20_000);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({
      source: 'file',
      candidates: 5,
      record: 1,
      run: null,
      parameters: { mean_input_tokens: 512, mean_output_tokens: 256 },
    });
    expect(out.distance).toBeCloseTo(Math.sqrt(2 * (12 / 500) ** 2), 12);
    // The control: without --file the same command does need that database, and fails on it.
    const control = await runCli(['results', 'nearest', ...H100, ...TARGET], { DATABASE_URL: deadDb, EVENTIX_MIGRATE: 'false' });
    expect(control.code).toBe(1);
  });

  it('--file with DATABASE_URL unset starts no embedded PostgreSQL, and logs the distance', async () => {
    const dataDir = path.join(dir, 'never-created');
    const r = await runCli(
      ['results', 'nearest', '--file', FILE, ...H100, '--target', 'mean_input_tokens=100', '--target', 'mean_output_tokens=50'],
      {
        DATABASE_URL: undefined,
        EVENTIX_DATA_DIR: dataDir,
        EVENTIX_LOG_LEVEL: 'info',
      },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(dataDir)).toBe(false);
    expect(r.stdout).toMatch(/^distance 0\.000 \(nearest of 5 candidate\(s\)\)\n {2}record {6}4 of .*llm-profiles\.json\n/);
    expect(r.stdout).toContain('  mean_input_tokens        100  (target 100)\n');
    expect(r.stdout).toMatch(/ {2}ttft_mean {16}\d+(\.\d+)? ms {2}\(lower is better\)\n/);
    const log = r.stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l))
      .find((l) => l.distance !== undefined);
    expect(log).toMatchObject({ distance: 0, candidates: 5, source: 'file', record: 4 });
    expect(log.msg).toContain('distance=0.000');
  });

  it('exits 3 when no result matches the exact tags, and 2 for bad input, naming the flag or the field', async () => {
    const none = await runCli(['results', 'nearest', '--file', FILE, '--tag', 'hardware=TPU', ...TARGET], { DATABASE_URL: deadDb });
    expect(none.code).toBe(3);
    expect(none.stderr).toContain('No benchmark result matches hardware=TPU');
    expect(none.stdout).toBe('');

    const bad = path.join(dir, 'bad.json');
    const doc = JSON.parse(await readFile(FILE, 'utf8'));
    doc.benchmarks[2].ttft_mean = 'n/a';
    await writeFile(bad, JSON.stringify(doc));
    const cases: [string[], string][] = [
      [['--file', FILE, ...H100, '--target', 'mean_input_tokens=0'], '--target mean_input_tokens: must be greater than 0'],
      [['--file', FILE, ...H100, '--target', 'mean_input_tokens'], '--target: must be <name>=<value>'],
      [['--file', FILE, ...H100], '--target: is required'],
      [['--file', FILE, '--tag', 'hardware', ...TARGET], '--tag: must be <name>=<value>'],
      [['--file', path.join(dir, 'missing.json'), ...TARGET], '--file: cannot read'],
      [['--file', bad, ...TARGET], 'benchmarks.2.ttft_mean: must be a finite JSON number'],
      [['--file', FILE, '--format', 'csv', ...TARGET], '--format: must be one of'],
    ];
    for (const [args, message] of cases) {
      const r = await runCli(['results', 'nearest', ...args], { DATABASE_URL: deadDb });
      expect(r.code, `${args.join(' ')}\n${r.stderr}`).toBe(2);
      expect(r.stderr).toContain(message);
    }
  });

  it('from the database: the same answer as from the file, with the stored run', async () => {
    const env = { DATABASE_URL: db().url };
    const push = await runCli(['results', 'push', '--file', FILE, '--repo', 'acme/llm', '--sha', SHA, '--json'], env);
    expect(push.code, push.stderr).toBe(0);
    expect(JSON.parse(push.stdout)).toMatchObject({ format: 'llm-profile', metrics: 280 });

    const fromDb = await runCli(['results', 'nearest', ...H100, ...TARGET, '--repo', 'acme/llm', '--json'], env);
    expect(fromDb.code, fromDb.stderr).toBe(0);
    const fromFile = await runCli(['results', 'nearest', '--file', FILE, ...H100, ...TARGET, '--json'], { DATABASE_URL: deadDb });
    const a = JSON.parse(fromDb.stdout);
    const b = JSON.parse(fromFile.stdout);
    expect(a.run).toMatchObject({ repo: 'acme/llm', sha: SHA, format: 'llm-profile' });
    expect(a.source).toBe('database');
    for (const o of [a, b]) {
      delete o.run;
      delete o.record;
      delete o.source;
    }
    expect(a).toEqual(b);

    const none = await runCli(['results', 'nearest', '--tag', 'hardware=TPU', ...TARGET], env);
    expect(none.code).toBe(3);
    expect(none.stderr).toContain('No benchmark result matches hardware=TPU');
  });
});
