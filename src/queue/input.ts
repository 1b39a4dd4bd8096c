import { z } from 'zod';
import { type FieldIssue, ValidationError } from '../errors.ts';

/** Names of tasks and namespaces: short, printable, safe in URLs and metric labels. */
export const NAME_PATTERN = /^[A-Za-z0-9_.:/-]{1,200}$/;
export const NAME_MESSAGE = 'must be 1-200 characters of letters, digits and _ . : / -';
/** A task, run or event uid: a UUID, in either case. */
export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const name = z.string().regex(NAME_PATTERN, { error: NAME_MESSAGE });

/** jsonb refuses NUL characters and lone surrogates; catching them here turns a would-be 500 into a 400. */
function storable(value: unknown): boolean {
  if (typeof value === 'string') return !value.includes('\u0000') && value.isWellFormed();
  if (Array.isArray(value)) return value.every(storable);
  if (value && typeof value === 'object') return Object.entries(value).every(([k, v]) => storable(k) && storable(v));
  return true;
}
export const jsonValue = z
  .json()
  .refine(storable, { error: 'strings must not contain NUL characters or lone surrogates' })
  .meta({ id: 'JsonValue', description: 'Any JSON value' });

const NOT_STORABLE = 'strings must not contain NUL characters or lone surrogates';
const NOT_JSON = 'must be JSON: finite numbers, strings, booleans, null, arrays and plain objects';

/**
 * The first value inside `value` that is not JSON a jsonb column can store, with its path. One
 * walk with no allocation on success, for the args and kwargs of every submitted task: zod's
 * JSON union per element was half the cost of a bulk submit's validation. It accepts what
 * `z.json()` with `storable` accepts (plain objects only, no undefined, no non-finite number).
 */
function jsonIssue(value: unknown): { path: PropertyKey[]; message: string } | undefined {
  switch (typeof value) {
    case 'string':
      return storable(value) ? undefined : { path: [], message: NOT_STORABLE };
    case 'number':
      return Number.isFinite(value) ? undefined : { path: [], message: NOT_JSON };
    case 'boolean':
      return undefined;
    case 'object': {
      if (value === null) return undefined;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          const issue = jsonIssue(value[i]);
          if (issue) return within(i, issue);
        }
        return undefined;
      }
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) return { path: [], message: NOT_JSON };
      for (const key in value) {
        if (!storable(key)) return { path: [key], message: NOT_STORABLE };
        const issue = jsonIssue((value as Record<string, unknown>)[key]);
        if (issue) return within(key, issue);
      }
      return undefined;
    }
    default:
      return { path: [], message: NOT_JSON };
  }
}

/** The path is built on the way out, so a valid value allocates nothing. */
function within(key: PropertyKey, issue: { path: PropertyKey[]; message: string }) {
  issue.path.unshift(key);
  return issue;
}

function describeValue(value: unknown): string {
  if (value === null || value === undefined || typeof value === 'number') return String(value);
  if (typeof value !== 'object') return `a ${typeof value}`;
  const proto = Object.getPrototypeOf(value) as { constructor?: { name?: string } } | null;
  return `a ${proto?.constructor?.name || 'object'}`;
}

/**
 * Why `value` is not JSON a jsonb column can store, as one issue naming the field
 * (`result.rows.0.at`) and what was found there (`a Date`), or undefined if it is storable. The
 * same walk as args and kwargs get: cheap enough for every result a worker reports.
 */
export function jsonFieldIssue(value: unknown, field: string): FieldIssue | undefined {
  const issue = jsonIssue(value);
  if (!issue) return undefined;
  let found: unknown = value;
  for (const key of issue.path) found = (found as Record<PropertyKey, unknown>)[key];
  return {
    field: [field, ...issue.path.map(String)].join('.'),
    message: issue.message === NOT_JSON ? `${NOT_JSON}; found ${describeValue(found)}` : issue.message,
  };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

const storableJson =
  <T>() =>
  (value: T, ctx: z.RefinementCtx) => {
    const issue = jsonIssue(value);
    if (issue) ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path });
  };
const jsonArray = z.custom<unknown[]>(Array.isArray, { error: 'must be a JSON array' }).superRefine(storableJson<unknown[]>());
const jsonObject = z
  .custom<Record<string, unknown>>(isPlainObject, { error: 'must be a JSON object' })
  .superRefine(storableJson<Record<string, unknown>>());

/** Text PostgreSQL can store: no NUL characters, no lone surrogates. */
export const text = (max: number) =>
  z.string().min(1).max(max).refine(storable, { error: 'must not contain NUL characters or lone surrogates' });

/** A date PostgreSQL and JavaScript agree on: a valid instant in years 1 to 9999. */
const inRange = (d: Date) => !Number.isNaN(d.getTime()) && d.getUTCFullYear() >= 1 && d.getUTCFullYear() <= 9999;
export const instant = z.union([
  z.date().refine(inRange, { error: 'must be a valid date in years 1-9999' }),
  z.iso
    .datetime({ offset: true, error: 'must be an ISO 8601 date-time with a time zone' })
    .refine((v) => inRange(new Date(v)), { error: 'must be a date in years 1-9999' }),
]);

