import { type Executor, run } from '../db/executor.ts';
import { submitMany } from '../queue/submit.ts';
import type { SubmitInput } from '../queue/submit-input.ts';

/**
 * Where automatic bisection (bisect.ts) is woken: three one-line hooks, each a task submission in
 * the caller's own transaction (or right after its verdict), so a bisection step never runs
 * inside a request, an evaluation or a benchmark, and is never lost with a crash between the
 * fact and the step.
 *
 * - {@link requestBisection}: evaluation opened regression alerts (alerts/evaluate.ts).
 * - {@link bisectionRunStored}: a `benchmark.run` stored the results of a pair a bisection waits
 *   for (run.ts, in the transaction that stores them).
 * - {@link bisectionRunFailed}: the queue failed such a run for good (runtime.ts's `task:failed`
 *   listener; the step's own watchdog covers a process that died before it could say so).
 *
 * Every step of one alert has the unique key `bisect:<alert id>`: wake-ups that arrive while a step
 * waits merge into it, and the step itself re-reads everything under the alert's row lock, so a
 * step that runs twice does nothing the second time.
 *
 * This module imports nothing of the sweep machinery: evaluation imports it, and run.ts →
 * ingest.ts → alerts/evaluate.ts → bisect.ts → run.ts would be an import cycle.
 */

export const BISECT_TASK = 'benchmarks.bisect-step';
/** run.ts's BENCHMARK_TASK, repeated for the cycle's sake (a unit test checks they agree). */
export const BISECT_RUN_TASK = 'benchmark.run';

export const bisectUniqueKey = (alertId: number) => `bisect:${alertId}`;

export interface StepTarget {
  alertId: number;
  sweep: string;
  /** The sweep's namespace: the step runs where the sweep's workers (and its sweeps file) are. */
  namespace: string;
  /** A watchdog step: not before this. */
  eta?: Date | undefined;
}

export function bisectStepSubmit(t: StepTarget): SubmitInput {
  return {
    task: BISECT_TASK,
    namespace: t.namespace,
    kwargs: { alert_id: t.alertId, sweep: t.sweep },
    uniqueKey: bisectUniqueKey(t.alertId),
    ...(t.eta ? { eta: t.eta } : {}),
    // A step is git and a few statements: prompt retries, and a short backstop.
    maxRetries: 5,
    errorEtaInc: 10,
    timeoutSeconds: 600,
  };
}

/** Submit steps; keys in one order in every transaction, so two wakers never wait on each other crosswise. */
export async function submitSteps(ex: Executor, targets: readonly StepTarget[]): Promise<number> {
  if (targets.length === 0) return 0;
  const sorted = [...targets].sort((a, b) => a.alertId - b.alertId);
  return (await submitMany(ex, sorted.map(bisectStepSubmit))).length;
}

/**
 * The sweep an alert's series comes from: the one whose `benchmark.run` task stored the first bad
 * commit's runs (else the last good one's), read from the task row, which names the sweep and runs
 * in its namespace. Alerts of results pushed by hand (no such task, or no config) are not bisected.
 */
const SWEEP_OF_ALERTS_SQL = `
select a.id, s.namespace, s.sweep from benchmark_alerts a
cross join lateral (
  select t.namespace, t.kwargs ->> 'sweep' as sweep
  from benchmark_runs r join tasks t on t.uid = r.task_uid
  where r.repo = a.repo and r.config_id = a.config_id and r.architecture = a.architecture
    and r.sha in (a.first_bad_sha, a.last_good_sha)
    and t.task = $2 and t.kwargs ->> 'config' = a.config_hash and jsonb_typeof(t.kwargs -> 'sweep') = 'string'
  order by (r.sha = a.first_bad_sha) desc, r.id desc
  limit 1
) s
where a.id = any($1::bigint[]) and a.kind = 'regression' and a.status = 'open'
  and a.bisection is null and a.culprit_sha is null and a.config_id is not null
`;

/**
 * Evaluation's hook, in the transaction that opened the alerts: one bisection step per alert that
 * came from a sweep. Whether the sweep bisects at all (`bisect.enabled`) is the step's to decide:
 * only the sweep's own workers have its sweeps file.
 */
export async function requestBisection(ex: Executor, alertIds: readonly number[]): Promise<number> {
  if (alertIds.length === 0) return 0;
  const rows = await run<{ id: number; namespace: string; sweep: string }>(ex, SWEEP_OF_ALERTS_SQL, [alertIds, BISECT_RUN_TASK]);
  return submitSteps(
    ex,
    rows.map((r) => ({ alertId: Number(r.id), sweep: r.sweep, namespace: r.namespace })),
  );
}

const WAITING_ON_PAIR_SQL = `
select id, bisection ->> 'sweep' as sweep, bisection ->> 'namespace' as namespace from benchmark_alerts
where repo = $1 and config_hash = $2 and architecture = $3
  and bisection ->> 'status' = 'running' and bisection -> 'pending' ->> 'sha' = $4
`;

const WAITING_ON_TASK_SQL = `
select id, bisection ->> 'sweep' as sweep, bisection ->> 'namespace' as namespace from benchmark_alerts
where bisection ->> 'status' = 'running' and bisection -> 'pending' ->> 'task_uid' = $1
`;

type Waiting = { id: number; sweep: string | null; namespace: string | null };

const targetsOf = (rows: Waiting[]): StepTarget[] =>
  rows.flatMap((r) => (r.sweep && r.namespace ? [{ alertId: Number(r.id), sweep: r.sweep, namespace: r.namespace }] : []));

/** run.ts's hook, in the transaction that stored a pair's results: wake the bisections waiting for it. */
export async function bisectionRunStored(
  ex: Executor,
  pair: { repo: string; sha: string; configHash: string; architecture?: string | undefined },
): Promise<number> {
  const rows = await run<Waiting>(ex, WAITING_ON_PAIR_SQL, [pair.repo, pair.configHash, pair.architecture ?? '', pair.sha]);
  return submitSteps(ex, targetsOf(rows));
}

/** The benchmark worker's hook, once the queue failed a run for good: its bisection skips that commit. */
export async function bisectionRunFailed(ex: Executor, taskUid: string): Promise<number> {
  return submitSteps(ex, targetsOf(await run<Waiting>(ex, WAITING_ON_TASK_SQL, [taskUid])));
}
