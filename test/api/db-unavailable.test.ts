import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { serve } from '@hono/node-server';
import type pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.ts';
import { createDatabase, type Database } from '../../src/db/client.ts';
import { silentLogger } from '../../src/logger.ts';
import { getTask } from '../../src/queue/index.ts';
import { Notifier } from '../../src/worker/notifier.ts';
import { collect, spawnCli, waitForOutput } from '../helpers/cli.ts';
import { type RestartablePostgres, startRestartablePostgres } from '../helpers/restartable-postgres.ts';
import { nextEvent, waitFor } from '../helpers/wait.ts';

/**
 * The API while its database is away: connection-class failures answer 503 with Retry-After and
 * a problem body instead of 500, /readyz says 503, and everything answers again once the server
 * is back, with no restart of ours. Over a real socket, on a PostgreSQL server of this file's own
 * (the suite's shared one must never be restarted).
 */

const TASKS_MODULE = fileURLToPath(new URL('../fixtures/tasks-module.ts', import.meta.url));

let server: RestartablePostgres;
let database: Database;
let notifier: Notifier;
let httpServer: http.Server;
let base: string;

beforeAll(async () => {
  server = await startRestartablePostgres();
  database = createDatabase({ url: server.url, max: 5 });
  notifier = new Notifier((database.pool as unknown as { options: pg.ClientConfig }).options, silentLogger);
  await notifier.start();
  // Long-polls wake only through NOTIFY within the tests' deadlines.
  const app = createApp({ database, logger: silentLogger, notifications: notifier, longPollIntervalMs: 600_000 });
  httpServer = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }) as http.Server;
  await once(httpServer, 'listening');
  base = `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => {
    httpServer?.close(() => resolve());
    httpServer?.closeAllConnections();
  });
  await notifier?.stop();
  await database?.close();
  await server?.stop();
});

const post = (path: string, body: unknown) =>
  fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

async function expectUnavailable(res: Response): Promise<void> {
  expect(res.status).toBe(503);
  expect(res.headers.get('retry-after')).toMatch(/^[1-9][0-9]*$/);
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  expect(await res.json()).toEqual({
    type: 'urn:eventix:problem:database-unavailable',
    title: 'Service Unavailable',
    status: 503,
    code: 'DatabaseUnavailable',
    detail: expect.any(String),
  });
}

/** How long until /readyz answers 200 again. */
async function readyAgain(timeoutMs = 10_000): Promise<number> {
  const started = Date.now();
  await waitFor(async () => (await fetch(`${base}/readyz`)).status === 200, { timeoutMs, message: '/readyz 200 again' });
  return Date.now() - started;
}

describe('the API while the database is down', () => {
  for (const mode of ['fast', 'immediate'] as const) {
    it(`pg_ctl stop -m ${mode}: 503 + Retry-After + problem body, /readyz 503; after start, /readyz 200 within 10 s and writes work`, async () => {
      expect((await post('/tasks', { task: 'api.before' })).status).toBe(201);
      await server.shutdown(mode);
      try {
        await expectUnavailable(await post('/tasks', { task: 'api.during' }));
        await expectUnavailable(await post('/tasks/batch', { tasks: [{ task: 'api.during' }] }));
        await expectUnavailable(await fetch(`${base}/tasks`));
        await expectUnavailable(await post('/workers/claim', { worker_id: 'w', tasks: ['api.during'] }));
        const ready = await fetch(`${base}/readyz`);
        expect(ready.status).toBe(503);
        expect(await ready.json()).toMatchObject({ status: 'not_ready', database: 'unreachable' });
        // Still alive, and says so: liveness does not depend on the database.
        expect((await fetch(`${base}/healthz`)).status).toBe(200);
      } finally {
        await server.start();
      }
      await readyAgain();
      const created = await post('/tasks', { task: 'api.after' });
      expect(created.status).toBe(201);
    });
  }

  for (const mode of ['fast', 'immediate'] as const) {
    it(`pg_ctl restart -m ${mode}: /readyz 200 within 10 s, no 500 at any time`, async () => {
      const statuses = new Set<number>();
      let polling = true;
      // Submit throughout the restart: each answer is 201 or 503, never 500.
      const load = (async () => {
        while (polling) statuses.add((await post('/tasks', { task: 'api.load' })).status);
      })();
      await server.restart(mode);
      await readyAgain();
      polling = false;
      await load;
      expect([...statuses].filter((s) => s !== 201 && s !== 503)).toEqual([]);
      expect((await post('/tasks', { task: 'api.after-restart' })).status).toBe(201);
    });
  }

  it('a long-poll in flight while every eventix connection is terminated: answered through the reconnected LISTEN', async () => {
    // The restarts above may have left the listener reconnecting: start from a connected one.
    await waitFor(() => notifier.listening, { message: 'LISTEN connected' });
    const started = Date.now();
    const poll = post('/workers/claim', { worker_id: 'lp', tasks: ['api.lp'], namespace: 'lp', wait_seconds: 30 });
    // The long-poll found nothing and now sleeps until a NOTIFY (its backstop poll is ten minutes).
    await waitFor(() => notifier.listenerCount('notify') > 0, { message: 'the long-poll waiting for a NOTIFY' });
    const reconnected = nextEvent(notifier, 'listen:connected', 20_000);
    const killed = await server.terminate('eventix%');
    expect(killed['eventix-listener']).toBe(1);
    await reconnected;
    // Submitted through the API's own pool, whose connections were all killed as well.
    await waitFor(async () => (await post('/tasks', { task: 'api.lp', namespace: 'lp' })).status === 201, { timeoutMs: 10_000 });
    const res = await poll;
    expect(res.status).toBe(200);
    expect(((await res.json()) as { tasks: unknown[] }).tasks).toHaveLength(1);
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});

describe('`eventix start` in a process of its own', () => {
  let child: ChildProcess | undefined;
  afterEach(() => {
    if (child?.exitCode === null) child.kill('SIGKILL');
  });

  it('survives pg_ctl restart (fast, then immediate) and pg_terminate_backend: still running, /readyz recovers, tasks run', async () => {
    child = spawnCli(['start', '--port', '0'], {
      DATABASE_URL: server.url,
      EVENTIX_TASKS: TASKS_MODULE,
      EVENTIX_NAMESPACES: 'start-restart',
    });
    const exited = collect(child);
    const [, address] = await waitForOutput(child, /listening on (http:\/\/\S+)/);
    const submitAndRun = async () => {
      const res = await fetch(`${address}/tasks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ task: 'cli.greet', args: ['x'], namespace: 'start-restart' }),
      });
      expect(res.status).toBe(201);
      const { task } = (await res.json()) as { task: { uid: string } };
      await waitFor(async () => (await getTask(database.pool, task.uid)).status === 'done', { timeoutMs: 10_000 });
    };
    await submitAndRun();
    for (const outage of ['fast', 'immediate', 'terminate'] as const) {
      if (outage === 'terminate') await server.terminate('eventix%');
      else await server.restart(outage);
      await waitFor(async () => (await fetch(`${address}/readyz`)).status === 200, {
        timeoutMs: 10_000,
        message: `/readyz after ${outage}`,
      });
      await submitAndRun();
      expect(child.exitCode, `exited after ${outage}`).toBeNull();
    }
    child.kill('SIGINT');
    const r = await exited;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/Unhandled 'error' event/);
    expect(r.stdout).toContain('Eventix stopped');
  });
});
