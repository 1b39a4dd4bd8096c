import { z } from 'zod';
import { SUBMIT_DEFAULTS } from '../db/schema/tasks.ts';
import { TASK_STATUSES } from '../queue/states.ts';
import { claimedOutShape, taskError, taskOutShape, wireSubmitShape } from '../queue/task-fields.ts';
import { jsonValue } from '../validation/json.ts';
import { nameSchema as name } from '../validation/names.ts';
import { isoDateTime as dateTime, storable } from '../validation/zod.ts';

/**
 * The wire format of the API, snake_case like Eventix's. These zod schemas validate requests,
 * type the TypeScript client, and generate the OpenAPI document: one definition, three uses. The
 * task's own schemas (TaskSubmit, Task) are derived from the field table, src/queue/task-fields.ts.
 */

export const uidSchema = z.uuid({ error: 'must be a UUID' });

export const MAX_BATCH_HTTP = 10_000;

export const submitBody = z
  .strictObject(wireSubmitShape())
  .superRefine((b, ctx) => {
    // The one check of this rule for HTTP bodies (normalizeWire trusts it), naming the wire field.
    const inc = typeof b.error_eta_inc === 'number' ? b.error_eta_inc : SUBMIT_DEFAULTS.errorEtaInc;
    if (typeof b.error_eta_max === 'number' && b.error_eta_max < inc) {
      ctx.addIssue({ code: 'custom', path: ['error_eta_max'], message: `must be at least error_eta_inc (${inc})` });
    }
  })
  .meta({ id: 'TaskSubmit' });
export type SubmitBody = z.infer<typeof submitBody>;

export const batchBody = z
  .strictObject({
    tasks: z
      .array(submitBody)
      .min(1)
      .max(MAX_BATCH_HTTP, { error: `at most ${MAX_BATCH_HTTP} tasks per batch` }),
  })
  .meta({ id: 'TaskBatch' });

export { taskError };

export const taskOut = z.object(taskOutShape()).meta({ id: 'Task' });
export type TaskJson = z.infer<typeof taskOut>;

export const claimedTaskOut = taskOut.extend(claimedOutShape()).meta({ id: 'ClaimedTask' });
export type ClaimedTaskJson = z.infer<typeof claimedTaskOut>;

export const submitResultOut = z.object({ created: z.boolean(), task: taskOut }).meta({ id: 'SubmitResult' });
export const batchResultOut = z.object({ results: z.array(submitResultOut) }).meta({ id: 'BatchResult' });

const csv = <T extends z.ZodType<unknown, string>>(item: T) =>
  z
    .union([z.string(), z.array(z.string())])
    .transform((v) => (Array.isArray(v) ? v : [v]).flatMap((s) => s.split(',')).filter(Boolean))
    .pipe(z.array(item));

export const listQuery = z.strictObject({
  namespace: name.optional(),
  status: csv(z.enum(TASK_STATUSES, { error: `must be one of ${TASK_STATUSES.join(', ')}` })).optional(),
  task: name.optional(),
  unique_key: storable(z.string().min(1).max(500)).optional(),
  created_after: dateTime.optional(),
  created_before: dateTime.optional(),
  updated_after: dateTime.optional(),
  updated_before: dateTime.optional(),
  limit: z.coerce.number().int().min(1).max(500).optional(),
  cursor: z.string().min(1).max(200).optional(),
});
export type ListQuery = z.infer<typeof listQuery>;

export const taskPageOut = z.object({ tasks: z.array(taskOut), next_cursor: z.string().nullable() }).meta({ id: 'TaskPage' });

export const rescheduleBody = z.strictObject({ eta: dateTime.optional() }).meta({ id: 'Reschedule' });

const workerId = storable(z.string().min(1).max(200));
export const LEASE_MIN = 5;
export const LEASE_MAX = 3600;
export const claimBody = z
  .strictObject({
    worker_id: workerId,
    namespace: name.optional(),
    tasks: z.array(name).min(1).max(1000),
    limit: z.number().int().min(1).max(1000).optional(),
    lease_seconds: z.number().int().min(LEASE_MIN).max(LEASE_MAX).optional(),
    wait_seconds: z
      .number()
      .min(0)
      .max(60)
      .optional()
      .describe('Long-poll: wait up to this long for a task before answering with an empty list.'),
  })
  .meta({ id: 'Claim' });
export const claimOut = z.object({ tasks: z.array(claimedTaskOut) }).meta({ id: 'ClaimResult' });

const leaseFields = { worker_id: workerId, fencing_token: z.number().int().min(1) };
export const heartbeatBody = z
  .strictObject({
    ...leaseFields,
    lease_seconds: z
      .number()
      .int()
      .min(LEASE_MIN)
      .max(LEASE_MAX)
      .optional()
      .describe('The new lease, from now. Omitted: the length the claim (or the last heartbeat that named one) gave.'),
  })
  .meta({ id: 'Heartbeat' });
export const heartbeatOut = z
  .object({ lease_expires_at: z.string().nullable(), cancel_requested: z.boolean() })
  .meta({ id: 'HeartbeatResult' });
export const completeBody = z.strictObject({ ...leaseFields, result: jsonValue.optional() }).meta({ id: 'Complete' });
export const releaseBody = z.strictObject(leaseFields).meta({ id: 'Release' });
export const releaseOut = z
  .object({
    status: z
      .enum(TASK_STATUSES)
      .describe('scheduled or retry: due again at once, the attempt not counted; cancelled if a cancel was requested meanwhile.'),
  })
  .meta({ id: 'ReleaseResult' });
export const failBody = z
  .strictObject({
    ...leaseFields,
    error: z.strictObject({
      class: storable(z.string().min(1).max(200)).optional(),
      message: storable(z.string().max(100_000)),
      stack: storable(z.string().max(100_000)).optional(),
      payload: jsonValue.optional(),
      reason: z.enum(['timeout', 'cancelled']).optional().describe('Why the worker aborted the attempt, as the library worker records it.'),
    }),
    retry: z.boolean().optional().describe('false fails at once, whatever retries remain.'),
  })
  .meta({ id: 'Fail' });
export const failOut = z.object({ status: z.enum(TASK_STATUSES), eta: z.string() }).meta({ id: 'FailResult' });

export const problemOut = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string().optional(),
    errors: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
  })
  .meta({ id: 'Problem' });

const statusCounts = z.object(
  Object.fromEntries(TASK_STATUSES.map((s) => [s, z.number().int()])) as Record<(typeof TASK_STATUSES)[number], z.ZodNumber>,
);
export const namespacesOut = z
  .object({ namespaces: z.array(z.object({ namespace: z.string(), counts: statusCounts, total: z.number().int() })) })
  .meta({ id: 'Namespaces' });
const finished = z.object({ last_minute: z.number().int(), last_hour: z.number().int() });
export const statsOut = z
  .object({
    at: z.string(),
    namespaces: z.array(
      z.object({
        namespace: z.string(),
        counts: statusCounts,
        tasks: z.array(z.object({ task: z.string(), counts: statusCounts })),
        oldest_waiting_age_seconds: z.number().nullable(),
        completed: finished,
        failed: finished,
      }),
    ),
  })
  .meta({ id: 'Stats' });
