import type pg from 'pg';
import { run } from '../db/executor.ts';
import { withTransaction } from '../db/transaction.ts';
import { ScheduleNotFound } from '../errors.ts';
import type { Task } from '../queue/task.ts';
import { nextFireAfter } from './cron.ts';
import { recordFires } from './fire.ts';
import { type ScheduleRowRaw, toSchedule } from './schedule-input.ts';

const LOCK_SQL = 'select * from schedules where name = $1 for update';
const TOUCH_SQL = 'update schedules set last_fired_at = greatest(last_fired_at, $2::timestamptz), updated_at = now() where name = $1';

export interface ManualFire {
  fireAt: Date;
  task: Task;
}

/**
 * Fire a schedule once now, whatever its cron, its overlap setting, or whether it is paused (the
 * fire is recorded with outcome 'manual'). next_fire_at does not move. The fire time is `now`,
 * except when `now` is itself one of the schedule's fire times: then it is recorded a millisecond
 * later, so that a manual run never takes the ledger slot, and with it the task, of a scheduled fire.
 */
export async function runSchedule(pool: pg.Pool, name: string, opts: { now?: Date } = {}): Promise<ManualFire> {
  const now = opts.now ?? new Date();
  return withTransaction(pool, async (client) => {
    const [row] = await run<ScheduleRowRaw>(client, LOCK_SQL, [name]);
    if (!row) throw new ScheduleNotFound(name);
    const schedule = toSchedule(row);
    let fireAt = now;
    if (nextFireAfter(schedule.cron, schedule.timezone, new Date(now.getTime() - 1))?.getTime() === now.getTime()) {
      fireAt = new Date(now.getTime() + 1);
    }
    // Two runs within the same millisecond: the later one takes the next free millisecond.
    for (let attempt = 0; attempt < 100; attempt++) {
      const [fire] = await recordFires(client, schedule, [fireAt], 'manual');
      if (fire?.task) {
        await run(client, TOUCH_SQL, [name, fireAt]);
        return { fireAt, task: fire.task };
      }
      fireAt = new Date(fireAt.getTime() + (fireAt.getTime() % 1000 === 999 ? 2 : 1));
    }
    throw new Error(`could not record a manual fire of schedule '${name}'`);
  });
}
