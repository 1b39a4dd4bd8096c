import { sql } from 'drizzle-orm';
import { bigint, bigserial, check, index, integer, jsonb, pgTable, primaryKey, text } from 'drizzle-orm/pg-core';
import { ts } from './columns.ts';

/**
 * One row per import that committed (issue 16): what it read, what it did, and whether it was
 * rolled back since. Written in the import's own transaction, so an import cut short by Ctrl-C or
 * a crash leaves no row here and nothing elsewhere.
 */
export const imports = pgTable(
  'imports',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    /** The importer: python-eventix, python-eventix-mongo, valkey, medbilldozer, compass. */
    source: text('source').notNull(),
    /** Which store it read (a database address without its password, a file's path): the lock key. */
    sourceKey: text('source_key').notNull(),
    options: jsonb('options').$type<Record<string, unknown>>().notNull().default(sql`'{}'::jsonb`),
    status: text('status').$type<'committed' | 'rolled_back'>().notNull().default('committed'),
    created: integer('created').notNull().default(0),
    updated: integer('updated').notNull().default(0),
    unchanged: integer('unchanged').notNull().default(0),
    refused: integer('refused').notNull().default(0),
    skipped: integer('skipped').notNull().default(0),
    /** The first refusals and skips, `{kind, field, message}`: enough to act on, never the whole source. */
    report: jsonb('report').$type<unknown[]>().notNull().default(sql`'[]'::jsonb`),
    operator: text('operator'),
    startedAt: ts('started_at').notNull(),
    finishedAt: ts('finished_at').notNull().defaultNow(),
    rolledBackAt: ts('rolled_back_at'),
  },
  (t) => [
    check('imports_status_valid', sql`${t.status} in ('committed', 'rolled_back')`),
    index('imports_source_idx').on(t.sourceKey, t.id),
  ],
);

/**
 * What an import created or changed, row by row: its key in the target table, the state it
 * wrote (`after`) and, for a change, the state it replaced (`before`). Rollback deletes what was
 * created and restores what was changed, and refuses when a row no longer holds `after`.
 */
export const importItems = pgTable(
  'import_items',
  {
    importId: bigint('import_id', { mode: 'number' })
      .notNull()
      .references(() => imports.id, { onDelete: 'cascade' }),
    seq: integer('seq').notNull(),
    /** The target: task, schedule, trigger, event, commit_status, benchmark_run. */
    kind: text('kind').notNull(),
    key: text('key').notNull(),
    action: text('action').$type<'created' | 'updated'>().notNull(),
    before: jsonb('before'),
    after: jsonb('after').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.importId, t.seq] }),
    check('import_items_action_valid', sql`${t.action} in ('created', 'updated')`),
    index('import_items_key_idx').on(t.kind, t.key),
  ],
);
