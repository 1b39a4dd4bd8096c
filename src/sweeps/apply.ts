import { type Executor, run } from '../db/executor.ts';
import { deleteTrigger, putTrigger } from '../events/triggers.ts';
import { removeSchedule, upsertSchedule } from '../scheduler/manage.ts';
import type { Sweep, Sweeps } from './config.ts';
import { fireUniqueKey, SWEEP_TASK } from './fire.ts';

/**
 * What fires a sweep, stored where the scheduler and the event pipeline already look: a schedule
 * and a data trigger, both named `sweep:<name>` (the `sweep:` prefix is reserved for this). They
 * are upserted at `eventix start`, and those of sweeps that left the file (or lost their schedule
 * or trigger) are removed, so a deleted sweep stops firing.
 */

export const firerName = (sweep: string) => `sweep:${sweep}`;

/** Retry policy of a fire: it is quick (git and a few statements), so a few prompt retries. */
export const FIRE_OPTIONS = { maxRetries: 3, errorEtaInc: 10, timeoutSeconds: 600 } as const;

export function fireKwargs(sweep: Sweep) {
  return { sweep: sweep.name };
}

export interface AppliedSweeps {
  schedules: { created: string[]; updated: string[]; unchanged: string[]; removed: string[] };
  triggers: { put: string[]; removed: string[] };
}

export async function applySweeps(ex: Executor, sweeps: Sweeps, now?: Date): Promise<AppliedSweeps> {
  const out: AppliedSweeps = { schedules: { created: [], updated: [], unchanged: [], removed: [] }, triggers: { put: [], removed: [] } };
  const wantedSchedules = new Set<string>();
  const wantedTriggers = new Set<string>();
  for (const sweep of sweeps.sweeps) {
    const name = firerName(sweep.name);
    if (sweep.schedule) {
      wantedSchedules.add(name);
      const { action } = await upsertSchedule(
        ex,
        {
          name,
          namespace: sweep.namespace,
          cron: sweep.schedule.cron,
          timezone: sweep.schedule.timezone,
          task: SWEEP_TASK,
          kwargs: fireKwargs(sweep),
          options: FIRE_OPTIONS,
          // A fire still waiting or running covers the next one: determine would find the same commits.
          overlap: false,
        },
        { now, source: 'file' },
      );
      out.schedules[action].push(name);
    }
    if (sweep.trigger) {
      wantedTriggers.add(name);
      await putTrigger(ex, {
        name,
        eventName: sweep.trigger.eventName,
        namespace: sweep.trigger.namespace,
        filter: sweep.trigger.filter,
        template: {
          task: SWEEP_TASK,
          namespace: sweep.namespace,
          kwargs: fireKwargs(sweep),
          // A burst of pushes while a fire waits adds nothing: it merges into that fire.
          unique_key: fireUniqueKey(sweep.name),
          max_retries: FIRE_OPTIONS.maxRetries,
          error_eta_inc: FIRE_OPTIONS.errorEtaInc,
          timeout_seconds: FIRE_OPTIONS.timeoutSeconds,
        },
      });
      out.triggers.put.push(name);
    }
  }
  const schedules = await run<{ name: string }>(ex, "select name from schedules where name like 'sweep:%'");
  for (const { name } of schedules) {
    if (wantedSchedules.has(name)) continue;
    await removeSchedule(ex, name).catch(() => undefined);
    out.schedules.removed.push(name);
  }
  const triggers = await run<{ name: string }>(ex, "select name from triggers where name like 'sweep:%'");
  for (const { name } of triggers) {
    if (wantedTriggers.has(name)) continue;
    await deleteTrigger(ex, name).catch(() => undefined);
    out.triggers.removed.push(name);
  }
  return out;
}
