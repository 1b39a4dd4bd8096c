import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliHarness, collect, spawnCli } from '../helpers/cli.ts';
import { useTestDatabase } from '../helpers/db.ts';

const FIXTURES = fileURLToPath(new URL('../fixtures/benchmarks/', import.meta.url));
const fixture = (name: string) => path.join(FIXTURES, name);
const SHA = 'c'.repeat(40);

describe('eventix results', () => {
  const db = useTestDatabase();
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'eventix-cli-results-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const { cli, ok, json } = cliHarness(() => ({ DATABASE_URL: db().url }));
  const count = async (repo?: string) =>
    (
      await db().pool.query<{ runs: number; metrics: number }>(
        `select count(*)::int as runs, (select count(*)::int from benchmark_metrics m join benchmark_runs r on r.id = m.run_id
           where $1::text is null or r.repo = $1) as metrics
         from benchmark_runs where $1::text is null or repo = $1`,
        [repo ?? null],
      )
    ).rows[0];
  /** Old runs, as only a direct insert can make them (created_at cannot be changed afterwards). */
  const seedOld = (repo: string, n: number, daysAgo: number) =>
    db().pool.query(
      `with r as (
         insert into benchmark_runs (repo, sha, format, created_at)
         select $1, $2, 'eventix', now() - ($4::int * interval '1 day') - g * interval '1 ms' from generate_series(1, $3::int) g
         returning id
       )
       insert into benchmark_metrics (run_id, name, value) select id, 'm', 1 from r`,
      [repo, SHA, n, daysAgo],
    );

  it('push --json stores a valkey metrics.json with the config file, filling machine facts the file lacks', async () => {
    const out = await json(
      'results',
      'push',
      '--file',
      fixture('valkey-metrics.json'),
      '--repo',
      'valkey-io/valkey',
      '--branch',
      'unstable',
      '--config-file',
      fixture('benchmark-config.json'),
    );
    expect(out).toMatchObject({ format: 'valkey', metrics: 14, skipped: [{ field: '2' }] });
    expect(out.runs).toHaveLength(1);
    expect(out.runs[0]).toMatchObject({ repo: 'valkey-io/valkey', sha: '9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b', branch: 'unstable' });
    const { rows } = await db().pool.query(
      'select r.environment, c.canonical from benchmark_runs r join benchmark_configs c on c.id = r.config_id where r.uid = $1',
      [out.runs[0].uid],
    );
    expect(rows[0].canonical).toBe('{"data_sizes":[16,512],"keyspacelen":1000000,"pipelines":[1,10],"requests":1000000}');
    // The file's kernel and CPU stand; the machine adds what the file did not say.
    expect(rows[0].environment).toEqual({
      kernel: '6.8.0-1019-aws',
      cpu_model: 'Intel(R) Xeon(R) Platinum 8488C',
      thp: 'never',
      commit_time: '2026-02-27T16:41:07+00:00',
      cores: os.cpus().length,
      hostname: os.hostname(),
    });
  });

  it('push of a github-action-benchmark file records this machine; human output lists the runs', async () => {
    const r = await ok(
      'results',
      'push',
      '--file',
      fixture('github-action-benchmark.json'),
      '--repo',
      'acme/gab',
      '--sha',
      SHA,
      '--direction',
      'smaller-is-better',
    );
    expect(r.stdout).toMatch(
      /^stored 1 run\(s\) with 4 metric point\(s\), format github-action-benchmark\n {2}[0-9a-f-]{36} {2}acme\/gab@cccccccccccc {2}4 point\(s\)\n$/,
    );
    const { rows } = await db().pool.query(
      `select r.environment, array_agg(m.direction order by m.id) as directions
       from benchmark_runs r join benchmark_metrics m on m.run_id = r.id where r.repo = 'acme/gab' group by r.id`,
    );
    expect(rows[0].environment).toEqual({
      kernel: os.release(),
      cpu_model: os.cpus()[0]?.model.trim(),
      cores: os.cpus().length,
      hostname: os.hostname(),
    });
    expect(rows[0].directions).toEqual(['lower', 'lower', 'lower', 'lower']);
  });

  it('a malformed file is refused whole, naming the path, and nothing is stored', async () => {
    const before = await count();
    const bad = path.join(dir, 'bad.json');
    await writeFile(
      bad,
      JSON.stringify({
        runs: [
          { repo: 'acme/bad', sha: SHA, metrics: [{ name: 'ok', value: 1 }] },
          {
            repo: 'acme/bad',
            sha: SHA,
            metrics: [
              { name: 'a', value: 1 },
              { name: 'b', value: 2 },
              { name: 'c', value: 3 },
              { name: 'd', value: 'NaN' },
            ],
          },
        ],
      }),
    );
    const r = await cli('results', 'push', '--file', bad, '--json');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('runs.1.metrics.3.value: must be a finite JSON number');
    expect(r.stdout).toBe('');

    const truncated = path.join(dir, 'truncated.json');
    await writeFile(truncated, '[{"name": "a", "value": 1, "unit": "ms"}');
    const t = await cli('results', 'push', '--file', truncated, '--repo', 'acme/bad', '--sha', SHA);
    expect(t.code).toBe(1);
    expect(t.stderr).toMatch(/\(file\): malformed JSON/);

    const noSha = await cli('results', 'push', '--file', fixture('github-action-benchmark.json'), '--repo', 'acme/bad');
    expect(noSha.code).toBe(1);
    expect(noSha.stderr).toMatch(/sha: is required/);
    expect(await count()).toEqual(before);
  });

  it('prune --dry-run counts old runs and deletes nothing; prune deletes only those, with progress', async () => {
    await seedOld('acme/old', 5, 60);
    const recent = await count('acme/gab');
    const dry = await json('results', 'prune', '--older-than', '30', '--dry-run');
    expect(dry).toMatchObject({ dry_run: true, matched: { runs: 5, metrics: 5 }, deleted: { runs: 0, metrics: 0 }, interrupted: false });
    expect((await count('acme/old'))?.runs).toBe(5);
    const human = await ok('results', 'prune', '--older-than', '30', '--dry-run');
    expect(human.stdout).toMatch(/^would delete 5 run\(s\) and 5 metric point\(s\) stored before \d{4}-/);

    const r = await ok('results', 'prune', '--older-than', '30', '--batch-size', '2', '--json');
    expect(JSON.parse(r.stdout)).toMatchObject({ dry_run: false, deleted: { runs: 5, metrics: 5 }, batches: 3, interrupted: false });
    expect(r.stderr).toContain('deleted 2/5 runs, 2 metric points (batch 1)');
    expect(r.stderr).toContain('deleted 5/5 runs, 5 metric points (batch 3)');
    expect((await count('acme/old'))?.runs).toBe(0);
    expect(await count('acme/gab')).toEqual(recent);
  });

  it('Ctrl-C stops a large prune cleanly between batches', async () => {
    await seedOld('acme/ctrl-c', 3000, 90);
    const child = spawnCli(['results', 'prune', '--older-than', '30', '--batch-size', '1'], { DATABASE_URL: db().url });
    const done = collect(child, 120_000);
    // Interrupt as soon as the first batch reports: the rest must stay.
    child.stderr?.on('data', function onData(d: Buffer) {
      if (d.toString().includes('deleted 1/3000')) {
        child.stderr?.off('data', onData);
        child.kill('SIGINT');
      }
    });
    const r = await done;
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr).toContain('stopping after the batch in flight');
    const m = /deleted (\d+) run\(s\) and (\d+) metric point\(s\) stored before .* \(interrupted: (\d+) old run\(s\) left\)/.exec(r.stdout);
    expect(m, r.stdout).not.toBeNull();
    const deleted = Number(m?.[1]);
    expect(deleted).toBeGreaterThan(0);
    expect(deleted).toBeLessThan(3000);
    expect(Number(m?.[3])).toBe(3000 - deleted);
    expect((await count('acme/ctrl-c'))?.runs).toBe(3000 - deleted);
  });
});
