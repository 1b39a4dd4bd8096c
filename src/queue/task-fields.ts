import { getTableColumns, is, SQL } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import { z } from 'zod';
import { SUBMIT_DEFAULTS, type TaskRow, tasks } from '../db/schema/tasks.ts';
import { jsonArray, jsonObject, jsonValue } from '../validation/json.ts';
import { nameSchema } from '../validation/names.ts';
import { instant, isoDateTime, storable, text } from '../validation/zod.ts';
import { ATTEMPT_ERRORS_KEPT, ATTEMPT_STACK_KEPT } from './failure-sql.ts';
import { TASK_STATUSES } from './states.ts';

/**
 * The task's fields, defined once. The drizzle table (src/db/schema/tasks.ts) is the table: its
 * columns give every field's name, storage type, nullability and default, in the order rows,
 * tasks and JSON answers list them. This table adds, per column, what storage cannot say: how a
 * submission is validated, what the HTTP API documents, an example. Everything else is derived
 * from the two: the library's input schema (src/queue/submit-input.ts), the HTTP schemas (by renaming
 * keys to snake_case, src/api/schemas.ts), the submit statement's columns and defaults
 * (submit-statement.ts), the row mapper (task.ts) and the serializer (src/api/serialize.ts).
 *
 * The drizzle table is the source rather than a table that generates it: it also holds the
 * indexes, checks and sequence that migrations are generated from, and drizzle-kit reads it as
 * it is. `satisfies` below makes a column without an entry here (or an entry without a column) a
 * type error, and test/unit/task-fields.test.ts checks the same at run time.
 */

export const PRIORITY_MIN = -32768;
export const PRIORITY_MAX = 32767;

const seconds = (max: number) => z.number().int({ error: 'must be a whole number of seconds' }).min(1).max(max);
const YEAR = 366 * 86400;

/** The TaskError object: how a failed attempt is stored and answered. */
export const taskError = z
  .object({
    class: z.string(),
    message: z.string(),
    stack: z.string().optional(),
    payload: z.unknown().optional(),
    reason: z.string().optional(),
  })
  .meta({ id: 'TaskError' });

/** One entry of attempt_errors (the AttemptError of src/queue/task.ts). */
export const attemptError = z
  .object({
    attempt: z.number(),
    worker_id: z.string().nullable(),
    started_at: z.string().nullable(),
    failed_at: z.string(),
    error: taskError,
  })
  .meta({ id: 'AttemptError' });

export interface TaskField {
  /** How a submitted value is validated (the library's camelCase input). Absent: only the queue sets it. */
  input?: z.ZodType;
  /**
   * The HTTP body's validator where it differs from `input`: JSON text carries no Date, and the
   * API's JSON validators are the ones the OpenAPI document describes (and whose 400 messages
   * clients have seen). `false`: not accepted over HTTP (provenance, set by schedules and triggers).
   */
  wire?: z.ZodType | false;
  /** A submission that leaves a JSON column out stores this (its column default). */
  empty?: [] | Record<string, never>;
  /** The answer's schema where the column's type does not say it (jsonb, the status enum). */
  out?: z.ZodType;
  /** Not a field of Task: `row` is the internal id (list cursors), `claim` only a claimed task has. */
  only?: 'row' | 'claim';
  description?: string;
  example?: unknown;
}

