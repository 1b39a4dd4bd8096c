import { sql } from 'drizzle-orm';
import { bigserial, boolean, check, index, integer, jsonb, pgTable, smallint, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { ts } from './columns.ts';

/** Cron schedules, stored so that any number of schedulers share them (issue 5). */
export const schedules = pgTable(
  'schedules',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    name: text('name').notNull(),
    namespace: text('namespace').notNull().default('default'),
    cron: text('cron').notNull(),
    timezone: text('timezone').notNull().default('UTC'),
    task: text('task').notNull(),
    args: jsonb('args').$type<unknown[]>().notNull().default(sql`'[]'::jsonb`),
    kwargs: jsonb('kwargs').$type<Record<string, unknown>>().notNull().default(sql`'{}'::jsonb`),
    priority: smallint('priority').notNull().default(0),
    /** Retry and result options for the tasks it submits (the submit fields, snake_case). */
    options: jsonb('options').$type<Record<string, unknown>>().notNull().default(sql`'{}'::jsonb`),
    enabled: boolean('enabled').notNull().default(true),
    misfire: text('misfire').$type<'skip' | 'all' | 'none'>().notNull().default('skip'),
    /** false: skip a fire while the previous fire's task is still waiting or running. */
    overlap: boolean('overlap').notNull().default(true),
    lastFiredAt: ts('last_fired_at'),
    nextFireAt: ts('next_fire_at'),
    /** Where the definition came from: 'api' (or CLI) or 'file' (upserted from a config file at start). */
    source: text('source').notNull().default('api'),
    revision: integer('revision').notNull().default(1),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('schedules_name_key').on(t.name),
    check('schedules_misfire_valid', sql`${t.misfire} in ('skip', 'all', 'none')`),
    check('schedules_args_is_array', sql`jsonb_typeof(${t.args}) = 'array'`),
    check('schedules_kwargs_is_object', sql`jsonb_typeof(${t.kwargs}) = 'object'`),
    check('schedules_options_is_object', sql`jsonb_typeof(${t.options}) = 'object'`),
    // The scheduler's probe: enabled schedules that are due, soonest first.
    index('schedules_due_idx').on(t.nextFireAt).where(sql`${t.enabled}`),
  ],
);

/**
 * One row per fire time of a schedule: the database-enforced "exactly once per instant". A
 * scheduler inserts here in the same transaction as the task it submits; a second scheduler
 * firing the same instant hits the unique key and creates nothing.
 */
export const scheduleFires = pgTable(
  'schedule_fires',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    scheduleName: text('schedule_name').notNull(),
    fireAt: ts('fire_at').notNull(),
    /** The task submitted for this fire; null when the fire was skipped (overlap: false). */
    taskUid: uuid('task_uid'),
    outcome: text('outcome').$type<'submitted' | 'skipped_overlap' | 'manual'>().notNull().default('submitted'),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('schedule_fires_once_idx').on(t.scheduleName, t.fireAt),
    check('schedule_fires_outcome_valid', sql`${t.outcome} in ('submitted', 'skipped_overlap', 'manual')`),
    index('schedule_fires_created_idx').on(t.createdAt),
  ],
);
