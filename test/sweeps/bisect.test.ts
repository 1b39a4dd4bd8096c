import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { getTask, submit } from '../../src/queue/index.ts';
import { BENCHMARK_TASK } from '../../src/sweeps/benchmark-task.ts';
import { BISECT_TASK } from '../../src/sweeps/bisect-hooks.ts';
import { runBound } from '../../src/sweeps/bisect-plan.ts';
import type { BisectionState } from '../../src/sweeps/bisect-state.ts';
import { loadSweepsFile } from '../../src/sweeps/config.ts';
import { type FireResult, SWEEP_TASK } from '../../src/sweeps/fire.ts';
import { SweepRuntime } from '../../src/sweeps/runtime.ts';
import { BenchmarkRuntime } from '../../src/tracking/alerts/runtime.ts';
import { EVALUATE_TASK } from '../../src/tracking/alerts/settings.ts';
import { type Alert, listAlerts } from '../../src/tracking/alerts/store.ts';
import { WEBHOOK_EVENT } from '../../src/tracking/alerts/webhook.ts';
import { repoKey } from '../../src/tracking/repos.ts';
import { useTestDatabase } from '../helpers/db.ts';
import { BASE_TIME, fastImport, git, type TestRepo, tempRepo } from '../helpers/git.ts';
import { waitFor } from '../helpers/wait.ts';
import { startReceiver } from '../helpers/webhook-receiver.ts';

/**
 * Automatic bisection end to end (issue 11, point 5 and its "done when"): real PostgreSQL, a real
 * generated git repository, real benchmark commands through the sweep machinery, the alerts
 * helper's evaluation and webhook tasks on their own workers, and a real HTTP receiver.
 *
 * The repository has 60 commits; from commit CULPRIT on, work.json asks the benchmark command
 * (test/fixtures/sweeps/slow-bench.mjs) for 10 % more iterations, so `time_ms` is 10 % higher.
 * A `spread` sweep with `max_commits: 15` measures every fourth or fifth commit and leaves the
 * culprit in a gap; evaluation detects the step and opens an alert (its webhook is delivered),
 * and bisection measures commits of the gap until the culprit is a single commit.
 */

const SLOW_BENCH = fileURLToPath(new URL('../fixtures/sweeps/slow-bench.mjs', import.meta.url));
const COMMITS = 60;
const CULPRIT = 33;
const MAX_COMMITS = 15;

const cleanup: (() => void)[] = [];
afterAll(() => {
  for (const f of cleanup.splice(0)) f();
});

function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** `n` commits on main; commit `culprit` (1 = oldest) is the one that raises work.json's iterations by 10 %. */
function slowRepo(n: number, culprit: number): TestRepo {
  const dir = tempRepo('eventix-bisect-git-');
  let stream = '';
  for (let mark = 1; mark <= n; mark++) {
    const message = `commit ${mark}${mark === culprit ? ': more work per request' : ''}\n`;
    const work = JSON.stringify({ iterations: mark >= culprit ? 1100 : 1000 });
    stream +=
      `commit refs/heads/main\nmark :${mark}\n` +
      `committer Eventix Test <test@example.com> ${BASE_TIME + mark * 60} +0000\n` +
      `data ${Buffer.byteLength(message)}\n${message}` +
      `M 644 inline file.txt\ndata ${String(mark).length}\n${mark}\n` +
      `M 644 inline work.json\ndata ${Buffer.byteLength(work)}\n${work}\n\n`;
  }
  fastImport(dir, stream);
  const shas = git(dir, ['rev-list', 'main']).split('\n').filter(Boolean);
  const r = { dir, shas, remove: () => rmSync(dir, { recursive: true, force: true }) };
  cleanup.push(r.remove);
  return r;
}

const shaOf = (r: TestRepo, mark: number) => r.shas[r.shas.length - mark] as string;
const markOf = (r: TestRepo, sha: string) => r.shas.length - r.shas.indexOf(sha);

interface Delivery {
  headers: http.IncomingHttpHeaders;
  body: { event: string; alert: { id: number; first_bad_sha: string; last_good_sha: string; series: { repo: string } } };
}

