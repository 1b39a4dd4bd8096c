import cronstrue from 'cronstrue';
import { type Executor, run } from '../../db/executor.ts';
import { ValidationError } from '../../errors.ts';
import { decodeCursor, encodeCursor } from '../../queue/list.ts';
import type { TaskStatus } from '../../queue/states.ts';
import { fireTimesBetween, nextFireAfter } from '../../scheduler/cron.ts';
import type { Schedule } from '../../scheduler/schedule-input.ts';

/**
 * What the schedule pages read beyond the library's own getSchedule/listSchedules: the fire
 * ledger joined to the tasks it submitted, and the fire times to come, computed by the
 * scheduler's own cron code so the page shows exactly what the scheduler will do.
 */

export type FireOutcome = 'submitted' | 'skipped_overlap' | 'manual';

export interface FireRow {
  scheduleName: string;
  fireAt: Date;
  outcome: FireOutcome;
  /** Null for a fire skipped by overlap: false. */
  taskUid: string | null;
  /** Null when there was no task, or it was pruned since. */
  taskStatus: TaskStatus | null;
  taskName: string | null;
  /** When the scheduler recorded the fire (later than fireAt when it caught up). */
  createdAt: Date;
}

interface FireRowRaw {
  id: number;
  schedule_name: string;
  fire_at: Date;
  fire_at_text: string;
  outcome: FireOutcome;
  task_uid: string | null;
  task_status: TaskStatus | null;
  task_name: string | null;
  created_at: Date;
}

const toFire = (r: FireRowRaw): FireRow => ({
  scheduleName: r.schedule_name,
  fireAt: r.fire_at,
  outcome: r.outcome,
  taskUid: r.task_uid,
  taskStatus: r.task_status,
  taskName: r.task_name,
  createdAt: r.created_at,
});

/** The latest fire of each named schedule, newest first per name along schedule_fires_once_idx. */
const LAST_FIRES_SQL = `
select f.id, f.schedule_name, f.fire_at, f.fire_at::text as fire_at_text, f.outcome, f.task_uid,
       t.status as task_status, t.task as task_name, f.created_at
from unnest($1::text[]) as n(name)
cross join lateral (
  select * from schedule_fires sf where sf.schedule_name = n.name order by sf.fire_at desc limit 1
) f
left join tasks t on t.uid = f.task_uid
`;

export async function lastFires(ex: Executor, names: readonly string[]): Promise<Map<string, FireRow>> {
  if (names.length === 0) return new Map();
  const rows = await run<FireRowRaw>(ex, LAST_FIRES_SQL, [names]);
  return new Map(rows.map((r) => [r.schedule_name, toFire(r)]));
}

/** One schedule's fires, newest first, keyset-paginated by (fire_at, id). */
const FIRES_SQL = `
select f.id, f.schedule_name, f.fire_at, f.fire_at::text as fire_at_text, f.outcome, f.task_uid,
       t.status as task_status, t.task as task_name, f.created_at
from schedule_fires f
left join tasks t on t.uid = f.task_uid
where f.schedule_name = $1
  and ($2::timestamptz is null or (f.fire_at, f.id) < ($2::timestamptz, $3::bigint))
order by f.fire_at desc, f.id desc
limit $4
`;

export async function recentFires(
  ex: Executor,
  name: string,
  opts: { limit?: number; cursor?: string | undefined } = {},
): Promise<{ fires: FireRow[]; nextCursor: string | null }> {
  const limit = opts.limit ?? 25;
  const cursor = opts.cursor === undefined ? undefined : decodeCursor(opts.cursor);
  const rows = await run<FireRowRaw>(ex, FIRES_SQL, [name, cursor?.c ?? null, cursor?.i ?? null, limit + 1]).catch((err: unknown) => {
    // A cursor JavaScript accepts but PostgreSQL cannot cast (SQLSTATE class 22) is the caller's mistake.
    if (cursor && String((err as { code?: unknown }).code ?? '').startsWith('22')) {
      throw new ValidationError([{ field: 'cursor', message: 'is not a cursor this page issued' }]);
    }
    throw err;
  });
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return { fires: page.map(toFire), nextCursor: rows.length > limit && last ? encodeCursor(last.fire_at_text, last.id) : null };
}

/** Far enough that fireTimesBetween stops on its count, not on this bound. */
const END_OF_TIME = new Date(8.64e15);

export interface Upcoming {
  /** The next fire times, ascending. */
  times: Date[];
  /**
   * 'stored': an enabled schedule's chain from its stored next_fire_at, which the scheduler
   * continues from (DST compensation depends on where a search starts). 'if-resumed': a paused
   * schedule's, from now, which is what resume would store. 'never': no fire time is left.
   */
  basis: 'stored' | 'if-resumed' | 'never';
  /** Set when the zone or expression can no longer be evaluated (an ICU update dropped a zone). */
  error?: string;
}

export function upcomingFires(s: Schedule, now: Date, count = 5): Upcoming {
  try {
    const first = s.enabled ? s.nextFireAt : nextFireAfter(s.cron, s.timezone, now);
    if (!first) return { times: [], basis: 'never' };
    return {
      times: [first, ...fireTimesBetween(s.cron, s.timezone, first, END_OF_TIME, count - 1)],
      basis: s.enabled ? 'stored' : 'if-resumed',
    };
  } catch (err) {
    return { times: [], basis: 'never', error: err instanceof Error ? err.message : String(err) };
  }
}

/** The cron expression in English (cronstrue, 24-hour clock), or undefined where cronstrue cannot read it. */
export function describeCron(cron: string): string | undefined {
  try {
    return cronstrue.toString(cron, { use24HourTimeFormat: true, throwExceptionOnParseError: true, verbose: false });
  } catch {
    return undefined;
  }
}
