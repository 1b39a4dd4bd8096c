import { z } from 'zod';
import { PRIORITY_MAX, PRIORITY_MIN } from '../../queue/task-fields.ts';
import { jsonValue } from '../../validation/json.ts';
import { nameSchema } from '../../validation/names.ts';
import { text } from '../../validation/zod.ts';
import { EXAMPLE, example, wholeExample } from '../examples.ts';
import { isPythonTime } from './time.ts';

/**
 * The Python Eventix's wire format: its pydantic task (TEventixTask) and event (TEventixEvent) as
 * JSON, and the bodies and queries of the routes that carry them. These schemas validate the
 * requests and document them in /openapi.json; src/api/compat/model.ts converts between them and
 * our tasks. The MIGRATION_GUIDE section "The Python-Eventix compatible API" describes every field.
 *
 * Objects are not strict: like the Python server (pydantic's default), a field this format does
 * not know is ignored, not refused. Every field it does know is validated, and a wrong one is a
 * 400 naming it.
 */

/** The Python statuses. Ours add `cancelled`, which this format shows as `error`. */
export const PY_STATUSES = ['scheduled', 'processing', 'done', 'error', 'retry'] as const;
export type PyStatus = (typeof PY_STATUSES)[number];

/** Python priorities are ours negated (lower runs first there), so the range is ours mirrored. */
export const PY_PRIORITY_MIN = -PRIORITY_MAX;
export const PY_PRIORITY_MAX = -PRIORITY_MIN;

/** The default lease of a claim: the Python worker's `expires` of 300 seconds. */
export const PY_LEASE_SECONDS = 300;
export const PY_LEASE_MIN = 5;
export const PY_LEASE_MAX = 86_400;

const TIME_EXAMPLE = '2025-06-02T09:30:00.123456+00:00';
const TIME_MESSAGE = 'must be an ISO 8601 date-time in years 1-9999 (one without a time zone is read as UTC)';

/** A Python datetime as its isoformat() writes it; naive ones are UTC. Converted by parsePythonTime. */
export const pyTime = example(z.string().refine(isPythonTime, { error: TIME_MESSAGE }), TIME_EXAMPLE);

const seconds = (max: number) => z.number().int({ error: 'must be a whole number of seconds' }).min(1).max(max);
const YEAR = 366 * 86400;

const priority = z
  .number()
  .int({ error: 'must be an integer' })
  .min(PY_PRIORITY_MIN)
  .max(PY_PRIORITY_MAX)
  .describe('Lower runs first (the Python sign): stored negated.');

/**
 * The optimistic-lock field. Python's model types it `str` (pydantic-db-backend) and its SQL
 * version `int`: both are accepted, and answers carry it as a string of digits, which both parse.
 */
const REVISION_MAX = 2 ** 31 - 1;
export const revision = z
  .union([
    z.number().int().min(0).max(REVISION_MAX),
    z
      .string()
      .regex(/^\d{1,10}$/, { error: 'must be a whole number' })
      .refine((v) => Number(v) <= REVISION_MAX, { error: `must be at most ${REVISION_MAX}` }),
  ])
  .describe('Our task revision. A claim bumps it; a worker writes back with the one its claim answered.');

const name = (value: string) => example(nameSchema, value);
const nullableText = (max: number, value: string) => example(text(max).nullable(), value);

/**
 * A Python task as its client sends it: the whole model (TEventixTask.model_dump()) or any part
 * with `task`. Server-managed fields (status, scheduled, result, expires, worker_id,
 * worker_expires, revision) are accepted; what a route makes of each is on the route.
 */
export const pyTaskBody = wholeExample(
  z
    .object({
      uid: z.uuid({ error: 'must be a UUID' }).nullable().optional().describe('Kept as the task uid when given (a new task).'),
      task: name(EXAMPLE.task),
      namespace: example(nameSchema.nullable(), EXAMPLE.namespace).optional(),
      status: z
        .enum(PY_STATUSES, { error: `must be one of ${PY_STATUSES.join(', ')}` })
        .nullable()
        .optional(),
      priority: priority.nullable().optional(),
      eta: pyTime.nullable().optional(),
      scheduled: pyTime.nullable().optional(),
      args: z.array(jsonValue, { error: 'must be a JSON array' }).nullable().optional(),
      kwargs: z.record(z.string(), jsonValue, { error: 'must be a JSON object' }).nullable().optional(),
      unique_key: nullableText(500, 'monthly-report:2025-05').optional(),
      retry: z.boolean().nullable().optional(),
      max_retries: z
        .number()
        .int({ error: 'must be an integer' })
        .min(0)
        .max(1000)
        .nullable()
        .optional()
        .describe('Retries left (Python counted down in place); null retries forever.'),
      error_eta_inc: seconds(YEAR).nullable().optional(),
      error_eta_max: seconds(YEAR).nullable().optional(),
      store_result: z.boolean().nullable().optional(),
      result_expires: seconds(10 * YEAR)
        .nullable()
        .optional(),
      error_expires: seconds(10 * YEAR)
        .nullable()
        .optional(),
      result: jsonValue.optional(),
      expires: pyTime.nullable().optional(),
      worker_id: nullableText(200, 'render-1').optional(),
      worker_expires: pyTime.nullable().optional(),
      operator: nullableText(200, EXAMPLE.operator).optional(),
      revision: revision.nullable().optional(),
    })
    .meta({ id: 'CompatTask', description: 'A task in the Python Eventix format (TEventixTask).' }),
  {
    uid: '0b5e6f2a-54c1-4d7e-9a43-5f1d2c3b4a59',
    task: 'reports.render',
    namespace: 'default',
    status: 'scheduled',
    priority: -10,
    eta: TIME_EXAMPLE,
    scheduled: TIME_EXAMPLE,
    args: ['2025-05'],
    kwargs: { format: 'pdf' },
    unique_key: null,
    retry: true,
    max_retries: null,
    error_eta_inc: 15,
    error_eta_max: 300,
    store_result: true,
    result_expires: 604800,
    error_expires: null,
    result: null,
    expires: null,
    worker_id: null,
    worker_expires: null,
    operator: 'unknown',
    revision: null,
  },
);
export type PyTaskBody = z.infer<typeof pyTaskBody>;

