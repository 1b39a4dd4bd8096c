import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath, pathToFileURL } from 'node:url';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { type EmbeddedPostgres, EmbeddedPostgresError, startEmbeddedPostgres } from '../../src/db/embedded.ts';
import { createLogger } from '../../src/logger.ts';
import { ROOT, waitForOutput } from '../helpers/cli.ts';
import { nextEvent, waitFor } from '../helpers/wait.ts';

/**
 * These tests run real PostgreSQL servers (not the suite's shared one): each in its own temp
 * folder, so they prove what a user sees on a laptop — restarts, a busy port, a leftover lock file,
 * a server orphaned by `kill -9`, and a second Eventix on the same folder.
 */

const EMBEDDED_TS = fileURLToPath(new URL('../../src/db/embedded.ts', import.meta.url));
const PG_ENTRY = createRequire(path.join(ROOT, 'package.json')).resolve('pg');

const dirs: string[] = [];
/** Pids of owner scripts, so none outlives a failed test (they may no longer be our children). */
const owners = new Set<number>();

/** A fresh folder the `postgres` OS user can reach (it runs the server when we are root). */
async function tempDir(prefix = 'eventix-embedded-'): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  await chmod(dir, 0o755);
  dirs.push(dir);
  return dir;
}

async function query<T extends pg.QueryResultRow>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<T>(sql, params)).rows;
  } finally {
    await c.end();
  }
}

function pgdataOf(dir: string): string {
  return path.join(dir, 'pgdata');
}