const seconds = (max: number) => z.number().int({ error: 'must be a whole number of seconds' }).min(1).max(max);
const YEAR = 366 * 86400;

export const PRIORITY_MIN = -32768;
export const PRIORITY_MAX = 32767;

export const submitSchema = z.strictObject({
  task: name,
  namespace: name.optional(),
  args: jsonArray.optional(),
  kwargs: jsonObject.optional(),
  /** Higher runs first. */
  priority: z.number().int({ error: 'must be an integer' }).min(PRIORITY_MIN).max(PRIORITY_MAX).optional(),
  eta: instant.optional(),
  uniqueKey: text(500).optional().nullable(),
  retry: z.boolean().optional(),
  /** Retries after the first attempt; null means unlimited. */
  maxRetries: z.number().int().min(0).max(1000).nullable().optional(),
  errorEtaInc: seconds(YEAR).optional(),
  errorEtaMax: seconds(YEAR).optional(),
  timeoutSeconds: seconds(7 * 86400)
    .nullable()
    .optional(),
  storeResult: z.boolean().optional(),
  resultExpires: seconds(10 * YEAR)
    .nullable()
    .optional(),
  errorExpires: seconds(10 * YEAR)
    .nullable()
    .optional(),
  operator: text(200).nullable().optional(),
  // Provenance, set by the scheduler and by event triggers (the HTTP API does not accept them).
  scheduleName: text(200).optional(),
  scheduleFireAt: instant.optional(),
  eventUid: z.uuid().optional(),
  triggerName: text(200).optional(),
});

export type SubmitInput = z.input<typeof submitSchema>;

/** Defaults, in the one place they live (the schema's column defaults mirror them for raw SQL inserts). */
export const SUBMIT_DEFAULTS = {
  namespace: 'default',
  priority: 0,
  retry: true,
  maxRetries: 5,
  errorEtaInc: 15,
  errorEtaMax: 300,
  timeoutSeconds: null,
  storeResult: true,
  resultExpires: 7 * 86400,
  errorExpires: 7 * 86400,
} as const;

/** A fully resolved submission, in the snake_case shape the submit statement reads. */
export interface NormalizedSubmit {
  uid: string;
  task: string;
  namespace: string;
  priority: number;
  eta: string | null;
  args: unknown[];
  kwargs: Record<string, unknown>;
  unique_key: string | null;
  retry: boolean;
  max_retries: number | null;
  error_eta_inc: number;
  error_eta_max: number;
  timeout_seconds: number | null;
  store_result: boolean;
  result_expires: number | null;
  error_expires: number | null;
  operator: string | null;
  schedule_name: string | null;
  schedule_fire_at: string | null;
  event_uid: string | null;
  trigger_name: string | null;
}

export function issuesOf(error: z.ZodError, prefix = '', root = '(body)'): FieldIssue[] {
  return error.issues.map((i) => ({
    field: [prefix, ...i.path.map(String)].filter(Boolean).join('.') || root,
    message: i.code === 'unrecognized_keys' ? `unknown field(s): ${i.keys.join(', ')}` : i.message,
  }));
}

export function normalizeSubmit(input: unknown, uid: string, prefix = ''): NormalizedSubmit {
  const parsed = submitSchema.safeParse(input);
  if (!parsed.success) throw new ValidationError(issuesOf(parsed.error, prefix));
  const v = parsed.data;
  const errorEtaInc = v.errorEtaInc ?? SUBMIT_DEFAULTS.errorEtaInc;
  const errorEtaMax = v.errorEtaMax ?? Math.max(SUBMIT_DEFAULTS.errorEtaMax, errorEtaInc);
  if (errorEtaMax < errorEtaInc) {
    throw new ValidationError([{ field: [prefix, 'errorEtaMax'].filter(Boolean).join('.'), message: 'must be at least errorEtaInc' }]);
  }
  return {
    uid,
    task: v.task,
    namespace: v.namespace ?? SUBMIT_DEFAULTS.namespace,
    priority: v.priority ?? SUBMIT_DEFAULTS.priority,
    eta: v.eta === undefined ? null : new Date(v.eta).toISOString(),
    args: v.args ?? [],
    kwargs: v.kwargs ?? {},
    unique_key: v.uniqueKey ?? null,
    retry: v.retry ?? SUBMIT_DEFAULTS.retry,
    max_retries: v.maxRetries === undefined ? SUBMIT_DEFAULTS.maxRetries : v.maxRetries,
    error_eta_inc: errorEtaInc,
    error_eta_max: errorEtaMax,
    timeout_seconds: v.timeoutSeconds ?? SUBMIT_DEFAULTS.timeoutSeconds,
    store_result: v.storeResult ?? SUBMIT_DEFAULTS.storeResult,
    result_expires: v.resultExpires === undefined ? SUBMIT_DEFAULTS.resultExpires : v.resultExpires,
    error_expires: v.errorExpires === undefined ? SUBMIT_DEFAULTS.errorExpires : v.errorExpires,
    operator: v.operator ?? null,
    schedule_name: v.scheduleName ?? null,
    schedule_fire_at: v.scheduleFireAt === undefined ? null : new Date(v.scheduleFireAt).toISOString(),
    event_uid: v.eventUid ?? null,
    trigger_name: v.triggerName ?? null,
  };
}
