import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type App, createApp } from '../../src/api/app.ts';
import { EventixClient, type FetchLike } from '../../src/client/client.ts';
import { RemoteWorker, type RemoteWorkerOptions } from '../../src/client/remote-worker.ts';
import { silentLogger } from '../../src/logger.ts';
import { getTask, rescueExpired, submitMany } from '../../src/queue/index.ts';
import { defineTask, type TaskDefinition } from '../../src/worker/registry.ts';
import { useTestDatabase } from '../helpers/db.ts';
import { nextEvent, waitFor } from '../helpers/wait.ts';
import { describeWorkerBehaviour } from '../worker/behaviour.ts';

const BASE = 'http://eventix.test';

/** The real app, in-process: the same routes, validation and database, without a socket. */
const inProcess =
  (app: App, wrap?: (input: string, init: RequestInit, next: () => Promise<Response>) => Promise<Response>): FetchLike =>
  (input, init) =>
    wrap ? wrap(input, init, async () => app.request(input, init)) : app.request(input, init);

/** One database and one app for the file: the HTTP-only tests below and the shared behaviour suite. */
const sharedDb = useTestDatabase({ poolMax: 40 });
let app: App;
let client: EventixClient;
beforeAll(() => {
  app = createApp({ database: sharedDb(), logger: silentLogger, longPollIntervalMs: 50 });
  client = new EventixClient({ baseUrl: BASE, fetch: inProcess(app) });
});

