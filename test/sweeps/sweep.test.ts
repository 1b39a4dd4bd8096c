import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { publishEvent } from '../../src/events/publish.ts';
import { silentLogger } from '../../src/logger.ts';
import { getTask, submit } from '../../src/queue/index.ts';
import { applySweeps } from '../../src/sweeps/apply.ts';
import { BENCHMARK_TASK, type SweepDeps } from '../../src/sweeps/benchmark-task.ts';
import { loadSweepsFile, parseSweeps, type Sweeps, SweepsFileError } from '../../src/sweeps/config.ts';
import { type FireResult, fireSweep, SWEEP_TASK } from '../../src/sweeps/fire.ts';
import { TailBuffer } from '../../src/sweeps/process.ts';
import { SweepRuntime } from '../../src/sweeps/runtime.ts';
import { markCommits } from '../../src/tracking/commits.ts';
import { repoKey } from '../../src/tracking/repos.ts';
import { listRuns } from '../../src/tracking/runs.ts';
import { metricSeries } from '../../src/tracking/series.ts';
import { runCli, spawnTsx, waitForOutput } from '../helpers/cli.ts';
import { useTestDatabase } from '../helpers/db.ts';
import { git, linearRepo, type TestRepo } from '../helpers/git.ts';
import { waitFor } from '../helpers/wait.ts';

/**
 * Sweeps end to end: real PostgreSQL, real git repositories, real child processes. The benchmark
 * command is test/fixtures/sweeps/bench.mjs; it learns which commit it runs on from file.txt,
 * which the generated repositories fill with the commit's number (1 = oldest).
 */

const BENCH = fileURLToPath(new URL('../fixtures/sweeps/bench.mjs', import.meta.url));
const BENCH_WORKER = fileURLToPath(new URL('../fixtures/sweeps/bench-worker.ts', import.meta.url));

const cleanup: (() => void)[] = [];
afterAll(() => {
  for (const f of cleanup.splice(0)) f();
});

function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function repo(n: number): TestRepo {
  const r = linearRepo(n);
  cleanup.push(() => r.remove());
  return r;
}

/** The sha of commit number `mark` (1 = oldest). */
const shaOf = (r: TestRepo, mark: number) => r.shas[r.shas.length - mark] as string;

