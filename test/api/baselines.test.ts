import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.ts';
import type { ApiToken } from '../../src/config.ts';
import { silentLogger } from '../../src/logger.ts';
import { repoKey } from '../../src/tracking/repos.ts';
import { del, expectJson, expectProblem, get, type Json, post } from '../helpers/api.ts';
import { pushCommit } from '../helpers/baseline-data.ts';
import { useTestDatabase } from '../helpers/db.ts';
import { linearRepo, type TestRepo } from '../helpers/git.ts';

const sha = (c: string) => c.repeat(40);
const REPO = 'acme/api';
const metrics = (rps: number) => [
  { name: 'rps', level: rps, unit: 'req/s', direction: 'higher' as const, tags: { command: 'GET' } },
  { name: 'latency_p50_ms', level: 2, unit: 'ms' },
];

describe('baselines, snapshots and compare over HTTP', () => {
  const db = useTestDatabase();
  let git: TestRepo;
  const app = () => createApp({ database: db(), logger: silentLogger, commits: { repos: [git.dir] } });

  beforeAll(async () => {
    git = linearRepo(3);
    await pushCommit(db().pool, { repo: REPO, sha: sha('a'), metrics: metrics(100_000), seed: 1 });
    await pushCommit(db().pool, { repo: REPO, sha: sha('b'), metrics: metrics(90_000), seed: 2 });
    await pushCommit(db().pool, { repo: REPO, sha: sha('c'), metrics: metrics(100_300), seed: 3 });
  });
  afterAll(() => git?.remove());

  it('POST /benchmarks/baselines: 201 with the snapshots; 409 for a taken name; 404 for a commit without results', async () => {
    const body = expectJson(
      await post(app(), '/benchmarks/baselines', { repo: REPO, name: 'release-1.2', commit: sha('a'), description: 'the 1.2 release' }),
      201,
    );
    expect(body.baseline).toMatchObject({ repo: REPO, name: 'release-1.2', sha: sha('a'), run_uid: null, series: 2, created_by: null });
    expect(body.snapshots.map((s: Json) => [s.metric, s.is_baseline, s.baseline_name, s.is_current, s.version, s.n])).toEqual([
      ['latency_p50_ms', true, 'release-1.2', false, 1, 5],
      ['rps', true, 'release-1.2', false, 1, 5],
    ]);
    expect(body.snapshots[1].series_key).toMatch(/^[0-9a-f]{32}$/);
    expectProblem(await post(app(), '/benchmarks/baselines', { repo: REPO, name: 'release-1.2', commit: sha('b') }), 409, {
      code: 'BaselineExists',
    });
    expectProblem(await post(app(), '/benchmarks/baselines', { repo: REPO, name: 'empty', commit: sha('f') }), 404, {
      code: 'BenchmarkRunsNotFound',
    });
  });

  it('refuses bad input with 400 naming the field', async () => {
    const bad = async (body: Json, field: string) => expectProblem(await post(app(), '/benchmarks/baselines', body), 400, { field });
    await bad({ repo: REPO, name: 'has space', commit: sha('a') }, 'name');
    await bad({ repo: REPO, name: 'x' }, 'commit');
    await bad({ repo: REPO, name: 'x', commit: sha('a'), run_uid: '00000000-0000-4000-8000-000000000000' }, 'commit');
    await bad({ repo: REPO, name: 'x', run_uid: 'nope' }, 'run_uid');
    expectProblem(await post(app(), '/benchmarks/baselines', { repo: REPO, name: 'x', commit: sha('a'), extra: 1 }), 400, {
      field: '(body)',
      message: 'extra',
    });
    // A ref needs a local repository to be resolved in; acme/api is none.
    await bad({ repo: REPO, name: 'x', commit: 'HEAD' }, 'commit');
    await bad({ repo: REPO, name: 'x', commit: '--upload-pack=evil', git_repo: git.dir }, 'commit');
    await bad({ repo: REPO, name: 'x', commit: 'HEAD', git_repo: '/not/allowed' }, 'git_repo');

    const cmp = async (body: Json, field: string) => expectProblem(await post(app(), '/benchmarks/compare', body), 400, { field });
    await cmp({ baseline: 'release-1.2', commit: sha('b'), threshold: 'five' }, 'threshold');
    await cmp({ baseline: 'release-1.2', commit: sha('b'), threshold: -0.1 }, 'threshold');
    await cmp({ baseline: 'release-1.2', commit: sha('b'), thresholds: { rps: '5' } }, 'thresholds.rps');
    await cmp({ baseline: 'release-1.2', commit: sha('b'), confidence: 2 }, 'confidence');
    await cmp({ baseline: 'release-1.2' }, 'commit');
    await cmp({ baseline: 'release 1.2', commit: sha('b') }, 'baseline');
    await cmp({ baseline: 'release-1.2', commit: sha('b'), directions: { rps: 'up' } }, 'directions.rps');
    expectProblem(await get(app(), '/benchmarks/snapshots?current=yes'), 400, { field: 'current' });
    expectProblem(await get(app(), '/benchmarks/snapshots?cursor=abc'), 400, { field: 'cursor' });
  });

  it('POST /benchmarks/compare: the per-metric table and the overall verdict', async () => {
    const r = expectJson(await post(app(), '/benchmarks/compare', { baseline: 'release-1.2', commit: sha('b'), threshold: '5%' }), 200);
    expect(r).toMatchObject({
      repo: REPO,
      baseline: { name: 'release-1.2', sha: sha('a'), run_uid: null },
      candidate: { sha: sha('b'), run_uid: null },
      threshold: 0.05,
      confidence: 0.95,
      method: 'fieller-welch',
      verdict: 'regression',
      counts: { regression: 1, no_change: 1, missing_baseline: 0, missing_candidate: 0 },
      missing: [],
    });
    const rps = r.metrics.find((m: Json) => m.metric === 'rps');
    expect(rps).toMatchObject({ direction: 'higher', verdict: 'regression', unit: 'req/s', tags: { command: 'GET' }, reason: null });
    expect(rps.ci.high).toBeLessThan(-0.05);
    expect(rps.ci.df).toBeGreaterThan(3);
    expect(rps.baseline).toMatchObject({ n: 5, runs: 5, source: 'runs' });
    expect(rps.delta.relative).toBeCloseTo(-0.1, 1);

    const noise = expectJson(
      await post(app(), '/benchmarks/compare', { baseline: 'release-1.2', commit: sha('c'), confidence: 0.99 }),
      200,
    );
    expect(noise.verdict).toBe('no_change');
    expect(noise.metrics[0].ci.level).toBe(0.99);

    expectProblem(await post(app(), '/benchmarks/compare', { baseline: 'nope', commit: sha('b') }), 404, { code: 'BaselineNotFound' });
    expectProblem(await post(app(), '/benchmarks/compare', { baseline: 'release-1.2', commit: sha('f') }), 404, {
      code: 'BenchmarkRunsNotFound',
    });
  });

  it('GET and DELETE /benchmarks/baselines/{name}; GET /benchmarks/baselines', async () => {
    const one = expectJson(await get(app(), `/benchmarks/baselines/release-1.2?repo=${encodeURIComponent(REPO)}`), 200);
    expect(one.baseline.name).toBe('release-1.2');
    expect(one.snapshots).toHaveLength(2);
    expectProblem(await get(app(), '/benchmarks/baselines/nope'), 404, { code: 'BaselineNotFound' });
    expectProblem(await get(app(), '/benchmarks/baselines/bad%20name'), 400, { field: 'name' });

    expectJson(await post(app(), '/benchmarks/baselines', { repo: REPO, name: 'tmp', commit: sha('c') }), 201);
    const list = expectJson(await get(app(), `/benchmarks/baselines?repo=${encodeURIComponent(REPO)}`), 200);
    expect(list.baselines.map((b: Json) => b.name)).toEqual(['release-1.2', 'tmp']);
    const gone = expectJson(await del(app(), '/benchmarks/baselines/tmp'), 200);
    expect(gone.deleted).toMatchObject({ name: 'tmp', series: 2 });
    expectProblem(await del(app(), '/benchmarks/baselines/tmp'), 404, { code: 'BaselineNotFound' });
  });

  it('snapshots: POST records current values one version up, GET ?current=true reads them', async () => {
    // Versions count every snapshot of the series: release-1.2's (1) and the deleted tmp baseline's (2).
    const first = expectJson(await post(app(), '/benchmarks/snapshots', { repo: REPO, commit: sha('b'), metrics: ['rps'] }), 201);
    expect(first.snapshots.map((s: Json) => [s.metric, s.version, s.is_current, s.sha])).toEqual([['rps', 3, true, sha('b')]]);
    const second = expectJson(await post(app(), '/benchmarks/snapshots', { repo: REPO, commit: sha('c'), metrics: ['rps'] }), 201);
    expect(second.snapshots[0]).toMatchObject({ version: 4, is_current: true, sha: sha('c') });
    const current = expectJson(await get(app(), `/benchmarks/snapshots?repo=${encodeURIComponent(REPO)}&metric=rps&current=true`), 200);
    expect(current.snapshots.map((s: Json) => [s.version, s.sha])).toEqual([[4, sha('c')]]);
    const all = expectJson(await get(app(), `/benchmarks/snapshots?series_key=${second.snapshots[0].series_key}&limit=2`), 200);
    expect(all.snapshots.map((s: Json) => s.version)).toEqual([4, 3]);
    const rest = expectJson(
      await get(app(), `/benchmarks/snapshots?series_key=${second.snapshots[0].series_key}&cursor=${all.next_cursor}`),
      200,
    );
    expect(rest.snapshots.map((s: Json) => [s.version, s.is_baseline])).toEqual([
      [2, false],
      [1, true],
    ]);
    expect(rest.next_cursor).toBeNull();
    expectProblem(await post(app(), '/benchmarks/snapshots', { repo: REPO, commit: sha('f') }), 404, { code: 'BenchmarkRunsNotFound' });
  });

  it('refs such as HEAD resolve in a repository of EVENTIX_REPOS', async () => {
    const key = repoKey(git.dir);
    const [head, parent] = git.shas as [string, string];
    await pushCommit(db().pool, { repo: key, sha: parent, metrics: metrics(100_000), seed: 5 });
    await pushCommit(db().pool, { repo: key, sha: head, metrics: metrics(80_000), seed: 6 });
    const created = expectJson(await post(app(), '/benchmarks/baselines', { repo: git.dir, name: 'main-1', commit: 'HEAD~1' }), 201);
    expect(created.baseline).toMatchObject({ repo: key, sha: parent });
    const r = expectJson(await post(app(), '/benchmarks/compare', { repo: git.dir, baseline: 'main-1', commit: 'HEAD' }), 200);
    expect(r).toMatchObject({ candidate: { sha: head }, verdict: 'regression' });
    // Results stored under another name resolve the ref in git_repo.
    await pushCommit(db().pool, { repo: 'acme/elsewhere', sha: head, metrics: metrics(1) });
    const other = expectJson(
      await post(app(), '/benchmarks/baselines', { repo: 'acme/elsewhere', name: 'head', commit: 'main', git_repo: git.dir }),
      201,
    );
    expect(other.baseline.sha).toBe(head);
    expectProblem(await post(app(), '/benchmarks/compare', { repo: git.dir, baseline: 'main-1', commit: 'no-such-branch' }), 400, {
      field: 'commit',
    });
  });

  it('odd input is a 4xx problem, never a 500; extreme values still compare', async () => {
    const odd = 'acme/odd';
    // Values near the largest double (their sum overflows), negative values, zeros, and one run against five.
    const extreme = (scale: number) => [
      { name: 'huge', level: 1e308 * scale },
      { name: 'negative', level: -5 * scale },
      { name: 'zero', level: 0, noise: 0 },
    ];
    await pushCommit(db().pool, { repo: odd, sha: sha('a'), metrics: extreme(1) });
    await pushCommit(db().pool, { repo: odd, sha: sha('b'), metrics: extreme(0.5), repeats: 1 });
    expectJson(await post(app(), '/benchmarks/baselines', { repo: odd, name: 'odd', commit: sha('a') }), 201);
    const r = expectJson(await post(app(), '/benchmarks/compare', { repo: odd, baseline: 'odd', commit: sha('b') }), 200);
    const m = Object.fromEntries(r.metrics.map((x: Json) => [x.metric, x]));
    expect(m.huge.delta.relative).toBeCloseTo(-0.5, 1);
    expect(m.huge.verdict).toBe('change');
    expect(m.negative.delta.relative).toBeCloseTo(0.5, 1);
    // All zeros on both sides: no change, although a relative change of 0 is undefined.
    expect(m.zero).toMatchObject({ verdict: 'no_change', delta: { relative: null } });
    expect(m.huge.baseline.mean).toBeGreaterThan(1e307);

    const nul = 'a\u0000b';
    const answers = await Promise.all([
      post(app(), '/benchmarks/snapshots', { repo: odd, commit: sha('a'), tags: { [nul]: 'v' } }),
      post(app(), '/benchmarks/compare', { baseline: 'odd', commit: sha('b'), tags: { k: nul } }),
      post(app(), '/benchmarks/baselines', { repo: odd, name: 'n1', commit: sha('a'), description: nul }),
      post(app(), '/benchmarks/baselines', { repo: odd, name: 'n2', commit: sha('a'), created_by: nul }),
      post(app(), '/benchmarks/compare', { baseline: 'odd', commit: sha('b'), threshold: '1e400%' }),
      post(app(), '/benchmarks/compare', { baseline: 'odd', commit: sha('b'), threshold: '99999999999999999999%' }),
      post(app(), '/benchmarks/compare', { baseline: 'odd', commit: 'HEAD', git_repo: `${git.dir}\u0000` }),
      get(app(), '/benchmarks/baselines/%E0%A4%A'),
      get(app(), '/benchmarks/snapshots?cursor=0'),
    ]);
    for (const a of answers) expectProblem(a, 400);
    expectJson(await get(app(), '/benchmarks/snapshots?cursor=9999999999999999'), 200);
  });

  it('scopes: a read token may compare but not create or delete; deleting needs admin', async () => {
    const tokens: ApiToken[] = [
      { name: 'reader', scope: 'read', secret: 'r'.repeat(20) },
      { name: 'ci', scope: 'submit', secret: 's'.repeat(20) },
    ];
    const authed = createApp({ database: db(), logger: silentLogger, apiTokens: tokens });
    expectJson(await post(authed, '/benchmarks/compare', { baseline: 'release-1.2', commit: sha('c') }, { token: 'r'.repeat(20) }), 200);
    expectProblem(await post(authed, '/benchmarks/baselines', { repo: REPO, name: 'x', commit: sha('c') }, { token: 'r'.repeat(20) }), 403);
    const made = expectJson(
      await post(authed, '/benchmarks/baselines', { repo: REPO, name: 'by-ci', commit: sha('c') }, { token: 's'.repeat(20) }),
      201,
    );
    // The token's name is the creator.
    expect(made.baseline.created_by).toBe('ci');
    expectProblem(await del(authed, '/benchmarks/baselines/by-ci', { token: 's'.repeat(20) }), 403);
  });
});
