import { z } from 'zod';
import { validateSchedule } from '../scheduler/cron.ts';
import {
  MISFIRE_POLICIES,
  OPTION_COLUMNS,
  SCHEDULE_NAME_MESSAGE,
  SCHEDULE_NAME_PATTERN,
  type Schedule,
  type ScheduleInput,
  type ScheduleOptions,
  type SchedulePatch,
} from '../scheduler/schedule-input.ts';
import { EXAMPLE, example, OUT, OUT_NULLABLE, wholeExample } from './examples.ts';
import { submitBody, taskOut } from './schemas.ts';

/**
 * The wire format of schedules (snake_case). The API validates bodies with these, the CLI builds
 * the same objects from its flags, and EVENTIX_SCHEDULES_FILE holds a list of `ScheduleCreate`s:
 * one schema, so a definition means the same wherever it is written.
 */

const t = submitBody.shape;

export const scheduleName = z.string().regex(SCHEDULE_NAME_PATTERN, { error: SCHEDULE_NAME_MESSAGE });

export const scheduleOptionsBody = z
  .strictObject({
    retry: t.retry,
    max_retries: t.max_retries,
    error_eta_inc: t.error_eta_inc,
    error_eta_max: t.error_eta_max,
    timeout_seconds: t.timeout_seconds,
    store_result: t.store_result,
    result_expires: t.result_expires,
    error_expires: t.error_expires,
  })
  .superRefine((o, ctx) => {
    if (o.error_eta_inc !== undefined && o.error_eta_max !== undefined && o.error_eta_max < o.error_eta_inc) {
      ctx.addIssue({ code: 'custom', path: ['error_eta_max'], message: `must be at least error_eta_inc (${o.error_eta_inc})` });
    }
  })
  .meta({
    id: 'ScheduleOptions',
    description: 'Retry and result options of the tasks the schedule submits; unset ones take the task defaults.',
  });

const cron = example(z.string().max(200), EXAMPLE.cron).describe(
  'Five fields (minute, hour, day of month, month, day of week) or six (seconds first), as cron-parser reads them: ' +
    'ranges, steps, lists, L, #, names, and @daily-style shortcuts; H is refused.',
);
const timezone = example(z.string().max(100), EXAMPLE.timezone).describe('IANA time zone the expression is read in (default UTC).');
const misfire = z
  .enum(MISFIRE_POLICIES, { error: `must be one of ${MISFIRE_POLICIES.join(', ')}` })
  .describe(
    'Fire times missed while no scheduler ran: skip (default) fires only the latest; all fires each (oldest first, the latest 1000 at most); none fires none.',
  );

const definition = {
  namespace: t.namespace,
  cron,
  timezone: timezone.optional(),
  task: t.task,
  args: t.args,
  kwargs: t.kwargs,
  priority: t.priority,
  options: scheduleOptionsBody.optional(),
  enabled: z.boolean().optional().describe('false creates it paused.'),
  misfire: misfire.optional(),
  overlap: z.boolean().optional().describe('false skips a fire while the previous fire’s task is still waiting or running.'),
};

/** The cron and zone checks, on the wire names (a PATCH gets them from the library, on the merged definition). */
function checkTiming(b: { cron: string; timezone?: string | undefined }, ctx: z.core.$RefinementCtx) {
  for (const issue of validateSchedule(b.cron, b.timezone ?? 'UTC')) {
    ctx.addIssue({ code: 'custom', path: [issue.field], message: issue.message });
  }
}

export const scheduleCreateBody = wholeExample(
  z
    .strictObject({ name: scheduleName, ...definition })
    .superRefine(checkTiming)
    .meta({ id: 'ScheduleCreate' }),
  {
    name: EXAMPLE.schedule,
    cron: EXAMPLE.cron,
    timezone: EXAMPLE.timezone,
    task: EXAMPLE.task,
    kwargs: { repo: EXAMPLE.repo, branch: EXAMPLE.branch },
    options: { max_retries: 2, timeout_seconds: 3600 },
  },
);
export type ScheduleCreateBody = z.infer<typeof scheduleCreateBody>;

export const scheduleUpdateBody = z
  .strictObject({ ...definition, cron: cron.optional(), task: t.task.optional() })
  .refine((b) => Object.values(b).some((v) => v !== undefined), { error: 'name at least one field to change' })
  .meta({ id: 'ScheduleUpdate', description: 'The fields to change; the others keep their values. options replaces the whole set.' });