// Submitted fields first, in the order submit validates them and the API documents them.
export const TASK_FIELDS = {
  task: {
    input: nameSchema,
    description: 'The kind of work: workers claim tasks by this name.',
    example: 'reports.render',
  },
  namespace: {
    input: nameSchema.optional(),
    description: 'Workers claim from their own namespaces; unique keys are per namespace.',
    example: 'reports',
  },
  args: {
    input: jsonArray.optional(),
    wire: z.array(jsonValue, { error: 'must be a JSON array' }).optional(),
    empty: [],
    out: z.array(z.unknown()),
    description: 'Positional arguments of the handler.',
    example: ['2025-05'],
  },
  kwargs: {
    input: jsonObject.optional(),
    wire: z.record(storable(z.string()), jsonValue, { error: 'must be a JSON object' }).optional(),
    empty: {},
    out: z.record(z.string(), z.unknown()),
    description: 'Named arguments of the handler.',
    example: { format: 'pdf', locale: 'en-GB' },
  },
  priority: {
    input: z.number().int({ error: 'must be an integer' }).min(PRIORITY_MIN).max(PRIORITY_MAX).optional(),
    description: 'Higher runs first.',
    example: 10,
  },
  eta: {
    input: instant.optional(),
    wire: isoDateTime.optional(),
    description: 'Earliest start; default now.',
    example: '2025-06-02T09:30:00.000Z',
  },
  uniqueKey: {
    input: text(500).optional().nullable(),
    description: 'A submission with the key of a waiting task in the same namespace merges into that task.',
    example: 'monthly-report:2025-05',
  },
  retry: { input: z.boolean().optional(), description: 'false: the first failure is final.', example: true },
  maxRetries: {
    input: z.number().int().min(0).max(1000).nullable().optional(),
    description: 'Retries after the first attempt; null is unlimited.',
    example: 5,
  },
  errorEtaInc: {
    input: seconds(YEAR).optional(),
    description: 'Backoff before the first retry, in seconds; doubled per attempt up to error_eta_max.',
    example: 15,
  },
  errorEtaMax: {
    input: seconds(YEAR).optional(),
    description: 'Longest backoff, in seconds; at least error_eta_inc. Default: the larger of 300 and error_eta_inc.',
    example: 300,
  },
  timeoutSeconds: {
    input: seconds(7 * 86400)
      .nullable()
      .optional(),
    description: 'An attempt running longer is aborted and fails; null: no limit.',
    example: 600,
  },
  storeResult: {
    input: z.boolean().optional(),
    description: 'false: the task is deleted when it completes instead of kept with its result.',
    example: true,
  },
  resultExpires: {
    input: seconds(10 * YEAR)
      .nullable()
      .optional(),
    description: 'Seconds a done task is kept before it is pruned; null keeps it.',
    example: 604800,
  },
  errorExpires: {
    input: seconds(10 * YEAR)
      .nullable()
      .optional(),
    description: 'Seconds a failed or cancelled task is kept before it is pruned; null keeps it.',
    example: 604800,
  },
  operator: {
    input: text(200).nullable().optional(),
    description: 'Who submitted it. Ignored when the request is authenticated: the token name is stored.',
    example: 'ci-bot',
  },
  // Provenance, set by the scheduler and by event triggers (the HTTP API does not accept them).
  scheduleName: { input: text(200).optional(), wire: false, description: 'The schedule that submitted it.', example: 'monthly-reports' },
  scheduleFireAt: {
    input: instant.optional(),
    wire: false,
    description: 'The fire time of that schedule it stands for.',
    example: '2025-06-02T09:30:00.000Z',
  },
  eventUid: {
    input: z.uuid().optional(),
    wire: false,
    description: 'The event whose trigger submitted it.',
    example: '7d0c3e1a-9b2f-4c55-8e61-2f4a9d8b1c03',
  },
  triggerName: { input: text(200).optional(), wire: false, description: 'That trigger.', example: 'render-on-close' },
  traceContext: {
    // Set by submit from the active OpenTelemetry context, not by the caller: over HTTP, a
    // `traceparent` header is how a producer passes its trace (src/tracing.ts).
    input: z.record(z.string().max(512), z.string().max(512)).optional(),
    wire: false,
    out: z.record(z.string(), z.string()).nullable(),
    description: 'The W3C trace context (traceparent, tracestate) the task was submitted in, when traced: its worker continues that trace.',
    example: { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' },
  },

  // What the queue sets.
  id: { only: 'row' },
  uid: { example: '0b5e6f2a-54c1-4d7e-9a43-5f1d2c3b4a59' },
  status: { out: z.enum(TASK_STATUSES), example: 'done' },
  result: { out: z.unknown(), description: "The handler's return value, when stored.", example: { pages: 12 } },
  error: {
    out: taskError.nullable(),
    description: 'What the last failed attempt recorded.',
    example: { class: 'TimeoutError', message: 'timed out after 600 s', reason: 'timeout' },
  },
  attemptErrors: {
    out: z.array(attemptError).nullable(),
    description: `Every failed attempt, oldest first: the last ${ATTEMPT_ERRORS_KEPT}, each stack cut to ${ATTEMPT_STACK_KEPT} characters (error keeps the last one whole). Null until an attempt fails.`,
    example: [
      {
        attempt: 1,
        worker_id: 'render-1:4821',
        started_at: '2025-06-02T09:30:00.118Z',
        failed_at: '2025-06-02T09:30:02.904Z',
        error: { class: 'ConnectionError', message: 'connection reset by peer' },
      },
    ],
  },
  expiresAt: { description: 'When the finished task may be pruned.', example: '2025-06-09T09:31:05.274Z' },
  attempts: { description: 'Attempts started so far.', example: 1 },
  workerId: { description: 'The worker holding (or that last held) the task.', example: 'render-1:4821' },
  leaseExpiresAt: {
    description: 'When a running task is rescued unless its worker renews the lease.',
    example: '2025-06-02T09:30:30.118Z',
  },
  leaseSeconds: {
    description: 'The lease length, in seconds, the latest claim (or a heartbeat since) gave: a heartbeat that names none renews by it.',
    example: 30,
  },
  fencingToken: {
    only: 'claim',
    description: 'Fresh on every claim; every change the worker makes must present it.',
    example: 4182,
  },
  cancelRequested: { description: 'Cancel was asked while it ran: its worker aborts the handler.', example: false },
  revision: { description: 'Goes up by one on every change to the task.', example: 3 },
  createdAt: { example: '2025-06-02T09:29:58.412Z' },
  updatedAt: { example: '2025-06-02T09:31:05.274Z' },
  startedAt: { description: 'When the latest attempt started.', example: '2025-06-02T09:30:00.118Z' },
  finishedAt: { example: '2025-06-02T09:31:05.274Z' },
} satisfies { [K in keyof TaskRow]: TaskField };

type Fields = typeof TASK_FIELDS;
export type FieldKey = keyof Fields;
/** The fields a submission may set. */
export type SubmittedKey = { [K in FieldKey]: Fields[K] extends { input: z.ZodType } ? K : never }[FieldKey];
/** The submitted fields the HTTP API accepts. */
export type WireKey = { [K in SubmittedKey]: Fields[K] extends { wire: false } ? never : K }[SubmittedKey];
/** The fields of Task. */
export type TaskKey = { [K in FieldKey]: Fields[K] extends { only: string } ? never : K }[FieldKey];

/** camelCase → snake_case, the one rule from library names to column and wire names. */
export const snakeCase = <K extends string>(key: K) => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`) as SnakeCase<K>;
export type SnakeCase<S extends string> = S extends `${infer C}${infer Rest}`
  ? `${C extends Lowercase<C> ? C : `_${Lowercase<C>}`}${SnakeCase<Rest>}`
  : S;

export const TASK_COLUMNS = getTableColumns(tasks);
const spec = (key: FieldKey): TaskField => TASK_FIELDS[key];
const keysWhere = <K extends FieldKey>(keep: (key: FieldKey) => boolean) => (Object.keys(TASK_FIELDS) as FieldKey[]).filter(keep) as K[];

/** Task's fields in column order: the order of every task object and every JSON answer. */
export const TASK_KEYS = (Object.keys(TASK_COLUMNS) as FieldKey[]).filter((k) => !spec(k).only) as TaskKey[];
/** Submitted fields in the table's order above: how they are validated and documented. */
export const SUBMITTED_KEYS = keysWhere<SubmittedKey>((k) => spec(k).input !== undefined);
export const WIRE_KEYS = SUBMITTED_KEYS.filter((k) => spec(k).wire !== false) as WireKey[];

export const isDateField = (key: FieldKey) => TASK_COLUMNS[key].dataType === 'date';
export const isJsonField = (key: FieldKey) => TASK_COLUMNS[key].dataType === 'json';
export const isSubmitted = (key: FieldKey): key is SubmittedKey => spec(key).input !== undefined;
export const emptyOf = (key: FieldKey) => spec(key).empty;
export const submitDefaultOf = (key: FieldKey) =>
  Object.hasOwn(SUBMIT_DEFAULTS, key) ? { value: SUBMIT_DEFAULTS[key as keyof typeof SUBMIT_DEFAULTS] } : undefined;

const dialect = new PgDialect();
/**
 * A column's default as the database applies it: a value, SQL text (`now()`), or none. Submit
 * leaves these columns to the database and rebuilds the created task from them.
 */
export function columnDefault(key: FieldKey): { value: string | number | boolean } | { sql: string } | undefined {
  const column = TASK_COLUMNS[key];
  if (!column.hasDefault || column.default === undefined) return undefined;
  if (is(column.default, SQL)) return { sql: dialect.sqlToQuery(column.default).sql };
  return { value: column.default as string | number | boolean };
}

// ── Schemas derived from the table ────────────────────────────────────────────────────────────

type InputOf<K extends SubmittedKey> = Fields[K]['input'];
type WireOf<K extends WireKey> = Fields[K] extends { wire: infer W extends z.ZodType } ? W : InputOf<K>;
/** What a column's values look like in JSON: Dates become ISO strings, null stays null. */
type OutOfBase<T> = [T] extends [Date]
  ? z.ZodString
  : [T] extends [string]
    ? z.ZodString
    : [T] extends [number]
      ? z.ZodNumber
      : [T] extends [boolean]
        ? z.ZodBoolean
        : z.ZodUnknown;
type OutOfValue<T> = null extends T ? z.ZodNullable<OutOfBase<NonNullable<T>>> : OutOfBase<T>;
type OutOf<K extends FieldKey> = Fields[K] extends { out: infer O extends z.ZodType } ? O : OutOfValue<TaskRow[K]>;

export type SubmitShape = { [K in SubmittedKey]: InputOf<K> };
export type WireSubmitShape = { [K in WireKey as SnakeCase<K>]: WireOf<K> };
export type TaskOutShape = { [K in TaskKey as SnakeCase<K>]: OutOf<K> };

/** The library's submission fields, camelCase, exactly as `input` says (no documentation: it is not published). */
export function submitShape(): SubmitShape {
  return Object.fromEntries(SUBMITTED_KEYS.map((k) => [k, spec(k).input])) as SubmitShape;
}

/**
 * A field's schema with its description and example, for the OpenAPI document. No `default`
 * keyword: the API's other schemas reuse these fields (a schedule's options, the schedule list's
 * namespace filter), where submit's defaults are not theirs.
 */
const documented = (key: FieldKey, schema: z.ZodType) => {
  const { description, example } = spec(key);
  return schema.meta({ ...(description ? { description } : {}), ...(example !== undefined ? { examples: [example] } : {}) });
};

/** The HTTP body's fields: the submitted ones the API accepts, renamed to snake_case. */
export function wireSubmitShape(): WireSubmitShape {
  return Object.fromEntries(
    WIRE_KEYS.map((k) => {
      const s = spec(k);
      return [snakeCase(k), documented(k, (s.wire || s.input) as z.ZodType)];
    }),
  ) as WireSubmitShape;
}

/** The JSON schema of one column's values in an answer; `claimed` for the fields a claim guarantees. */
function outOf(key: FieldKey, claimed = false): z.ZodType {
  const given = spec(key).out;
  if (given) return documented(key, given);
  const column = TASK_COLUMNS[key];
  const base =
    column.dataType === 'date'
      ? z.string().meta({ format: 'date-time' })
      : column.dataType === 'number'
        ? z.number().int()
        : column.dataType === 'boolean'
          ? z.boolean()
          : column.columnType === 'PgUUID'
            ? z.string().meta({ format: 'uuid' })
            : z.string();
  return documented(key, column.notNull || claimed ? base : base.nullable());
}

/** A task as the API answers it: every field of Task, snake_case, in column order. */
export function taskOutShape(): TaskOutShape {
  return Object.fromEntries(TASK_KEYS.map((k) => [snakeCase(k), outOf(k)])) as TaskOutShape;
}

/** What a claimed task adds or guarantees: its fencing token and lease. */
export function claimedOutShape() {
  return { fencing_token: outOf('fencingToken', true) as z.ZodNumber, lease_expires_at: outOf('leaseExpiresAt', true) as z.ZodString };
}
