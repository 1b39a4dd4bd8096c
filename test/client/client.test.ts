import { beforeAll, describe, expect, it } from 'vitest';
import { type App, createApp } from '../../src/api/app.ts';
import { EventixApiError, EventixClient, type FetchLike, isEventixApiError } from '../../src/client/client.ts';
import { silentLogger } from '../../src/logger.ts';
import { useTestDatabase } from '../helpers/db.ts';
import { apiError, inProcess } from './helpers.ts';

const BASE = 'http://eventix.test';
const SECRET = 'client-test-secret-0123456789';

describe('EventixClient', () => {
  const db = useTestDatabase();
  let app: App;
  let client: EventixClient;
  beforeAll(() => {
    app = createApp({ database: db(), logger: silentLogger, longPollIntervalMs: 50 });
    client = new EventixClient({ baseUrl: BASE, fetch: inProcess(app) });
  });

  describe('tasks', () => {
    it('submit creates a task, and a second submit with the same unique_key merges into it', async () => {
      const first = await client.submit({
        task: 'c.submit',
        namespace: 'c-submit',
        args: [1, 'a'],
        kwargs: { k: true },
        unique_key: 'u-1',
      });
      expect(first.created).toBe(true);
      expect(first.task).toMatchObject({
        task: 'c.submit',
        namespace: 'c-submit',
        status: 'scheduled',
        args: [1, 'a'],
        kwargs: { k: true },
        unique_key: 'u-1',
        attempts: 0,
      });
      const again = await client.submit({ task: 'c.submit', namespace: 'c-submit', args: [2], unique_key: 'u-1' });
      expect(again.created).toBe(false);
      expect(again.task.uid).toBe(first.task.uid);
    });

    it('submitBatch returns one result per task, in order', async () => {
      const results = await client.submitBatch(Array.from({ length: 5 }, (_, i) => ({ task: 'c.batch', namespace: 'c-batch', args: [i] })));
      expect(results.map((r) => [r.created, r.task.args])).toEqual([0, 1, 2, 3, 4].map((i) => [true, [i]]));
    });

    it('get and getByUniqueKey, with a namespace and key that need escaping in the path', async () => {
      const { task } = await client.submit({ task: 'c.get', namespace: 'team/a:b', unique_key: 'report 2024/01 #1?x=y' });
      expect(await client.get(task.uid)).toEqual(task);
      expect((await client.getByUniqueKey('team/a:b', 'report 2024/01 #1?x=y')).uid).toBe(task.uid);
      const missing = await apiError(() => client.getByUniqueKey('team/a:b', 'nope'));
      expect(missing).toMatchObject({ status: 404, code: 'NotFound' });
    });

    it('list returns one page; iterate walks 120 tasks in pages of 25, newest first, each once', async () => {
      const ns = 'c-pages';
      await client.submitBatch(Array.from({ length: 120 }, (_, i) => ({ task: 'c.page', namespace: ns, args: [i] })));
      await client.submit({ task: 'c.page', namespace: 'c-pages-other' });

      const first = await client.list({ namespace: ns, limit: 25 });
      expect(first.tasks).toHaveLength(25);
      expect(first.next_cursor).toEqual(expect.any(String));

      const calls: string[] = [];
      const counting = new EventixClient({
        baseUrl: BASE,
        fetch: (input, init) => {
          calls.push(input);
          return app.request(input, init);
        },
      });
      const seen: number[] = [];
      for await (const t of counting.iterate({ namespace: ns, status: ['scheduled'], limit: 25 })) seen.push(t.args[0] as number);
      expect(calls).toHaveLength(5);
      expect(seen).toHaveLength(120);
      expect(new Set(seen).size).toBe(120);
      // One batch shares its created_at; the id breaks the tie, so newest first is last submitted first.
      expect(seen).toEqual(Array.from({ length: 120 }, (_, i) => 119 - i));

      const pages: number[] = [];
      for await (const page of client.pages({ namespace: ns, limit: 50 })) pages.push(page.tasks.length);
      expect(pages).toEqual([50, 50, 20]);
      expect((await client.listAll({ namespace: ns, limit: 500 })).map((t) => t.args[0])).toEqual(seen);
      expect(await client.listAll({ namespace: ns, status: 'done' })).toEqual([]);
    });

    it('cancel, reschedule and delete', async () => {
      const { task } = await client.submit({ task: 'c.life', namespace: 'c-life' });
      expect((await client.cancel(task.uid)).status).toBe('cancelled');
      const again = await apiError(() => client.cancel(task.uid));
      expect(again).toMatchObject({ status: 409, code: 'InvalidTransition' });

      const eta = new Date(Date.now() + 3_600_000);
      const later = await client.reschedule(task.uid, eta);
      expect(later.status).toBe('scheduled');
      expect(Date.parse(later.eta)).toBe(eta.getTime());
      // Only error, retry and cancelled tasks can be rescheduled.
      expect(await apiError(() => client.reschedule(task.uid))).toMatchObject({ status: 409, code: 'InvalidTransition' });
      await client.cancel(task.uid);
      const now = await client.reschedule(task.uid);
      expect(Date.parse(now.eta)).toBeLessThanOrEqual(Date.now() + 1000);

      await client.delete(task.uid);
      const gone = await apiError(() => client.get(task.uid));
      expect(gone.status).toBe(404);
      expect(gone.problem).toMatchObject({
        status: 404,
        title: 'Not Found',
        code: 'TaskNotFound',
        type: 'urn:eventix:problem:task-not-found',
      });
      expect(gone.message).toContain(task.uid);
    });
  });

  describe('errors', () => {
    it('a 400 carries the rejected fields in problem.errors', async () => {
      const err = await apiError(() => client.submit({ task: 'bad name', priority: 'high' as unknown as number }));
      expect(err).toBeInstanceOf(EventixApiError);
      expect(err.status).toBe(400);
      expect(err.code).toBe('ValidationError');
      expect(err.problem.errors?.map((e) => e.field).sort()).toEqual(['priority', 'task']);
      expect(err.message).toMatch(/^POST \/tasks → 400 Bad Request/);
      expect(isEventixApiError(err, 'ValidationError')).toBe(true);
      expect(isEventixApiError(err, 'LeaseLost')).toBe(false);
    });

    it('a 409 LeaseLost can be told apart by problem.code', async () => {
      const { task } = await client.submit({ task: 'c.lease', namespace: 'c-lease' });
      const { tasks } = await client.claim({ worker_id: 'w1', namespace: 'c-lease', tasks: ['c.lease'] });
      expect(tasks[0]?.uid).toBe(task.uid);
      const err = await apiError(() => client.heartbeat(task.uid, { worker_id: 'w1', fencing_token: (tasks[0]?.fencing_token ?? 0) + 1 }));
      expect(err.status).toBe(409);
      expect(err.problem.code).toBe('LeaseLost');
      expect(err.problem.detail).toMatch(/fencing token/);
      expect(err.problem.uid).toBe(task.uid);
    });

    it('network errors propagate unwrapped', async () => {
      const boom = new TypeError('fetch failed');
      const c = new EventixClient({ baseUrl: BASE, fetch: () => Promise.reject(boom) });
      await expect(c.health()).rejects.toBe(boom);
    });

    it('an answer that is not problem+json (a proxy’s) still becomes an EventixApiError', async () => {
      const c = new EventixClient({
        baseUrl: BASE,
        fetch: async () =>
          new Response('<html>Bad gateway</html>', { status: 502, statusText: 'Bad Gateway', headers: { 'content-type': 'text/html' } }),
      });
      const err = await apiError(() => c.get('00000000-0000-0000-0000-000000000000'));
      expect(err.problem).toMatchObject({ status: 502, title: 'Bad Gateway', detail: '<html>Bad gateway</html>' });
      expect(err.code).toBeUndefined();
    });

    it('gives up after timeoutMs', async () => {
      const hanging: FetchLike = (_input, init) =>
        new Promise((_, reject) => init.signal?.addEventListener('abort', () => reject(init.signal?.reason)));
      const c = new EventixClient({ baseUrl: BASE, fetch: hanging, timeoutMs: 50 });
      await expect(c.health()).rejects.toMatchObject({ name: 'TimeoutError' });
      const controller = new AbortController();
      const pending = new EventixClient({ baseUrl: BASE, fetch: hanging, timeoutMs: 0 }).health({ signal: controller.signal });
      controller.abort(new Error('caller gave up'));
      await expect(pending).rejects.toThrow('caller gave up');
    });

    it('keeps a base path, and refuses a base URL with credentials', async () => {
      const seen: { url: string; init: RequestInit }[] = [];
      const c = new EventixClient({
        baseUrl: 'https://proxy.example/eventix/',
        fetch: async (input, init) => {
          seen.push({ url: input, init });
          return Response.json({ tasks: [], next_cursor: null });
        },
      });
      await c.list({ namespace: 'a', status: ['done', 'error'], limit: 10 });
      expect(seen[0]?.url).toBe('https://proxy.example/eventix/tasks?namespace=a&limit=10&status=done%2Cerror');
      expect(() => new EventixClient({ baseUrl: 'http://user:pw@host' })).toThrow(/token/);
      expect(() => new EventixClient({ baseUrl: 'nope' })).toThrow(/absolute/);
    });
  });

  describe('authentication', () => {
    let authApp: App;
    beforeAll(() => {
      authApp = createApp({
        database: db(),
        logger: silentLogger,
        apiTokens: [
          { name: 'ops', scope: 'admin', secret: SECRET },
          { name: 'runner', scope: 'worker', secret: `${SECRET}-w` },
        ],
      });
    });

    it('sends Authorization: Bearer <token>; without it the API answers 401', async () => {
      const seen: { url: string; init: RequestInit }[] = [];
      const authed = new EventixClient({ baseUrl: BASE, token: SECRET, fetch: inProcess(authApp, seen) });
      const { task } = await authed.submit({ task: 'c.auth', namespace: 'c-auth' });
      expect(task.operator).toBe('ops');
      expect(new Headers(seen[0]?.init.headers).get('authorization')).toBe(`Bearer ${SECRET}`);

      const anonymous = new EventixClient({ baseUrl: BASE, fetch: inProcess(authApp) });
      const err = await apiError(() => anonymous.get(task.uid));
      expect(err.status).toBe(401);
      expect(err.problem.detail).toMatch(/Bearer/);
      // Public probes need no token.
      expect(await anonymous.health()).toEqual({ status: 'ok' });
    });

    it('a wrong token is a 401 and a token without the scope a 403; no error message shows the token', async () => {
      const wrong = new EventixClient({ baseUrl: BASE, token: `${SECRET}-nope`, fetch: inProcess(authApp) });
      const e401 = await apiError(() => wrong.list());
      expect(e401.status).toBe(401);
      const worker = new EventixClient({ baseUrl: BASE, token: `${SECRET}-w`, fetch: inProcess(authApp) });
      const e403 = await apiError(() => worker.submit({ task: 'c.auth' }));
      expect(e403.status).toBe(403);
      for (const e of [e401, e403]) {
        expect(e.message).not.toContain(SECRET);
        expect(JSON.stringify(e.problem)).not.toContain(SECRET);
        expect(String(e.stack)).not.toContain(SECRET);
      }
      // The worker token may claim.
      expect(await worker.claim({ worker_id: 'w', namespace: 'c-auth-empty', tasks: ['c.auth'] })).toEqual({ tasks: [] });
    });
  });

  describe('remote-worker calls', () => {
    it('claim, heartbeat, complete: the result is stored and a second completion is refused', async () => {
      const { task } = await client.submit({ task: 'c.rw', namespace: 'c-rw', args: [20, 22] });
      const { tasks } = await client.claim({ worker_id: 'rw-1', namespace: 'c-rw', tasks: ['c.rw'], limit: 10, lease_seconds: 60 });
      expect(tasks).toHaveLength(1);
      const claimed = tasks[0]!;
      expect(claimed).toMatchObject({ uid: task.uid, status: 'processing', worker_id: 'rw-1', attempts: 1 });
      const lease = { worker_id: 'rw-1', fencing_token: claimed.fencing_token };
      const beat = await client.heartbeat(task.uid, { ...lease, lease_seconds: 120 });
      expect(beat.cancel_requested).toBe(false);
      expect(Date.parse(beat.lease_expires_at ?? '')).toBeGreaterThan(Date.now() + 100_000);
      expect(await client.complete(task.uid, { ...lease, result: { sum: 42 } })).toEqual({ status: 'done' });
      expect(await client.get(task.uid)).toMatchObject({ status: 'done', result: { sum: 42 } });
      const again = await apiError(() => client.complete(task.uid, { ...lease, result: 0 }));
      expect(again).toMatchObject({ status: 409, code: 'LeaseLost' });
    });

    it('fail: retry, not retryable, and cancelled when a cancel was requested; the stack and reason are stored', async () => {
      const submitted = await client.submitBatch([
        { task: 'c.fail', namespace: 'c-fail', args: ['retry'], error_eta_inc: 60 },
        { task: 'c.fail', namespace: 'c-fail', args: ['fatal'] },
        { task: 'c.fail', namespace: 'c-fail', args: ['cancel'] },
      ]);
      const { tasks } = await client.claim({ worker_id: 'rw-2', namespace: 'c-fail', tasks: ['c.fail'], limit: 3 });
      const byArg = new Map(tasks.map((t) => [t.args[0], t]));
      const lease = (arg: string) => ({ worker_id: 'rw-2', fencing_token: byArg.get(arg)?.fencing_token ?? 0 });
      const uid = (arg: string) => byArg.get(arg)?.uid ?? '';
      expect(tasks).toHaveLength(3);

      const retried = await client.fail(uid('retry'), { ...lease('retry'), error: { message: 'flaky', stack: 'Error: flaky\n    at x' } });
      expect(retried.status).toBe('retry');
      expect(Date.parse(retried.eta)).toBeGreaterThan(Date.now() + 30_000);
      // No payload sent: the stack must still be kept.
      expect((await client.get(uid('retry'))).error).toEqual({ class: 'Error', message: 'flaky', stack: 'Error: flaky\n    at x' });

      const fatal = await client.fail(uid('fatal'), {
        ...lease('fatal'),
        error: { class: 'Bad', message: 'no', payload: { x: 1 } },
        retry: false,
      });
      expect(fatal.status).toBe('error');

      expect((await client.cancel(uid('cancel'))).cancel_requested).toBe(true);
      expect((await client.heartbeat(uid('cancel'), lease('cancel'))).cancel_requested).toBe(true);
      const cancelled = await client.fail(uid('cancel'), {
        ...lease('cancel'),
        error: { class: 'TaskCancelled', message: 'cancelled', reason: 'cancelled' },
      });
      expect(cancelled.status).toBe('cancelled');
      expect((await client.get(uid('cancel'))).error).toEqual({ class: 'TaskCancelled', message: 'cancelled', reason: 'cancelled' });
      expect(submitted.map((r) => r.task.uid).sort()).toEqual([...byArg.values()].map((t) => t.uid).sort());
    });

    it('a long-poll claim waits for a task to be submitted, and answers empty when none comes', async () => {
      const started = Date.now();
      expect((await client.claim({ worker_id: 'rw-3', namespace: 'c-poll-empty', tasks: ['c.poll'], wait_seconds: 0.3 })).tasks).toEqual(
        [],
      );
      expect(Date.now() - started).toBeGreaterThanOrEqual(250);

      const poll = client.claim({ worker_id: 'rw-3', namespace: 'c-poll', tasks: ['c.poll'], wait_seconds: 10 });
      await new Promise((r) => setTimeout(r, 200));
      const { task } = await client.submit({ task: 'c.poll', namespace: 'c-poll' });
      const { tasks } = await poll;
      expect(tasks.map((t) => t.uid)).toEqual([task.uid]);
      expect(Date.now() - started).toBeLessThan(5_000);
    });
  });

  describe('service', () => {
    it('stats and namespaces count tasks by namespace and status', async () => {
      await client.submitBatch([
        { task: 'c.stats', namespace: 'c-stats', args: [1] },
        { task: 'c.stats', namespace: 'c-stats', args: [2] },
      ]);
      const { namespaces } = await client.namespaces();
      expect(namespaces.find((n) => n.namespace === 'c-stats')).toMatchObject({ total: 2, counts: { scheduled: 2, done: 0 } });
      const stats = await client.stats();
      expect(Date.parse(stats.at)).not.toBeNaN();
      expect(stats.namespaces.find((n) => n.namespace === 'c-stats')).toMatchObject({
        counts: { scheduled: 2 },
        tasks: [{ task: 'c.stats', counts: { scheduled: 2 } }],
      });
    });

    it('health, ready and version', async () => {
      expect(await client.health()).toEqual({ status: 'ok' });
      expect(await client.ready()).toMatchObject({ status: 'ready', database: 'ok' });
      expect(await client.version()).toMatchObject({ name: 'eventix', version: expect.any(String) });
    });
  });
});