const outString = (value: string) => example(z.string(), value);
const outNullable = (value: string) => example(z.string().nullable(), value);

/** A task as the compatible API answers it. */
export const pyTaskOut = z
  .object({
    uid: z.uuid(),
    task: outString(EXAMPLE.task),
    namespace: outString(EXAMPLE.namespace),
    status: z.enum(PY_STATUSES),
    priority: z.number().int().describe('Lower runs first.'),
    eta: outString(TIME_EXAMPLE),
    scheduled: outString(TIME_EXAMPLE).describe('When it was submitted (our created_at).'),
    args: z.array(z.unknown()),
    kwargs: z.record(z.string(), z.unknown()),
    unique_key: outNullable('monthly-report:2025-05'),
    retry: z.boolean(),
    max_retries: z.number().int().nullable().describe('Retries left; null: unlimited.'),
    error_eta_inc: z.number().int(),
    error_eta_max: z.number().int(),
    store_result: z.boolean(),
    result_expires: z.number().int().nullable(),
    error_expires: z.number().int().nullable(),
    result: z.unknown().describe('The return value; for error and retry tasks the error, in the Python shape.'),
    expires: outNullable(TIME_EXAMPLE),
    worker_id: outNullable('render-1'),
    worker_expires: outNullable(TIME_EXAMPLE).describe('The lease’s end while processing.'),
    operator: outNullable(EXAMPLE.operator),
    revision: outString('3'),
    created_time: outString(TIME_EXAMPLE),
    updated_time: outString(TIME_EXAMPLE),
  })
  .meta({ id: 'CompatTaskAnswer' });
export type PyTaskJson = z.infer<typeof pyTaskOut>;

const csv = <T extends z.ZodType<unknown, string>>(item: T) =>
  z
    .union([z.string(), z.array(z.string())])
    .transform((v) => (Array.isArray(v) ? v : [v]).flatMap((s) => s.split(',')).filter(Boolean))
    .pipe(z.array(item));

const pyStatus = z.enum(PY_STATUSES, { error: `must be one of ${PY_STATUSES.join(', ')}` });

export const nextScheduledQuery = z.object({
  worker_id: example(text(200), 'render-1'),
  namespace: name(EXAMPLE.namespace).optional(),
  lease_seconds: z.coerce
    .number()
    .int()
    .min(PY_LEASE_MIN)
    .max(PY_LEASE_MAX)
    .optional()
    .describe(`The lease, in seconds; default ${PY_LEASE_SECONDS}.`),
  tasks: csv(nameSchema).optional().describe('Only these task names (comma-separated); default every name.'),
});

export const rescheduleQuery = z.object({ eta: pyTime.optional() });

export const byKeyQuery = z.object({
  namespace: name(EXAMPLE.namespace).optional(),
  stati: csv(pyStatus).optional().describe('Statuses to look in (repeat or comma-separate); default scheduled, retry.'),
});

export const byKeyNamespacedQuery = byKeyQuery.omit({ namespace: true });

/** PUT /tasks/by_status: Python took the status, namespace and its pagination in the body. */
export const byStatusBody = z
  .object({
    status: pyStatus.nullable().optional(),
    namespace: example(nameSchema.nullable(), EXAMPLE.namespace).optional(),
    skip: z.number().int().min(0).max(100_000).nullable().optional(),
    limit: z.number().int().min(1).max(500).nullable().optional(),
    sort: z.unknown().optional().describe('Accepted and ignored: newest submission first.'),
  })
  .meta({ id: 'CompatTasksByStatus' });

export const byStatusOut = z
  .object({
    data: z.array(pyTaskOut),
    max_results: z.number().int().describe('How many tasks match in all.'),
    skip: z.number().int(),
    limit: z.number().int(),
    sort: z.unknown(),
  })
  .meta({ id: 'CompatTaskPage' });

/** A Python event (TEventixEvent). */
export const pyEventBody = wholeExample(
  z
    .object({
      name: name(EXAMPLE.eventName),
      namespace: example(nameSchema.nullable(), EXAMPLE.namespace).optional(),
      payload: z.record(z.string(), jsonValue, { error: 'must be a JSON object' }).nullable().optional(),
      priority: priority.nullable().optional(),
      operator: nullableText(200, EXAMPLE.operator).optional(),
      timestamp: pyTime.nullable().optional(),
    })
    .meta({ id: 'CompatEvent', description: 'An event in the Python Eventix format (TEventixEvent).' }),
  { name: EXAMPLE.eventName, namespace: 'default', payload: { branch: 'main' }, priority: 0, operator: 'unknown', timestamp: TIME_EXAMPLE },
);

export const pyTaskListOut = z.array(pyTaskOut).meta({ id: 'CompatTaskList' });
