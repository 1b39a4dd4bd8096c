import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliHarness, runCli } from '../helpers/cli.ts';
import { useTestDatabase } from '../helpers/db.ts';
import { linearRepo, type TestRepo } from '../helpers/git.ts';

describe('eventix commits', () => {
  const db = useTestDatabase();
  let dir: string;
  let repo: TestRepo;
  let configFile: string;
  let subsetFile: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'eventix-cli-commits-'));
    repo = linearRepo(5);
    configFile = path.join(dir, 'benchmark-config.json');
    subsetFile = path.join(dir, 'subset.json');
    // The same config in another spelling is the same config.
    await writeFile(configFile, '[{"io-threads": 1.0, "data_sizes": [16, 64, 256]}]');
    await writeFile(subsetFile, '[{"data_sizes": [16, 64], "io-threads": 1}]');
  });
  afterAll(async () => {
    repo.remove();
    await rm(dir, { recursive: true, force: true });
  });

  const { cli, out: ok, json } = cliHarness(() => ({ DATABASE_URL: db().url }), ['commits']);

  it('the seed’s workflow: init, cleanup, determine, mark in_progress, mark complete, determine again', async () => {
    expect(await json('init')).toEqual({ initialized: true });
    expect(await json('cleanup')).toMatchObject({ reset: 0 });
    const base = ['--repo', repo.dir, '--branch', 'main', '--config-file', configFile];
    expect(await ok('determine', ...base, '--max-commits', '2')).toBe(`${repo.shas.slice(0, 2).join(' ')}\n`);
    const marked = await ok(
      'mark',
      '--repo',
      repo.dir,
      '--status',
      'in_progress',
      '--config-file',
      configFile,
      'HEAD',
      repo.shas[1] as string,
    );
    expect(marked).toContain(`Marked ${repo.shas[0]} as in_progress (HEAD)`);
    // In progress without an owner: not handed out again while fresh (the seed would have).
    expect(await ok('determine', ...base, '--max-commits', '2')).toBe(`${repo.shas.slice(2, 4).join(' ')}\n`);
    const done = await json('mark', '--repo', repo.dir, '--status', 'complete', '--config-file', configFile, 'HEAD', 'main~1');
    expect(done.marked.map((m: { sha: string }) => m.sha)).toEqual(repo.shas.slice(0, 2));
    expect(await json('determine', ...base, '--max-commits', '10')).toMatchObject({ shas: repo.shas.slice(2) });

    // Subset detection, and the flag that turns it off.
    const subset = await cli('determine', '--repo', repo.dir, '--branch', 'main', '--config-file', subsetFile, '--max-commits', '10');
    expect(subset.stdout).toBe(`${repo.shas.slice(2).join(' ')}\n`);
    expect(subset.stderr).toContain('Subset detection: skipped 2 commits');
    expect(
      await ok(
        'determine',
        '--repo',
        repo.dir,
        '--branch',
        'main',
        '--config-file',
        subsetFile,
        '--max-commits',
        '10',
        '--disable-subset-detection',
      ),
    ).toBe(`${repo.shas.join(' ')}\n`);
  });

  it('query, --list-configs and stats', async () => {
    const q = await json('query', '--repo', repo.dir, '--config-file', configFile);
    expect(q.commits.map((c: { sha: string }) => c.sha)).toEqual(repo.shas.slice(0, 2));
    expect(await ok('query', '--repo', repo.dir, '--status', 'complete')).toContain('All commits: 2');
    const configs = await json('query', '--list-configs');
    expect(configs.configs.map((c: { config: unknown }) => c.config)).toContainEqual([{ data_sizes: [16, 64, 256], 'io-threads': 1 }]);
    expect(await json('stats', '--repo', repo.dir)).toEqual({
      total: 2,
      unique_commits: 2,
      unique_configs: 1,
      by_status: { in_progress: 0, benchmark_complete: 0, complete: 2, failed: 0 },
    });
  });

  it('export --output and import of a legacy completed_commits.json (--dry-run first)', async () => {
    const out = path.join(dir, 'backup.json');
    expect(await json('export', '--repo', repo.dir, '--output', out)).toEqual({ exported: 2, output: out });
    const exported = JSON.parse(await readFile(out, 'utf8'));
    expect(exported.map((e: { sha: string }) => e.sha)).toEqual(repo.shas.slice(0, 2));
    expect(await json('import', out)).toMatchObject({ total: 2, imported: 0, skipped: 2 });

    const legacyFile = path.join(dir, 'completed_commits.json');
    await writeFile(
      legacyFile,
      JSON.stringify([
        { sha: repo.shas[2], timestamp: '2023-11-14T22:16:20+00:00', status: 'complete' },
        { sha: repo.shas[3], timestamp: '', status: 'complete' },
        { sha: repo.shas[4], timestamp: '2023-11-14T22:14:20+00:00', status: 'in_progress' },
      ]),
    );
    const legacy = ['--config-file', configFile, '--repo', repo.dir];
    expect(await json('import', legacyFile, ...legacy, '--dry-run')).toMatchObject({ imported: 2, skipped: 1, dry_run: true });
    expect(await ok('determine', '--repo', repo.dir, '--branch', 'main', '--config-file', configFile, '--max-commits', '10')).toBe(
      `${repo.shas.slice(2).join(' ')}\n`,
    );
    expect(await ok('import', legacyFile, ...legacy)).toContain('Imported 2, skipped 1');
    expect(await ok('determine', '--repo', repo.dir, '--branch', 'main', '--config-file', configFile, '--max-commits', '10')).toBe(
      `${repo.shas[4]}\n`,
    );

    // Without a config for the legacy records: every record invalid, nothing imported, exit 1.
    const refused = await cli('import', legacyFile, '--repo', repo.dir);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('record 0: config: missing');
    expect(refused.stdout).toContain('nothing imported');
  });

  it('accepts the seed’s --host/--port/--database/--username flags instead of DATABASE_URL, and never prints the password', async () => {
    const u = new URL(db().url);
    const flags = [
      '--host',
      u.hostname,
      '--port',
      u.port || '5432',
      '--database',
      u.pathname.slice(1),
      '--username',
      decodeURIComponent(u.username),
    ];
    if (u.password) flags.push('--password', decodeURIComponent(u.password));
    const r = await runCli(['commits', 'stats', ...flags, '--repo', repo.dir, '--json'], { DATABASE_URL: undefined });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ total: 4 });

    const secret = 'Sup3r-Secret-Passw0rd';
    const bad = await runCli(
      ['commits', 'stats', '--host', '127.0.0.1', '--port', '1', '--database', 'x', '--username', 'u', '--password', secret],
      {
        DATABASE_URL: undefined,
      },
    );
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^eventix: /);
    expect(bad.stdout + bad.stderr).not.toContain(secret);
    const noDb = await runCli(['commits', 'stats', '--host', '127.0.0.1'], { DATABASE_URL: undefined });
    expect(noDb.code).toBe(1);
    expect(noDb.stderr).toContain('--database');
  });

  it('reports bad input naming the flag or field', async () => {
    const notRepo = await cli('determine', '--repo', dir, '--branch', 'main');
    expect(notRepo.code).toBe(1);
    expect(notRepo.stderr).toContain('--repo');
    const badRef = await cli('mark', '--repo', repo.dir, '--status', 'complete', 'HEAD', 'nope');
    expect(badRef.code).toBe(1);
    expect(badRef.stderr).toContain('shas.1: nope is not a commit');
    const badStatus = await cli('mark', '--repo', repo.dir, '--status', 'done', 'HEAD');
    expect(badStatus.code).not.toBe(0);
    expect(badStatus.stderr).toContain('--status');
  });

  it('requeue: a failed pair back to waiting (by --config-file or --config-id); any other pair refused, exit 1', async () => {
    const failFile = path.join(dir, 'requeue-config.json');
    await writeFile(failFile, '{"requeue": true}');
    const sha = repo.shas[3] as string;
    const fail = ['mark', '--repo', repo.dir, '--status', 'failed', '--config-file', failFile, '--error', 'boom', sha];
    const failed = await json(...fail);
    expect(await ok('requeue', '--repo', repo.dir, '--config-file', failFile, sha)).toBe(
      `Re-queued ${sha} under config ${failed.config.id} (it had failed 1×): waiting again\n`,
    );
    await ok(...fail);
    await ok(...fail);
    expect(await json('requeue', '--repo', repo.dir, '--config-id', String(failed.config.id), sha)).toMatchObject({
      sha,
      config_id: failed.config.id,
      architecture: '',
      attempts: 2,
      error: 'boom',
    });

    // Waiting already, and complete (the first test's pairs): refused, nothing changed.
    const waiting = await cli('requeue', '--repo', repo.dir, '--config-file', failFile, sha);
    expect(waiting.code).toBe(1);
    expect(waiting.stderr).toContain('is not failed (it has no row');
    const complete = await cli('requeue', '--repo', repo.dir, '--config-file', configFile, repo.shas[0] as string);
    expect(complete.code).toBe(1);
    expect(complete.stderr).toContain('is not failed (it is complete)');
    expect(await json('query', '--repo', repo.dir, '--config-file', configFile, '--sha', repo.shas[0] as string)).toMatchObject({
      commits: [{ status: 'complete' }],
    });

    const badSha = await cli('requeue', '--repo', repo.dir, 'HEAD');
    expect(badSha.code).toBe(1);
    expect(badSha.stderr).toContain('sha: must be a full sha');
    const both = await cli('requeue', '--repo', repo.dir, '--config-file', failFile, '--config-id', '1', sha);
    expect(both.code).toBe(1);
    expect(both.stderr).toContain('--config-id');
  });
});
