import { Agent } from 'node:http';
import { freePort } from '../../../src/db/embedded.ts';
import { CREATE_LEDGER, TASKS_MODULE } from './ledger.ts';
import type { ThrowawayPostgres } from './postgres.ts';
import { type Managed, spawnEventix } from './processes.ts';
import { type ScenarioContext, until } from './scenario.ts';

/**
 * A whole small deployment on one throwaway database: `eventix start` (API, a worker for the chaos
 * tasks, the scheduler) and `workers` more `eventix worker` processes. Leases are short so that a
 * task whose worker lost its lease is rescued within seconds, not the default 30.
 */
export interface Stack {
  api: Managed;
  workers: Managed[];
  base: string;
  all(): Managed[];
  /** Keep-alive HTTP to the API; a socket error is counted by the caller as a lost connection. */
  request(method: string, path: string, body?: unknown): Promise<{ status: number; headers: Headers; json: unknown }>;
}

export const STACK_ENV = {
  EVENTIX_LEASE_SECONDS: '5',
  EVENTIX_POLL_INTERVAL_MS: '1000',
  EVENTIX_MAINTENANCE_INTERVAL_MS: '1000',
  EVENTIX_SCHEDULER_INTERVAL_MS: '500',
  EVENTIX_SHUTDOWN_GRACE_MS: '3000',
  EVENTIX_CONCURRENCY: '8',
  EVENTIX_LOG_LEVEL: 'warn',
};

export async function startStack(ctx: ScenarioContext, db: ThrowawayPostgres, opts: { workers: number }): Promise<Stack> {
  await db.query(CREATE_LEDGER);
  const port = await freePort();
  const env = { ...STACK_ENV, DATABASE_URL: db.url, EVENTIX_TASKS: TASKS_MODULE, EVENTIX_MIGRATE: 'false' };
  const api = ctx.track(spawnEventix('start', ['start'], { ...env, EVENTIX_PORT: String(port), EVENTIX_HOST: '127.0.0.1' }));
  const workers = Array.from({ length: opts.workers }, (_, i) =>
    ctx.track(spawnEventix(`worker-${i + 1}`, ['worker'], { ...env, EVENTIX_SCHEDULER: 'false' })),
  );
  await api.waitForLine(/Eventix listening on (http:\S+)/, 60_000);
  await Promise.all(workers.map((w) => w.waitForLine(/Eventix worker \S+ running/, 60_000)));
  const base = `http://127.0.0.1:${port}`;
  const agent = new Agent({ keepAlive: true, maxSockets: 8 });
  ctx.defer(() => agent.destroy());
  const request: Stack['request'] = async (method, path, body) => {
    const { request: send } = await import('node:http');
    return new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
      const req = send(
        `${base}${path}`,
        {
          method,
          agent,
          headers: payload ? { 'content-type': 'application/json', 'content-length': String(payload.length) } : {},
          timeout: 30_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const headers = new Headers();
            for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') headers.set(k, v);
            let json: unknown;
            try {
              json = text ? JSON.parse(text) : undefined;
            } catch {
              json = text;
            }
            resolve({ status: res.statusCode ?? 0, headers, json });
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error('request timed out')));
      req.on('error', reject);
      req.end(payload);
    });
  };
  return { api, workers, base, all: () => [api, ...workers], request };
}

/** Until /readyz answers 200; resolves with the milliseconds that took. */
export async function readyWithin(stack: Stack, timeoutMs: number): Promise<number> {
  const started = Date.now();
  await until(async () => (await stack.request('GET', '/readyz')).status === 200, {
    timeoutMs,
    intervalMs: 100,
    message: `/readyz 200 within ${timeoutMs} ms`,
  });
  return Date.now() - started;
}

export interface Load {
  /** Uids the API acknowledged (201/200): each must end `done`. */
  acknowledged: Set<string>;
  statuses: Map<number, number>;
  socketErrors: number;
  retryAfterMissing: number;
  stop(): Promise<void>;
}

/**
 * A producer submitting chaos.work tasks over HTTP as fast as one connection allows (paced by
 * `intervalMs`). 503 answers are expected while the database is away; each must say Retry-After.
 */
export function startLoad(stack: Stack, opts: { intervalMs: number; workMs: () => number }): Load {
  const load: Load = {
    acknowledged: new Set(),
    statuses: new Map(),
    socketErrors: 0,
    retryAfterMissing: 0,
    stop: async () => {
      stopped = true;
      await loop;
    },
  };
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      try {
        const r = await stack.request('POST', '/tasks', {
          task: 'chaos.work',
          args: [opts.workMs()],
          // A task whose attempt met the outage retries soon, and is never given up on.
          max_retries: null,
          error_eta_inc: 1,
          error_eta_max: 2,
        });
        load.statuses.set(r.status, (load.statuses.get(r.status) ?? 0) + 1);
        if (r.status === 201 || r.status === 200) load.acknowledged.add((r.json as { task: { uid: string } }).task.uid);
        if (r.status === 503 && !r.headers.get('retry-after')) load.retryAfterMissing++;
      } catch {
        load.socketErrors++;
      }
      await new Promise((r) => setTimeout(r, opts.intervalMs));
    }
  })();
  return load;
}

/** After the faults: every acknowledged task ends `done`, none is left waiting or running. */
export async function drainAndCheck(ctx: ScenarioContext, db: ThrowawayPostgres, load: Load, timeoutMs: number): Promise<void> {
  const uids = [...load.acknowledged];
  const started = Date.now();
  let last = { done: 0, other: 0, missing: 0 };
  try {
    await until(
      async () => {
        const [row] = await db.query<{ done: number; other: number; present: number }>(
          `select count(*) filter (where status = 'done')::int as done,
                  count(*) filter (where status <> 'done')::int as other,
                  count(*)::int as present
             from tasks where uid = any($1::uuid[])`,
          [uids],
        );
        last = { done: row?.done ?? 0, other: row?.other ?? 0, missing: uids.length - (row?.present ?? 0) };
        return last.done === uids.length;
      },
      { timeoutMs, intervalMs: 250, message: 'every acknowledged task done' },
    );
  } catch {
    // Reported through the checks below.
  }
  ctx.figure('acknowledged tasks', uids.length);
  ctx.figure('drain after last fault (s)', ((Date.now() - started) / 1000).toFixed(1));
  ctx.check(last.missing === 0, `${last.missing} acknowledged tasks missing from the database (lost)`);
  ctx.check(last.done === uids.length, `${uids.length - last.done} acknowledged tasks not done (${last.other} in another status)`);
  const [stuck] = await db.query<{ n: number }>(
    "select count(*)::int as n from tasks where status in ('processing', 'retry', 'scheduled')",
  );
  ctx.check((stuck?.n ?? 0) === 0, `${stuck?.n} tasks still waiting or running after the drain`);
  const [overlap] = await db.query<{ n: number }>(
    `select count(*)::int as n from chaos_runs a join chaos_runs b
        on a.uid = b.uid and a.id < b.id and b.started_at < coalesce(a.finished_at, 'infinity')
       and a.finished_at is not null`,
  );
  // Two attempts of one task overlapping, the first of which finished normally: a fencing failure.
  ctx.check((overlap?.n ?? 0) === 0, `${overlap?.n} pairs of attempts of one task overlapped in time`);
}

export function checkAlive(ctx: ScenarioContext, stack: Stack, when: string): void {
  for (const p of stack.all()) {
    ctx.check(p.alive, `${p.name} exited (${p.exitInfo?.code ?? p.exitInfo?.signal}) ${when}:\n${p.output(15)}`);
  }
}
