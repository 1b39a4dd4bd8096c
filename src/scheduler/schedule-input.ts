import { z } from 'zod';
import { type FieldIssue, ValidationError } from '../errors.ts';
import { normalizeSubmit, type SubmitInput, submitSchema } from '../queue/submit-input.ts';
import { issuesOf } from '../validation/zod.ts';
import { validateSchedule } from './cron.ts';

/**
 * A schedule as the library presents it, the input that creates one, and the one function that
 * turns a fire into a task submission. The wire format (snake_case) lives in
 * src/api/schedule-schemas.ts; the API, the CLI and the schedules file all convert to this.
 */

export const MISFIRE_POLICIES = ['skip', 'all', 'none'] as const;
export type MisfirePolicy = (typeof MISFIRE_POLICIES)[number];

/** Schedule names appear in URL paths, so unlike task names they may not contain `/`. */
export const SCHEDULE_NAME_PATTERN = /^[A-Za-z0-9_.:-]{1,200}$/;
export const SCHEDULE_NAME_MESSAGE = 'must be 1-200 characters of letters, digits and _ . : -';

/** The retry and result options a schedule passes to each task it submits (submit's defaults apply to the rest). */
export interface ScheduleOptions {
  retry?: boolean;
  maxRetries?: number | null;
  errorEtaInc?: number;
  errorEtaMax?: number;
  timeoutSeconds?: number | null;
  storeResult?: boolean;
  resultExpires?: number | null;
  errorExpires?: number | null;
}

/** Library option name → stored (snake_case, as the submit wire format spells it) name. */
export const OPTION_COLUMNS = {
  retry: 'retry',
  maxRetries: 'max_retries',
  errorEtaInc: 'error_eta_inc',
  errorEtaMax: 'error_eta_max',
  timeoutSeconds: 'timeout_seconds',
  storeResult: 'store_result',
  resultExpires: 'result_expires',
  errorExpires: 'error_expires',
} as const satisfies Record<keyof ScheduleOptions, string>;

export const scheduleOptionsSchema = submitSchema.pick({
  retry: true,
  maxRetries: true,
  errorEtaInc: true,
  errorEtaMax: true,
  timeoutSeconds: true,
  storeResult: true,
  resultExpires: true,
  errorExpires: true,
});

/** What creates a schedule. Only name, cron and task are required. */
export const scheduleInputSchema = z.strictObject({
  name: z.string().regex(SCHEDULE_NAME_PATTERN, { error: SCHEDULE_NAME_MESSAGE }),
  namespace: submitSchema.shape.namespace,
  cron: z.string().max(200),
  /** IANA zone the cron expression is read in; default UTC. */
  timezone: z.string().max(100).optional(),
  task: submitSchema.shape.task,
  args: submitSchema.shape.args,
  kwargs: submitSchema.shape.kwargs,
  priority: submitSchema.shape.priority,
  options: scheduleOptionsSchema.optional(),
  enabled: z.boolean().optional(),
  misfire: z.enum(MISFIRE_POLICIES, { error: `must be one of ${MISFIRE_POLICIES.join(', ')}` }).optional(),
  /** false: skip a fire while the previous fire's task is still waiting or running. */
  overlap: z.boolean().optional(),
});
export type ScheduleInput = z.input<typeof scheduleInputSchema>;

/** Fields PATCH may change: all but the name. `options` replaces the whole set. */
export type SchedulePatch = Partial<Omit<ScheduleInput, 'name'>>;