/** What only the HTTP backend does: long-poll, claim sizing, report retries, abandon on stop. */
describe('RemoteWorker', () => {
  const db = sharedDb;
  const workers: RemoteWorker[] = [];
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop()));
  });

  async function startWorker(tasks: TaskDefinition[], opts: Partial<RemoteWorkerOptions> = {}): Promise<RemoteWorker> {
    const w = new RemoteWorker({ client, tasks, waitSeconds: 2, shutdownGraceMs: 5_000, ...opts });
    workers.push(w);
    await w.start();
    return w;
  }

  const hang = (_a: unknown, _k: unknown, ctx: { signal: AbortSignal }) =>
    new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)));

  it('sizes each claim to its free slots and never runs more than `concurrency` at once', async () => {
    const limits: number[] = [];
    const sized = new EventixClient({
      baseUrl: BASE,
      fetch: inProcess(app, async (input, init, next) => {
        if (input.endsWith('/workers/claim')) limits.push(JSON.parse(String(init.body)).limit);
        return next();
      }),
    });
    let running = 0;
    let peak = 0;
    const def = defineTask('r.slots', async () => {
      peak = Math.max(peak, ++running);
      await new Promise((r) => setTimeout(r, 30));
      running--;
    });
    await submitMany(
      db().pool,
      Array.from({ length: 12 }, () => ({ task: 'r.slots', namespace: 'r-slots' })),
    );
    const w = await startWorker([def], { client: sized, namespace: 'r-slots', concurrency: 3 });
    await waitFor(async () => (await client.list({ namespace: 'r-slots', status: 'done' })).tasks.length === 12);
    await w.stop();
    expect(peak).toBe(3);
    expect(limits[0]).toBe(3);
    expect(Math.max(...limits)).toBe(3);
    expect(Math.min(...limits)).toBeGreaterThanOrEqual(1);
  });

  describe('graceful shutdown', () => {
    it('stop() interrupts an idle long-poll at once', async () => {
      let polling = 0;
      const watched = new EventixClient({
        baseUrl: BASE,
        fetch: inProcess(app, async (input, _init, next) => {
          if (input.endsWith('/workers/claim')) polling++;
          return next();
        }),
      });
      const def = defineTask('r.idle', () => 1);
      const w = await startWorker([def], { client: watched, namespace: 'r-idle', waitSeconds: 60 });
      // The long-poll is on its way to the server (it waits there up to 60 s).
      await waitFor(() => polling > 0);
      const started = Date.now();
      await w.stop();
      expect(Date.now() - started).toBeLessThan(2_000);
      expect(w.status).toBe('stopped');
    });

    it('hands back a task it cannot release only to the rescue: the API unreachable at stop()', async () => {
      // The shared suite proves the release itself; here the release call fails, so the task waits
      // out its lease, and the rescue counts the attempt.
      let refuse = false;
      const cut = new EventixClient({
        baseUrl: BASE,
        fetch: inProcess(app, async (input, _init, next) => {
          if (refuse && input.includes('/release')) throw new TypeError('fetch failed');
          return next();
        }),
      });
      const def = defineTask('r.stuck', hang);
      const w = new RemoteWorker({
        client: cut,
        tasks: [def],
        namespace: 'r-stuck',
        shutdownGraceMs: 200,
        waitSeconds: 1,
        logger: silentLogger,
      });
      w.on('worker:error', () => {});
      await w.start();
      const claimed = nextEvent(w, 'task:claimed');
      const { task } = await def.submit(db().pool, { namespace: 'r-stuck', errorEtaInc: 1, errorEtaMax: 1 });
      await claimed;
      refuse = true;
      const stopped = nextEvent<{ released: number }>(w, 'worker:stopped');
      await w.stop();
      expect((await stopped).released).toBe(0);
      expect(await getTask(db().pool, task.uid)).toMatchObject({ status: 'processing', attempts: 1 });
      await db().pool.query("update tasks set lease_expires_at = now() - interval '1 second' where uid = $1", [task.uid]);
      expect(await rescueExpired(db().pool)).toEqual([{ uid: task.uid, status: 'retry' }]);
    });
  });

  it('reports a failing claim as worker:error, backs off, and recovers', async () => {
    let failures = 3;
    const flaky = new EventixClient({
      baseUrl: BASE,
      fetch: inProcess(app, async (input, _init, next) => {
        if (input.endsWith('/workers/claim') && failures-- > 0) throw new TypeError('fetch failed');
        return next();
      }),
    });
    const def = defineTask('r.recover', () => 'ok');
    const errors: string[] = [];
    const w = await startWorker([def], { client: flaky, namespace: 'r-recover', errorDelayMs: 20 });
    w.on('worker:error', (e) => errors.push(`${e.during}: ${e.error.message}`));
    const done = nextEvent(w, 'task:completed');
    await def.submit(db().pool, { namespace: 'r-recover' });
    await done;
    expect(errors.length).toBeGreaterThanOrEqual(2);
    expect(errors[0]).toBe('claim: fetch failed');
  });

  it('retries a completion the network lost, so the work is not done twice', async () => {
    let drop = 1;
    const lossy = new EventixClient({
      baseUrl: BASE,
      fetch: inProcess(app, async (input, _init, next) => {
        if (input.endsWith('/complete') && drop-- > 0) return new Response('upstream reset', { status: 503 });
        return next();
      }),
    });
    let runs = 0;
    const def = defineTask('r.lossy', () => ++runs);
    const w = await startWorker([def], { client: lossy, namespace: 'r-lossy' });
    const done = nextEvent<{ result: unknown }>(w, 'task:completed');
    const { task } = await def.submit(db().pool, { namespace: 'r-lossy' });
    expect((await done).result).toBe(1);
    expect(await getTask(db().pool, task.uid)).toMatchObject({ status: 'done', result: 1, attempts: 1 });
  });

  it('rejects impossible options', () => {
    const a = defineTask('r.opts', () => 1);
    expect(() => new RemoteWorker({ client, tasks: [a], concurrency: 0 })).toThrow(/concurrency/);
    expect(() => new RemoteWorker({ client, tasks: [a], leaseSeconds: 2 })).toThrow(/leaseSeconds/);
    expect(() => new RemoteWorker({ client, tasks: [a], waitSeconds: 61 })).toThrow(/waitSeconds/);
    expect(() => new RemoteWorker({ client, tasks: [a], leaseSeconds: 5, heartbeatIntervalMs: 5_000 })).toThrow(/heartbeat/);
  });

  it('4 remote workers × 8 run 1,000 tasks: each exactly once, never two at once', async () => {
    const N = 1000;
    const spans = new Map<string, { worker: string; start: number; end: number }[]>();
    let concurrent = 0;
    let peak = 0;
    const makeDef = (worker: () => string) =>
      defineTask<[number]>('r.race', async (args, _k, ctx) => {
        const span = { worker: worker(), start: performance.now(), end: Number.POSITIVE_INFINITY };
        const list = spans.get(ctx.uid) ?? [];
        list.push(span);
        spans.set(ctx.uid, list);
        peak = Math.max(peak, ++concurrent);
        await new Promise((r) => setTimeout(r, Math.random() * 3));
        concurrent--;
        span.end = performance.now();
        return args[0] * 2;
      });
    await submitMany(
      db().pool,
      Array.from({ length: N }, (_, i) => ({ task: 'r.race', namespace: 'r-race', args: [i] })),
    );
    const race = await Promise.all(
      Array.from({ length: 4 }, async (_, i) => {
        const id = `racer-${i}`;
        return startWorker([makeDef(() => id)], { namespace: 'r-race', concurrency: 8, workerId: id, heartbeatIntervalMs: 500 });
      }),
    );
    const lost: string[] = [];
    for (const w of race) w.on('task:lease-lost', (e) => lost.push(e.task.uid));
    await waitFor(
      async () => (await db().pool.query("select 1 from tasks where namespace = 'r-race' and status <> 'done' limit 1")).rowCount === 0,
      {
        timeoutMs: 60_000,
        intervalMs: 100,
        message: 'all 1,000 tasks done',
      },
    );
    await Promise.all(race.map((w) => w.stop()));

    expect(lost).toEqual([]);
    expect(spans.size).toBe(N);
    const runs = [...spans.values()];
    const overlapping = runs.filter((r) => r.some((a, i) => r.some((b, j) => i < j && a.start < b.end && b.start < a.end)));
    expect(overlapping).toEqual([]);
    expect(runs.filter((r) => r.length !== 1)).toEqual([]);
    expect(peak).toBeLessThanOrEqual(32);
    const byWorker = new Map<string, number>();
    for (const [r] of runs) if (r) byWorker.set(r.worker, (byWorker.get(r.worker) ?? 0) + 1);
    // The work was really shared.
    expect(byWorker.size).toBeGreaterThan(1);
    const { rows } = await db().pool.query<{ n: number; ok: number }>(
      "select count(*)::int as n, count(*) filter (where attempts = 1 and result = to_jsonb((args->>0)::int * 2))::int as ok from tasks where namespace = 'r-race' and status = 'done'",
    );
    expect(rows[0]).toEqual({ n: N, ok: N });
  });
});

describeWorkerBehaviour({
  name: 'HTTP',
  db: sharedDb,
  create: (tasks, o) =>
    new RemoteWorker({
      client,
      tasks,
      namespace: o.namespace,
      concurrency: o.concurrency,
      leaseSeconds: o.leaseSeconds,
      heartbeatIntervalMs: o.fastHeartbeat ? 100 : undefined,
      shutdownGraceMs: o.shutdownGraceMs ?? 5_000,
      workerId: o.workerId,
      waitSeconds: 2,
    }),
  reasons: { reportRefused: /LeaseLost|Lease lost|409/, heartbeatLost: /claimed by another worker/, notJson: /not JSON-serializable/ },
});
