import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/logger.ts';
import { type ClaimedTask, claim, complete, getTask, rescueExpired } from '../../src/queue/index.ts';
import { BENCHMARK_TASK, type BenchmarkKwargs, runBenchmark, type SweepDeps } from '../../src/sweeps/benchmark-task.ts';
import { parseSweeps } from '../../src/sweeps/config.ts';
import { fireSweep } from '../../src/sweeps/fire.ts';
import { markCommits } from '../../src/tracking/commits.ts';
import { repoKey } from '../../src/tracking/repos.ts';
import { listRuns } from '../../src/tracking/runs.ts';
import type { TaskContext } from '../../src/worker/registry.ts';
import { useTestDatabase } from '../helpers/db.ts';
import { linearRepo } from '../helpers/git.ts';
import { waitFor } from '../helpers/wait.ts';

/**
 * An attempt that lost its lease but was not yet aborted (its worker hung, or its heartbeats could
 * not get through) keeps running its benchmark. Pair ownership is by task uid, the same on every
 * retry, so only the fencing token tells it from the attempt that took over (issue 10).
 */

const BENCH = fileURLToPath(new URL('../fixtures/sweeps/bench.mjs', import.meta.url));

const cleanup: (() => void)[] = [];
afterAll(() => {
  for (const f of cleanup.splice(0)) f();
});

function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const contextOf = (task: ClaimedTask, signal: AbortSignal): TaskContext => ({
  uid: task.uid,
  task: task.task,
  namespace: task.namespace,
  attempt: task.attempts,
  fencingToken: task.fencingToken,
  signal,
  logger: silentLogger,
});

describe('a stale benchmark attempt', () => {
  const db = useTestDatabase();
  const pool = () => db().pool;
  // A test that failed early must not leave attempt 1 waiting at its gate while the database goes.
  const held: { gate: string; outcome: Promise<unknown> }[] = [];
  afterEach(async () => {
    for (const { gate, outcome } of held.splice(0)) {
      if (!existsSync(gate)) writeFileSync(gate, '');
      await outcome;
    }
  });

  it('cannot rewrite a pair the attempt that took over completed, nor store a second set of runs', async () => {
    const r = linearRepo(2);
    cleanup.push(() => r.remove());
    const [newest, older] = r.shas as [string, string];
    const state = tempDir('eventix-stale-state-');
    const gate = path.join(state, 'gate');
    const namespace = 'bench-stale';
    const sweeps = parseSweeps({
      work_dir: tempDir('eventix-stale-work-'),
      sweeps: [
        {
          name: 'stale',
          repo: r.dir,
          namespace,
          branch: 'main',
          configs: [{ config: { clients: 50 }, name: 'c50' }],
          max_commits: 1,
          command: [process.execPath, BENCH],
          // Attempt 1 waits in its benchmark until the test opens the gate.
          env: { STATE_DIR: state, GATE_FILE: gate },
          timeout_seconds: 30,
          kill_grace_seconds: 1,
          retry: { max_retries: 3, error_eta_inc: 1 },
        },
      ],
    });
    let commandStarted: (() => void) | undefined;
    const deps: SweepDeps = { pool: pool(), sweeps, logger: silentLogger, onCommandStart: () => commandStarted?.() };
    const fired = await fireSweep(deps, 'stale');
    expect(fired.submitted.map((s) => s.sha)).toEqual([newest]);
    const uid = fired.submitted[0]?.task_uid as string;
    const key = repoKey(r.dir);
    const claimOpts = { namespaces: [namespace], tasks: [BENCHMARK_TASK], limit: 1 };

    // Attempt 1 claims the task with a short lease and starts its benchmark: it owns the pair.
    const [first] = await claim(pool(), { ...claimOpts, workerId: 'hung-worker', leaseSeconds: 1 });
    expect(first?.uid).toBe(uid);
    const started = new Promise<void>((resolve) => {
      commandStarted = resolve;
    });
    const stale = runBenchmark(
      deps,
      first?.kwargs as Partial<BenchmarkKwargs>,
      contextOf(first as ClaimedTask, new AbortController().signal),
    );
    const staleOutcome = stale.then(
      (result) => ({ result }),
      (error: unknown) => ({ error }),
    );
    held.push({ gate, outcome: staleOutcome });
    await started;

    // Its lease runs out; rescue hands the task back and attempt 2 claims it under a new token.
    await waitFor(async () => (await rescueExpired(pool())).some((x) => x.uid === uid), { message: 'the lease expired and was rescued' });
    const second = await waitFor(async () => (await claim(pool(), { ...claimOpts, workerId: 'new-worker', leaseSeconds: 30 }))[0], {
      message: 'attempt 2 claimed the task after its backoff',
    });
    expect(second.fencingToken).toBeGreaterThan(first?.fencingToken as number);

    // A claim of a free pair under the stale token is refused; under the current one it is taken.
    const claimOlder = (fencingToken: number) =>
      markCommits(pool(), {
        repo: key,
        gitDir: r.dir,
        refs: [older],
        config: { clients: 50 },
        status: 'in_progress',
        taskUid: uid,
        fencingToken,
        claim: true,
      });
    const staleClaim = await claimOlder(first?.fencingToken as number);
    const currentClaim = await claimOlder(second.fencingToken);

    // Attempt 2 runs the pair to the end, and its worker records the task done.
    const result = await runBenchmark(deps, second.kwargs as Partial<BenchmarkKwargs>, contextOf(second, new AbortController().signal));
    await complete(pool(), { uid, workerId: 'new-worker', fencingToken: second.fencingToken, result });
    const pairOf = async () =>
      (
        await pool().query<{ status: string; task_uid: string; updated_at: string }>(
          'select status, task_uid, updated_at::text from commit_status where repo = $1 and sha = $2',
          [key, newest],
        )
      ).rows[0];
    const metricCount = async () =>
      (
        await pool().query<{ n: number }>(
          'select count(*)::int as n from benchmark_metrics m join benchmark_runs r on r.id = m.run_id where r.repo = $1',
          [key],
        )
      ).rows[0]?.n;
    const completed = await pairOf();
    expect(completed).toMatchObject({ status: 'complete', task_uid: uid });
    const runsBefore = (await listRuns(pool(), { repo: key, sha: newest })).runs.map((x) => x.uid);
    expect(runsBefore).toHaveLength(1);
    const metricsBefore = await metricCount();
    expect(metricsBefore).toBeGreaterThan(0);

    // Now attempt 1's benchmark finishes, and its code goes on to mark and store.
    writeFileSync(gate, '');
    const outcome = await staleOutcome;
    expect((await listRuns(pool(), { repo: key, sha: newest })).runs.map((x) => x.uid)).toEqual(runsBefore);
    expect(await metricCount()).toBe(metricsBefore);
    // Not even touched: a rewrite to benchmark_complete and back would show in updated_at.
    expect(await pairOf()).toEqual(completed);
    expect(outcome).toMatchObject({ error: { message: expect.stringMatching(/no longer/) } });
    expect(await getTask(pool(), uid)).toMatchObject({ status: 'done', attempts: 2 });
    expect(staleClaim.marked).toEqual([]);
    expect(currentClaim.marked.map((m) => m.sha)).toEqual([older]);
  });
});
