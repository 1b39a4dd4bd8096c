import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { isAlive, isPostgresFor, readPidFile } from './stale-server.ts';

export interface RunningEmbedded {
  url: string;
  port: number;
  /** The Eventix process that started the server and will stop it. */
  ownerPid: number;
}

/**
 * The embedded PostgreSQL another Eventix process (`npm start`) is running on this data folder,
 * if any: its port from postmaster.pid (line 4, as PostgreSQL writes it) and the folder's
 * credentials.json. An admin command joins it instead of refusing, and leaves it running. A
 * server whose owner has died is not joined: the normal start recovers it.
 */
export async function findRunningEmbedded(dataDir: string): Promise<RunningEmbedded | undefined> {
  const root = path.resolve(dataDir);
  const pgdata = path.join(root, 'pgdata');
  const lines = (await readFile(path.join(pgdata, 'postmaster.pid'), 'utf8').catch(() => '')).split('\n');
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!Number.isInteger(pid) || pid <= 0 || !Number.isInteger(port) || port <= 0) return undefined;
  if (!isAlive(pid) || !(await isPostgresFor(pid, pgdata))) return undefined;
  const ownerPid = await readPidFile(path.join(root, 'owner.pid'));
  if (ownerPid === undefined || !isAlive(ownerPid)) return undefined;
  let creds: { user?: unknown; password?: unknown };
  try {
    creds = JSON.parse(await readFile(path.join(root, 'credentials.json'), 'utf8'));
  } catch {
    return undefined;
  }
  if (typeof creds.user !== 'string' || typeof creds.password !== 'string') return undefined;
  const url = `postgres://${encodeURIComponent(creds.user)}:${encodeURIComponent(creds.password)}@127.0.0.1:${port}/postgres`;
  return { url, port, ownerPid };
}
