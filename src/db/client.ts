import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import type { Logger } from '../logger.ts';
import { allowPreparedStatements } from './executor.ts';
import * as schema from './schema/index.ts';

export type Drizzle = NodePgDatabase<typeof schema>;

/**
 * The handle every service receives. `pool` serves the hand-written hot-path SQL, `db` the
 * drizzle query builder for everything else; both share the same connections.
 */
export interface Database {
  pool: pg.Pool;
  db: Drizzle;
  /**
   * The settings the pool's connections are made with (server, credentials, type parsers), for a
   * connection of one's own outside the pool: the process's LISTEN connection (Notifier).
   */
  connection: pg.ClientConfig;
  close(): Promise<void>;
}

/**
 * The type parsers of Eventix's own connections: bigint (int8) columns as JS numbers, since ids
 * and fencing tokens stay far below 2^53; everything else as pg parses it. Passed to every pool
 * we create, and through Database.connection to the clients made outside it (the notifier's
 * LISTEN connection). Never set on pg's global parsers: that changed int8 for every pg user in the host
 * process, including its own pools and other libraries.
 */
export const pgTypes = new pg.TypeOverrides();
pgTypes.setTypeParser(pg.types.builtins.INT8, (v) => Number.parseInt(v, 10));

export function createDatabase(opts: {
  url: string;
  max?: number;
  logger?: Logger;
  applicationName?: string;
  /** Prepare the hot statements once per connection (default on). Off behind PgBouncer < 1.21 in transaction mode. */
  preparedStatements?: boolean;
}): Database {
  const connection: pg.ClientConfig = {
    connectionString: opts.url,
    application_name: opts.applicationName ?? 'eventix',
    types: pgTypes,
    // Keeps a dead server from hanging a request forever; the pool reports and we retry upstream.
    connectionTimeoutMillis: 10_000,
  };
  const pool = new pg.Pool({ ...connection, max: opts.max ?? 10 });
  // An idle client losing its connection (server restart, PgBouncer recycle) must not crash the process.
  pool.on('error', (err) => opts.logger?.warn({ err }, 'idle database connection failed'));
  // pg-pool listens to a client's 'error' only while it is idle: one that loses its connection
  // while checked out (between two statements of a transaction, in drizzle or user code) would
  // emit 'error' unlistened and end the process. The statement in flight or the next fails anyway,
  // and release() then discards the client (it is no longer queryable): listening is all it needs.
  pool.on('connect', (client) => client.on('error', () => {}));
  if (opts.preparedStatements ?? true) allowPreparedStatements(pool);
  const db = drizzle(pool, { schema });
  let closed = false;
  return {
    pool,
    db,
    connection,
    async close() {
      if (closed) return;
      closed = true;
      await pool.end();
    },
  };
}
