import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { createDatabase } from '../../src/db/client.ts';
import { startEmbeddedPostgres } from '../../src/db/embedded.ts';
import { migrate } from '../../src/db/migrate.ts';
import { pgCtl } from '../../src/db/pg-ctl.ts';

export type ShutdownMode = 'fast' | 'immediate';

/**
 * A PostgreSQL server of one test file's own, which it may restart and whose connections it may
 * kill. The suite's shared server must never be restarted: other files use it in parallel. It is
 * always embedded (even when the suite runs on DATABASE_URL), because restarting needs pg_ctl on
 * the server's own data folder.
 */
export interface RestartablePostgres {
  /** URL of a migrated database `eventix` on the server. */
  url: string;
  port: number;
  pgdata: string;
  /** `pg_ctl restart -m <mode>`; resolves once the server accepts connections again. */
  restart(mode: ShutdownMode): Promise<void>;
  /** `pg_ctl stop -m <mode>`: the server stays down until start(), so a test can look at the outage. */
  shutdown(mode: ShutdownMode): Promise<void>;
  start(): Promise<void>;
  /** pg_terminate_backend on every backend of database `eventix` whose application_name is LIKE the pattern. */
  terminate(applicationNameLike?: string): Promise<Record<string, number>>;
  /** One statement on a connection of its own, never one of the pools under test. */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<R[]>;
  stop(): Promise<void>;
}

export async function startRestartablePostgres(): Promise<RestartablePostgres> {
  const root = await mkdtemp(path.join(tmpdir(), 'eventix-restart-'));
  await chmod(root, 0o755);
  // Not `ephemeral`: its synchronous_commit=off lets an immediate shutdown lose transactions that
  // had already reported commit (a task submitted just before the restart vanished). fsync off is
  // safe here: only PostgreSQL crashes, never the operating system, so written WAL survives.
  const server = await startEmbeddedPostgres({ dataDir: root, port: 0, settings: { fsync: 'off' } });
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  await admin.query('create database eventix');
  await admin.end();
  const url = new URL(server.url);
  url.pathname = '/eventix';
  const database = createDatabase({ url: url.toString(), max: 1 });
  await migrate(database.pool);
  await database.close();

  const query = async <R extends pg.QueryResultRow>(sql: string, params: unknown[] = []) => {
    const c = new pg.Client({ connectionString: url.toString(), application_name: 'test-probe' });
    c.on('error', () => {});
    await c.connect();
    try {
      return (await c.query<R>(sql, params)).rows;
    } finally {
      await c.end().catch(() => {});
    }
  };

  return {
    url: url.toString(),
    port: server.port,
    pgdata: server.dataDir,
    query,
    restart: (mode) => pgCtl(server.dataDir, ['restart', '-m', mode, '-w']),
    shutdown: (mode) => pgCtl(server.dataDir, ['stop', '-m', mode, '-w']),
    start: () => pgCtl(server.dataDir, ['start', '-w']),
    async terminate(like = 'eventix%') {
      const rows = await query<{ app: string; n: number }>(
        // Materialized first, so pg_terminate_backend never runs on a row the filters would drop (ourselves).
        `with victims as materialized (
           select pid, application_name from pg_stat_activity
            where datname = 'eventix' and pid <> pg_backend_pid() and application_name like $1
         )
         select application_name as app, count(*)::int as n from victims where pg_terminate_backend(pid) group by application_name`,
        [like],
      );
      return Object.fromEntries(rows.map((r) => [r.app, r.n]));
    },
    async stop() {
      await server.stop();
      await rm(root, { recursive: true, force: true });
    },
  };
}
