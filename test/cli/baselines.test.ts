import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoKey } from '../../src/tracking/repos.ts';
import { pushCommit } from '../helpers/baseline-data.ts';
import { runCli } from '../helpers/cli.ts';
import { useTestDatabase } from '../helpers/db.ts';
import { linearRepo, type TestRepo } from '../helpers/git.ts';

const metrics = (rps: number, latency: number) => [
  { name: 'rps', level: rps, unit: 'req/s', direction: 'higher' as const, tags: { command: 'SET' } },
  { name: 'p99_latency_ms', level: latency, unit: 'ms' },
];

describe('eventix results baseline | compare | snapshot', () => {
  const db = useTestDatabase();
  let git: TestRepo;
  let head: string;
  const cli = (...args: string[]) => runCli(args, { DATABASE_URL: db().url, EVENTIX_REPOS: git.dir });
  const json = async (code: number, ...args: string[]) => {
    const r = await cli(...args, '--json');
    expect(r.code, `eventix ${args.join(' ')}\n${r.stderr}`).toBe(code);
    return JSON.parse(r.stdout);
  };

  beforeAll(async () => {
    // HEAD~3 is the release; HEAD~2 differs by noise only, HEAD~1 is 10 % faster, HEAD 10 % slower.
    git = linearRepo(4);
    head = git.shas[0] as string;
    const repo = repoKey(git.dir);
    const levels: [number, number][] = [
      [90_000, 1.1],
      [110_000, 0.9],
      [100_400, 1.004],
      [100_000, 1],
    ];
    for (const [i, [rps, latency]] of levels.entries()) {
      await pushCommit(db().pool, { repo, sha: git.shas[i] as string, metrics: metrics(rps, latency), seed: i + 1 });
    }
  });
  afterAll(() => git?.remove());

  it('baseline create at a ref, then compare --commit HEAD: a regression exits 1, with the table as JSON', async () => {
    const created = await json(0, 'results', 'baseline', 'create', 'release-1.2', '--repo', git.dir, '--commit', 'HEAD~3');
    expect(created.baseline).toMatchObject({ name: 'release-1.2', repo: repoKey(git.dir), sha: git.shas[3], series: 2 });
    expect(created.snapshots.every((s: { is_baseline: boolean }) => s.is_baseline)).toBe(true);

    const r = await json(1, 'results', 'compare', '--baseline', 'release-1.2', '--commit', 'HEAD');
    expect(r).toMatchObject({ verdict: 'regression', candidate: { sha: head }, baseline: { sha: git.shas[3] } });
    const rps = r.metrics.find((m: { metric: string }) => m.metric === 'rps');
    expect(rps).toMatchObject({ verdict: 'regression', direction: 'higher' });
    expect(rps.ci.high).toBeLessThan(-0.05);
    expect(r.metrics.find((m: { metric: string }) => m.metric === 'p99_latency_ms').verdict).toBe('regression');
  });

  it('the human table: one row per series and the overall verdict; noise exits 0, an improvement exits 0', async () => {
    const bad = await cli('results', 'compare', '--baseline', 'release-1.2', '--commit', 'HEAD', '--threshold', '5%');
    expect(bad.code, bad.stderr).toBe(1);
    const lines = bad.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^baseline release-1\.2 \(.+ @ [0-9a-f]{12}\) vs [0-9a-f]{12} — threshold 5%, confidence 95%$/);
    expect(lines[1]).toMatch(
      /^metric\s+config\s+arch\s+tags\s+unit\s+better\s+baseline\s+candidate\s+change\s+95% CI\s+threshold\s+verdict$/,
    );
    expect(lines[2]).toMatch(
      /^p99_latency_ms .* ms\s+lower .*\(n=5\).*\(n=5\)\s+\+\d+\.\d\d%\s+\[\+\d+\.\d\d%, \+\d+\.\d\d%\]\s+regression$/,
    );
    expect(lines[3]).toMatch(/^rps .*command=SET .*higher .* -\d+\.\d\d%\s+\[-\d+\.\d\d%, -\d+\.\d\d%\]\s+regression$/);
    expect(lines.at(-1)).toBe('verdict: regression (2 regression)');

    const noise = await cli('results', 'compare', '--baseline', 'release-1.2', '--commit', 'HEAD~2');
    expect(noise.code, noise.stderr).toBe(0);
    expect(noise.stdout).toContain('verdict: no_change (2 no_change)');
    const better = await json(
      0,
      'results',
      'compare',
      '--baseline',
      'release-1.2',
      '--commit',
      git.shas[1] as string,
      '--threshold',
      '0.05',
    );
    expect(better.verdict).toBe('improvement');
    // --fail-on makes other verdicts fail the gate too.
    const strict = await cli('results', 'compare', '--baseline', 'release-1.2', '--commit', 'HEAD~1', '--fail-on', 'regression,change');
    expect(strict.code).toBe(0);
  });

  it('bad input exits 2 and names the flag; a missing baseline or a commit without results too', async () => {
    const runs = await Promise.all([
      cli('results', 'compare', '--baseline', 'release-1.2', '--commit', 'HEAD', '--threshold', '5'),
      cli('results', 'compare', '--baseline', 'nope', '--commit', 'HEAD'),
      cli('results', 'compare', '--commit', 'HEAD'),
      cli('results', 'compare', '--baseline', 'release-1.2', '--commit', 'f'.repeat(40)),
    ]);
    expect(runs.map((r) => r.code)).toEqual([2, 2, 2, 2]);
    expect(runs[0]?.stderr).toMatch(/--threshold: must be a percentage/);
    expect(runs[1]?.stderr).toMatch(/No baseline named 'nope'/);
    expect(runs[2]?.stderr).toMatch(/--baseline/);
    expect(runs[3]?.stderr).toMatch(/No benchmark results for commit f{40}/);
    const refs = await Promise.all([
      cli('results', 'compare', '--baseline', 'release-1.2', '--commit', '-x'),
      cli('results', 'compare', '--baseline', 'release-1.2', '--commit', 'HEAD', '--run', '00000000-0000-4000-8000-000000000000'),
    ]);
    expect(refs.map((r) => r.code)).toEqual([2, 2]);
    expect(refs[0]?.stderr).toMatch(/--commit: must not start with '-'/);
    expect(refs[1]?.stderr).toMatch(/--commit: give exactly one of --commit and --run/);
  });

  it('baseline list, show, delete; snapshot record and list', async () => {
    const list = await json(0, 'results', 'baseline', 'list');
    expect(list.baselines.map((b: { name: string }) => b.name)).toEqual(['release-1.2']);
    const show = await cli('results', 'baseline', 'show', 'release-1.2');
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toMatch(/^baseline release-1\.2 of .+: commit [0-9a-f]{40}, created /);
    expect(show.stdout).toMatch(/\nrps\s+-\s+-\s+command=SET\s+[0-9a-f]{12}\s+5\s+[\d.]+\s+[\d.]+\s+req\/s\s+1\s+baseline release-1\.2\n/);

    const recorded = await json(0, 'results', 'snapshot', 'record', '--repo', git.dir, '--commit', 'HEAD', '--metric', 'rps');
    expect(
      recorded.snapshots.map((s: { metric: string; version: number; is_current: boolean }) => [s.metric, s.version, s.is_current]),
    ).toEqual([['rps', 2, true]]);
    const current = await json(0, 'results', 'snapshot', 'list', '--current', '--repo', git.dir);
    expect(current.snapshots.map((s: { sha: string }) => s.sha)).toEqual([head]);

    const deleted = await json(0, 'results', 'baseline', 'delete', 'release-1.2');
    expect(deleted.deleted).toMatchObject({ name: 'release-1.2', series: 2 });
    const again = await cli('results', 'baseline', 'show', 'release-1.2');
    expect(again.code).toBe(2);
  });
});
