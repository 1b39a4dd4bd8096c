import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.ts';
import { silentLogger } from '../../src/logger.ts';
import { expectJson, expectProblem, get, post, send } from '../helpers/api.ts';
import { useTestDatabase } from '../helpers/db.ts';
import { linearRepo, type TestRepo } from '../helpers/git.ts';

describe('commit-status API', () => {
  const db = useTestDatabase();
  let repo: TestRepo;
  let unlisted: TestRepo;
  beforeAll(() => {
    repo = linearRepo(5);
    unlisted = linearRepo(1);
  });
  afterAll(() => {
    repo.remove();
    unlisted.remove();
  });
  const app = () => createApp({ database: db(), logger: silentLogger, commits: { repos: [repo.dir], maxAttempts: 2 } });
  const config = [{ data_sizes: [16, 64], 'io-threads': 1 }];

  it('determine → mark → determine → query → stats → export', async () => {
    const first = expectJson(await post(app(), '/commits/determine', { repo: repo.dir, branch: 'main', config, max_commits: 10 }), 200);
    expect(first).toEqual({ shas: repo.shas, walked: 5, eligible: 5, subset_skipped: 0, superset_config_ids: [] });

    const marked = expectJson(
      await post(app(), '/commits/mark', { repo: repo.dir, shas: ['HEAD', 'main~1'], status: 'complete', config }),
      200,
    );
    expect(marked.marked).toEqual([
      { ref: 'HEAD', sha: repo.shas[0], created: true },
      { ref: 'main~1', sha: repo.shas[1], created: true },
    ]);

    // A subset config, referenced by the stored superset's id for a change: both skipped.
    const subset = expectJson(
      await post(app(), '/commits/determine', { repo: repo.dir, branch: 'main', config: [{ data_sizes: [16], 'io-threads': 1 }] }),
      200,
    );
    expect(subset).toMatchObject({ shas: repo.shas.slice(2, 5), subset_skipped: 2, superset_config_ids: [marked.config.id] });
    const byId = expectJson(
      await post(app(), '/commits/determine', {
        repo: repo.dir,
        branch: 'main',
        config_id: marked.config.id,
        max_commits: 1,
        strategy: 'spread',
      }),
      200,
    );
    expect(byId.shas).toEqual([repo.shas[2]]);

    const page = expectJson(await get(app(), `/commits?repo=${encodeURIComponent(repo.dir)}&status=complete,failed&limit=1`), 200);
    expect(page.commits).toHaveLength(1);
    expect(page.commits[0]).toMatchObject({ sha: repo.shas[0], status: 'complete', config, architecture: null, attempts: 0 });
    const next = expectJson(await get(app(), `/commits?repo=${encodeURIComponent(repo.dir)}&cursor=${page.next_cursor}`), 200);
    expect(next.commits.map((c: { sha: string }) => c.sha)).toEqual([repo.shas[1]]);
    expect(next.next_cursor).toBeNull();

    expect(expectJson(await get(app(), `/commits/stats?repo=${encodeURIComponent(repo.dir)}`), 200)).toEqual({
      total: 2,
      unique_commits: 2,
      unique_configs: 1,
      by_status: { in_progress: 0, benchmark_complete: 0, complete: 2, failed: 0 },
    });
    const exported = expectJson(await get(app(), `/commits/export?repo=${encodeURIComponent(repo.dir)}`), 200);
    expect(exported.map((e: { sha: string }) => e.sha)).toEqual(repo.shas.slice(0, 2));
    expect(Object.keys(exported[0]).sort()).toEqual(['config', 'repo', 'sha', 'status', 'timestamp']);
  });

  it('mark claims, fails with attempts, and cleanup returns stale pairs', async () => {
    const cfg = { api: 'claim' };
    const claim = expectJson(
      await post(app(), '/commits/mark', { repo: repo.dir, shas: repo.shas.slice(0, 2), status: 'in_progress', config: cfg, claim: true }),
      200,
    );
    expect(claim.marked).toHaveLength(2);
    const again = expectJson(
      await post(app(), '/commits/mark', { repo: repo.dir, shas: [repo.shas[0]], status: 'in_progress', config: cfg, claim: true }),
      200,
    );
    expect(again).toMatchObject({ marked: [], skipped: [{ sha: repo.shas[0] }] });
    const failed = expectJson(
      await post(app(), '/commits/mark', { repo: repo.dir, shas: [repo.shas[1]], status: 'failed', config: cfg, error: 'boom' }),
      200,
    );
    expect(failed.marked).toHaveLength(1);
    const row = expectJson(await get(app(), `/commits?sha=${repo.shas[1]}&config_id=${failed.config.id}`), 200).commits[0];
    expect(row).toMatchObject({ status: 'failed', attempts: 1, error: 'boom' });

    // An empty POST uses the configured staleness age: the fresh ownerless claim stays.
    expect(expectJson(await send(app(), 'POST', '/commits/cleanup'), 200)).toMatchObject({ reset: 0 });
    const cleaned = expectJson(await post(app(), '/commits/cleanup', { older_than_seconds: 0, config: cfg }), 200);
    expect(cleaned).toMatchObject({
      reset: 1,
      deleted: 1,
      failed: 0,
      pairs: [{ sha: repo.shas[0], status: 'in_progress', task_uid: null }],
    });
  });

  it('import: round trip, legacy with dry_run, and invalid records refused whole with 422', async () => {
    const cfg = { api: 'import' };
    const legacy = [{ sha: repo.shas[4], timestamp: '2023-11-14T22:14:20+00:00', status: 'complete' }];
    const dry = expectJson(await post(app(), '/commits/import', { records: legacy, config: cfg, repo: repo.dir, dry_run: true }), 200);
    expect(dry).toMatchObject({ total: 1, imported: 1, dry_run: true });
    expect(expectJson(await get(app(), `/commits?sha=${repo.shas[4]}`), 200).commits).toEqual([]);
    const real = expectJson(await post(app(), '/commits/import', { records: legacy, config: cfg, repo: repo.dir }), 200);
    expect(real).toMatchObject({ imported: 1, skipped: 0, invalid: 0 });
    const exported = expectJson(await get(app(), `/commits/export?sha=${repo.shas[4]}`), 200);
    expect(exported).toEqual([
      { sha: repo.shas[4], timestamp: '2023-11-14T22:14:20.000Z', status: 'complete', config: cfg, repo: repo.dir },
    ]);
    expect(expectJson(await post(app(), '/commits/import', { records: exported }), 200)).toMatchObject({ imported: 0, skipped: 1 });

    const bad = await post(app(), '/commits/import', {
      records: [...legacy, { sha: 'HEAD', status: 'complete' }],
      config: cfg,
      repo: repo.dir,
    });
    const p = expectProblem(bad, 422, { field: 'records.1.sha', code: 'InvalidRecords' });
    expect(p.report).toMatchObject({ total: 2, invalid: 1, imported: 0 });
  });

  it('configs: list and get; 404 for an unknown id', async () => {
    const list = expectJson(await get(app(), '/configs'), 200);
    expect(list.configs.length).toBeGreaterThan(0);
    const one = list.configs[0];
    expect(expectJson(await get(app(), `/configs/${one.id}`), 200)).toEqual(one);
    expectProblem(await get(app(), '/configs/999999999'), 404, { code: 'ConfigNotFound' });
    expectProblem(await get(app(), '/configs/abc'), 400, { field: 'id' });
    expectProblem(await post(app(), '/commits/determine', { repo: repo.dir, branch: 'main', config_id: 999999999 }), 404, {
      code: 'ConfigNotFound',
    });
  });

  it('refuses repositories the server does not list, and user strings that would be git options', async () => {
    expectProblem(await post(app(), '/commits/determine', { repo: unlisted.dir, branch: 'main' }), 400, { field: 'repo' });
    expectProblem(await post(app(), '/commits/mark', { repo: '/etc', shas: ['HEAD'], status: 'complete' }), 400, { field: 'repo' });
    const none = createApp({ database: db(), logger: silentLogger });
    expectProblem(await post(none, '/commits/determine', { repo: repo.dir, branch: 'main' }), 400, {
      field: 'repo',
      message: 'EVENTIX_REPOS',
    });
    expectProblem(await post(app(), '/commits/determine', { repo: repo.dir, branch: '--output=/tmp/x' }), 400, { field: 'branch' });
    expectProblem(await post(app(), '/commits/determine', { repo: repo.dir, branch: 'no-such-branch' }), 400, { field: 'branch' });
    expectProblem(await post(app(), '/commits/mark', { repo: repo.dir, shas: ['HEAD', '-n1'], status: 'complete' }), 400, {
      field: 'shas.1',
    });
    expectProblem(await post(app(), '/commits/mark', { repo: repo.dir, shas: ['HEAD', 'nope'], status: 'complete' }), 400, {
      field: 'shas.1',
    });
  });

  it('bad input: 400 naming the field, 415 for another content type', async () => {
    const bad: [string, unknown, string][] = [
      ['/commits/determine', { repo: repo.dir }, 'branch'],
      ['/commits/determine', { repo: repo.dir, branch: 'main', max_commits: 0 }, 'max_commits'],
      ['/commits/determine', { repo: repo.dir, branch: 'main', strategy: 'random' }, 'strategy'],
      ['/commits/determine', { repo: repo.dir, branch: 'main', since: 'yesterday' }, 'since'],
      ['/commits/determine', { repo: repo.dir, branch: 'main', config: {}, config_id: 1 }, 'config_id'],
      ['/commits/determine', { repo: repo.dir, branch: 'main', extra: 1 }, '(body)'],
      ['/commits/mark', { repo: repo.dir, shas: [], status: 'complete' }, 'shas'],
      ['/commits/mark', { repo: repo.dir, shas: ['HEAD'], status: 'done' }, 'status'],
      ['/commits/mark', { repo: repo.dir, shas: ['HEAD'], status: 'complete', task_uid: 'x' }, 'task_uid'],
      ['/commits/mark', { repo: repo.dir, shas: ['HEAD'], status: 'complete', claim: true }, 'claim'],
      ['/commits/cleanup', { older_than_seconds: -1 }, 'older_than_seconds'],
      ['/commits/import', { records: 'nope' }, 'records'],
    ];
    for (const [path, body, field] of bad) expectProblem(await post(app(), path, body), 400, { field });
    expectProblem(await get(app(), '/commits?status=done'), 400, { field: /^status/ });
    expectProblem(await get(app(), '/commits?sha=XYZ'), 400, { field: 'sha' });
    expectProblem(await get(app(), '/commits?cursor=bogus'), 400, { field: 'cursor' });
    expectProblem(await get(app(), '/commits/export?config_hash=abc'), 400, { field: 'config_hash' });
    expectProblem(await get(app(), '/commits/stats?nope=1'), 400);
    expectProblem(await send(app(), 'POST', '/commits/mark', { body: '{}', contentType: 'text/plain' }), 415);
    expectProblem(await send(app(), 'POST', '/commits/determine', { body: '{not json' }), 400, { field: '(body)' });
  });

  it('scopes: read may query, not mark', async () => {
    const secured = createApp({
      database: db(),
      logger: silentLogger,
      apiTokens: [{ name: 'reader', scope: 'read', secret: 'reader-secret-0123456789' }],
      commits: { repos: [repo.dir] },
    });
    expectJson(await get(secured, '/commits/stats', { token: 'reader-secret-0123456789' }), 200);
    expectJson(await get(secured, '/configs', { token: 'reader-secret-0123456789' }), 200);
    expectProblem(
      await post(secured, '/commits/mark', { repo: repo.dir, shas: ['HEAD'], status: 'complete' }, { token: 'reader-secret-0123456789' }),
      403,
    );
    expectProblem(await get(secured, '/commits'), 401);
  });
});
