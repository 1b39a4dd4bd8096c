import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { submit, submitMany } from '../../src/queue/index.ts';
import { defineTask } from '../../src/worker/registry.ts';
import { Worker } from '../../src/worker/worker.ts';
import { collect, spawnTsx, waitForOutput } from '../helpers/cli.ts';
import { useTestDatabase } from '../helpers/db.ts';
import { waitFor } from '../helpers/wait.ts';

const SCRIPT = fileURLToPath(new URL('../fixtures/worker-process.ts', import.meta.url));

const spawnWorker = (env: Record<string, string>): ChildProcess => spawnTsx(SCRIPT, [], env);

describe('workers in separate processes', () => {
  const db = useTestDatabase();
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
  });

  it('8 processes run 5,000 tasks: each exactly once, none lost, never two at once', async () => {
    const pool = db().pool;
    await pool.query(
      'create table test_runs (uid uuid not null, worker_id text not null, started_at timestamptz not null, finished_at timestamptz not null)',
    );
    await submitMany(
      pool,
      Array.from({ length: 5000 }, (_, i) => ({ task: 'race.record', args: [i] })),
    );
    const workers = Array.from({ length: 8 }, () => spawnWorker({ DATABASE_URL: db().url, WORKER_CONCURRENCY: '8' }));
    children.push(...workers);
    await Promise.all(workers.map((w) => waitForOutput(w, /READY/)));

    await waitFor(
      async () => {
        const { rows } = await pool.query<{ n: number }>("select count(*)::int as n from tasks where status <> 'done'");
        return rows[0]?.n === 0;
      },
      { timeoutMs: 120_000, intervalMs: 200, message: 'all 5,000 tasks done' },
    );
    const exits = workers.map((w) => collect(w));
    for (const w of workers) w.kill('SIGTERM');
    for (const r of await Promise.all(exits)) expect(r.code, r.stderr).toBe(0);

    const runs = await pool.query<{ runs: number; tasks: number; max_per_task: number; workers: number }>(
      `select (select count(*)::int from test_runs) as runs,
              (select count(distinct uid)::int from test_runs) as tasks,
              (select max(c)::int from (select count(*) as c from test_runs group by uid) s) as max_per_task,
              (select count(distinct worker_id)::int from test_runs) as workers`,
    );
    expect(runs.rows[0]).toMatchObject({ runs: 5000, tasks: 5000, max_per_task: 1 });
    // The work was really shared.
    expect(runs.rows[0]?.workers).toBeGreaterThan(1);
    const overlaps = await pool.query<{ n: number }>(
      'select count(*)::int as n from test_runs a join test_runs b on a.uid = b.uid and a.ctid < b.ctid and a.started_at < b.finished_at and b.started_at < a.finished_at',
    );
    expect(overlaps.rows[0]?.n).toBe(0);
    const done = await pool.query<{ status: string; attempts: number; n: number }>(
      'select status, attempts, count(*)::int as n from tasks group by 1, 2 order by 1, 2',
    );
    expect(done.rows, 'every task done at its first attempt').toEqual([{ status: 'done', attempts: 1, n: 5000 }]);
  });

  it('a worker killed with SIGKILL mid-task: the task is rescued and finished by another worker', async () => {
    const pool = db().pool;
    const { task } = await submit(pool, { task: 'crash.hang', errorEtaInc: 1, errorEtaMax: 1, maxRetries: 3 });
    const doomed = spawnWorker({ DATABASE_URL: db().url, WORKER_MODE: 'hang', WORKER_LEASE_SECONDS: '5' });
    children.push(doomed);
    const [, claimedUid] = await waitForOutput(doomed, /CLAIMED (\S+)/);
    expect(claimedUid).toBe(task.uid);
    const exited = collect(doomed);
    doomed.kill('SIGKILL');
    expect((await exited).signal).toBe('SIGKILL');

    const ran: string[] = [];
    const survivor = new Worker({
      pool,
      tasks: [
        defineTask('crash.hang', async (_a, _k, ctx) => {
          ran.push(ctx.uid);
          return { attempt: ctx.attempt };
        }),
      ],
      pollIntervalMs: 100,
      maintenanceIntervalMs: 200,
      listen: false,
    });
    await survivor.start();
    try {
      const finished = await waitFor(
        async () => {
          const { rows } = await pool.query<{ status: string; attempts: number; result: unknown }>(
            'select status, attempts, result from tasks where uid = $1',
            [task.uid],
          );
          return rows[0]?.status === 'done' ? rows[0] : undefined;
        },
        { timeoutMs: 30_000, message: 'the rescued task completes' },
      );
      expect(ran).toEqual([task.uid]);
      expect(finished).toMatchObject({ attempts: 2, result: { attempt: 2 } });
    } finally {
      await survivor.stop();
    }
  });
});
