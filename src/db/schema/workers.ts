import { index, integer, pgTable, text } from 'drizzle-orm/pg-core';
import { ts } from './columns.ts';

/**
 * Worker presence (src/worker/presence.ts): one row per running library Worker, upserted when it
 * starts and then every few seconds, deleted when it stops. The dashboard lists live workers from
 * here, idle ones included, which the tasks table cannot show (only leases name a worker). A
 * worker killed without stopping leaves its row; last_seen_at then ages, the overview shows it as
 * gone quiet, and maintenance deletes it after an hour. Remote (HTTP) workers have no row.
 */
export const workers = pgTable(
  'workers',
  {
    /** The worker id, as recorded in tasks.worker_id. */
    id: text('id').primaryKey(),
    host: text('host'),
    pid: integer('pid'),
    namespaces: text('namespaces').array(),
    /** The task names it has handlers for. */
    tasks: text('tasks').array(),
    concurrency: integer('concurrency'),
    /** The Eventix version it runs. */
    version: text('version'),
    startedAt: ts('started_at'),
    /** The database's now() at its latest upsert. */
    lastSeenAt: ts('last_seen_at').notNull(),
  },
  (t) => [index('workers_last_seen_idx').on(t.lastSeenAt)],
);

export type WorkerRow = typeof workers.$inferSelect;
