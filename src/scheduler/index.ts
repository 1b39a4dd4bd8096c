export { fireTimesBetween, isKnownTimeZone, lastFiresBetween, nextFireAfter, validateSchedule } from './cron.ts';
export type { Fire, FireOutcome } from './fire.ts';
export {
  createSchedule,
  getSchedule,
  listSchedules,
  pauseSchedule,
  removeSchedule,
  resumeSchedule,
  type ScheduleFilter,
  type UpsertResult,
  updateSchedule,
  upsertSchedule,
} from './manage.ts';
export { DEFAULT_MAX_FIRES_PER_RUN, DEFAULT_MISFIRE_ALL_MAX, type FirePlan, planFires } from './plan.ts';
export { type ManualFire, runSchedule } from './run-now.ts';
export {
  MISFIRE_POLICIES,
  type MisfirePolicy,
  type Schedule,
  type ScheduleInput,
  type ScheduleOptions,
  type SchedulePatch,
} from './schedule-input.ts';
export { Scheduler, type SchedulerEvents, type SchedulerOptions, type SchedulerState, type TickResult } from './scheduler.ts';
