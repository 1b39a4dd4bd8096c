/**
 * How long after a PostgreSQL restart until Eventix works again: /readyz answers 200, the LISTEN
 * connection is back, and a task submitted the moment the database accepts connections starts,
 * on a worker with LISTEN (woken by the notifier's '*' after it reconnects) and on one that only
 * polls (it waits out its claim backoff).
 *
 *   node --import tsx bench/reconnect.ts [--rounds 10] [--poll-interval-ms 1000] [--down-ms 0]
 *
 * One throwaway embedded server, restarted with `pg_ctl restart -m fast|immediate`, or with
 * --down-ms, stopped with `pg_ctl stop -m …` and started again that long after. "Back" is the
 * first moment a probe (a fresh connection every 5 ms, started with the restart) gets an answer
 * after having been refused; every figure is measured from there, so pg_ctl's own 100 ms polling
 * of the pid file does not count.
 */
import { once } from 'node:events';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { serve } from '@hono/node-server';
import pg from 'pg';
import { createApp } from '../src/api/app.ts';
import { createDatabase } from '../src/db/client.ts';
import { startEmbeddedPostgres } from '../src/db/embedded.ts';
import { migrate } from '../src/db/migrate.ts';
import { pgCtl } from '../src/db/pg-ctl.ts';
import { silentLogger } from '../src/logger.ts';
import { submit } from '../src/queue/submit.ts';
import { Notifier } from '../src/worker/notifier.ts';
import { defineTask } from '../src/worker/registry.ts';
import { Worker } from '../src/worker/worker.ts';
import { summarize } from './stats.ts';
import { sleep } from './wait.ts';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '10' },
    'poll-interval-ms': { type: 'string', default: '1000' },
    'down-ms': { type: 'string', default: '0' },
  },
});
const rounds = Number(values.rounds);
const pollIntervalMs = Number(values['poll-interval-ms']);
const downMs = Number(values['down-ms']);

const root = await mkdtemp(path.join(tmpdir(), 'eventix-reconnect-'));
await chmod(root, 0o755);
// fsync off only (not `ephemeral`, whose synchronous_commit=off loses commits in an immediate shutdown).
const server = await startEmbeddedPostgres({ dataDir: root, port: 0, settings: { fsync: 'off' } });
const database = createDatabase({ url: server.url, max: 10 });
await migrate(database.pool);

const notifier = new Notifier((database.pool as unknown as { options: pg.ClientConfig }).options, silentLogger);
await notifier.start();
const app = createApp({ database, logger: silentLogger, notifications: notifier });
const httpServer = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }) as http.Server;
await once(httpServer, 'listening');
const base = `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}`;

const started = new Map<string, number>();
const probe = defineTask<[string]>('reconnect.probe', (args) => {
  started.set(args[0], performance.now());
});
const listening = new Worker({
  pool: database.pool,
  tasks: [probe],
  namespaces: ['listen'],
  pollIntervalMs,
  listen: true,
  maintenance: false,
});
const polling = new Worker({
  pool: database.pool,
  tasks: [probe],
  namespaces: ['poll'],
  pollIntervalMs,
  listen: false,
  maintenance: false,
});
const listenNotifier = (listening as unknown as { notifier: Notifier }).notifier;
await listening.start();
await polling.start();

async function answers(): Promise<boolean> {
  const c = new pg.Client({ connectionString: server.url, application_name: 'reconnect-probe' });
  c.on('error', () => {});
  try {
    await c.connect();
    await c.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => {});
  }
}

async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 60_000): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) {
      const p = database.pool;
      const readyz = await fetch(`${base}/readyz`).then((r) => r.text(), String);
      throw new Error(
        `timed out waiting for ${what} (pool: ${p.totalCount} open, ${p.idleCount} idle, ${p.waitingCount} waiting; /readyz: ${readyz})`,
      );
    }
    await sleep(5);
  }
  return performance.now();
}

interface Round {
  /** From the first refused probe to the first answered one. */
  outageMs: number;
  readyMs: number;
  listenBackMs: number;
  listenStartMs: number;
  pollStartMs: number;
}

async function round(mode: 'fast' | 'immediate', i: number): Promise<Round> {
  let listenBackAt = Number.NaN;
  const onConnected = () => {
    listenBackAt = performance.now();
  };
  listenNotifier.once('listen:connected', onConnected);
  const restart = downMs
    ? pgCtl(server.dataDir, ['stop', '-m', mode, '-w']).then(async () => {
        await sleep(downMs);
        await pgCtl(server.dataDir, ['start', '-w']);
      })
    : pgCtl(server.dataDir, ['restart', '-m', mode, '-w']);
  const down = await until('the outage', async () => !(await answers()));
  const back = await until('the database', answers);
  const key = `${mode}-${i}`;
  // Submitted as soon as the database is back (retried while the first connections still fail),
  // while /readyz is polled alongside.
  const [ready] = await Promise.all([
    until('/readyz 200', async () => (await fetch(`${base}/readyz`).catch(() => undefined))?.status === 200),
    until('the submissions', async () => {
      try {
        await submit(database.pool, { task: 'reconnect.probe', args: [`listen-${key}`], namespace: 'listen' });
        await submit(database.pool, { task: 'reconnect.probe', args: [`poll-${key}`], namespace: 'poll' });
        return true;
      } catch {
        return false;
      }
    }),
  ]);
  await until('both tasks to start', () => started.has(`listen-${key}`) && started.has(`poll-${key}`) && !Number.isNaN(listenBackAt));
  await restart;
  listenNotifier.off('listen:connected', onConnected);
  return {
    outageMs: back - down,
    readyMs: ready - back,
    listenBackMs: listenBackAt - back,
    listenStartMs: (started.get(`listen-${key}`) as number) - back,
    pollStartMs: (started.get(`poll-${key}`) as number) - back,
  };
}

const median = (xs: number[]) => summarize(xs).p50;

console.log(
  `rounds per mode: ${rounds}; poll interval ${pollIntervalMs} ms; ${downMs ? `down ${downMs} ms` : 'pg_ctl restart'}; ` +
    'ms after the database is back (median / max)',
);
for (const mode of ['fast', 'immediate'] as const) {
  const results: Round[] = [];
  for (let i = 0; i < rounds; i++) {
    results.push(await round(mode, i));
    // Let both workers settle into their idle wait, as in production between incidents.
    await sleep(2 * pollIntervalMs);
  }
  const col = (k: keyof Round) => `${median(results.map((r) => r[k])).toFixed(0)} / ${Math.max(...results.map((r) => r[k])).toFixed(0)}`;
  console.log(
    `-m ${mode.padEnd(9)} outage: ${col('outageMs')}   /readyz 200: ${col('readyMs')}   LISTEN back: ${col('listenBackMs')}   ` +
      `task started, LISTEN worker: ${col('listenStartMs')}   poll-only worker: ${col('pollStartMs')}`,
  );
}

await listening.stop();
await polling.stop();
await notifier.stop();
await new Promise<void>((resolve) => {
  httpServer.close(() => resolve());
  httpServer.closeAllConnections();
});
await database.close();
await server.stop();
await rm(root, { recursive: true, force: true });
