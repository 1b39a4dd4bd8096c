import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.ts';
import type { ApiToken } from '../../src/config.ts';
import { silentLogger } from '../../src/logger.ts';
import { expectJson, expectProblem, post, send } from '../helpers/api.ts';
import { useTestDatabase } from '../helpers/db.ts';
import { linearRepo, type TestRepo } from '../helpers/git.ts';

const TOKENS: ApiToken[] = [
  { name: 'reader', scope: 'read', secret: 'reader-secret-0123456789' },
  { name: 'ci', scope: 'submit', secret: 'submit-secret-0123456789' },
];

describe('POST /commits/requeue', () => {
  const db = useTestDatabase();
  let repo: TestRepo;
  beforeAll(() => {
    repo = linearRepo(4);
  });
  afterAll(() => repo.remove());
  const app = (apiTokens: ApiToken[] = []) =>
    createApp({ database: db(), logger: silentLogger, apiTokens, commits: { repos: [repo.dir], maxAttempts: 2 } });
  const sha = (i: number) => repo.shas[i] as string;

  /** Every row of commit status for a sha, as stored. */
  const rows = async (s: string) =>
    (
      await db().pool.query(
        'select config_id, architecture, status, attempts, error, updated_at from commit_status where sha = $1 order by config_id, architecture',
        [s],
      )
    ).rows;
  const mark = async (body: Record<string, unknown>) => expectJson(await post(app(), '/commits/mark', { repo: repo.dir, ...body }), 200);

  it('re-queues a failed pair: 200 with its attempts and error, the row gone, determine offers it again', async () => {
    const config = { requeue: 'failed' };
    const first = await mark({ shas: [sha(0)], status: 'failed', config, error: 'segfault' });
    await mark({ shas: [sha(0)], status: 'failed', config, error: 'segfault again' });
    await mark({ shas: [sha(0)], status: 'failed', config, error: 'arm only', architecture: 'arm64' });
    const determine = { repo: repo.dir, branch: 'main', config, max_commits: 1 };
    // Failed the maximum (2) times: determine passes it over.
    expect(expectJson(await post(app(), '/commits/determine', determine), 200).shas).toEqual([sha(1)]);

    const res = expectJson(await post(app(), '/commits/requeue', { repo: repo.dir, sha: sha(0), config_id: first.config.id }), 200);
    expect(res).toEqual({
      repo: expect.any(String),
      sha: sha(0),
      config_id: first.config.id,
      architecture: '',
      attempts: 2,
      error: 'segfault again',
    });
    // Only that pair: the arm64 one of the same commit and config stays failed.
    expect(await rows(sha(0))).toEqual([expect.objectContaining({ architecture: 'arm64', status: 'failed', attempts: 1 })]);
    expect(expectJson(await post(app(), '/commits/determine', determine), 200).shas).toEqual([sha(0)]);

    // By value instead of id, with its architecture.
    const arm = expectJson(
      await post(app(), '/commits/requeue', { repo: repo.dir, sha: sha(0), config: { requeue: 'failed' }, architecture: 'arm64' }),
      200,
    );
    expect(arm).toMatchObject({ config_id: first.config.id, architecture: 'arm64', attempts: 1, error: 'arm only' });
    expect(await rows(sha(0))).toEqual([]);

    // Nothing left to re-queue: 409, saying it is waiting already.
    const again = expectProblem(await post(app(), '/commits/requeue', { repo: repo.dir, sha: sha(0), config_id: first.config.id }), 409, {
      code: 'PairNotFailed',
    });
    expect(again).toMatchObject({ type: 'urn:eventix:problem:pair-not-failed', pair_status: null, config_id: first.config.id });
  });

  it('409 PairNotFailed for a complete or in_progress pair, and nothing changes', async () => {
    const config = { requeue: 'live' };
    const done = await mark({ shas: [sha(1)], status: 'complete', config });
    await mark({ shas: [sha(2)], status: 'in_progress', config, claim: true });
    const before1 = await rows(sha(1));
    const before2 = await rows(sha(2));
    for (const [s, status] of [
      [sha(1), 'complete'],
      [sha(2), 'in_progress'],
    ] as const) {
      const p = expectProblem(await post(app(), '/commits/requeue', { repo: repo.dir, sha: s, config_id: done.config.id }), 409, {
        code: 'PairNotFailed',
      });
      expect(p.status).toBe(409);
      expect(p.pair_status).toBe(status);
      expect(p.detail).toContain(`is not failed (it is ${status})`);
    }
    expect(await rows(sha(1))).toEqual(before1);
    expect(await rows(sha(2))).toEqual(before2);
    expect(before1).toMatchObject([{ status: 'complete' }]);
    expect(before2).toMatchObject([{ status: 'in_progress' }]);
  });

  it('404 ConfigNotFound for an unknown config, by id or by value', async () => {
    expectProblem(await post(app(), '/commits/requeue', { repo: repo.dir, sha: sha(3), config_id: 999_999_999 }), 404, {
      code: 'ConfigNotFound',
    });
    expectProblem(await post(app(), '/commits/requeue', { repo: repo.dir, sha: sha(3), config: { never: 'stored' } }), 404, {
      code: 'ConfigNotFound',
    });
  });

  it('bad input: 400 naming the field, 415 for another content type', async () => {
    const ok = { repo: repo.dir, sha: sha(3), config_id: 1 };
    const bad: [Record<string, unknown>, string][] = [
      [{ ...ok, sha: 'HEAD' }, 'sha'],
      [{ ...ok, sha: sha(3).slice(0, 12) }, 'sha'],
      [{ ...ok, sha: sha(3).toUpperCase() }, 'sha'],
      [{ repo: repo.dir, config_id: 1 }, 'sha'],
      [{ ...ok, repo: '' }, 'repo'],
      [{ sha: sha(3), config_id: 1 }, 'repo'],
      [{ ...ok, config_id: 0 }, 'config_id'],
      [{ ...ok, config_id: '1' }, 'config_id'],
      [{ ...ok, config: {} }, 'config_id'],
      [{ ...ok, architecture: 'x'.repeat(101) }, 'architecture'],
      [{ ...ok, status: 'failed' }, '(body)'],
    ];
    for (const [body, field] of bad) expectProblem(await post(app(), '/commits/requeue', body), 400, { field });
    expectProblem(await send(app(), 'POST', '/commits/requeue', { body: '' }), 400, { field: '(body)' });
    expectProblem(await send(app(), 'POST', '/commits/requeue', { body: '{not json' }), 400, { field: '(body)' });
    expectProblem(await send(app(), 'POST', '/commits/requeue', { body: JSON.stringify(ok), contentType: 'text/plain' }), 415);
  });

  it('scopes: a read token is refused (403) and changes nothing; a submit token may', async () => {
    const config = { requeue: 'scopes' };
    const failed = await mark({ shas: [sha(3)], status: 'failed', config, error: 'oom' });
    const body = { repo: repo.dir, sha: sha(3), config_id: failed.config.id };
    const secured = app(TOKENS);
    expectProblem(await post(secured, '/commits/requeue', body), 401);
    const refused = expectProblem(await post(secured, '/commits/requeue', body, { token: 'reader-secret-0123456789' }), 403);
    expect(refused.code).toBe('Forbidden');
    expect(await rows(sha(3))).toMatchObject([{ status: 'failed', attempts: 1 }]);
    expect(expectJson(await post(secured, '/commits/requeue', body, { token: 'submit-secret-0123456789' }), 200)).toMatchObject({
      attempts: 1,
      error: 'oom',
    });
    expect(await rows(sha(3))).toEqual([]);
  });
});
