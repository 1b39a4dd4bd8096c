import { sql } from 'drizzle-orm';
import { bigint, check, doublePrecision, integer, pgTable, primaryKey, smallint, text } from 'drizzle-orm/pg-core';
import { ts } from './columns.ts';

/**
 * The dashboard's rollup of the tasks table (src/queue/rollup.ts). Counting finished tasks reads
 * every row (no index covers done rows, on purpose: see the tasks schema), too slow for a page
 * that refreshes every few seconds in many tabs. So a background pass counts them once every
 * ~30 s, whichever process gets there first, and the overview reads these few rows instead.
 * Each pass replaces the contents in one transaction: a reader sees one whole pass or the other.
 */

/** Tasks per namespace and status, as of the last pass. */
export const taskRollupTotals = pgTable(
  'task_rollup_totals',
  {
    namespace: text('namespace').notNull(),
    status: text('status').notNull(),
    n: bigint('n', { mode: 'number' }).notNull(),
  },
  (t) => [primaryKey({ name: 'task_rollup_totals_pkey', columns: [t.namespace, t.status] })],
);

/** Tasks that finished done or error in each minute of the last hour, per namespace. */
export const taskRollupMinutes = pgTable(
  'task_rollup_minutes',
  {
    /** The start of the minute (finished_at truncated to the minute). */
    minute: ts('minute').notNull(),
    namespace: text('namespace').notNull(),
    done: integer('done').notNull().default(0),
    failed: integer('failed').notNull().default(0),
  },
  (t) => [primaryKey({ name: 'task_rollup_minutes_pkey', columns: [t.minute, t.namespace] })],
);

/**
 * One row: when the last pass ran. A process claims a pass by moving refreshed_at forward only if
 * it is old enough, in the same transaction as the recompute, so N processes make one pass.
 */
export const taskRollupState = pgTable(
  'task_rollup_state',
  {
    id: smallint('id').primaryKey(),
    refreshedAt: ts('refreshed_at').notNull(),
    /** How long the last recompute took, in milliseconds: its cost to the database. */
    durationMs: doublePrecision('duration_ms'),
    /** How many task rows the last pass counted. */
    rowsCounted: bigint('rows_counted', { mode: 'number' }),
  },
  (t) => [check('task_rollup_state_one_row', sql`${t.id} = 1`)],
);
