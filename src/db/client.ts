import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import type { Logger } from '../logger.ts';
import { allowPreparedStatements } from '../queue/executor.ts';
import * as schema from './schema/index.ts';

export type Drizzle = NodePgDatabase<typeof schema>;

/**
 * The handle every service receives. `pool` serves the hand-written hot-path SQL, `db` the
 * drizzle query builder for everything else; both share the same connections.
 */
export interface Database {
  pool: pg.Pool;
  db: Drizzle;
  close(): Promise<void>;
}

// Return bigint (int8) columns as JS numbers: ids and fencing tokens stay far below 2^53.
pg.types.setTypeParser(20, (v) => Number.parseInt(v, 10));

export function createDatabase(opts: {
  url: string;
  max?: number;
  logger?: Logger;
  applicationName?: string;
  /** Prepare the hot statements once per connection (default on). Off behind PgBouncer < 1.21 in transaction mode. */
  preparedStatements?: boolean;
}): Database {
  const pool = new pg.Pool({
    connectionString: opts.url,
    max: opts.max ?? 10,
    application_name: opts.applicationName ?? 'eventix',
    // Keeps a dead server from hanging a request forever; the pool reports and we retry upstream.
    connectionTimeoutMillis: 10_000,
  });
  // An idle client losing its connection (server restart, PgBouncer recycle) must not crash the process.
  pool.on('error', (err) => opts.logger?.warn({ err }, 'idle database connection failed'));
  if (opts.preparedStatements ?? true) allowPreparedStatements(pool);
  const db = drizzle(pool, { schema });
  let closed = false;
  return {
    pool,
    db,
    async close() {
      if (closed) return;
      closed = true;
      await pool.end();
    },
  };
}
