// The HTTP API under load: POST /tasks from autocannon at a fixed concurrency, against
// createApp() served by @hono/node-server on a fresh database, on the same PostgreSQL as the
// queue benchmarks, single submissions and then batches of 100. Reported: requests and tasks per
// second and latency percentiles; every answer must be 201 and every acknowledged task must exist afterwards.
import { serve } from '@hono/node-server';
import autocannon from 'autocannon';
import type pg from 'pg';
import { createApp } from '../src/api/app.ts';
import { createDatabase } from '../src/db/client.ts';
import { migrate } from '../src/db/migrate.ts';
import { silentLogger } from '../src/logger.ts';
import { dropDatabase, recreateDatabase, withDatabase } from './databases.ts';

/** One load phase: POST `path` with `tasksPerRequest` tasks per request. */
export interface HttpPhase {
  path: string;
  tasksPerRequest: number;
  requests: number;
  requestsPerSecond: number;
  tasksPerSecond: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  non2xx: number;
  errors: number;
  /** Tasks of this phase in the table afterwards; at least tasksPerRequest × the 2xx answers. */
  stored: number;
  ok: boolean;
}

export interface HttpResult {
  connections: number;
  seconds: number;
  /** POST /tasks, then POST /tasks/batch. */
  phases: HttpPhase[];
  ok: boolean;
}

const BATCH = 100;

/**
 * autocannon runs in a worker thread (`workers: 1`): in the server's own event loop its request
 * generation and response parsing took CPU from the server it measured.
 */
function load(url: string, body: string, connections: number, seconds: number, signal?: AbortSignal): Promise<autocannon.Result> {
  return new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      { url, method: 'POST', headers: { 'content-type': 'application/json' }, body, connections, duration: seconds, workers: 1 },
      (err, result) => (err ? reject(err) : resolve(result)),
    );
    signal?.addEventListener('abort', () => instance.stop(), { once: true });
  });
}

export async function benchHttp(
  serverUrl: string,
  admin: pg.Client,
  opts: { connections: number; seconds: number; signal?: AbortSignal; progress?: (msg: string) => void },
): Promise<HttpResult> {
  const name = 'bench_eventix_http';
  await recreateDatabase(admin, name);
  const database = createDatabase({ url: withDatabase(serverUrl, name), max: 10, applicationName: 'eventix-bench-http' });
  try {
    await migrate(database.pool);
    const app = createApp({ database, logger: silentLogger });
    const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    const addr = server.address();
    const port = addr && typeof addr === 'object' ? addr.port : 0;
    const phases: HttpPhase[] = [];
    try {
      const plan = [
        {
          path: '/tasks',
          task: 'bench.http',
          tasksPerRequest: 1,
          body: JSON.stringify({ task: 'bench.http', args: [1], kwargs: { k: 'v' } }),
        },
        {
          path: '/tasks/batch',
          task: 'bench.http.batch',
          tasksPerRequest: BATCH,
          body: JSON.stringify({
            tasks: Array.from({ length: BATCH }, (_, i) => ({ task: 'bench.http.batch', args: [i], kwargs: { k: 'v' } })),
          }),
        },
      ];
      for (const p of plan) {
        opts.progress?.(
          `http: POST ${p.path} (${p.tasksPerRequest} task(s) each) with ${opts.connections} connections for ${opts.seconds} s…`,
        );
        const r = await load(`http://127.0.0.1:${port}${p.path}`, p.body, opts.connections, opts.seconds, opts.signal);
        const stored = Number(
          ((await database.pool.query('select count(*)::int as n from tasks where task = $1', [p.task])).rows[0] as { n: number }).n,
        );
        phases.push({
          path: p.path,
          tasksPerRequest: p.tasksPerRequest,
          requests: r.requests.total,
          requestsPerSecond: r.requests.average,
          tasksPerSecond: r.requests.average * p.tasksPerRequest,
          latencyMs: { p50: r.latency.p50, p90: r.latency.p90, p99: r.latency.p99, max: r.latency.max },
          non2xx: r.non2xx,
          errors: r.errors + r.timeouts,
          stored,
          // Every 2xx answer must be tasks in the table: nothing acknowledged and lost. (The table
          // may hold a few more: requests in flight when the load stopped were stored unanswered.)
          ok: r.non2xx === 0 && r.errors === 0 && stored >= r['2xx'] * p.tasksPerRequest,
        });
      }
    } finally {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
      });
    }
    return { connections: opts.connections, seconds: opts.seconds, phases, ok: phases.every((p) => p.ok) };
  } finally {
    await database.close();
    await dropDatabase(admin, name).catch(() => {});
  }
}
