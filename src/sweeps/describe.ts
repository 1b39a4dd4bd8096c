import { type Executor, run } from '../db/executor.ts';
import { type Trigger, toTrigger } from '../events/triggers.ts';
import { type Task, type TaskRowRaw, toTask } from '../queue/task.ts';
import { type Schedule, type ScheduleRowRaw, toSchedule } from '../scheduler/schedule-input.ts';
import { firerName } from './apply.ts';
import { BENCHMARK_TASK } from './benchmark-task.ts';
import type { Sweep, Sweeps } from './config.ts';
import { SWEEP_TASK } from './fire.ts';
import { countPairs, emptyCounts, pairKey, type StatusCounts } from './pairs.ts';

/** What GET /sweeps shows of each sweep besides its definition: how it fires, and how far it got. */
export interface SweepStatus {
  sweep: Sweep;
  schedule: Schedule | undefined;
  trigger: Trigger | undefined;
  /** The most recent fire task. */
  lastFire: Task | undefined;
  /** Pairs by status, per config hash and in total. */
  counts: { total: StatusCounts; byConfig: Map<string, StatusCounts> };
}

/**
 * The newest tasks of a kind for a sweep, newest submission first. Tasks carry the sweep's name in
 * kwargs, not in a column, so this walks the primary key backwards and filters; sweeps' namespaces
 * are dedicated to them, and finished tasks are pruned after a week, so the walk stays short.
 */
const TASKS_SQL = `
select * from tasks
where namespace = $1 and task = $2 and kwargs ->> 'sweep' = $3
order by id desc
limit $4
`;

export async function sweepTasksOf(ex: Executor, sweep: Sweep, task: string, limit: number): Promise<Task[]> {
  return (await run<TaskRowRaw>(ex, TASKS_SQL, [sweep.namespace, task, sweep.name, limit])).map(toTask);
}

export async function sweepRuns(ex: Executor, sweep: Sweep, limit: number): Promise<{ fires: Task[]; benchmarks: Task[] }> {
  const [fires, benchmarks] = await Promise.all([
    sweepTasksOf(ex, sweep, SWEEP_TASK, limit),
    sweepTasksOf(ex, sweep, BENCHMARK_TASK, limit),
  ]);
  return { fires, benchmarks };
}

export async function describeSweeps(ex: Executor, sweeps: Sweeps): Promise<SweepStatus[]> {
  if (sweeps.sweeps.length === 0) return [];
  const names = sweeps.sweeps.map((s) => firerName(s.name));
  const [schedules, triggers, counts] = await Promise.all([
    run<ScheduleRowRaw>(ex, 'select * from schedules where name = any($1::text[])', [names]),
    run<Parameters<typeof toTrigger>[0]>(ex, 'select * from triggers where name = any($1::text[])', [names]),
    countPairs(
      ex,
      sweeps.sweeps.flatMap((s) => s.configs.map((c) => ({ repo: s.repoKey, hash: c.hash, architecture: s.architecture ?? '' }))),
    ),
  ]);
  const scheduleBy = new Map(schedules.map((r) => [r.name, toSchedule(r)]));
  const triggerBy = new Map(triggers.map((r) => [r.name, toTrigger(r)]));
  const out: SweepStatus[] = [];
  for (const sweep of sweeps.sweeps) {
    const total = emptyCounts();
    const byConfig = new Map<string, StatusCounts>();
    for (const c of sweep.configs) {
      const n = counts.get(pairKey(sweep.repoKey, c.hash, sweep.architecture ?? '')) ?? emptyCounts();
      byConfig.set(c.hash, n);
      for (const [k, v] of Object.entries(n)) total[k as keyof StatusCounts] += v;
    }
    const [lastFire] = await sweepTasksOf(ex, sweep, SWEEP_TASK, 1);
    out.push({
      sweep,
      schedule: scheduleBy.get(firerName(sweep.name)),
      trigger: triggerBy.get(firerName(sweep.name)),
      lastFire,
      counts: { total, byConfig },
    });
  }
  return out;
}