export interface Schedule {
  name: string;
  namespace: string;
  cron: string;
  timezone: string;
  task: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
  priority: number;
  options: ScheduleOptions;
  enabled: boolean;
  misfire: MisfirePolicy;
  overlap: boolean;
  lastFiredAt: Date | null;
  /** Null while paused. */
  nextFireAt: Date | null;
  /** 'api' (API or CLI) or 'file' (upserted from EVENTIX_SCHEDULES_FILE). */
  source: 'api' | 'file';
  /** Counts changes to the definition and pause/resume; fires do not change it. */
  revision: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface ScheduleRowRaw {
  id: number;
  name: string;
  namespace: string;
  cron: string;
  timezone: string;
  task: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
  priority: number;
  options: Record<string, unknown>;
  enabled: boolean;
  misfire: MisfirePolicy;
  overlap: boolean;
  last_fired_at: Date | null;
  next_fire_at: Date | null;
  source: 'api' | 'file';
  revision: number;
  created_at: Date;
  updated_at: Date;
}

export function optionsToColumn(options: ScheduleOptions | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, column] of Object.entries(OPTION_COLUMNS)) {
    const value = options?.[key as keyof ScheduleOptions];
    if (value !== undefined) out[column] = value;
  }
  return out;
}

export function optionsFromColumn(stored: Record<string, unknown>): ScheduleOptions {
  const out: Record<string, unknown> = {};
  for (const [key, column] of Object.entries(OPTION_COLUMNS)) if (stored[column] !== undefined) out[key] = stored[column];
  return out as ScheduleOptions;
}

export function toSchedule(r: ScheduleRowRaw): Schedule {
  return {
    name: r.name,
    namespace: r.namespace,
    cron: r.cron,
    timezone: r.timezone,
    task: r.task,
    args: r.args,
    kwargs: r.kwargs,
    priority: r.priority,
    options: optionsFromColumn(r.options),
    enabled: r.enabled,
    misfire: r.misfire,
    overlap: r.overlap,
    lastFiredAt: r.last_fired_at,
    nextFireAt: r.next_fire_at,
    source: r.source,
    revision: r.revision,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** A fully resolved definition, defaults applied, ready to store. */
export interface NormalizedSchedule {
  name: string;
  namespace: string;
  cron: string;
  timezone: string;
  task: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
  priority: number;
  options: ScheduleOptions;
  enabled: boolean;
  misfire: MisfirePolicy;
  overlap: boolean;
}

/**
 * Validate a definition completely, or throw a ValidationError naming every bad field: the shape,
 * the cron expression and zone (`cron`, `timezone`), and the task template exactly as submit
 * would check it, so a schedule can never hold a task that submit would refuse at fire time.
 */
export function normalizeSchedule(input: unknown, now: Date): NormalizedSchedule {
  const parsed = scheduleInputSchema.safeParse(input);
  if (!parsed.success) throw new ValidationError(issuesOf(parsed.error));
  const v = parsed.data;
  const out: NormalizedSchedule = {
    name: v.name,
    namespace: v.namespace ?? 'default',
    cron: v.cron.trim(),
    timezone: v.timezone ?? 'UTC',
    task: v.task,
    args: v.args ?? [],
    kwargs: v.kwargs ?? {},
    priority: v.priority ?? 0,
    options: stripUndefined(v.options ?? {}),
    enabled: v.enabled ?? true,
    misfire: v.misfire ?? 'skip',
    overlap: v.overlap ?? true,
  };
  const issues: FieldIssue[] = validateSchedule(out.cron, out.timezone, now);
  try {
    normalizeSubmit(toSubmitInput(out, now), '00000000-0000-4000-8000-000000000000');
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    for (const i of err.issues) issues.push({ field: i.field in OPTION_COLUMNS ? `options.${i.field}` : i.field, message: i.message });
  }
  if (issues.length) throw new ValidationError(issues);
  return out;
}

function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/**
 * The task a fire submits. Only this builds it, and it goes through submitMany like any other
 * submission: the same validation, defaults and NOTIFY. The eta stays unset (due at once, by the
 * database clock): a fire time is when the task is submitted, not a time to wait for.
 */
export function toSubmitInput(
  s: Pick<Schedule, 'name' | 'namespace' | 'task' | 'args' | 'kwargs' | 'priority' | 'options'>,
  fireAt: Date,
): SubmitInput {
  return {
    task: s.task,
    namespace: s.namespace,
    args: s.args as SubmitInput['args'],
    kwargs: s.kwargs as SubmitInput['kwargs'],
    priority: s.priority,
    ...stripUndefined(s.options),
    scheduleName: s.name,
    scheduleFireAt: fireAt,
  };
}
