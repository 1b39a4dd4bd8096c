import { z } from 'zod';
import type { Task } from '../queue/task.ts';
import type { SweepStatus } from '../sweeps/describe.ts';
import type { StatusCounts } from '../sweeps/pairs.ts';
import { COMMIT_STATUSES } from '../tracking/commits.ts';
import { jsonValue } from '../validation/json.ts';
import { EXAMPLE, example, exampleString, nullableString, OUT, OUT_NULLABLE } from './examples.ts';
import { taskOut } from './schemas.ts';
import { taskToJson } from './serialize.ts';

/**
 * The wire format of sweeps. Sweeps are defined only in the server's sweeps file
 * (EVENTIX_SWEEPS_FILE), so the API reads and fires them but never creates or changes one. The
 * environment of a sweep's command is shown by name only: its values may be secrets.
 */

const countsOut = z
  .object(Object.fromEntries(COMMIT_STATUSES.map((s) => [s, z.number().int()])) as Record<(typeof COMMIT_STATUSES)[number], z.ZodNumber>)
  .meta({ id: 'SweepPairCounts', description: 'Pairs (commit, config) by status; waiting pairs have no row and are not counted.' });

const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);

export const sweepOut = z
  .object({
    name: OUT.sweep,
    repo: OUT.repo,
    branch: OUT.branch,
    fetch: z.boolean(),
    namespace: OUT.namespace,
    strategy: exampleString('newest'),
    max_commits: z.number().int(),
    first_parent: z.boolean(),
    since: OUT_NULLABLE.at,
    subset_detection: z.boolean(),
    architecture: OUT_NULLABLE.architecture,
    configs: z.array(z.object({ hash: OUT.configHash, name: OUT_NULLABLE.configName, config: jsonValue, counts: countsOut })),
    command: example(z.array(z.string()), ['./bench/run.sh', '--duration', '60']),
    cwd: nullableString(EXAMPLE.worktree),
    env_keys: example(z.array(z.string()), ['VALKEY_BENCH_THREADS']).describe('Names of the variables the sweep sets; never their values.'),
    timeout_seconds: z.number().int(),
    retry: z.object({ max_retries: z.number().int(), error_eta_inc: z.number().int().nullable() }),
    concurrency_per_worker: z.number().int(),
    max_failed_attempts: z.number().int(),
    repeat: z.number().int(),
    bisect: z
      .object({ enabled: z.boolean(), max_runs: z.number().int() })
      .describe('Automatic bisection of regressions on this sweep’s series: at most max_runs extra runs per alert.'),
    schedule: z
      .object({
        cron: OUT.cron,
        timezone: OUT.timezone,
        enabled: z.boolean().nullable().describe('null until `eventix start` has stored the schedule.'),
        last_fired_at: OUT_NULLABLE.at,
        next_fire_at: OUT_NULLABLE.at,
      })
      .nullable(),
    trigger: z
      .object({
        event_name: OUT.eventName,
        namespace: OUT_NULLABLE.namespace,
        filter: jsonValue.nullable(),
        enabled: z.boolean().nullable(),
      })
      .nullable(),
    last_fire: z.object({ task_uid: OUT.uid, status: exampleString('done'), created_at: OUT.at, finished_at: OUT_NULLABLE.at }).nullable(),
    counts: countsOut,
  })
  .meta({ id: 'Sweep' });

export const sweepListOut = z.object({ sweeps: z.array(sweepOut) }).meta({ id: 'SweepList' });

export const sweepRunOut = z
  .object({ created: z.boolean().describe('false: merged into a fire of this sweep still waiting'), task: taskOut })
  .meta({ id: 'SweepFire' });

export const sweepRunsQuery = z.strictObject({ limit: z.coerce.number().int().min(1).max(500).optional() });

export const sweepRunsOut = z
  .object({
    fires: z.array(taskOut).describe('eventix.sweep tasks, newest first'),
    benchmarks: z.array(taskOut).describe('benchmark.run tasks, newest first'),
  })
  .meta({ id: 'SweepRuns' });

export function sweepToJson(s: SweepStatus): z.infer<typeof sweepOut> {
  const d = s.sweep;
  const counts = (c: StatusCounts | undefined) => ({ ...Object.fromEntries(COMMIT_STATUSES.map((k) => [k, c?.[k] ?? 0])) }) as StatusCounts;
  return {
    name: d.name,
    repo: d.repo,
    branch: d.branch,
    fetch: d.fetch,
    namespace: d.namespace,
    strategy: d.strategy,
    max_commits: d.maxCommits,
    first_parent: d.firstParent,
    since: iso(d.since),
    subset_detection: d.subsetDetection,
    architecture: d.architecture ?? null,
    configs: d.configs.map((c) => ({ hash: c.hash, name: c.name, config: c.value, counts: counts(s.counts.byConfig.get(c.hash)) })),
    command: d.command,
    cwd: d.cwd ?? null,
    env_keys: Object.keys(d.env).sort(),
    timeout_seconds: d.timeoutSeconds,
    retry: { max_retries: d.retry.maxRetries, error_eta_inc: d.retry.errorEtaInc ?? null },
    concurrency_per_worker: d.concurrencyPerWorker,
    max_failed_attempts: d.maxFailedAttempts,
    repeat: d.repeat,
    bisect: { enabled: d.bisect.enabled, max_runs: d.bisect.maxRuns },
    schedule: d.schedule
      ? {
          cron: d.schedule.cron,
          timezone: d.schedule.timezone,
          enabled: s.schedule?.enabled ?? null,
          last_fired_at: iso(s.schedule?.lastFiredAt),
          next_fire_at: iso(s.schedule?.nextFireAt),
        }
      : null,
    trigger: d.trigger
      ? {
          event_name: d.trigger.eventName,
          namespace: d.trigger.namespace,
          filter: d.trigger.filter as z.infer<typeof jsonValue> | null,
          enabled: s.trigger?.enabled ?? null,
        }
      : null,
    last_fire: s.lastFire
      ? {
          task_uid: s.lastFire.uid,
          status: s.lastFire.status,
          created_at: s.lastFire.createdAt.toISOString(),
          finished_at: iso(s.lastFire.finishedAt),
        }
      : null,
    counts: counts(s.counts.total),
  };
}

export const tasksToJson = (tasks: Task[]) => tasks.map(taskToJson);