const receiver = () => startReceiver<Delivery['body']>({ path: '/hooks/benchmarks' });

describe('automatic bisection', () => {
  const db = useTestDatabase();
  const pool = () => db().pool;
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const s of stops.splice(0).reverse()) await s();
  });

  function sweepDefinition(name: string, r: TestRepo, namespace: string, state: string, extra: Record<string, unknown> = {}) {
    return {
      name,
      repo: r.dir,
      branch: 'main',
      configs: [{ config: { workload: 'sha256' }, name: 'sha256' }],
      strategy: 'spread',
      max_commits: MAX_COMMITS,
      command: [process.execPath, SLOW_BENCH],
      env: { STATE_DIR: state },
      timeout_seconds: 30,
      kill_grace_seconds: 1,
      retry: { max_retries: 1, error_eta_inc: 1 },
      namespace,
      ...extra,
    };
  }

  async function startSweeps(file: string, namespaces: string[]) {
    const runtime = new SweepRuntime({
      pool: pool(),
      sweeps: loadSweepsFile(file),
      namespaces,
      pollIntervalMs: 100,
      maintenanceIntervalMs: 500,
      leaseSeconds: 10,
      shutdownGraceMs: 2000,
    });
    stops.push(() => runtime.stop());
    await runtime.start();
    return runtime;
  }

  async function startAlerts(repos: string[], webhookUrl?: string) {
    const runtime = new BenchmarkRuntime({
      pool: pool(),
      settings: { repos, ...(webhookUrl ? { webhook: { url: webhookUrl, timeoutMs: 5000 } } : {}) },
      pollIntervalMs: 50,
      shutdownGraceMs: 0,
    });
    stops.push(() => runtime.stop());
    await runtime.start();
  }

  /** Fire the sweep as its schedule would, and wait until every pair it submitted is complete. */
  async function fireAndWait(sweep: string, namespace: string, r: TestRepo): Promise<FireResult> {
    const fire = await submit(pool(), { task: SWEEP_TASK, namespace, kwargs: { sweep } });
    await waitFor(async () => (await getTask(pool(), fire.task.uid)).status === 'done', { timeoutMs: 30_000, message: 'the fire ran' });
    const fired = (await getTask(pool(), fire.task.uid)).result as FireResult;
    await waitFor(
      async () => {
        const { rows } = await pool().query<{ n: number }>(
          `select count(*)::int as n from commit_status where repo = $1 and status = 'complete'`,
          [repoKey(r.dir)],
        );
        return rows[0]?.n === fired.submitted.length;
      },
      { timeoutMs: 60_000, intervalMs: 100, message: `the ${fired.submitted.length} benchmarks of ${sweep} completed` },
    );
    return fired;
  }

  async function finishedAlert(r: TestRepo): Promise<Alert & { bisection: BisectionState }> {
    return waitFor(
      async () => {
        const { alerts } = await listAlerts(pool(), { repo: repoKey(r.dir) });
        const a = alerts.find((x) => x.bisection && x.bisection.status !== 'running');
        return a as (Alert & { bisection: BisectionState }) | undefined;
      },
      { timeoutMs: 60_000, intervalMs: 100, message: 'a bisection finished' },
    );
  }

  const benchmarkTasks = async (namespace: string) =>
    (
      await pool().query<{ sha: string; status: string }>(
        `select kwargs ->> 'sha' as sha, status from tasks where task = $1 and namespace = $2 order by id`,
        [BENCHMARK_TASK, namespace],
      )
    ).rows;

  /** The gap of measured commits (by mark) that holds `mark`: the last measured before it and the first at or after it. */
  function gapAround(r: TestRepo, fired: FireResult, mark: number) {
    const measured = fired.submitted.map((s) => markOf(r, s.sha)).sort((a, b) => a - b);
    const good = Math.max(...measured.filter((m) => m < mark));
    const bad = Math.min(...measured.filter((m) => m >= mark));
    return { measured, good, bad, k: bad - good - 1 };
  }

  interface Scenario {
    name: string;
    commits: number;
    culprit: number;
    bisect?: { enabled?: boolean; max_runs?: number };
    env?: Record<string, string>;
  }

  /** A generated repository, its sweep in a namespace of its own, and its sweeps file. */
  function scenario(sc: Scenario) {
    const r = slowRepo(sc.commits, sc.culprit);
    const dir = tempDir('eventix-bisect-e2e-');
    const state = tempDir('eventix-bisect-state-');
    const namespace = `bench-${sc.name}`;
    const definition = sweepDefinition(sc.name, r, namespace, state, sc.bisect ? { bisect: sc.bisect } : {});
    definition.env = { ...definition.env, ...sc.env };
    return { ...sc, r, dir, state, namespace, definition };
  }
  type Prepared = ReturnType<typeof scenario>;

  function writeSweeps(dir: string, scenarios: Prepared[]): string {
    const file = path.join(dir, 'sweeps.json');
    writeFileSync(file, JSON.stringify({ work_dir: path.join(dir, 'work'), sweeps: scenarios.map((s) => s.definition) }));
    return file;
  }

  /** After the bisection: what the queue and the command's own log say it ran. */
  async function outcome(sc: Prepared, fired: FireResult) {
    const { r } = sc;
    // The bisection records the last step's verdict from inside that run's handler, so the run
    // task itself is marked done a moment after the bisection reads "found": wait for it.
    await waitFor(async () => (await benchmarkTasks(sc.namespace)).every((t) => !['scheduled', 'retry', 'processing'].includes(t.status)), {
      timeoutMs: 30_000,
      message: 'every benchmark run finished',
    });
    const tasks = await benchmarkTasks(sc.namespace);
    const firedShas = new Set(fired.submitted.map((s) => s.sha));
    const extra = tasks.filter((t) => !firedShas.has(t.sha));
    expect(tasks).toHaveLength(fired.submitted.length + extra.length);
    const invocations = readFileSync(path.join(sc.state, 'runs.jsonl'), 'utf8').trim().split('\n');
    return { tasks, extra, extraMarks: extra.map((t) => markOf(r, t.sha)), invocations };
  }

  it('done when: 60 commits, a 10 % slowdown at one, a sweep with gaps: detected, bisected to the exact commit within ⌈log₂ k⌉ + 1 runs, alerted, delivered', async () => {
    const sc = scenario({ name: 'bisect-e2e', commits: COMMITS, culprit: CULPRIT });
    const { r } = sc;
    const hook = await receiver();
    stops.push(hook.close);

    await startSweeps(writeSweeps(sc.dir, [sc]), [sc.namespace]);
    const fired = await fireAndWait(sc.name, sc.namespace, r);
    expect(fired.submitted).toHaveLength(MAX_COMMITS);
    const gap = gapAround(r, fired, CULPRIT);
    // The sweep left the culprit unmeasured, inside a gap of k commits.
    expect(gap.measured).not.toContain(CULPRIT);
    expect(gap.k).toBeGreaterThanOrEqual(3);

    // Evaluation runs now, over the sweep's complete results (its tasks waited in the queue).
    await startAlerts([r.dir], hook.url);
    const alert = await finishedAlert(r);
    const b = alert.bisection;

    // Detected, as a 10 % regression of time_ms.
    expect(alert).toMatchObject({ kind: 'regression', status: 'open', metric: 'time_ms', direction: 'lower' });
    expect(alert.relativeChange).toBeCloseTo(0.1, 2);
    // The bisection starts from the true gap, whatever the detector's estimate: a split may land a
    // measured commit away from the step (anchorRange in bisect.ts); the alert's range as opened
    // is kept beside it.
    expect(b.initial).toEqual({ good_sha: shaOf(r, gap.good), bad_sha: shaOf(r, gap.bad), unmeasured: gap.k });
    const opened = b.alert_range as { good_sha: string; bad_sha: string };
    expect(markOf(r, opened.bad_sha)).toBeGreaterThan(markOf(r, opened.good_sha));

    // Bisected to the exact commit, and the alert names it.
    expect(b.status).toBe('found');
    expect(b.culprit_sha).toBe(shaOf(r, CULPRIT));
    expect(alert.culpritSha).toBe(shaOf(r, CULPRIT));
    expect([b.good_sha, b.bad_sha]).toEqual([shaOf(r, CULPRIT - 1), shaOf(r, CULPRIT)]);
    expect(b.sweep).toBe(sc.name);

    // The extra runs, counted from the queue: benchmark.run tasks beyond the fire's own.
    const { extra, extraMarks, invocations } = await outcome(sc, fired);
    expect(extra.every((t) => t.status === 'done')).toBe(true);
    expect(b.runs_used).toBe(extra.length);
    expect(extra.length).toBeGreaterThan(0);
    expect(extra.length).toBeLessThanOrEqual(runBound(gap.k));
    // Each extra run is a commit strictly inside the gap, measured once, with its verdict recorded.
    for (const m of extraMarks) expect(m > gap.good && m < gap.bad).toBe(true);
    expect(new Set(extraMarks).size).toBe(extraMarks.length);
    expect(b.steps.map((s) => [markOf(r, s.sha), s.verdict])).toEqual(extraMarks.map((m) => [m, m >= CULPRIT ? 'bad' : 'good']));
    // The command itself ran once per pair: the fire's 15 and the bisection's.
    expect(invocations).toHaveLength(MAX_COMMITS + extra.length);
    console.log(
      `[${sc.name}] alert opened for ${markOf(r, opened.good_sha)}..${markOf(r, opened.bad_sha)}; ` +
        `k = ${gap.k} unmeasured commits between ${gap.good} and ${gap.bad}; ${extra.length} extra runs ` +
        `(commits ${extraMarks.join(', ')}); bound ⌈log₂ k⌉ + 1 = ${runBound(gap.k)}; culprit ${CULPRIT}`,
    );

    // The webhook received the alert when it opened (before the bisection named its culprit).
    const delivery = await waitFor(() => hook.requests.find((d) => d.body.alert.id === alert.id), {
      timeoutMs: 30_000,
      message: 'the webhook received the alert',
    });
    expect(delivery.body.event).toBe(WEBHOOK_EVENT);
    expect(delivery.headers['x-eventix-delivery']).toBe(`alert-${alert.id}`);
    expect(delivery.body.alert).toMatchObject({
      series: { repo: repoKey(r.dir) },
      last_good_sha: opened.good_sha,
      first_bad_sha: opened.bad_sha,
    });

    // Once the evaluations the extra runs enqueued have run, the series still has this one alert.
    await waitFor(
      async () => {
        const { rows } = await pool().query<{ n: number }>(
          `select count(*)::int as n from tasks where task = $1 and status in ('scheduled', 'retry', 'processing')`,
          [EVALUATE_TASK],
        );
        return rows[0]?.n === 0;
      },
      { timeoutMs: 30_000, message: 'evaluations settled' },
    );
    const { alerts } = await listAlerts(pool(), { repo: repoKey(r.dir) });
    expect(alerts.map((a) => a.id)).toEqual([alert.id]);
    const { rows: steps } = await pool().query<{ status: string }>(`select status from tasks where task = $1`, [BISECT_TASK]);
    expect(steps.filter((s) => s.status === 'error')).toEqual([]);
  }, 120_000);

  it('a wider gap (200 commits, 15 measured): exact within ⌈log₂ k⌉ + 1 runs', async () => {
    const sc = scenario({ name: 'bisect-wide', commits: 200, culprit: 123 });
    const { r } = sc;
    await startSweeps(writeSweeps(sc.dir, [sc]), [sc.namespace]);
    const fired = await fireAndWait(sc.name, sc.namespace, r);
    const gap = gapAround(r, fired, sc.culprit);
    expect(gap.k).toBeGreaterThanOrEqual(10);
    await startAlerts([r.dir]);
    const alert = await finishedAlert(r);
    const b = alert.bisection;
    expect(b).toMatchObject({ status: 'found', culprit_sha: shaOf(r, sc.culprit) });
    expect(alert.culpritSha).toBe(shaOf(r, sc.culprit));
    expect(b.initial).toEqual({ good_sha: shaOf(r, gap.good), bad_sha: shaOf(r, gap.bad), unmeasured: gap.k });
    const { extra, extraMarks } = await outcome(sc, fired);
    expect(b.runs_used).toBe(extra.length);
    expect(extra.length).toBeLessThanOrEqual(runBound(gap.k));
    const opened = b.alert_range as { good_sha: string; bad_sha: string };
    console.log(
      `[${sc.name}] alert opened for ${markOf(r, opened.good_sha)}..${markOf(r, opened.bad_sha)}; ` +
        `k = ${gap.k} unmeasured commits between ${gap.good} and ${gap.bad}; ${extra.length} extra runs ` +
        `(commits ${extraMarks.join(', ')}); bound ⌈log₂ k⌉ + 1 = ${runBound(gap.k)}; culprit ${sc.culprit}`,
    );
  }, 120_000);

  it('a commit whose benchmark fails is skipped: when it is the culprit itself, the bisection ends ambiguous, naming the candidates', async () => {
    // The first midpoint of the gap 30..35 is the culprit, 33, and its benchmark always fails.
    const sc = scenario({ name: 'bisect-skip', commits: COMMITS, culprit: CULPRIT, env: { FAIL_MARK: String(CULPRIT) } });
    const { r } = sc;
    await startSweeps(writeSweeps(sc.dir, [sc]), [sc.namespace]);
    const fired = await fireAndWait(sc.name, sc.namespace, r);
    const gap = gapAround(r, fired, sc.culprit);
    await startAlerts([r.dir]);
    const alert = await finishedAlert(r);
    const b = alert.bisection;
    expect(b.status).toBe('ambiguous');
    expect(b.untestable).toEqual([shaOf(r, CULPRIT)]);
    expect(b.candidates).toEqual([shaOf(r, CULPRIT), shaOf(r, CULPRIT + 1)]);
    expect(b.candidates).toContain(shaOf(r, sc.culprit));
    expect(alert.culpritSha).toBeNull();
    const { extra } = await outcome(sc, fired);
    expect(extra.map((t) => [markOf(r, t.sha), t.status])).toEqual([
      [CULPRIT, 'error'],
      [CULPRIT - 1, 'done'],
      [CULPRIT + 1, 'done'],
    ]);
    // The failed run counts: it was a run the bisection spent.
    expect(b.runs_used).toBe(3);
    expect(b.runs_used).toBeLessThanOrEqual(runBound(gap.k));
    expect(b.steps.find((s) => s.verdict === 'untestable')).toMatchObject({
      sha: shaOf(r, CULPRIT),
      reason: expect.stringMatching(/error/),
    });
  }, 120_000);

  it('stops at the per-sweep budget (bisect.max_runs) with the range narrowed, and not at all when bisect.enabled is false', async () => {
    const limited = scenario({ name: 'bisect-limited', commits: COMMITS, culprit: CULPRIT, bisect: { max_runs: 1 } });
    const off = scenario({ name: 'bisect-off', commits: COMMITS, culprit: CULPRIT, bisect: { enabled: false } });
    await startSweeps(writeSweeps(limited.dir, [limited, off]), [limited.namespace, off.namespace]);
    const [firedLimited, firedOff] = await Promise.all([
      fireAndWait(limited.name, limited.namespace, limited.r),
      fireAndWait(off.name, off.namespace, off.r),
    ]);
    await startAlerts([limited.r.dir, off.r.dir]);

    const a = await finishedAlert(limited.r);
    const gap = gapAround(limited.r, firedLimited, CULPRIT);
    // One run (the midpoint, 33, bad) narrowed 30..35 to 30..33; the budget ends it there.
    expect(a.bisection).toMatchObject({
      status: 'exhausted',
      runs_used: 1,
      max_runs: 1,
      good_sha: shaOf(limited.r, gap.good),
      bad_sha: shaOf(limited.r, CULPRIT),
      remaining: CULPRIT - gap.good - 1,
      culprit_sha: null,
    });
    expect(a.culpritSha).toBeNull();
    expect((await outcome(limited, firedLimited)).extra).toHaveLength(1);

    const o = await finishedAlert(off.r);
    expect(o.bisection).toMatchObject({ status: 'disabled', runs_used: 0, culprit_sha: null });
    expect(o.culpritSha).toBeNull();
    expect((await outcome(off, firedOff)).extra).toHaveLength(0);
  }, 120_000);
});
