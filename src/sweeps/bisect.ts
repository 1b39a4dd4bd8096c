import type pg from 'pg';
import { z } from 'zod';
import { type Executor, run } from '../db/executor.ts';
import { withTransaction } from '../db/transaction.ts';
import { NonRetryableError } from '../errors.ts';
import { submitMany } from '../queue/submit.ts';
import { median } from '../tracking/changes/stats.ts';
import { FULL_SHA } from '../tracking/git.ts';
import type { TaskContext } from '../worker/registry.ts';
import { claimPair, type SweepDeps } from './benchmark-task.ts';
import { submitSteps } from './bisect-hooks.ts';
import { classify, planStep, type Verdict } from './bisect-plan.ts';
import { anchorRange, firstParentChain } from './bisect-range.ts';
import {
  ALERT_SQL,
  type AlertRow,
  type BisectionState,
  type BisectionStatus,
  type BisectStepResult,
  newState,
  ownState,
  SAVE_SQL,
  skip,
  stepEntry,
  summary,
} from './bisect-state.ts';
import type { Sweep, SweepConfig } from './config.ts';
import { benchmarkSubmit } from './fire.ts';
import { getPair } from './pairs.ts';
import { fetchRemote, hasCommit } from './worktree.ts';

/**
 * Automatic bisection of a regression alert: `benchmarks.bisect-step`, a task of the sweep's own
 * namespace (served next to its fires, by the workers that hold its sweeps file).
 *
 * Sweeps skip commits (`max_commits`, `spread`), so a change point's range, last good … first bad
 * in first-parent order, often holds k commits nobody measured. Each step, under the alert's row
 * lock, in one transaction:
 *
 * 1. lists the commits strictly between the current ends (`git rev-list --first-parent
 *    --ancestry-path good..bad`) and reads their samples of the alert's series (repo, metric,
 *    config, architecture, tags); a commit with samples gets a verdict: closer to the old level
 *    (the alert's before-median, frozen when the bisection starts) or to the new one;
 * 2. narrows the range and picks the next commit (bisect-plan.ts): the first bad commit is the
 *    culprit once nothing testable is left between the ends;
 * 3. submits one `benchmark.run` for that commit through the sweep's own submission path: the same
 *    task, unique key and retry policy as a fire's (benchmarkSubmit), the pair claimed for it in
 *    the same transaction, and the command taken, as always, from the sweeps file by the worker
 *    that runs it; the task carries only the sweep's name, the sha and the config's hash;
 * 4. records the state (range, runs used, the budget `bisect.max_runs`, every verdict) in the
 *    alert's `bisection` column, and the culprit in `culprit_sha` when found.
 *
 * The next step is woken when that run's results are stored (bisect-hooks.ts), or when the queue
 * fails it for good (the commit is then skipped, as `git bisect skip`); a watchdog step, due once
 * the run's backstop timeout has passed, covers a worker that died before it could say either.
 * A run another task already holds for that commit (a fire's, or another alert's bisection) is
 * waited for, not duplicated, and not counted: `runs_used` counts the runs this bisection created.
 *
 * Final states: `found` (culprit_sha set), `ambiguous` (only skipped commits remain between the
 * ends: `candidates` lists them and the bad end), `exhausted` (the budget is spent; the range is as
 * narrow as it got), `failed` (the range is not a first-parent range of the sweep's repository, or
 * the sweep does not benchmark this series), `disabled` (`bisect.enabled: false`), `cancelled`
 * (the alert was resolved or marked a false positive first).
 */

const stepKwargs = z.object({ alert_id: z.number().int().positive(), sweep: z.string().min(1) });

/** The alert's series at some commits: every sample, by sha. */
const SAMPLES_SQL = `
select r.sha, m.value from benchmark_metrics m
join benchmark_runs r on r.id = m.run_id
where r.repo = $1 and r.config_id = $2 and r.sha = any($3::text[]) and r.architecture = $4
  and m.name = $5 and m.tags = $6::jsonb
`;

const TASK_STATUS_SQL = 'select status from tasks where uid = $1';
const LIVE_TASK = new Set(['scheduled', 'retry', 'processing']);

export async function runBisectStep(deps: SweepDeps, kwargs: Record<string, unknown>, ctx: TaskContext): Promise<BisectStepResult> {
  const k = stepKwargs.safeParse(kwargs);
  if (!k.success) throw new NonRetryableError(`invalid benchmarks.bisect-step kwargs: ${k.error.message}`);
  const sweep = deps.sweeps.byName.get(k.data.sweep);
  if (!sweep) throw new NonRetryableError(`no sweep named ${JSON.stringify(k.data.sweep)} in this worker's sweeps file`);
  const id = k.data.alert_id;

  // A fetch can take a while: done before the alert's row is locked, never under it.
  const [peek] = await run<AlertRow>(deps.pool, ALERT_SQL, [id]);
  if (peek && sweep.fetch && ownState(peek.bisection) === null) {
    for (const sha of [peek.last_good_sha, peek.first_bad_sha]) {
      if (FULL_SHA.test(sha) && !(await hasCommit(sweep.repo, sha))) {
        await fetchRemote(sweep.repo, sweep.remote);
        break;
      }
    }
  }
  const result = await withTransaction(deps.pool, (client) => step(client, sweep, id));
  ctx.logger.info({ ...result, sweep: sweep.name }, 'bisection step');
  return result;
}

