import { sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  boolean,
  check,
  index,
  integer,
  jsonb,
  pgSequence,
  pgTable,
  smallint,
  text,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import type { TaskStatus } from '../../queue/states.ts';
import type { AttemptError, TaskError } from '../../queue/task.ts';
import { ts } from './columns.ts';

/**
 * What a submission that leaves a field out gets, in the one place it is said: the columns below
 * take their defaults from here (so a raw SQL insert gets them too), and submit fills them in
 * (src/queue/submit-input.ts) and sends them as its statement's defaults (src/queue/submit-statement.ts).
 */
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
const D = SUBMIT_DEFAULTS;

/** Source of fencing tokens: strictly increasing across all claims, so a stale token can never match again. */
export const fencingTokenSeq = pgSequence('tasks_fencing_token_seq', { startWith: 1, cache: 1 });

export const tasks = pgTable(
  'tasks',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    uid: uuid('uid').notNull().defaultRandom().unique('tasks_uid_key'),
    task: text('task').notNull(),
    namespace: text('namespace').notNull().default(D.namespace),
    status: text('status').$type<TaskStatus>().notNull().default('scheduled'),
    /** Higher runs first. smallint keeps the claim index narrow and bounds bad input. */
    priority: smallint('priority').notNull().default(D.priority),
    eta: ts('eta').notNull().defaultNow(),
    args: jsonb('args').$type<unknown[]>().notNull().default(sql`'[]'::jsonb`),
    kwargs: jsonb('kwargs').$type<Record<string, unknown>>().notNull().default(sql`'{}'::jsonb`),
    uniqueKey: text('unique_key'),

    // Retry policy. error_eta_inc/error_eta_max keep Eventix's names: backoff start and cap, seconds.
    retry: boolean('retry').notNull().default(D.retry),
    maxRetries: integer('max_retries').default(D.maxRetries),
    errorEtaInc: integer('error_eta_inc').notNull().default(D.errorEtaInc),
    errorEtaMax: integer('error_eta_max').notNull().default(D.errorEtaMax),
    timeoutSeconds: integer('timeout_seconds'),

    // Result policy. *_expires are seconds after finishing; null keeps the row forever.
    storeResult: boolean('store_result').notNull().default(D.storeResult),
    resultExpires: integer('result_expires').default(D.resultExpires),
    errorExpires: integer('error_expires').default(D.errorExpires),
    result: jsonb('result'),
    error: jsonb('error').$type<TaskError>(),
    /** The failed attempts, oldest first, the last 20 only (see src/queue/attempt-errors.ts). Written by failures only. */
    attemptErrors: jsonb('attempt_errors').$type<AttemptError[]>(),
    /** When prune may delete the row; set when the task reaches a final status. */
    expiresAt: ts('expires_at'),

    // Bookkeeping.
    attempts: integer('attempts').notNull().default(0),
    workerId: text('worker_id'),
    leaseExpiresAt: ts('lease_expires_at'),
    /** The lease length the latest claim (or a heartbeat since) gave: a heartbeat that names none renews by it. */
    leaseSeconds: integer('lease_seconds'),
    /** Fresh on every claim; every later state change by the worker must present it. */
    fencingToken: bigint('fencing_token', { mode: 'number' }),
    /** Set by cancel on a running task; its worker aborts the handler at the next heartbeat. */
    cancelRequested: boolean('cancel_requested').notNull().default(false),
    operator: text('operator'),
    /** Set on tasks a schedule submitted: which schedule, and for which fire time. */
    scheduleName: text('schedule_name'),
    scheduleFireAt: ts('schedule_fire_at'),
    /** Set on tasks an event's trigger submitted. */
    eventUid: uuid('event_uid'),
    triggerName: text('trigger_name'),
    /** The W3C trace context (traceparent, tracestate) the submit ran in, when it was traced (src/tracing.ts). */
    traceContext: jsonb('trace_context').$type<Record<string, string>>(),
    revision: integer('revision').notNull().default(1),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
    startedAt: ts('started_at'),
    finishedAt: ts('finished_at'),
  },
  (t) => [
    check('tasks_status_valid', sql`${t.status} in ('scheduled', 'processing', 'done', 'error', 'retry', 'cancelled')`),
    check('tasks_args_is_array', sql`jsonb_typeof(${t.args}) = 'array'`),
    check('tasks_kwargs_is_object', sql`jsonb_typeof(${t.kwargs}) = 'object'`),
    check('tasks_max_retries_non_negative', sql`${t.maxRetries} is null or ${t.maxRetries} >= 0`),
    check('tasks_backoff_positive', sql`${t.errorEtaInc} > 0 and ${t.errorEtaMax} >= ${t.errorEtaInc}`),
    check('tasks_task_name_not_empty', sql`length(${t.task}) between 1 and 200`),
    check('tasks_namespace_not_empty', sql`length(${t.namespace}) between 1 and 200`),
    check(
      'tasks_processing_has_lease',
      sql`${t.status} <> 'processing' or (${t.workerId} is not null and ${t.leaseExpiresAt} is not null and ${t.fencingToken} is not null)`,
    ),
    // The claim query's filter and ORDER BY, exactly: a claim reads a few index entries, never the heap of finished rows.
    index('tasks_claim_idx').on(t.namespace, t.priority.desc(), t.eta, t.id).where(sql`${t.status} in ('scheduled', 'retry')`),
    // unique_key is atomic per namespace among waiting tasks only: a processing task does not block a new one.
    uniqueIndex('tasks_unique_key_waiting_idx')
      .on(t.namespace, t.uniqueKey)
      .where(sql`${t.uniqueKey} is not null and ${t.status} in ('scheduled', 'retry')`),
    index('tasks_unique_key_idx').on(t.namespace, t.uniqueKey).where(sql`${t.uniqueKey} is not null`),
    // Rows holding a lease (every processing row, by tasks_processing_has_lease; every move out of
    // processing clears it). Not `status = 'processing'`: a completion, fail or heartbeat says
    // that, so the planner could BitmapAnd this index with tasks_uid_key, and a bitmap scan reads
    // every entry, dead ones too, never marking them. After 20,000 completions that was 20,000
    // entries per statement, and half of PostgreSQL's time with 4 worker processes (migration 0012).
    // Only a statement that compares lease_expires_at (rescue, the dashboard) can use this one.
    index('tasks_lease_idx').on(t.leaseExpiresAt).where(sql`${t.leaseExpiresAt} is not null`),
    index('tasks_expires_idx').on(t.expiresAt).where(sql`${t.expiresAt} is not null`),
    // No index over every row for listing: each one costs a write on every submit and every
    // status change (measured: 10% of a bulk submit). Lists go newest first by id, which is the
    // primary key; the partial indexes above serve waiting and running tasks, and this one the
    // failed and cancelled ones, which are rare among finished tasks but what operators look for.
    index('tasks_failed_idx').on(t.namespace, t.id).where(sql`${t.status} in ('error', 'cancelled')`),
    index('tasks_schedule_idx').on(t.scheduleName, t.scheduleFireAt).where(sql`${t.scheduleName} is not null`),
    index('tasks_event_idx').on(t.eventUid).where(sql`${t.eventUid} is not null`),
  ],
);

export type TaskRow = typeof tasks.$inferSelect;
