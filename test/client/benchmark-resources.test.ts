import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, createApp } from '../../src/api/app.ts';
import { EventixClient } from '../../src/client/client.ts';
import { silentLogger } from '../../src/logger.ts';
import { applySweeps } from '../../src/sweeps/apply.ts';
import { parseSweeps } from '../../src/sweeps/config.ts';
import { useTestDatabase } from '../helpers/db.ts';
import { linearRepo, type TestRepo } from '../helpers/git.ts';
import { apiError, inProcess } from './helpers.ts';

const BASE = 'http://eventix.test';
const REPO = 'acme/client';
const SHA_A = 'a'.repeat(40);
const SHA_B = 'b'.repeat(40);

/** Three runs of one commit in the eventix format, each with rps for SET and GET. */
const results = (sha: string, rps: number) => ({
  format: 'eventix',
  version: 1,
  runs: [0, 1, 2].map((i) => ({
    repo: REPO,
    sha,
    repeat_index: i,
    metrics: ['SET', 'GET'].map((command) => ({
      name: 'rps',
      value: rps * (1 + (i - 1) / 1000) * (command === 'GET' ? 1.1 : 1),
      unit: 'req/s',
      direction: 'higher',
      tags: { command },
    })),
  })),
});

/** Commits, configs, benchmarks, baselines, snapshots, alerts and sweeps through the client, against the real app and database. */
describe('EventixClient resource groups: commit status and benchmark tracking', () => {
  const db = useTestDatabase();
  let git: TestRepo;
  let app: App;
  let client: EventixClient;
  beforeAll(async () => {
    git = linearRepo(3);
    const sweeps = parseSweeps({
      sweeps: [
        {
          name: 'manual',
          repo: git.dir,
          branch: 'main',
          configs: [{ config: { clients: 8 } }],
          max_commits: 1,
          command: ['bench'],
          timeout_seconds: 60,
          retry: { max_retries: 0 },
          namespace: 'c-sweep',
        },
      ],
    });
    await applySweeps(db().pool, sweeps);
    app = createApp({ database: db(), logger: silentLogger, commits: { repos: [git.dir] }, sweeps });
    client = new EventixClient({ baseUrl: BASE, fetch: inProcess(app) });
  });
  afterAll(() => git?.remove());

  it('commits: mark, list and iterate, stats, export, determine; configs: list and get', async () => {
    const config = { clients: 50 };
    const marked = await client.commits.mark({ repo: git.dir, shas: ['HEAD', 'main~1'], status: 'complete', config });
    expect(marked.marked).toEqual([
      { ref: 'HEAD', sha: git.shas[0], created: true },
      { ref: 'main~1', sha: git.shas[1], created: true },
    ]);

    const page = await client.commits.list({ repo: git.dir, status: ['complete', 'failed'], limit: 1 });
    expect(page.commits.map((c) => [c.sha, c.status, c.config])).toEqual([[git.shas[0], 'complete', config]]);
    expect(page.next_cursor).toEqual(expect.any(String));
    const all: string[] = [];
    for await (const c of client.commits.iterate({ repo: git.dir, status: 'complete', limit: 1 })) all.push(c.sha);
    expect(all).toEqual(git.shas.slice(0, 2));
    expect((await client.commits.list({ repo: git.dir, status: 'failed' })).commits).toEqual([]);

    expect(await client.commits.stats({ repo: git.dir })).toMatchObject({ total: 2, unique_commits: 2, unique_configs: 1 });
    expect((await client.commits.export({ repo: git.dir })).map((r) => r.sha)).toEqual(git.shas.slice(0, 2));
    expect((await client.commits.determine({ repo: git.dir, branch: 'main', config, max_commits: 10 })).shas).toEqual([git.shas[2]]);

    const { configs } = await client.configs.list();
    const stored = configs.find((c) => c.id === marked.config.id);
    expect(stored).toMatchObject({ hash: marked.config.hash, config, pairs: 2 });
    expect(await client.configs.get(marked.config.id)).toEqual(stored);
    expect(await apiError(() => client.configs.get(999_999))).toMatchObject({ status: 404, code: 'ConfigNotFound' });
  });

  it('benchmarks: push, runs across pages, series with a tag filter of several values, changes', async () => {
    const pushed = await client.benchmarks.push({ data: results(SHA_A, 100_000) });
    expect(pushed).toMatchObject({ format: 'eventix', metrics: 6 });
    expect(pushed.runs).toHaveLength(3);
    await client.benchmarks.push({ data: results(SHA_B, 80_000) });

    const page = await client.benchmarks.runs({ repo: REPO, sha: SHA_A, limit: 2 });
    expect(page.runs).toHaveLength(2);
    expect(page.next_cursor).toEqual(expect.any(String));
    const runs: string[] = [];
    for await (const run of client.benchmarks.iterateRuns({ repo: REPO, limit: 2 })) runs.push(run.uid);
    expect(runs).toHaveLength(6);
    expect(new Set(runs).size).toBe(6);

    const set = await client.benchmarks.series({ metric: 'rps', repo: REPO, tags: { command: 'SET' } });
    expect(set.points).toHaveLength(6);
    expect(new Set(set.points.map((p) => p.tags.command))).toEqual(new Set(['SET']));
    const both = await client.benchmarks.series({ metric: 'rps', repo: REPO, tags: { command: ['SET', 'GET'] } });
    expect(both.points).toHaveLength(12);

    const changes = await client.benchmarks.changes({ metric: 'rps', repo: REPO, tags: { command: 'SET' }, min_effect: 0.05 });
    expect(changes).toMatchObject({ repo: REPO, metric: 'rps', truncated: false });
    expect(changes.series).toHaveLength(1);
    expect(changes.series[0]).toMatchObject({ commits: 2, samples: 6, tags: { command: 'SET' } });
  });

  it('benchmarks.nearest sends tags[…] and target[…] the way the server reads them', async () => {
    const llm = JSON.parse(readFileSync(new URL('../fixtures/benchmarks/llm-profiles.json', import.meta.url), 'utf8'));
    await client.benchmarks.push({ repo: 'acme/llm', sha: 'f'.repeat(40), data: llm });
    const nearest = await client.benchmarks.nearest({
      tags: { model_hf_repo: 'meta-llama/Llama-3.1-8B-Instruct', hardware: 'H100', hardware_count: 1 },
      target: { mean_input_tokens: 500, mean_output_tokens: 250 },
    });
    expect(nearest).toMatchObject({
      source: 'database',
      candidates: 5,
      target: { mean_input_tokens: 500, mean_output_tokens: 250 },
      parameters: { mean_input_tokens: 512, mean_output_tokens: 256 },
    });
  });

  it('baselines, compare and snapshots', async () => {
    // The runs pushed by the test above.
    const created = await client.baselines.create({ repo: REPO, name: 'rel-1', commit: SHA_A });
    expect(created.baseline).toMatchObject({ repo: REPO, name: 'rel-1', sha: SHA_A, series: 2 });
    expect(created.snapshots.map((s) => s.is_baseline)).toEqual([true, true]);
    expect((await client.baselines.list({ repo: REPO })).baselines.map((b) => b.name)).toEqual(['rel-1']);
    expect((await client.baselines.get('rel-1')).snapshots).toHaveLength(2);

    const compared = await client.benchmarks.compare({ baseline: 'rel-1', commit: SHA_B, threshold: '5%' });
    expect(compared).toMatchObject({ repo: REPO, verdict: 'regression', counts: { regression: 2 } });

    const recorded = await client.snapshots.record({ repo: REPO, commit: SHA_B });
    expect(recorded.snapshots.map((s) => [s.sha, s.is_current])).toEqual([
      [SHA_B, true],
      [SHA_B, true],
    ]);
    const current = await client.snapshots.list({ repo: REPO, current: true });
    expect(current.snapshots.map((s) => s.id).sort()).toEqual(recorded.snapshots.map((s) => s.id).sort());
    const all: number[] = [];
    for await (const s of client.snapshots.iterate({ repo: REPO, limit: 1 })) all.push(s.id);
    expect(all).toHaveLength(4);
    expect(new Set(all).size).toBe(4);

    expect((await client.baselines.delete('rel-1', { repo: REPO })).deleted).toMatchObject({ name: 'rel-1' });
    expect(await apiError(() => client.baselines.get('rel-1'))).toMatchObject({ status: 404, code: 'BaselineNotFound' });
  });

  it('alerts: an empty listing, iterated; an unknown id is a 404', async () => {
    expect(await client.alerts.list({ repo: REPO, status: ['open', 'acknowledged'] })).toEqual({ alerts: [], next_cursor: null });
    const all: unknown[] = [];
    for await (const a of client.alerts.iterate({ repo: REPO })) all.push(a);
    expect(all).toEqual([]);
    expect(await apiError(() => client.alerts.get(999_999))).toMatchObject({ status: 404, code: 'AlertNotFound' });
  });

  it('sweeps: list, run (then merged into the waiting fire), runs', async () => {
    const { sweeps } = await client.sweeps.list();
    expect(sweeps.map((s) => [s.name, s.repo, s.namespace])).toEqual([['manual', git.dir, 'c-sweep']]);
    const fired = await client.sweeps.run('manual');
    expect(fired).toMatchObject({ created: true, task: { task: 'eventix.sweep', namespace: 'c-sweep' } });
    expect(await client.sweeps.run('manual')).toMatchObject({ created: false, task: { uid: fired.task.uid } });
    const runs = await client.sweeps.runs('manual', { limit: 5 });
    expect(runs.fires.map((t) => t.uid)).toEqual([fired.task.uid]);
    expect(await apiError(() => client.sweeps.run('nope'))).toMatchObject({ status: 404, code: 'SweepNotFound' });
  });
});