export type ScheduleUpdateBody = z.infer<typeof scheduleUpdateBody>;

/** A schedules file (EVENTIX_SCHEDULES_FILE): `{"schedules": [ScheduleCreate, ...]}`, names unique. */
export const schedulesFile = z.strictObject({ schedules: z.array(scheduleCreateBody) }).superRefine((f, ctx) => {
  const seen = new Set<string>();
  f.schedules.forEach((s, i) => {
    if (seen.has(s.name)) ctx.addIssue({ code: 'custom', path: ['schedules', i, 'name'], message: `duplicate name ${s.name}` });
    seen.add(s.name);
  });
});

export const scheduleListQuery = z.strictObject({
  namespace: t.namespace,
  enabled: z.enum(['true', 'false'], { error: 'must be true or false' }).optional(),
  limit: z.coerce.number().int().min(1).max(500).optional(),
  cursor: z.string().min(1).max(300).optional(),
});

const optionsOut = z.object({
  retry: z.boolean().optional(),
  max_retries: z.number().int().nullable().optional(),
  error_eta_inc: z.number().int().optional(),
  error_eta_max: z.number().int().optional(),
  timeout_seconds: z.number().int().nullable().optional(),
  store_result: z.boolean().optional(),
  result_expires: z.number().int().nullable().optional(),
  error_expires: z.number().int().nullable().optional(),
});

export const scheduleOut = z
  .object({
    name: OUT.schedule,
    namespace: OUT.namespace,
    cron: OUT.cron,
    timezone: OUT.timezone,
    task: OUT.task,
    args: z.array(z.unknown()),
    kwargs: z.record(z.string(), z.unknown()),
    priority: z.number().int(),
    options: optionsOut,
    enabled: z.boolean(),
    misfire: z.enum(MISFIRE_POLICIES),
    overlap: z.boolean(),
    last_fired_at: OUT_NULLABLE.at,
    next_fire_at: OUT_NULLABLE.at.describe('Null while paused.'),
    source: z.enum(['api', 'file']),
    revision: z.number().int(),
    created_at: OUT.at,
    updated_at: OUT.at,
  })
  .meta({ id: 'Schedule' });
export type ScheduleJson = z.infer<typeof scheduleOut>;

export const schedulePageOut = z
  .object({ schedules: z.array(scheduleOut), next_cursor: z.string().nullable() })
  .meta({ id: 'SchedulePage' });

export const scheduleRunOut = z.object({ fire_at: OUT.at, task: taskOut }).meta({ id: 'ScheduleRun' });

const COLUMN_OPTIONS = Object.fromEntries(Object.entries(OPTION_COLUMNS).map(([k, v]) => [v, k])) as Record<string, keyof ScheduleOptions>;

function optionsIn(o: Record<string, unknown> | undefined): ScheduleOptions | undefined {
  if (o === undefined) return undefined;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[COLUMN_OPTIONS[k] ?? k] = v;
  return out as ScheduleOptions;
}

function optionsOutOf(o: ScheduleOptions): z.infer<typeof optionsOut> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[OPTION_COLUMNS[k as keyof ScheduleOptions]] = v;
  return out;
}

/** Wire → library. */
export function toScheduleInput(b: ScheduleCreateBody): ScheduleInput {
  const { options, ...rest } = b;
  return { ...rest, options: optionsIn(options) };
}

export function toSchedulePatch(b: ScheduleUpdateBody): SchedulePatch {
  const { options, ...rest } = b;
  return { ...rest, ...(options !== undefined ? { options: optionsIn(options) } : {}) };
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** Library → wire. */
export function scheduleToJson(s: Schedule): ScheduleJson {
  return {
    name: s.name,
    namespace: s.namespace,
    cron: s.cron,
    timezone: s.timezone,
    task: s.task,
    args: s.args,
    kwargs: s.kwargs,
    priority: s.priority,
    options: optionsOutOf(s.options),
    enabled: s.enabled,
    misfire: s.misfire,
    overlap: s.overlap,
    last_fired_at: iso(s.lastFiredAt),
    next_fire_at: iso(s.nextFireAt),
    source: s.source,
    revision: s.revision,
    created_at: s.createdAt.toISOString(),
    updated_at: s.updatedAt.toISOString(),
  };
}
