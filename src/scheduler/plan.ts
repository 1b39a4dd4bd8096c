import { fireTimesBetween, lastFiresBetween, nextFireAfter } from './cron.ts';
import type { MisfirePolicy } from './schedule-input.ts';

/**
 * Which fire times a due schedule fires now, and where its next_fire_at moves: a pure function
 * of the stored schedule and the clock, so every scheduler process plans the same.
 *
 * A due fire time f (next_fire_at ≤ f ≤ now) is *on time* when now − f ≤ graceMs: the scheduler
 * merely saw it late (a tick interval, a slow query). It is *missed* when older than that: nothing
 * was running at the time. Then, by the schedule's `misfire` policy:
 *
 * - `skip` (default): on-time fires all fire; missed ones collapse into one. If no due fire is
 *   on time, the latest missed one fires; if some are, they stand for the missed ones, which are
 *   dropped. A schedule that was down for a day runs once, not once per missed time.
 * - `all`: every due fire fires, oldest first. The backlog is capped at `backlogMax` (1,000 by
 *   default): beyond that the oldest are dropped and the latest `backlogMax` fire.
 * - `none`: only on-time fires fire; missed ones are dropped.
 *
 * At most `maxPerRun` (100) fires are planned at once; next_fire_at then stays at the next
 * unfired time, still due, and the scheduler continues with it in its next transaction.
 */
export interface PlanInput {
  cron: string;
  timezone: string;
  misfire: MisfirePolicy;
  /** The stored next_fire_at: the first fire time not yet handled. */
  nextFireAt: Date;
  now: Date;
  graceMs: number;
  maxPerRun: number;
  backlogMax: number;
}

export interface FirePlan {
  /** Fire times to fire now, ascending. */
  fire: Date[];
  /** Due fire times dropped by the policy, as a range (first and last), if any. */
  dropped: { first: Date; last: Date } | null;
  /** The new next_fire_at: the first fire time after those handled; null if the schedule never fires again. */
  nextFireAt: Date | null;
}

export const DEFAULT_MAX_FIRES_PER_RUN = 100;
export const DEFAULT_MISFIRE_ALL_MAX = 1000;

export function planFires(p: PlanInput): FirePlan {
  const { cron, timezone, now } = p;
  if (p.nextFireAt > now) return { fire: [], dropped: null, nextFireAt: p.nextFireAt };
  // Bounds are exclusive; fire times are whole seconds, so one millisecond before is "from, inclusive".
  const from = new Date(p.nextFireAt.getTime() - 1);
  const onTimeFrom = new Date(Math.max(from.getTime(), now.getTime() - p.graceMs - 1));
  const missedExist = p.nextFireAt.getTime() <= onTimeFrom.getTime();
  const latestMissed = () => lastFiresBetween(cron, timezone, from, onTimeFrom, 1)[0] as Date;

  let candidates: Date[];
  let dropped: FirePlan['dropped'] = null;
  if (p.misfire === 'all') {
    const due = fireTimesBetween(cron, timezone, from, now, p.backlogMax + 1);
    if (due.length > p.backlogMax) {
      candidates = lastFiresBetween(cron, timezone, from, now, p.backlogMax);
      const firstKept = candidates[0] as Date;
      const last = lastFiresBetween(cron, timezone, from, new Date(firstKept.getTime() - 1), 1)[0];
      if (last) dropped = { first: p.nextFireAt, last };
    } else {
      candidates = due;
    }
  } else {
    candidates = fireTimesBetween(cron, timezone, onTimeFrom, now, p.maxPerRun + 1);
    if (missedExist) {
      const last = latestMissed();
      if (p.misfire === 'skip' && candidates.length === 0) {
        candidates = [last];
        const before = lastFiresBetween(cron, timezone, from, new Date(last.getTime() - 1), 1)[0];
        if (before) dropped = { first: p.nextFireAt, last: before };
      } else {
        dropped = { first: p.nextFireAt, last };
      }
    }
  }

  const fire = candidates.slice(0, p.maxPerRun);
  const capped = candidates.length > p.maxPerRun;
  // Continue the chain from the last fire time handled (fired or dropped), not from `now`: every
  // process then stores the same next_fire_at, and cron-parser's DST compensation (which depends
  // on where a search starts) sees the same starting points.
  let handled = fire.at(-1) ?? dropped?.last;
  if (!capped && p.misfire !== 'all') {
    // Due times after the last fired one cannot exist, except dropped-as-missed ones before it.
    handled = latestDue(handled, cron, timezone, from, now);
  }
  const after = handled ?? now;
  return { fire, dropped, nextFireAt: nextFireAfter(cron, timezone, after) };
}

/** The latest due fire time: `known` if nothing later is due, else the last one up to `now`. */
function latestDue(known: Date | undefined, cron: string, timezone: string, from: Date, now: Date): Date | undefined {
  const next = nextFireAfter(cron, timezone, known ?? from);
  if (next === null || next > now) return known;
  return lastFiresBetween(cron, timezone, from, now, 1)[0] ?? known;
}