async function postmasterPid(dir: string): Promise<number | undefined> {
  try {
    const pid = Number((await readFile(path.join(pgdataOf(dir), 'postmaster.pid'), 'utf8')).split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
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

function parentPid(pid: number): number | undefined {
  try {
    const m = /^PPid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

function cmdlineOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}

/** A pid that certainly belonged to a process that has exited (and been reaped). */
async function deadPid(): Promise<number> {
  const child = spawn('true', { stdio: 'ignore' });
  const pid = child.pid;
  if (pid === undefined) throw new Error('could not spawn `true`');
  if (child.exitCode === null) await nextEvent(child, 'exit', 10_000);
  return pid;
}

/** A logger whose lines the test can read back. */
function capturingLogger() {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  return { logger: createLogger('debug', sink), lines };
}

/**
 * A stand-in for an Eventix process, as a script file (tsx cannot run TypeScript with imports from
 * `-e`): starts embedded PostgreSQL on the folder given as argument, writes a row, prints
 * `READY <pid>`, then idles until killed.
 */
async function ownerScript(): Promise<string> {
  const script = path.join(await tempDir('eventix-embedded-script-'), 'owner.mts');
  await writeFile(
    script,
    [
      `import pg from ${JSON.stringify(pathToFileURL(PG_ENTRY).href)};`,
      `import { startEmbeddedPostgres } from ${JSON.stringify(pathToFileURL(EMBEDDED_TS).href)};`,
      'const server = await startEmbeddedPostgres({ dataDir: process.argv[2]!, port: 0 });',
      'const c = new pg.Client({ connectionString: server.url });',
      'await c.connect();',
      "await c.query('create table notes (body text not null)');",
      "await c.query(`insert into notes values ('written by the killed owner')`);",
      'await c.end();',
      "process.stdout.write('READY ' + process.pid + '\\n');",
      'setInterval(() => {}, 1 << 30);',
      '',
    ].join('\n'),
  );
  return script;
}

/**
 * Python, because Node cannot call prctl: become a child subreaper (as `systemd --user` is on a
 * desktop), run the command given as arguments, and keep reaping whatever gets adopted until
 * SIGTERM, which also kills the command if it still runs (so a failed test leaves no owner behind).
 */
const SUBREAPER_PY = `
import ctypes, os, signal, subprocess, sys, time
if ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0) != 0:  # PR_SET_CHILD_SUBREAPER
    sys.exit('prctl(PR_SET_CHILD_SUBREAPER) failed')
child = subprocess.Popen(sys.argv[1:])
def stop(*_):
    try:
        os.kill(child.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    os._exit(0)
signal.signal(signal.SIGTERM, stop)
while True:
    try:
        os.waitpid(-1, 0)
    except ChildProcessError:
        time.sleep(0.05)
`;

function python3Available(): boolean {
  return process.platform === 'linux' && spawnSync('python3', ['-c', 'import ctypes'], { stdio: 'ignore' }).status === 0;
}

/**
 * SIGKILL the owner that printed `READY <pid>` and wait until it is gone and its postgres has been
 * adopted by someone else. Returns the orphaned postmaster's pid and its new parent.
 */
async function killOwner(child: ChildProcess, dir: string): Promise<{ orphan: number; adopter: number }> {
  const ready = await waitForOutput(child, /^READY (\d+)$/m, 45_000);
  const owner = Number(ready[1]);
  owners.add(owner);
  const orphan = await postmasterPid(dir);
  if (orphan === undefined) throw new Error('owner printed READY but left no postmaster.pid');
  expect(parentPid(orphan)).toBe(owner);
  expect(Number((await readFile(path.join(dir, 'owner.pid'), 'utf8')).trim())).toBe(owner);

  process.kill(owner, 'SIGKILL');
  await waitFor(() => !isAlive(owner), { timeoutMs: 10_000, message: `owner ${owner} to die` });
  // The server outlives its owner: it is a separate process, now adopted by init or a subreaper.
  expect(isAlive(orphan)).toBe(true);
  const adopter = await waitFor(
    () => {
      const p = parentPid(orphan);
      return p !== undefined && p !== owner ? p : undefined;
    },
    { timeoutMs: 10_000, message: `postgres ${orphan} to be reparented` },
  );
  return { orphan, adopter };
}

/** Start embedded PostgreSQL over an orphan: the orphan must be shut down and its data kept. */
async function expectRecovery(dir: string, orphan: number): Promise<void> {
  const { logger, lines } = capturingLogger();
  const server = await startEmbeddedPostgres({ dataDir: dir, port: 0, logger });
  try {
    expect(isAlive(orphan)).toBe(false);
    const fresh = await postmasterPid(dir);
    expect(fresh).not.toBe(orphan);
    expect(parentPid(fresh!)).toBe(process.pid);
    expect(lines.some((l) => l.includes('still running; shutting it down'))).toBe(true);
    expect(await query(server.url, 'select body from notes')).toEqual([{ body: 'written by the killed owner' }]);
  } finally {
    await server.stop();
  }
}

/**
 * Safety net after a failed assertion: a postgres we started in one of our temp folders must not
 * outlive the test run. Only a pid named by our own folder's postmaster.pid, and only if that
 * process really is postgres serving that folder, is signalled.
 */
async function stopStrayServer(dir: string): Promise<void> {
  const pid = await postmasterPid(dir);
  if (!pid || !isAlive(pid)) return;
  if (!cmdlineOf(pid).split('\0').includes(pgdataOf(dir))) return;
  process.kill(pid, 'SIGINT');
  await waitFor(() => !isAlive(pid), { timeoutMs: 30_000, message: `stray postgres ${pid} to stop` });
}

afterAll(async () => {
  for (const pid of owners) {
    if (isAlive(pid) && cmdlineOf(pid).includes('owner.mts')) process.kill(pid, 'SIGKILL');
  }
  for (const dir of dirs) {
    await stopStrayServer(dir).catch((err) => process.stderr.write(`[embedded.test] ${String(err)}\n`));
    await rm(dir, { recursive: true, force: true });
  }
});

describe('embedded PostgreSQL', () => {
  it('keeps data and reuses credentials.json (mode 0600) across a stop and a restart', async () => {
    const dir = await tempDir();
    const credentialsFile = path.join(dir, 'credentials.json');

    let server: EmbeddedPostgres | undefined = await startEmbeddedPostgres({ dataDir: dir, port: 0 });
    let firstPassword: string;
    try {
      await query(server.url, 'create table notes (id int primary key, body text not null)');
      await query(server.url, 'insert into notes values (1, $1)', ['survives restarts']);
      firstPassword = JSON.parse(await readFile(credentialsFile, 'utf8')).password;
      expect(firstPassword).toMatch(/^[\w-]{20,}$/);
      expect(decodeURIComponent(new URL(server.url).password)).toBe(firstPassword);
    } finally {
      await server.stop();
    }
    expect(await postmasterPid(dir)).toBeUndefined();

    server = await startEmbeddedPostgres({ dataDir: dir, port: 0 });
    try {
      expect(await query(server.url, 'select id, body from notes')).toEqual([{ id: 1, body: 'survives restarts' }]);
      const again = JSON.parse(await readFile(credentialsFile, 'utf8'));
      expect(again).toEqual({ user: 'postgres', password: firstPassword });
      expect(decodeURIComponent(new URL(server.url).password)).toBe(firstPassword);
      expect((await stat(credentialsFile)).mode & 0o777).toBe(0o600);
    } finally {
      await server.stop();
    }
  });

  it('refuses a port that is already in use, naming the port and EVENTIX_EMBEDDED_PORT', async () => {
    const dir = await tempDir();
    const blocker = net.createServer();
    await new Promise<void>((resolve, reject) => {
      blocker.once('error', reject);
      blocker.listen(0, '127.0.0.1', resolve);
    });
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const attempt = startEmbeddedPostgres({ dataDir: dir, port });
      await expect(attempt).rejects.toBeInstanceOf(EmbeddedPostgresError);
      await expect(attempt).rejects.toThrow(`port ${port}`);
      await expect(attempt).rejects.toThrow('EVENTIX_EMBEDDED_PORT');
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
    expect(await postmasterPid(dir)).toBeUndefined();
  });

  it('starts over a stale postmaster.pid left by a dead process', async () => {
    const dir = await tempDir();
    const first = await startEmbeddedPostgres({ dataDir: dir, port: 0 });
    await first.stop();

    // What a crashed host leaves: a lock file naming a process that no longer exists.
    const dead = await deadPid();
    expect(isAlive(dead)).toBe(false);
    await writeFile(
      path.join(pgdataOf(dir), 'postmaster.pid'),
      `${dead}\n${pgdataOf(dir)}\n${Math.floor(Date.now() / 1000)}\n${first.port}\n\n127.0.0.1\n`,
    );

    const { logger, lines } = capturingLogger();
    const server = await startEmbeddedPostgres({ dataDir: dir, port: 0, logger });
    try {
      expect(await query(server.url, 'select 1 as ok')).toEqual([{ ok: 1 }]);
      const pid = await postmasterPid(dir);
      expect(pid).not.toBe(dead);
      expect(isAlive(pid!)).toBe(true);
      expect(lines.some((l) => l.includes('removed stale postmaster.pid'))).toBe(true);
    } finally {
      await server.stop();
    }
  });

  it('shuts down a postgres orphaned by a SIGKILLed Eventix and starts on its data', async () => {
    const dir = await tempDir();
    const child = spawn(process.execPath, ['--import', 'tsx', await ownerScript(), dir], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const { orphan, adopter } = await killOwner(child, dir);
      process.stderr.write(`[embedded.test] orphaned postgres ${orphan} was adopted by pid ${adopter}\n`);
      await expectRecovery(dir, orphan);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it.skipIf(!python3Available())(
    'also recovers when the orphan is adopted by a live subreaper rather than pid 1 (systemd --user, tini)',
    async () => {
      const dir = await tempDir();
      const reaper = spawn('python3', ['-c', SUBREAPER_PY, process.execPath, '--import', 'tsx', await ownerScript(), dir], {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      try {
        const { orphan, adopter } = await killOwner(reaper, dir);
        expect(adopter).toBe(reaper.pid);
        expect(isAlive(adopter)).toBe(true);
        await expectRecovery(dir, orphan);
      } finally {
        reaper.kill('SIGTERM');
      }
    },
  );

  it('refuses to touch a server whose owning process is alive, and leaves it running', async () => {
    const dir = await tempDir();
    const first = await startEmbeddedPostgres({ dataDir: dir, port: 0 });
    try {
      const pid = await postmasterPid(dir);
      const second = startEmbeddedPostgres({ dataDir: dir, port: 0 });
      await expect(second).rejects.toBeInstanceOf(EmbeddedPostgresError);
      await expect(second).rejects.toThrow(/Another process \(pid \d+\) is running embedded PostgreSQL on .*pgdata/);
      await expect(second).rejects.toThrow('EVENTIX_DATA_DIR');

      expect(await postmasterPid(dir)).toBe(pid);
      expect(isAlive(pid!)).toBe(true);
      expect((await readFile(path.join(dir, 'owner.pid'), 'utf8')).trim()).toBe(String(process.pid));
      expect(await query(first.url, 'select 1 as ok')).toEqual([{ ok: 1 }]);
    } finally {
      await first.stop();
    }
    expect(existsSync(path.join(dir, 'owner.pid'))).toBe(false);
  });
});
