import { type Executor, run } from '../db/executor.ts';
import { submitMany } from '../queue/submit.ts';
import type { Task } from '../queue/task.ts';
import { type Schedule, toSubmitInput } from './schedule-input.ts';

export type FireOutcome = 'submitted' | 'skipped_overlap' | 'manual';

export interface Fire {
  fireAt: Date;
  outcome: FireOutcome;
  /** The submitted task; null when the fire was skipped because the previous task is still live. */
  task: Task | null;
}

/**
 * Claim fire times in the ledger. The unique key (schedule_name, fire_at) is the database's
 * "exactly once": a fire time another process (or an earlier run of this one) already recorded
 * is not returned, and gets no task.
 */
const FIRES_INSERT_SQL = `
insert into schedule_fires (schedule_name, fire_at, outcome)
select $1, t, $3 from unnest($2::timestamptz[]) as t
on conflict (schedule_name, fire_at) do nothing
returning id, fire_at
`;

/**
 * The task of the schedule's latest fire that submitted one, if it is still waiting or running.
 * Walks the ledger's unique index backwards from the newest fire time: one probe.
 */
const PREVIOUS_TASK_LIVE_SQL = `
select exists (
  select 1 from tasks t
  where t.uid = (
    select f.task_uid from schedule_fires f
    where f.schedule_name = $1 and f.task_uid is not null
    order by f.fire_at desc
    limit 1)
  and t.status in ('scheduled', 'retry', 'processing')
) as live
`;

const FIRES_SETTLE_SQL = `
update schedule_fires f set task_uid = x.uid, outcome = x.outcome
from unnest($1::bigint[], $2::uuid[], $3::text[]) as x(id, uid, outcome)
where f.id = x.id
`;

/**
 * Record fires of one schedule and submit their tasks, on an executor inside the caller's
 * transaction: the ledger rows and the tasks commit together or not at all. Scheduled fires of a
 * schedule with overlap: false submit nothing while its previous task is waiting or running (the
 * fire is recorded as 'skipped_overlap'); of several fires at once, only the first can submit.
 * Manual fires ('run now') always submit. Returns the fires this call recorded, ascending.
 */
export async function recordFires(
  ex: Executor,
  schedule: Schedule,
  fireTimes: readonly Date[],
  kind: 'scheduled' | 'manual',
): Promise<Fire[]> {
  if (fireTimes.length === 0) return [];
  const initial: FireOutcome = kind === 'manual' ? 'manual' : 'submitted';
  const inserted = (
    await run<{ id: number; fire_at: Date }>(ex, FIRES_INSERT_SQL, [schedule.name, fireTimes.map((t) => t.toISOString()), initial])
  ).sort((a, b) => a.fire_at.getTime() - b.fire_at.getTime());
  if (inserted.length === 0) return [];

  let blocked = false;
  if (kind === 'scheduled' && !schedule.overlap) {
    const [row] = await run<{ live: boolean }>(ex, PREVIOUS_TASK_LIVE_SQL, [schedule.name]);
    blocked = row?.live ?? false;
  }
  const submitting = kind === 'manual' ? inserted : schedule.overlap ? inserted : blocked ? [] : inserted.slice(0, 1);
  const results = await submitMany(
    ex,
    submitting.map((f) => toSubmitInput(schedule, f.fire_at)),
  );
  const taskOf = new Map(submitting.map((f, i) => [f.id, results[i]?.task ?? null]));
  const fires = inserted.map((f) => {
    const task = taskOf.get(f.id) ?? null;
    return { id: f.id, fireAt: f.fire_at, task, outcome: task ? initial : ('skipped_overlap' as const) };
  });
  await run(ex, FIRES_SETTLE_SQL, [fires.map((f) => f.id), fires.map((f) => f.task?.uid ?? null), fires.map((f) => f.outcome)]);
  return fires.map(({ fireAt, outcome, task }) => ({ fireAt, outcome, task }));
}