/** A process is gone when kill(0) fails, or it is a zombie nobody reaped yet. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

interface SweepOverrides {
  name: string;
  repo: string;
  namespace: string;
  [key: string]: unknown;
}

function sweepDefinition(o: SweepOverrides, state: string, env: Record<string, string> = {}) {
  return {
    branch: 'main',
    configs: [{ config: { clients: 50 }, name: 'c50' }],
    max_commits: 50,
    command: [process.execPath, BENCH],
    env: { STATE_DIR: state, ...env },
    timeout_seconds: 30,
    kill_grace_seconds: 1,
    retry: { max_retries: 1, error_eta_inc: 1 },
    ...o,
  };
}

function writeSweeps(dir: string, doc: unknown): string {
  const file = path.join(dir, 'sweeps.json');
  writeFileSync(file, JSON.stringify(doc, null, 2));
  return file;
}

describe('sweeps', () => {
  const db = useTestDatabase();
  const pool = () => db().pool;
  const runtimes: SweepRuntime[] = [];
  const children: ChildProcess[] = [];
  afterEach(async () => {
    for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await Promise.all(runtimes.splice(0).map((r) => r.stop()));
  });

  function startRuntime(sweeps: Sweeps, namespace: string, extra: Partial<ConstructorParameters<typeof SweepRuntime>[0]> = {}) {
    const runtime = new SweepRuntime({
      pool: pool(),
      sweeps,
      namespaces: [namespace],
      pollIntervalMs: 100,
      maintenanceIntervalMs: 200,
      leaseSeconds: 5,
      shutdownGraceMs: 2000,
      ...extra,
    });
    runtimes.push(runtime);
    return runtime;
  }

  const pairs = async (r: TestRepo) =>
    (
      await pool().query<{ sha: string; status: string; attempts: number; error: string | null; task_uid: string | null }>(
        'select sha, status, attempts, error, task_uid from commit_status where repo = $1',
        [repoKey(r.dir)],
      )
    ).rows;

  it('runs a sweep over 20 commits: failures end failed after their retries, a hang is killed, the rest complete with metrics', async () => {
    const r = repo(20);
    const dir = tempDir('eventix-sweep-e2e-');
    const state = tempDir('eventix-sweep-state-');
    const workDir = path.join(dir, 'work');
    const file = writeSweeps(dir, {
      work_dir: workDir,
      sweeps: [
        sweepDefinition({ name: 'e2e', repo: r.dir, namespace: 'bench-e2e', timeout_seconds: 2 }, state, {
          FAIL_MARK: '7',
          HANG_MARK: '13',
        }),
      ],
    });
    const sweeps = loadSweepsFile(file);
    const runtime = startRuntime(sweeps, 'bench-e2e');
    await runtime.start();

    // One fire, as its schedule, trigger or POST /sweeps/e2e/run would submit it.
    const fire = await submit(pool(), { task: SWEEP_TASK, namespace: 'bench-e2e', kwargs: { sweep: 'e2e' } });
    await waitFor(async () => (await getTask(pool(), fire.task.uid)).status === 'done', { timeoutMs: 30_000, message: 'the fire ran' });
    const fired = (await getTask(pool(), fire.task.uid)).result as FireResult;
    expect(fired.submitted).toHaveLength(20);

    await waitFor(
      async () => {
        const rows = await pairs(r);
        return rows.length === 20 && rows.every((p) => p.status === 'complete' || p.status === 'failed');
      },
      { timeoutMs: 90_000, intervalMs: 200, message: 'every pair complete or failed' },
    );
    const rows = await pairs(r);
    const bySha = new Map(rows.map((p) => [p.sha, p]));
    const failing = bySha.get(shaOf(r, 7));
    const hanging = bySha.get(shaOf(r, 13));
    expect(failing).toMatchObject({ status: 'failed', attempts: 1 });
    expect(failing?.error).toMatch(/exited with code 1/);
    expect(hanging).toMatchObject({ status: 'failed', attempts: 1 });
    expect(hanging?.error).toMatch(/timed out after 2 s/);
    expect(rows.filter((p) => p.status === 'complete')).toHaveLength(18);

    // The handler marks a pair failed before it throws; the worker records the task's error a moment later.
    await waitFor(
      async () => {
        const tasks = await Promise.all([failing, hanging].map((p) => getTask(pool(), p?.task_uid as string)));
        return tasks.every((t) => t.status === 'error');
      },
      { timeoutMs: 10_000, message: 'the failing and the hanging task recorded as error' },
    );

    // The failing commit's task used its retry: two attempts, then error; its log was kept.
    const failedTask = await getTask(pool(), failing?.task_uid as string);
    expect(failedTask).toMatchObject({ task: BENCHMARK_TASK, status: 'error', attempts: 2 });
    const payload = failedTask.error?.payload as { log_file: string; log_tail: string; exit_code: number };
    expect(payload.exit_code).toBe(1);
    expect(payload.log_tail).toContain('failing on purpose');
    expect(readFileSync(payload.log_file, 'utf8')).toMatch(/bench: commit 7 .*\n[\s\S]*bench: stderr line for 7/);

    // The hanging benchmark and the grandchild that ignored SIGTERM were killed, on both attempts.
    const hangs = readdirSync(state).filter((f) => f.startsWith('hang-'));
    expect(hangs).toHaveLength(2);
    for (const f of hangs) {
      const { pid, grandchild } = JSON.parse(readFileSync(path.join(state, f), 'utf8')) as { pid: number; grandchild: number };
      await waitFor(() => !alive(pid) && !alive(grandchild), { timeoutMs: 10_000, message: 'the hung process group is gone' });
    }
    expect((await getTask(pool(), hanging?.task_uid as string)).error).toMatchObject({ class: 'BenchmarkTimeout' });

    // Metrics of the 18 complete commits are in the results store, in commit order, with the task's uid.
    const series = await metricSeries(pool(), { metric: 'rps', repo: repoKey(r.dir), tags: { command: ['SET'] } });
    const marks = Array.from({ length: 20 }, (_, i) => i + 1).filter((m) => m !== 7 && m !== 13);
    expect(series.points.map((p) => p.sha)).toEqual(marks.map((m) => shaOf(r, m)));
    expect(series.points.map((p) => p.value)).toEqual(marks.map((m) => 1000 + m));
    expect(series.points[0]?.tags).toMatchObject({ command: 'SET', clients: 50 });
    const stored = await listRuns(pool(), { repo: repoKey(r.dir), limit: 100 });
    expect(stored.runs).toHaveLength(18);
    for (const run of stored.runs) {
      expect(run.taskUid).toBe(bySha.get(run.sha)?.task_uid);
      expect(run.config?.name).toBe('c50');
      expect(run.environment).toHaveProperty('hostname');
    }

    // Concurrency 1 per worker: no two benchmarks overlapped.
    const spans = readFileSync(path.join(state, 'runs.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { start: number; end: number })
      .sort((a, b) => a.start - b.start);
    expect(spans).toHaveLength(18);
    for (let i = 1; i < spans.length; i++) expect(spans[i]?.start).toBeGreaterThanOrEqual(spans[i - 1]?.end as number);

    // Every worktree and run folder is gone; only the logs stay.
    expect(git(r.dir, ['worktree', 'list']).trim().split('\n')).toHaveLength(1);
    expect(readdirSync(workDir)).toEqual(['logs']);

    // The next fire retries only the two failed pairs (failed once, fewer than max_failed_attempts).
    await runtime.stop();
    const deps: SweepDeps = { pool: pool(), sweeps, logger: silentLogger };
    const again = await fireSweep(deps, 'e2e');
    expect(again.submitted.map((s) => s.sha).sort()).toEqual([shaOf(r, 7), shaOf(r, 13)].sort());
  });

  it('two sweeps fired at the same moment never run the same pair twice', async () => {
    const r = repo(12);
    const dir = tempDir('eventix-sweep-race-');
    const state = tempDir('eventix-sweep-state-');
    const sweeps = parseSweeps({
      work_dir: path.join(dir, 'work'),
      sweeps: ['a', 'b'].map((name) => sweepDefinition({ name, repo: r.dir, namespace: 'bench-race', max_commits: 4 }, state)),
    });
    const deps: SweepDeps = { pool: pool(), sweeps, logger: silentLogger };

    // Rounds of four fires at once (both sweeps, twice each), until no commit is left to submit.
    const submitted: FireResult['submitted'] = [];
    for (let round = 0; round < 10; round++) {
      const results = await Promise.all(['a', 'b', 'a', 'b'].map((name) => fireSweep(deps, name)));
      const now = results.flatMap((x) => x.submitted);
      if (now.length === 0) break;
      submitted.push(...now);
    }
    expect(submitted).toHaveLength(12);
    expect(new Set(submitted.map((s) => s.sha)).size).toBe(12);
    const live = await pool().query<{ n: number }>(
      "select count(*)::int as n from tasks where task = $1 and namespace = 'bench-race' and status in ('scheduled', 'retry')",
      [BENCHMARK_TASK],
    );
    expect(live.rows[0]?.n).toBe(12);
    for (const p of await pairs(r)) {
      expect(p.status).toBe('in_progress');
      expect(submitted.find((s) => s.sha === p.sha)?.task_uid).toBe(p.task_uid);
    }

    // And run: each commit is benchmarked exactly once.
    await startRuntime(sweeps, 'bench-race').start();
    await waitFor(async () => (await pairs(r)).every((p) => p.status === 'complete'), { timeoutMs: 60_000, intervalMs: 200 });
    const runs = await pool().query<{ sha: string; n: number }>(
      'select sha, count(*)::int as n from benchmark_runs where repo = $1 group by sha',
      [repoKey(r.dir)],
    );
    expect(runs.rows).toHaveLength(12);
    expect(runs.rows.every((x) => x.n === 1)).toBe(true);
    expect(readFileSync(path.join(state, 'runs.jsonl'), 'utf8').trim().split('\n')).toHaveLength(12);
  });

  it('a worker killed mid-benchmark leads to a re-run, not a stuck pair, and its benchmark does not outlive it', async () => {
    const r = repo(3);
    const dir = tempDir('eventix-sweep-kill-');
    const state = tempDir('eventix-sweep-state-');
    const workDir = path.join(dir, 'work');
    const file = writeSweeps(dir, {
      work_dir: workDir,
      sweeps: [
        sweepDefinition({ name: 'kill', repo: r.dir, namespace: 'bench-kill', retry: { max_retries: 2, error_eta_inc: 1 } }, state, {
          KILL_MARK: '2',
        }),
      ],
    });
    const sweeps = loadSweepsFile(file);
    const fired = await fireSweep({ pool: pool(), sweeps, logger: silentLogger }, 'kill');
    expect(fired.submitted).toHaveLength(3);
    const victim = fired.submitted.find((s) => s.sha === shaOf(r, 2));

    const child = spawnTsx(BENCH_WORKER, [], { DATABASE_URL: db().url, SWEEPS_FILE: file, NAMESPACE: 'bench-kill', LEASE_SECONDS: '2' });
    children.push(child);
    await waitForOutput(child, /READY/);
    const marker = path.join(state, `kill-${shaOf(r, 2)}.json`);
    // The script creates the marker, then writes it: wait until it holds the whole JSON, not just for the file.
    let started: { pid: number; grandchild: number } | undefined;
    await waitFor(
      () => {
        if (!existsSync(marker)) return false;
        try {
          started = JSON.parse(readFileSync(marker, 'utf8')) as { pid: number; grandchild: number };
          return true;
        } catch {
          return false;
        }
      },
      { timeoutMs: 30_000, message: 'the benchmark of commit 2 started' },
    );
    const { pid, grandchild } = started as { pid: number; grandchild: number };
    expect(alive(pid)).toBe(true);

    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    // The supervisor saw its worker die and took the whole process group down (SIGTERM, then SIGKILL).
    await waitFor(() => !alive(pid) && !alive(grandchild), { timeoutMs: 10_000, message: 'the orphaned benchmark was killed' });
    const during = (await pairs(r)).find((p) => p.sha === shaOf(r, 2));
    expect(during).toMatchObject({ status: 'in_progress', task_uid: victim?.task_uid });

    // Another worker rescues the task once its lease expires, and runs the pair again.
    await startRuntime(sweeps, 'bench-kill').start();
    await waitFor(async () => (await pairs(r)).every((p) => p.status === 'complete'), {
      timeoutMs: 60_000,
      intervalMs: 200,
      message: 'every pair complete after the re-run',
    });
    // The handler marks the pair complete before it returns; the worker records the task done in
    // its next completion statement, a moment later.
    await waitFor(async () => (await getTask(pool(), victim?.task_uid as string)).status === 'done', {
      timeoutMs: 10_000,
      message: 'the re-run task recorded done',
    });
    const task = await getTask(pool(), victim?.task_uid as string);
    expect(task).toMatchObject({ status: 'done', attempts: 2 });
    const runs = await listRuns(pool(), { repo: repoKey(r.dir), sha: shaOf(r, 2) });
    expect(runs.runs.map((x) => x.taskUid)).toEqual([victim?.task_uid]);
    // The killed worker's run folder and worktree were cleaned up by the next worker.
    expect(git(r.dir, ['worktree', 'list']).trim().split('\n')).toHaveLength(1);
    expect(readdirSync(workDir)).toEqual(['logs']);
  });

  it('a pair whose owner task ended in error without recording it is marked failed, then retried by the next fire', async () => {
    const r = repo(2);
    const state = tempDir('eventix-sweep-state-');
    const sweeps = parseSweeps({ sweeps: [sweepDefinition({ name: 'settle', repo: r.dir, namespace: 'bench-settle' }, state)] });
    const deps: SweepDeps = { pool: pool(), sweeps, logger: silentLogger };
    const first = await fireSweep(deps, 'settle');
    expect(first.submitted).toHaveLength(2);
    const lost = first.submitted[0] as FireResult['submitted'][number];
    // What rescue leaves when a worker dies on the task's last attempt.
    await pool().query(
      `update tasks set status = 'error', finished_at = now(),
         error = '{"class": "LeaseExpired", "message": "the lease expired", "reason": "lease_expired"}'::jsonb where uid = $1`,
      [lost.task_uid],
    );
    const second = await fireSweep(deps, 'settle');
    expect(second.settled).toBe(1);
    expect(second.submitted.map((s) => s.sha)).toEqual([lost.sha]);
    const row = (await pairs(r)).find((p) => p.sha === lost.sha);
    expect(row).toMatchObject({ status: 'in_progress', attempts: 1, error: 'the lease expired' });
    expect(row?.task_uid).toBe(second.submitted[0]?.task_uid);
  });

  it('stores a schedule and a trigger per sweep; a matching event fires the sweep, and removed sweeps stop firing', async () => {
    const r = repo(2);
    const state = tempDir('eventix-sweep-state-');
    const definition = sweepDefinition(
      {
        name: 'fired',
        repo: r.dir,
        namespace: 'bench-fired',
        schedule: { cron: '0 3 * * *', timezone: 'Europe/Berlin' },
        trigger: { event_name: 'commit.pushed', filter: { field: '/branch', eq: 'main' } },
      },
      state,
    );
    const applied = await applySweeps(pool(), parseSweeps({ sweeps: [definition] }));
    expect(applied.schedules.created).toEqual(['sweep:fired']);
    expect(applied.triggers.put).toEqual(['sweep:fired']);
    expect((await applySweeps(pool(), parseSweeps({ sweeps: [definition] }))).schedules.unchanged).toEqual(['sweep:fired']);

    const ignored = await publishEvent(pool(), { name: 'commit.pushed', payload: { branch: 'dev' } });
    expect(ignored.tasks).toHaveLength(0);
    const pushed = await publishEvent(pool(), { name: 'commit.pushed', payload: { branch: 'main' } });
    expect(pushed.tasks).toHaveLength(1);
    expect(pushed.tasks[0]?.task).toMatchObject({ task: SWEEP_TASK, namespace: 'bench-fired', kwargs: { sweep: 'fired' } });
    // A second push while that fire waits merges into it.
    const again = await publishEvent(pool(), { name: 'commit.pushed', payload: { branch: 'main' } });
    expect(again.tasks[0]?.created).toBe(false);

    const removed = await applySweeps(pool(), parseSweeps({ sweeps: [] }));
    expect(removed.schedules.removed).toEqual(['sweep:fired']);
    expect(removed.triggers.removed).toEqual(['sweep:fired']);
    expect((await publishEvent(pool(), { name: 'commit.pushed', payload: { branch: 'main' } })).tasks).toHaveLength(0);
  });

  it('fetches the remote before determining, and runs each pair `repeat` times as one stored push', async () => {
    const origin = repo(2);
    const clone = path.join(tempDir('eventix-sweep-clone-'), 'clone');
    git(origin.dir, ['clone', '--quiet', origin.dir, clone]);
    // A commit lands upstream after the clone was made.
    git(origin.dir, ['checkout', '--quiet', '--force', 'main']);
    writeFileSync(path.join(origin.dir, 'file.txt'), '3\n');
    git(origin.dir, ['commit', '--quiet', '--all', '-m', 'upstream']);
    const upstream = git(origin.dir, ['rev-parse', 'HEAD']).trim();
    const state = tempDir('eventix-sweep-state-');
    const sweeps = parseSweeps({
      work_dir: tempDir('eventix-sweep-work-'),
      sweeps: [
        sweepDefinition({ name: 'fetched', repo: clone, branch: 'origin/main', fetch: true, repeat: 2, namespace: 'bench-fetch' }, state),
      ],
    });
    const fired = await fireSweep({ pool: pool(), sweeps, logger: silentLogger }, 'fetched');
    expect(fired.submitted.map((s) => s.sha)).toContain(upstream);
    expect(fired.submitted).toHaveLength(3);

    await startRuntime(sweeps, 'bench-fetch').start();
    const key = repoKey(clone);
    await waitFor(
      async () => {
        const { rows } = await pool().query<{ n: number }>(
          "select count(*)::int as n from commit_status where repo = $1 and status = 'complete'",
          [key],
        );
        return rows[0]?.n === 3;
      },
      { timeoutMs: 40_000, intervalMs: 200, message: 'three pairs complete' },
    );
    const runs = await listRuns(pool(), { repo: key, sha: upstream });
    expect(runs.runs.map((x) => x.repeatIndex).sort()).toEqual([0, 1]);
    expect(new Set(runs.runs.map((x) => x.taskUid)).size).toBe(1);
  });

  it('a pair completed by hand while its task waits is skipped, not benchmarked again', async () => {
    const r = repo(1);
    const state = tempDir('eventix-sweep-state-');
    const sweeps = parseSweeps({
      work_dir: tempDir('eventix-sweep-work-'),
      sweeps: [sweepDefinition({ name: 'own', repo: r.dir, namespace: 'bench-own' }, state)],
    });
    const deps: SweepDeps = { pool: pool(), sweeps, logger: silentLogger };
    const fired = await fireSweep(deps, 'own');
    // Someone completes the pair by hand before the benchmark runs: the task skips it.
    await markCommits(pool(), {
      repo: repoKey(r.dir),
      gitDir: r.dir,
      refs: [r.shas[0] as string],
      config: { clients: 50 },
      status: 'complete',
    });
    await startRuntime(sweeps, 'bench-own').start();
    const uid = fired.submitted[0]?.task_uid as string;
    await waitFor(async () => (await getTask(pool(), uid)).status === 'done', { timeoutMs: 30_000 });
    expect((await getTask(pool(), uid)).result).toMatchObject({ skipped: 'the pair is complete already' });
    expect(existsSync(path.join(state, 'runs.jsonl'))).toBe(false);
  });
});

describe('sweeps file', () => {
  const base = (extra: Record<string, unknown> = {}) => ({
    name: 's',
    repo: '/srv/repo',
    branch: 'main',
    configs: [{ config: { clients: 1 } }],
    max_commits: 5,
    command: ['bench'],
    timeout_seconds: 60,
    retry: { max_retries: 1 },
    namespace: 'bench',
    ...extra,
  });
  const problem = (doc: unknown): string => {
    try {
      parseSweeps(doc, '/etc/sweeps.json');
    } catch (err) {
      expect(err).toBeInstanceOf(SweepsFileError);
      return (err as Error).message;
    }
    throw new Error('expected the sweeps file to be refused');
  };

  it('refuses a shell string command, unknown fields, relative repos, bad cron, duplicates and unreadable configs, naming each', () => {
    expect(problem({ sweeps: [base({ command: 'python3 bench.py && rm -rf /' })] })).toMatch(
      /sweeps\[0\]\.command \(sweep "s"\): must be an argv array.*never|without a shell/,
    );
    expect(problem({ sweeps: [base({ shell: true })] })).toMatch(/sweeps\[0\] \(sweep "s"\): unknown field\(s\): shell/);
    expect(problem({ sweeps: [base()], extra: 1 })).toMatch(/unknown field\(s\): extra/);
    expect(problem({ sweeps: [base({ repo: 'relative/path' })] })).toMatch(/sweeps\[0\]\.repo .*absolute path/);
    expect(problem({ sweeps: [base({ schedule: { cron: 'not a cron' } })] })).toMatch(/sweeps\[0\]\.schedule\.cron/);
    expect(problem({ sweeps: [base(), base()] })).toMatch(/sweeps\[1\]\.name: duplicate name s/);
    expect(problem({ sweeps: [base({ configs: [{ file: 'missing.json' }] })] })).toMatch(/configs\[0\]\.file .*\/etc\/missing\.json/);
    expect(problem({ sweeps: [base({ configs: [{ clients: 1 }] })] })).toMatch(/configs\[0\]/);
    expect(problem({ sweeps: [base({ command: [] })] })).toMatch(/must name a program/);
    expect(problem({ sweeps: [base({ env: { 'BAD-NAME': 'x' } })] })).toMatch(/env/);
    expect(problem({ sweeps: [base({ cwd: '../outside' })] })).toMatch(/cwd/);
  });

  it('loads config files relative to the sweeps file and applies defaults', () => {
    const dir = tempDir('eventix-sweeps-file-');
    writeFileSync(path.join(dir, 'c.json'), '{"b": 2, "a": 1}');
    const file = writeSweeps(dir, { sweeps: [base({ configs: [{ file: 'c.json', name: 'file-config' }, { config: { a: 1, b: 2 } }] })] });
    expect(() => loadSweepsFile(file)).toThrow(/the same config is listed twice/);
    writeSweeps(dir, { sweeps: [base({ configs: [{ file: 'c.json', name: 'file-config' }] })] });
    const sweep = loadSweepsFile(file).byName.get('s');
    expect(sweep).toMatchObject({
      strategy: 'newest',
      concurrencyPerWorker: 1,
      maxFailedAttempts: 3,
      repeat: 1,
      fetch: false,
      configs: [{ name: 'file-config', value: { a: 1, b: 2 } }],
    });
  });

  it('eventix start and eventix worker exit 2 on a bad sweeps file, naming the field', async () => {
    const dir = tempDir('eventix-sweeps-cli-');
    const file = writeSweeps(dir, { sweeps: [base({ command: 'bench --fast' })] });
    for (const args of [['start'], ['worker', '--namespace', 'bench']]) {
      const res = await runCli(args, { EVENTIX_SWEEPS_FILE: file, DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' });
      expect(res.code, res.stderr).toBe(2);
      expect(res.stderr).toContain('sweeps[0].command');
    }
  });

  it('keeps the last bytes of output in bounded memory', () => {
    const t = new TailBuffer(10);
    for (const s of ['abc', 'defgh', 'ijklmnop', 'q']) t.push(Buffer.from(s));
    expect(t.toBuffer().toString()).toBe('hijklmnopq');
    expect(t.dropped).toBe(7);
  });
});
