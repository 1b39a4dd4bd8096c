// The HTTP API under load: POST /tasks from autocannon at a fixed concurrency, against
// createApp() served by @hono/node-server on a fresh database, on the same PostgreSQL as the
// queue benchmarks. Reported: requests per second and latency percentiles; every answer must be
// 201 and every submitted task must exist afterwards.
import { serve } from '@hono/node-server';
import autocannon from 'autocannon';
import type pg from 'pg';
import { createApp } from '../src/api/app.ts';
import { createDatabase } from '../src/db/client.ts';
import { migrate } from '../src/db/migrate.ts';
import { silentLogger } from '../src/logger.ts';
import { dropDatabase, recreateDatabase, withDatabase } from './databases.ts';

export interface HttpResult {
  connections: number;
  seconds: number;
  requests: number;
  requestsPerSecond: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  non2xx: number;
  errors: number;
  stored: number;
  ok: boolean;
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
    try {
      opts.progress?.(`http: POST /tasks with ${opts.connections} connections for ${opts.seconds} s…`);
      const r = await new Promise<autocannon.Result>((resolve, reject) => {
        const instance = autocannon(
          {
            url: `http://127.0.0.1:${port}/tasks`,
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ task: 'bench.http', args: [1], kwargs: { k: 'v' } }),
            connections: opts.connections,
            duration: opts.seconds,
          },
          (err, result) => (err ? reject(err) : resolve(result)),
        );
        opts.signal?.addEventListener('abort', () => instance.stop(), { once: true });
      });
      const stored = Number(
        ((await database.pool.query("select count(*)::int as n from tasks where task = 'bench.http'")).rows[0] as { n: number }).n,
      );
      const ok2xx = r['2xx'];
      return {
        connections: opts.connections,
        seconds: opts.seconds,
        requests: r.requests.total,
        requestsPerSecond: r.requests.average,
        latencyMs: { p50: r.latency.p50, p90: r.latency.p90, p99: r.latency.p99, max: r.latency.max },
        non2xx: r.non2xx,
        errors: r.errors + r.timeouts,
        stored,
        // Every 2xx answer must be a task in the table: nothing acknowledged and lost. (The table
        // may hold a few more: requests in flight when the load stopped were stored unanswered.)
        ok: r.non2xx === 0 && r.errors === 0 && stored >= ok2xx,
      };
    } finally {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
      });
    }
  } finally {
    await database.close();
    await dropDatabase(admin, name).catch(() => {});
  }
}
