import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.ts';
import { silentLogger } from '../../src/logger.ts';
import { upsertConfig } from '../../src/tracking/configs.ts';
import { expectJson, expectProblem, get, type Json, post, send } from '../helpers/api.ts';
import { useTestDatabase } from '../helpers/db.ts';

const fixture = (name: string): Json => JSON.parse(readFileSync(new URL(`../fixtures/benchmarks/${name}`, import.meta.url), 'utf8'));
const sha = (n: number) => n.toString(16).padStart(2, '0').repeat(20);

describe('benchmark results API', () => {
  const db = useTestDatabase();
  const app = () => createApp({ database: db(), logger: silentLogger });
  const counts = async () =>
    (
      await db().pool.query<{ runs: number; metrics: number }>(
        'select (select count(*)::int from benchmark_runs) as runs, (select count(*)::int from benchmark_metrics) as metrics',
      )
    ).rows[0];

  describe('POST /benchmarks/results', () => {
    it('stores a valkey metrics.json with repo and config from the request: 201 with the run uids', async () => {
      const body = expectJson(
        await post(app(), '/benchmarks/results', {
          repo: 'valkey-io/valkey',
          // The file names this commit too; the request may repeat it (in any case), not contradict it.
          sha: '9A8B7C6D5E4F3A2B1C0D9E8F7A6B5C4D3E2F1A0B',
          branch: 'unstable',
          config: { clients: 50, pipeline: 10 },
          data: fixture('valkey-metrics.json'),
        }),
        201,
      );
      expect(body).toMatchObject({
        format: 'valkey',
        metrics: 14,
        skipped: [{ field: 'data.2', message: expect.stringContaining('failed') }],
      });
      expect(body.runs).toHaveLength(1);
      const run = body.runs[0];
      expect(run).toMatchObject({
        repo: 'valkey-io/valkey',
        sha: '9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b',
        branch: 'unstable',
        architecture: 'x86_64',
        metrics: 14,
      });
      expect(run.uid).toMatch(/^[0-9a-f-]{36}$/);
      expect(run.config.hash).toMatch(/^[0-9a-f]{64}$/);

      const page = expectJson(await get(app(), `/benchmarks/runs?repo=valkey-io/valkey`), 200);
      expect(page.runs.map((r: Json) => r.uid)).toEqual([run.uid]);
      expect(page.runs[0]).toMatchObject({
        sha: run.sha,
        format: 'valkey',
        environment: { kernel: '6.8.0-1019-aws', thp: 'never', commit_time: '2026-02-27T16:41:07+00:00' },
        config: { id: run.config.id, hash: run.config.hash, name: null },
      });
      expect(page.runs[0].metrics[0]).toEqual({
        name: 'rps',
        value: 1182033.5,
        unit: 'req/s',
        direction: 'higher',
        tags: expect.objectContaining({ command: 'SET', data_size: 16, pipeline: 10, clients: 50, cluster_mode: false, tls: false }),
      });
      // The API records what it is given: no machine facts were added.
      expect(page.runs[0].environment).not.toHaveProperty('hostname');
    });

    it('refuses bad input with 400 naming the field, and stores nothing', async () => {
      const before = await counts();
      const bad = fixture('eventix.json');
      bad.runs[0].metrics[2].value = 'Infinity';
      expectProblem(await post(app(), '/benchmarks/results', { data: bad }), 400, { field: 'data.runs.0.metrics.2.value' });

      expectProblem(await post(app(), '/benchmarks/results', { data: fixture('github-action-benchmark.json'), repo: 'r' }), 400, {
        field: 'sha',
        message: 'is required',
      });
      expectProblem(await post(app(), '/benchmarks/results', { data: fixture('valkey-metrics.json'), repo: 'r', sha: sha(0xb2) }), 400, {
        field: 'data.0.commit',
        message: "but the request's sha is",
      });
      expectProblem(await post(app(), '/benchmarks/results', { data: { results: [] }, repo: 'r', sha: sha(1) }), 400, { field: 'data' });
      expectProblem(await post(app(), '/benchmarks/results', { data: [], repo: 'r', sha: sha(1), junk: true }), 400, {
        message: 'unknown field(s): junk',
      });
      expectProblem(await post(app(), '/benchmarks/results', { repo: 'r', sha: sha(1) }), 400, { field: 'data' });
      expectProblem(await post(app(), '/benchmarks/results', { data: [], repo: 'r', sha: 'HEAD' }), 400, { field: 'sha' });
      expectProblem(await post(app(), '/benchmarks/results', { data: [], format: 'csv' }), 400, { field: 'format' });
      expectProblem(await send(app(), 'POST', '/benchmarks/results', { body: '{"data": [NaN]}' }), 400, { field: '(body)' });
      expect(await counts()).toEqual(before);
    });

    it('415 for another content type, 413 over the body limit', async () => {
      expectProblem(
        await send(app(), 'POST', '/benchmarks/results', { body: JSON.stringify({ data: [] }), contentType: 'text/plain' }),
        415,
      );
      const small = createApp({ database: db(), logger: silentLogger, maxBodyBytes: 512 });
      expectProblem(await post(small, '/benchmarks/results', { repo: 'r', sha: sha(1), data: fixture('valkey-metrics.json') }), 413);
    });
  });

  describe('GET /benchmarks/runs', () => {
    const repo = 'acme/runs';
    let configA: { id: number; hash: string };
    let pushed: { uid: string; sha: string; architecture: string | null }[];
    beforeAll(async () => {
      pushed = [];
      for (let i = 0; i < 7; i++) {
        const res = expectJson(
          await post(app(), '/benchmarks/results', {
            repo,
            sha: sha(0x10 + (i % 3)),
            config: i % 2 ? { mode: 'b' } : { mode: 'a' },
            ...(i < 5 ? { architecture: 'aarch64' } : {}),
            data: [{ name: 'latency', value: i, unit: 'ms' }],
          }),
          201,
        );
        pushed.push(res.runs[0]);
      }
      configA = await upsertConfig(db().pool, { mode: 'a' });
    });
    const uids = async (query: string) => expectJson(await get(app(), `/benchmarks/runs?${query}`), 200).runs.map((r: Json) => r.uid);
    const newestFirst = (pick: (i: number) => boolean) =>
      pushed
        .map((p, i) => ({ uid: p.uid, i }))
        .filter(({ i }) => pick(i))
        .map(({ uid }) => uid)
        .reverse();

    it('filters by repo, sha, config id or hash, and architecture (empty: none), newest first', async () => {
      expect(await uids(`repo=${repo}`)).toEqual(newestFirst(() => true));
      expect(await uids(`repo=${repo}&sha=${sha(0x11).toUpperCase()}`)).toEqual(newestFirst((i) => i % 3 === 1));
      expect(await uids(`repo=${repo}&config=${configA.id}`)).toEqual(newestFirst((i) => i % 2 === 0));
      expect(await uids(`repo=${repo}&config=${configA.hash}`)).toEqual(newestFirst((i) => i % 2 === 0));
      expect(await uids(`repo=${repo}&architecture=aarch64`)).toEqual(newestFirst((i) => i < 5));
      expect(await uids(`repo=${repo}&architecture=`)).toEqual(newestFirst((i) => i >= 5));
      expect(await uids(`repo=${repo}&since=2000-01-01T00:00:00Z&until=2000-01-02T00:00:00Z`)).toEqual([]);
      expect(await uids(`repo=${repo}&since=2000-01-01T00:00:00Z`)).toHaveLength(7);
      const run = expectJson(await get(app(), `/benchmarks/runs?repo=${repo}&limit=1`), 200).runs[0];
      expect(run).toMatchObject({ metrics: [{ name: 'latency', value: 6, unit: 'ms', direction: 'lower', tags: {} }], architecture: null });
    });

    it('pages with a keyset cursor, never skipping or repeating a run', async () => {
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page: Json = expectJson(await get(app(), `/benchmarks/runs?repo=${repo}&limit=3${cursor ? `&cursor=${cursor}` : ''}`), 200);
        seen.push(...page.runs.map((r: Json) => r.uid));
        cursor = page.next_cursor;
        pages++;
      } while (cursor);
      expect(pages).toBe(3);
      expect(seen).toEqual(newestFirst(() => true));
    });

    it('400 for a bad filter or cursor', async () => {
      expectProblem(await get(app(), '/benchmarks/runs?config=abc'), 400, { field: 'config' });
      expectProblem(await get(app(), '/benchmarks/runs?cursor=nonsense'), 400, { field: 'cursor' });
      expectProblem(await get(app(), '/benchmarks/runs?limit=0'), 400, { field: 'limit' });
      expectProblem(await get(app(), '/benchmarks/runs?since=yesterday'), 400, { field: 'since' });
      expectProblem(await get(app(), '/benchmarks/runs?colour=red'), 400, { message: 'unknown field(s): colour' });
    });
  });

  describe('GET /benchmarks/series', () => {
    const repo = 'acme/series';
    const config = { suite: 'series' };
    // Commit times (from commit tracking) put c1…c5 in order; c3 is not tracked, so its run's start places it.
    const commits = [
      { sha: sha(0xc1), committedAt: '2026-01-01T00:00:00.000Z' },
      { sha: sha(0xc2), committedAt: '2026-01-02T00:00:00.000Z' },
      { sha: sha(0xc3), committedAt: null, startedAt: '2026-01-03T12:00:00.000Z' },
      { sha: sha(0xc4), committedAt: '2026-01-04T00:00:00.000Z' },
      { sha: sha(0xc5), committedAt: '2026-01-05T00:00:00.000Z' },
    ];
    const value = (c: number, repeat = 0) => 1000 * c + repeat;
    let runOf: Map<string, string[]>;

    beforeAll(async () => {
      const cfg = await upsertConfig(db().pool, config);
      for (const c of commits) {
        if (c.committedAt) {
          await db().pool.query(
            `insert into commit_status (repo, sha, config_id, committed_at, status) values ($1, $2, $3, $4, 'complete')`,
            [repo, c.sha, cfg.id, c.committedAt],
          );
        }
      }
      runOf = new Map();
      // Pushed out of commit order, and (but for c3) started in push order: neither may decide the order.
      const pushOrder = [4, 1, 3, 0, 2, 1];
      for (const [k, ci] of pushOrder.entries()) {
        const c = commits[ci] as (typeof commits)[number];
        const repeat = (runOf.get(c.sha) ?? []).length;
        const metric = (command: string, v: number) => ({
          name: 'rps',
          value: v,
          unit: 'req/s',
          direction: 'higher',
          tags: { command, data_size: 16 },
        });
        const res = expectJson(
          await post(app(), '/benchmarks/results', {
            repo,
            config,
            data: {
              runs: [
                {
                  sha: c.sha,
                  repeat_index: repeat,
                  started_at: c.startedAt ?? `2026-02-0${k + 1}T00:00:00Z`,
                  metrics: [metric('SET', value(ci + 1, repeat)), metric('GET', -value(ci + 1, repeat))],
                },
              ],
            },
          }),
          201,
        );
        runOf.set(c.sha, [...(runOf.get(c.sha) ?? []), res.runs[0].uid]);
      }
    });

    it('orders one metric with its tags by commit time across 5 commits (untracked ones by their first run start)', async () => {
      const body = expectJson(await get(app(), `/benchmarks/series?metric=rps&repo=${repo}&tags[command]=SET`), 200);
      expect(body).toMatchObject({ metric: 'rps', repo, truncated: false });
      expect(body.points.map((p: Json) => [p.sha, p.value])).toEqual([
        [sha(0xc1), 1000],
        [sha(0xc2), 2000],
        [sha(0xc2), 2001],
        [sha(0xc3), 3000],
        [sha(0xc4), 4000],
        [sha(0xc5), 5000],
      ]);
      expect(body.points.map((p: Json) => p.committed_at)).toEqual([
        '2026-01-01T00:00:00.000Z',
        '2026-01-02T00:00:00.000Z',
        '2026-01-02T00:00:00.000Z',
        null,
        '2026-01-04T00:00:00.000Z',
        '2026-01-05T00:00:00.000Z',
      ]);
      expect(body.points[3]).toMatchObject({ at: '2026-01-03T12:00:00.000Z', run_uid: runOf.get(sha(0xc3))?.[0] });
      expect(body.points[2]).toMatchObject({ run_uid: runOf.get(sha(0xc2))?.[1], repeat_index: 1, unit: 'req/s', direction: 'higher' });
      expect(body.points[0].tags).toEqual({ command: 'SET', data_size: 16 });
    });

    it('filters by tags as text, any of repeated values, by config, and keeps the newest points under a limit', async () => {
      const values = async (query: string) =>
        expectJson(await get(app(), `/benchmarks/series?metric=rps&repo=${repo}&${query}`), 200).points.map((p: Json) => p.value);
      expect(await values('tags[command]=GET&tags[data_size]=16')).toEqual([-1000, -2000, -2001, -3000, -4000, -5000]);
      expect(await values('tags[data_size]=512')).toEqual([]);
      expect(await values('tags[command]=SET&tags[command]=GET')).toHaveLength(12);
      const cfg = await upsertConfig(db().pool, { suite: 'series' });
      expect(await values(`tags[command]=SET&config=${cfg.hash}`)).toHaveLength(6);
      expect(await values(`tags[command]=SET&config=${cfg.id + 1000}`)).toEqual([]);
      expect(await values('tags[command]=SET&since=2026-01-03T00:00:00Z&until=2026-01-05T00:00:00Z')).toEqual([3000, 4000]);
      const limited = expectJson(await get(app(), `/benchmarks/series?metric=rps&repo=${repo}&tags[command]=SET&limit=2`), 200);
      expect(limited.truncated).toBe(true);
      expect(limited.points.map((p: Json) => p.value)).toEqual([4000, 5000]);
    });

    it('400 naming the field for a missing metric or repo, or a bad tag filter', async () => {
      expectProblem(await get(app(), `/benchmarks/series?repo=${repo}`), 400, { field: 'metric' });
      expectProblem(await get(app(), '/benchmarks/series?metric=rps'), 400, { field: 'repo' });
      expectProblem(await get(app(), `/benchmarks/series?metric=rps&repo=${repo}&tag=x`), 400, { message: 'unknown field(s): tag' });
      // PostgreSQL refuses NUL in text: a tag filter holding one must be a 400, never a failed query (a 500).
      expect((await get(app(), `/benchmarks/series?metric=rps&repo=${repo}&tags[command]=a%00b`)).status).toBe(400);
      expect((await get(app(), `/benchmarks/series?metric=rps&repo=${repo}&tags[a%00b]=x`)).status).toBe(400);
    });
  });
});
