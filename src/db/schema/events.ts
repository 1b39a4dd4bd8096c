import { sql } from 'drizzle-orm';
import { bigserial, boolean, check, index, integer, jsonb, pgTable, smallint, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { ts } from './columns.ts';

/** Events received through POST /events, kept subject to retention (issue 5). */
export const events = pgTable(
  'events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    uid: uuid('uid').notNull().defaultRandom(),
    name: text('name').notNull(),
    namespace: text('namespace').notNull().default('default'),
    payload: jsonb('payload').$type<Record<string, unknown>>().notNull().default(sql`'{}'::jsonb`),
    priority: smallint('priority').notNull().default(0),
    operator: text('operator'),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('events_uid_key').on(t.uid),
    check('events_payload_is_object', sql`jsonb_typeof(${t.payload}) = 'object'`),
    index('events_name_created_idx').on(t.name, t.createdAt, t.id),
    index('events_created_idx').on(t.createdAt),
  ],
);

/** Triggers are data, never code: a filter on the payload and a task template. */
export const triggers = pgTable(
  'triggers',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    name: text('name').notNull(),
    eventName: text('event_name').notNull(),
    /** null matches events of every namespace. */
    namespace: text('namespace'),
    filter: jsonb('filter').$type<unknown>(),
    template: jsonb('template').$type<Record<string, unknown>>().notNull(),
    enabled: boolean('enabled').notNull().default(true),
    revision: integer('revision').notNull().default(1),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('triggers_name_key').on(t.name),
    check('triggers_template_is_object', sql`jsonb_typeof(${t.template}) = 'object'`),
    index('triggers_event_idx').on(t.eventName).where(sql`${t.enabled}`),
  ],
);