async function step(client: pg.PoolClient, sweep: Sweep, id: number): Promise<BisectStepResult> {
  const [alert] = await run<AlertRow>(client, `${ALERT_SQL} for update`, [id]);
  if (!alert) return { alert_id: id, status: null, note: 'the alert no longer exists' };
  const owned = ownState(alert.bisection);
  if (owned === 'foreign') return { alert_id: id, status: null, note: 'the alert’s bisection column holds something else; left alone' };
  if (owned && owned.status !== 'running') return summary(id, owned, 'finished already');

  const now = new Date().toISOString();
  const state = owned ?? newState(sweep, now);
  state.max_runs = sweep.bisect.maxRuns;
  const save = async () => {
    state.updated_at = new Date().toISOString();
    await run(client, SAVE_SQL, [id, JSON.stringify(state), state.culprit_sha]);
  };
  const finish = async (status: BisectionStatus, reason: string | null) => {
    state.status = status;
    state.reason = reason;
    state.pending = null;
    state.finished_at = new Date().toISOString();
    await save();
    return summary(id, state);
  };

  if (alert.status === 'resolved' || alert.status === 'false_positive') return finish('cancelled', `the alert is ${alert.status}`);
  const config = sweep.configs.find((c) => c.hash === alert.config_hash);
  if (!config || alert.config_id === null || sweep.repoKey !== alert.repo || (sweep.architecture ?? '') !== alert.architecture) {
    return finish('failed', `sweep ${sweep.name} does not benchmark this series (its repository, config and architecture)`);
  }
  if (!sweep.bisect.enabled) return finish('disabled', `bisect.enabled is false for sweep ${sweep.name}`);

  if (!state.initial) {
    state.levels = { good: alert.before_median, bad: alert.after_median };
    const range = await anchorRange(client, sweep, alert, state.levels);
    state.alert_range = { good_sha: alert.last_good_sha, bad_sha: alert.first_bad_sha, note: range.note };
    const chain = await firstParentChain(sweep.repo, range.good, range.bad);
    if (typeof chain === 'string') return finish('failed', chain);
    state.good_sha = range.good;
    state.bad_sha = range.bad;
    state.initial = { good_sha: range.good, bad_sha: range.bad, unmeasured: chain.length - 2 };
  }
  const levels = state.levels as { good: number; bad: number };
  const configId = alert.config_id;

  // Each pass either ends the step (a run to wait for, or a final state) or learns a verdict or a
  // skip for one more commit of the range, so the range's length bounds the passes.
  for (let pass = 0; ; pass++) {
    const chain = await firstParentChain(sweep.repo, state.good_sha as string, state.bad_sha as string);
    if (typeof chain === 'string') return finish('failed', chain);
    if (pass > chain.length + 1)
      throw new Error('bisection made no progress (a bug): the step stops here, and its retry re-reads everything');
    const interior = chain.slice(1, -1);
    const samples = await samplesOf(client, alert, configId, interior);
    const verdicts = new Map<string, Verdict>();
    for (const sha of interior) {
      const values = samples.get(sha);
      if (!values?.length) continue;
      const m = median(values);
      const verdict = classify(m, levels);
      verdicts.set(sha, verdict);
      if (!state.steps.some((s) => s.sha === sha && s.verdict !== 'untestable')) {
        const mine = state.pending?.sha === sha ? state.pending : null;
        state.steps.push(stepEntry(sha, mine, m, values.length, verdict, null));
      }
    }

    if (state.pending) {
      const pending = state.pending;
      if (verdicts.has(pending.sha) || !interior.includes(pending.sha)) {
        state.pending = null;
      } else {
        const status = await taskStatus(client, pending.task_uid);
        if (status !== undefined && LIVE_TASK.has(status)) return waitFor(client, sweep, config, state, save, id);
        const why =
          status === undefined
            ? 'its benchmark task is gone'
            : status === 'done'
              ? 'its benchmark finished without samples of this series'
              : `its benchmark task ended ${status}`;
        skip(state, pending.sha, pending, why);
        state.pending = null;
      }
    }

    const plan = planStep({ chain, verdicts, untestable: new Set(state.untestable) });
    state.good_sha = plan.good;
    state.bad_sha = plan.bad;
    if (plan.kind === 'found') {
      state.remaining = 0;
      state.culprit_sha = plan.culprit;
      return finish('found', null);
    }
    if (plan.kind === 'ambiguous') {
      state.remaining = 0;
      state.candidates = plan.candidates;
      return finish(
        'ambiguous',
        `only commits whose benchmark could not run lie between ${plan.good.slice(0, 12)} and the first bad commit`,
      );
    }
    state.remaining = plan.remaining;
    if (state.runs_used >= state.max_runs) {
      return finish(
        'exhausted',
        `the budget of ${state.max_runs} extra runs (bisect.max_runs) is spent; the culprit is one of the ${plan.remaining + 1} commits after good_sha up to bad_sha`,
      );
    }

    const outcome = await submitRun(client, sweep, config, plan.sha);
    if (outcome.kind === 'complete') {
      // Complete already (measured meanwhile): the next pass reads its samples, or skips it.
      const has = (await samplesOf(client, alert, configId, [plan.sha])).get(plan.sha)?.length;
      if (!has) skip(state, plan.sha, null, 'its pair is complete but holds no samples of this series');
      continue;
    }
    if (outcome.kind === 'refused') {
      skip(state, plan.sha, null, outcome.reason);
      continue;
    }
    state.pending = { sha: plan.sha, task_uid: outcome.taskUid, submitted: outcome.kind === 'submitted' };
    if (outcome.kind === 'submitted') state.runs_used++;
    return waitFor(client, sweep, config, state, save, id);
  }
}

