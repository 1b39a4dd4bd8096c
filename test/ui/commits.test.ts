import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.ts';
import type { ApiToken } from '../../src/config.ts';
import { silentLogger } from '../../src/logger.ts';
import { markCommits } from '../../src/tracking/commits.ts';
import { repoKey } from '../../src/tracking/repos.ts';
import { useTestDatabase } from '../helpers/db.ts';
import { linearRepo, type TestRepo } from '../helpers/git.ts';
import { READ_TOKEN, redirectOf, SUBMIT_TOKEN, UI_TOKENS, UiSession } from '../helpers/ui.ts';

/** The matrix row of one commit, as HTML. */
function rowOf(html: string, sha: string): string {
  const m = new RegExp(`<tr data-sha="${sha}">([\\s\\S]*?)</tr>`).exec(html);
  if (!m) throw new Error(`no matrix row for ${sha}`);
  return m[1] as string;
}

const statusesIn = (row: string) => [...row.matchAll(/class="status status-([a-z-]+)"/g)].map((m) => m[1]);

describe('dashboard: commits matrix and commit page', () => {
  const db = useTestDatabase();
  let repo: TestRepo;
  let key: string;
  let configA = 0;
  let configB = 0;
  const app = (apiTokens: ApiToken[] = []) =>
    createApp({ database: db(), logger: silentLogger, apiTokens, commits: { repos: repo ? [repo.dir] : [] } });
  const pair = async (sha: string, configId: number) =>
    (
      await db().pool.query('select status, attempts, error from commit_status where repo = $1 and sha = $2 and config_id = $3', [
        key,
        sha,
        configId,
      ])
    ).rows[0];

  beforeAll(async () => {
    repo = linearRepo(5);
    key = repoKey(repo.dir);
    const [s0, s1, s2] = repo.shas as [string, string, string];
    const mark = (refs: string[], config: unknown, status: 'in_progress' | 'benchmark_complete' | 'complete' | 'failed', error?: string) =>
      markCommits(db().pool, {
        repo: key,
        gitDir: repo.dir,
        refs,
        config,
        status,
        error,
        configName: JSON.stringify(config) === '{"a":1}' ? 'arm' : null,
      });
    configA = (await mark([s0], { a: 1 }, 'complete')).config.id;
    configB = (await mark([s0], { b: 2 }, 'failed', 'segfault in valkey-benchmark')).config.id;
    await mark([s0], { b: 2 }, 'failed', 'segfault in valkey-benchmark, again');
    await mark([s1], { a: 1 }, 'in_progress');
    await mark([s1], { b: 2 }, 'benchmark_complete');
    await mark([s2], { a: 1 }, 'failed', 'timeout after 600 s');
  });
  afterAll(() => repo?.remove());

  it('draws the matrix: a row per commit with its subject, a column per config, a badge per pair', async () => {
    const res = await app().request('/ui/commits');
    expect(res.status).toBe(200);
    const html = await res.text();
    const [s0, s1, s2, s3] = repo.shas as [string, string, string, string];
    expect(statusesIn(rowOf(html, s0))).toEqual(['complete', 'failed']);
    expect(statusesIn(rowOf(html, s1))).toEqual(['in-progress', 'benchmark-complete']);
    // A config the commit has no pair for is waiting: a dash, no badge.
    expect(statusesIn(rowOf(html, s2))).toEqual(['failed']);
    expect(rowOf(html, s2)).toContain('class="waiting"');
    expect(html).not.toContain(`data-sha="${s3}"`);
    // Subjects come from git (the repository is in EVENTIX_REPOS); newest commit first.
    expect(rowOf(html, s0)).toContain('commit 5');
    expect(html.indexOf(`data-sha="${s0}"`)).toBeLessThan(html.indexOf(`data-sha="${s1}"`));
    // Column headers: the named config by name, the other by id.
    expect(html).toContain(`arm (#${configA})`);
    expect(html).toContain(`config #${configB}`);
    // The failed pair's error, its attempts, and the failed list below the matrix.
    expect(rowOf(html, s0)).toContain('failed 2×: segfault in valkey-benchmark, again');
    expect(html.match(/data-testid="failed-pair"/g)).toHaveLength(2);
    expect(html).toContain('timeout after 600 s');
  });

  it('filters in the URL and pages by commit with a cursor', async () => {
    const [s0, s1, s2] = repo.shas as [string, string, string];
    const failed = await (await app().request('/ui/commits?status=failed')).text();
    expect(failed).toContain(`data-sha="${s0}"`);
    expect(failed).toContain(`data-sha="${s2}"`);
    expect(failed).not.toContain(`data-sha="${s1}"`);
    const onlyA = await (await app().request(`/ui/commits?config_id=${configA}`)).text();
    expect(statusesIn(rowOf(onlyA, s0))).toEqual(['complete']);

    const first = await (await app().request('/ui/commits?limit=2')).text();
    const next = /href="([^"]+)" rel="next"/.exec(first)?.[1]?.replaceAll('&amp;', '&');
    expect(next).toMatch(/cursor=/);
    const second = await (await app().request(next as string)).text();
    expect(second).toContain(`data-sha="${s2}"`);
    expect(second).not.toContain(`data-sha="${s0}"`);
    expect(second).not.toContain('rel="next"');
  });

  it('answers a bad query with a page naming the problem, never a 500', async () => {
    for (const [path, status, text] of [
      ['/ui/commits?status=bogus', 400, 'status'],
      ['/ui/commits?config_id=abc', 400, 'config_id'],
      ['/ui/commits?sha=XYZ', 400, 'sha'],
      ['/ui/commits?cursor=not-a-cursor', 400, 'cursor'],
      ['/ui/commits?bogus=1', 400, 'bogus'],
      ['/ui/commits/zz', 400, 'sha'],
      [`/ui/commits/${'0'.repeat(40)}`, 404, 'No commit'],
    ] as const) {
      const res = await app().request(path);
      expect(res.status, path).toBe(status);
      expect(res.headers.get('content-type'), path).toMatch(/^text\/html/);
      const html = await res.text();
      expect(html, path).toContain('class="flash bad"');
      expect(html, path).toContain(text);
    }
  });

  it('shows a commit: its pairs with errors, and resolves a prefix', async () => {
    const s0 = repo.shas[0] as string;
    const res = await app().request(`/ui/commits/${s0.slice(0, 8)}`);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain(s0);
    expect(html).toContain('commit 5');
    expect(html.match(/data-testid="pair"/g)).toHaveLength(2);
    expect(html).toContain('segfault in valkey-benchmark, again');
    expect(html).toContain(`data-testid="requeue-${s0.slice(0, 10)}-${configB}"`);
    expect(html).toContain('No benchmark results for this commit');
  });

  it('re-queues a failed pair through a CSRF-checked form: the pair is waiting again', async () => {
    const s2 = repo.shas[2] as string;
    const ui = new UiSession(app());
    await ui.page('/ui/commits');
    const fields = { repo: key, sha: s2, config_id: String(configA), architecture: '', back: '/ui/commits?status=failed' };

    const forged = await ui.post('/ui/commits/requeue', { ...fields, _csrf: null });
    expect(forged.status).toBe(403);
    expect(await pair(s2, configA)).toMatchObject({ status: 'failed', attempts: 1 });

    const res = await ui.post('/ui/commits/requeue', fields);
    expect(res.status).toBe(303);
    const back = new URL(res.headers.get('location') as string, 'http://x');
    expect(back.pathname).toBe('/ui/commits');
    expect(back.searchParams.get('status')).toBe('failed');
    expect(back.searchParams.get('notice')).toMatch(/Re-queued .* had failed 1×/);
    expect(await pair(s2, configA)).toBeUndefined();

    // Again: nothing failed to re-queue, said on the page, nothing changed.
    const again = await ui.post('/ui/commits/requeue', fields);
    expect(redirectOf(again).error).toMatch(/not failed/);
    // A complete pair is never re-queued.
    const complete = await ui.post('/ui/commits/requeue', { ...fields, sha: repo.shas[0] as string });
    expect(redirectOf(complete).error).toMatch(/not failed/);
    expect(await pair(repo.shas[0] as string, configA)).toMatchObject({ status: 'complete' });
  });

  it('with tokens: a read session sees no re-queue button and is refused; a submit session may', async () => {
    const s0 = repo.shas[0] as string;
    const reader = await UiSession.as(app(UI_TOKENS), READ_TOKEN);
    const html = await reader.page('/ui/commits');
    expect(html).toContain(`data-sha="${s0}"`);
    expect(html).not.toContain('Re-queue');
    expect(await reader.page(`/ui/commits/${s0}`)).not.toContain('Re-queue');
    const fields = { repo: key, sha: s0, config_id: String(configB), architecture: '' };
    expect((await reader.post('/ui/commits/requeue', fields)).status).toBe(403);
    expect(await pair(s0, configB)).toMatchObject({ status: 'failed', attempts: 2 });

    const ci = await UiSession.as(app(UI_TOKENS), SUBMIT_TOKEN);
    expect(await ci.page('/ui/commits')).toContain('Re-queue');
    expect((await ci.post('/ui/commits/requeue', fields)).status).toBe(303);
    expect(await pair(s0, configB)).toBeUndefined();
  });

  it('re-queue refuses what POST /commits/requeue refuses, naming the same fields', async () => {
    const ui = new UiSession(app());
    await ui.page('/ui/commits');
    const fields = { repo: key, sha: repo.shas[1] as string, config_id: String(configA), architecture: '', back: '/ui/commits' };
    const errorOf = async (extra: Record<string, string>) =>
      redirectOf(await ui.post('/ui/commits/requeue', { ...fields, ...extra })).error;
    expect(await errorOf({ sha: 'HEAD' })).toMatch(/^sha: must be a full sha/);
    expect(await errorOf({ config_id: 'arm' })).toMatch(/^config_id: /);
    expect(await errorOf({ architecture: 'x'.repeat(101) })).toMatch(/^architecture: /);
    expect(await errorOf({ config_id: '999999999' })).toContain('No benchmark config with id 999999999');
    // The in_progress pair of that commit: not failed, left alone.
    expect(await errorOf({})).toMatch(/not failed \(it is in_progress\)/);
    expect(await pair(repo.shas[1] as string, configA)).toMatchObject({ status: 'in_progress' });
  });

  it('says how to fill an empty matrix', async () => {
    await db().pool.query('delete from commit_status');
    const html = await (await app().request('/ui/commits')).text();
    expect(html).toContain('No commit status yet');
    expect(html).toContain('eventix commits mark');
  });
});
