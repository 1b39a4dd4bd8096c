import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, createApp } from '../../src/api/app.ts';
import { sweepListOut, sweepRunOut, sweepRunsOut } from '../../src/api/sweep-schemas.ts';
import { silentLogger } from '../../src/logger.ts';
import { applySweeps } from '../../src/sweeps/apply.ts';
import { parseSweeps, type Sweeps } from '../../src/sweeps/config.ts';
import { markCommits } from '../../src/tracking/commits.ts';
import { repoKey } from '../../src/tracking/repos.ts';
import { expectJson, expectProblem, get, post } from '../helpers/api.ts';
import { useTestDatabase } from '../helpers/db.ts';
import { linearRepo, type TestRepo } from '../helpers/git.ts';

const SECRET = 'hunter2-do-not-show-0123456789';

describe('sweeps API', () => {
  const db = useTestDatabase();
  let repo: TestRepo;
  let sweeps: Sweeps;
  let app: App;
  beforeAll(async () => {
    repo = linearRepo(4);
    sweeps = parseSweeps({
      sweeps: [
        {
          name: 'nightly',
          repo: repo.dir,
          branch: 'main',
          configs: [{ config: { clients: 50 }, name: 'c50' }, { config: { clients: 1 } }],
          max_commits: 3,
          schedule: { cron: '0 3 * * *' },
          trigger: { event_name: 'commit.pushed', filter: { field: '/branch', eq: 'main' } },
          command: ['python3', 'bench.py'],
          env: { API_KEY: SECRET },
          timeout_seconds: 600,
          retry: { max_retries: 2, error_eta_inc: 30 },
          namespace: 'bench',
        },
        {
          name: 'manual',
          repo: repo.dir,
          branch: 'main',
          configs: [{ config: { clients: 8 } }],
          max_commits: 1,
          command: ['bench'],
          timeout_seconds: 60,
          retry: { max_retries: 0 },
          namespace: 'bench-manual',
        },
      ],
    });
    await applySweeps(db().pool, sweeps);
    app = createApp({ database: db(), logger: silentLogger, sweeps });
  });
  afterAll(() => repo?.remove());

  it('GET /sweeps lists the definitions with their schedule, trigger and pair counts, never env values', async () => {
    await markCommits(db().pool, {
      repo: repoKey(repo.dir),
      gitDir: repo.dir,
      refs: [repo.shas[0] as string, repo.shas[1] as string],
      config: { clients: 50 },
      status: 'complete',
    });
    await markCommits(db().pool, {
      repo: repoKey(repo.dir),
      gitDir: repo.dir,
      refs: [repo.shas[2] as string],
      config: { clients: 1 },
      status: 'failed',
    });
    const res = await get(app, '/sweeps');
    const body = expectJson(res, 200);
    expect(() => sweepListOut.parse(body)).not.toThrow();
    expect(res.text).not.toContain(SECRET);
    const nightly = body.sweeps.find((s: { name: string }) => s.name === 'nightly');
    expect(nightly).toMatchObject({
      repo: repo.dir,
      namespace: 'bench',
      command: ['python3', 'bench.py'],
      env_keys: ['API_KEY'],
      retry: { max_retries: 2, error_eta_inc: 30 },
      concurrency_per_worker: 1,
      schedule: { cron: '0 3 * * *', timezone: 'UTC', enabled: true, last_fired_at: null },
      trigger: { event_name: 'commit.pushed', enabled: true, filter: { field: '/branch', eq: 'main' } },
      last_fire: null,
      counts: { complete: 2, failed: 1, in_progress: 0, benchmark_complete: 0 },
    });
    expect(Date.parse(nightly.schedule.next_fire_at)).toBeGreaterThan(Date.now());
    expect(nightly.configs.map((c: { name: string | null; counts: { complete: number } }) => [c.name, c.counts.complete])).toEqual([
      ['c50', 2],
      [null, 0],
    ]);
    expect(body.sweeps.find((s: { name: string }) => s.name === 'manual')).toMatchObject({ schedule: null, trigger: null });
  });

  it('POST /sweeps/{name}/run fires the sweep (201), merges into a waiting fire (200), and shows in /runs and last_fire', async () => {
    const first = expectJson(await post(app, '/sweeps/manual/run'), 201);
    expect(() => sweepRunOut.parse(first)).not.toThrow();
    expect(first).toMatchObject({ created: true, task: { task: 'eventix.sweep', namespace: 'bench-manual', kwargs: { sweep: 'manual' } } });
    const second = expectJson(await post(app, '/sweeps/manual/run'), 200);
    expect(second.created).toBe(false);
    expect(second.task.uid).toBe(first.task.uid);

    const runs = expectJson(await get(app, '/sweeps/manual/runs?limit=5'), 200);
    expect(() => sweepRunsOut.parse(runs)).not.toThrow();
    expect(runs.fires.map((t: { uid: string }) => t.uid)).toEqual([first.task.uid]);
    expect(runs.benchmarks).toEqual([]);
    const listed = expectJson(await get(app, '/sweeps'), 200).sweeps.find((s: { name: string }) => s.name === 'manual');
    expect(listed.last_fire).toMatchObject({ task_uid: first.task.uid, status: 'scheduled' });
  });

  it('answers 404 for an unknown sweep and 400 for a bad name or query', async () => {
    expectProblem(await post(app, '/sweeps/nope/run'), 404, { code: 'SweepNotFound' });
    expectProblem(await get(app, '/sweeps/nope/runs'), 404, { code: 'SweepNotFound' });
    expectProblem(await post(app, '/sweeps/bad%20name/run'), 400, { field: 'name' });
    expectProblem(await get(app, '/sweeps/nightly/runs?limit=0'), 400, { field: 'limit' });
    expectProblem(await get(app, '/sweeps/nightly/runs?limit=abc'), 400, { field: 'limit' });
    expectProblem(await get(app, '/sweeps/nightly/runs?other=1'), 400);
  });

  it('without a sweeps file the list is empty and every name is unknown', async () => {
    const bare = createApp({ database: db(), logger: silentLogger });
    expect(expectJson(await get(bare, '/sweeps'), 200)).toEqual({ sweeps: [] });
    expectProblem(await post(bare, '/sweeps/nightly/run'), 404, { code: 'SweepNotFound' });
  });

  it('firing needs the submit scope; reading needs read', async () => {
    const authed = createApp({
      database: db(),
      logger: silentLogger,
      sweeps,
      apiTokens: [
        { name: 'reader', scope: 'read', secret: 'reader-secret-0123456789' },
        { name: 'ci', scope: 'submit', secret: 'submit-secret-0123456789' },
      ],
    });
    expectProblem(await get(authed, '/sweeps'), 401);
    expectJson(await get(authed, '/sweeps', { token: 'reader-secret-0123456789' }), 200);
    expectProblem(await post(authed, '/sweeps/nightly/run', undefined, { token: 'reader-secret-0123456789' }), 403);
    const fired = expectJson(await post(authed, '/sweeps/nightly/run', undefined, { token: 'submit-secret-0123456789' }), 201);
    expect(fired.task.operator).toBe('ci');
  });
});