/**
 * Save, and arm the watchdog: a step due once the run's backstop timeout has passed. It merges
 * with the step the run's completion submits (the earlier eta wins), and a watchdog that finds the
 * run still going arms the next one, so a bisection never waits on a run nobody will report.
 */
async function waitFor(
  client: pg.PoolClient,
  sweep: Sweep,
  config: SweepConfig,
  state: BisectionState,
  save: () => Promise<void>,
  id: number,
): Promise<BisectStepResult> {
  await save();
  const pending = state.pending as NonNullable<BisectionState['pending']>;
  const backstop = benchmarkSubmit(sweep, pending.sha, config.hash).timeoutSeconds ?? 3600;
  await submitSteps(client, [{ alertId: id, sweep: sweep.name, namespace: sweep.namespace, eta: new Date(Date.now() + backstop * 1000) }]);
  return summary(id, state, 'waiting for the benchmark of the pending commit');
}

async function samplesOf(ex: Executor, alert: AlertRow, configId: number, shas: readonly string[]): Promise<Map<string, number[]>> {
  const out = new Map<string, number[]>();
  if (shas.length === 0) return out;
  const rows = await run<{ sha: string; value: number }>(ex, SAMPLES_SQL, [
    alert.repo,
    configId,
    shas,
    alert.architecture,
    alert.metric,
    JSON.stringify(alert.tags ?? {}),
  ]);
  for (const r of rows) {
    const list = out.get(r.sha) ?? [];
    list.push(Number(r.value));
    out.set(r.sha, list);
  }
  return out;
}

async function taskStatus(ex: Executor, uid: string): Promise<string | undefined> {
  const [row] = await run<{ status: string }>(ex, TASK_STATUS_SQL, [uid]);
  return row?.status;
}

type RunOutcome = { kind: 'submitted' | 'merged' | 'held'; taskUid: string } | { kind: 'complete' } | { kind: 'refused'; reason: string };

/**
 * One `benchmark.run` for the commit, exactly as a fire submits it (fire.ts): the task, and the
 * pair claimed for it in the same transaction; a claim lost to another task deletes ours, which
 * then never existed. Merged into a waiting task of the same pair (a fire's): that one will
 * measure it. Held by a running task: wait for that one.
 */
async function submitRun(client: pg.PoolClient, sweep: Sweep, config: SweepConfig, sha: string): Promise<RunOutcome> {
  const [r] = await submitMany(client, [benchmarkSubmit(sweep, sha, config.hash)]);
  if (!r) throw new Error('submit returned no task');
  if (!r.created) return { kind: 'merged', taskUid: r.task.uid };
  const claimed = await claimPair(client, sweep, config, sha, r.task.uid);
  if (claimed) return { kind: 'submitted', taskUid: r.task.uid };
  await run(client, 'delete from tasks where uid = $1', [r.task.uid]);
  const pair = await getPair(client, { repo: sweep.repoKey, sha, configHash: config.hash, architecture: sweep.architecture });
  if (pair?.status === 'complete') return { kind: 'complete' };
  if (pair && (pair.status === 'in_progress' || pair.status === 'benchmark_complete') && pair.taskUid) {
    const status = await taskStatus(client, pair.taskUid);
    if (status !== undefined && LIVE_TASK.has(status)) return { kind: 'held', taskUid: pair.taskUid };
  }
  return {
    kind: 'refused',
    reason:
      pair?.status === 'failed'
        ? `its benchmark failed ${pair.attempts} times (max_failed_attempts ${sweep.maxFailedAttempts})`
        : 'its pair is held by a task that no longer runs (the next fire returns it to waiting)',
  };
}
