import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { type App, createApp } from '../../src/api/app.ts';
import { taskOut } from '../../src/api/schemas.ts';
import { silentLogger } from '../../src/logger.ts';
import { type ClaimedTask, claim, complete, fail, submit } from '../../src/queue/index.ts';
import { type ApiResponse, del, expectJson, expectProblem, get, type Json, post, send } from '../helpers/api.ts';
import { useTestDatabase } from '../helpers/db.ts';

describe('tasks API', () => {
  const db = useTestDatabase();
  const pool = () => db().pool;
  let app: App;
  beforeAll(() => {
    app = createApp({ database: db(), logger: silentLogger });
  });

  // Every test works in its own namespace, so lists and claims never see another test's tasks.
  let nsCounter = 0;
  const freshNs = (label: string) => `api-${label}-${++nsCounter}`;

  async function countIn(namespace: string): Promise<number> {
    const { rows } = await pool().query<{ n: number }>('select count(*)::int as n from tasks where namespace = $1', [namespace]);
    return rows[0]!.n;
  }

  async function claimOne(namespace: string, task: string, workerId = 'w-test'): Promise<ClaimedTask> {
    const [t] = await claim(pool(), { workerId, namespaces: [namespace], tasks: [task], limit: 1, leaseSeconds: 30 });
    expect(t, `a due '${task}' task in ${namespace}`).toBeDefined();
    return t!;
  }

  async function create(namespace: string, extra: Record<string, unknown> = {}): Promise<Json> {
    return expectJson(await post(app, '/tasks', { task: 'job', namespace, ...extra }), 201).task;
  }

  describe('POST /tasks', () => {
    it('creates a task (201) with every default filled in, in the wire schema', async () => {
      const res = await post(app, '/tasks', { task: 'email.send' });
      const body = expectJson(res, 201);
      expect(body.created).toBe(true);
      const t = body.task;
      expect(() => taskOut.parse(t)).not.toThrow();
      expect(t).toMatchObject({
        task: 'email.send',
        namespace: 'default',
        status: 'scheduled',
        priority: 0,
        args: [],
        kwargs: {},
        unique_key: null,
        retry: true,
        max_retries: 5,
        error_eta_inc: 15,
        error_eta_max: 300,
        timeout_seconds: null,
        store_result: true,
        result_expires: 604800,
        error_expires: 604800,
        result: null,
        error: null,
        expires_at: null,
        attempts: 0,
        worker_id: null,
        lease_expires_at: null,
        cancel_requested: false,
        operator: null,
        revision: 1,
        started_at: null,
        finished_at: null,
      });
      expect(t.uid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      // No eta means now: the very instant the row was created (one statement, one now()).
      expect(t.eta).toBe(t.created_at);
      expect(t.updated_at).toBe(t.created_at);
      expect('fencing_token' in t).toBe(false);
    });

    it('round-trips every option in snake_case, in the answer, in GET and in the stored row', async () => {
      const namespace = freshNs('options');
      const input = {
        task: 'report.build',
        namespace,
        args: [1, 'two', { three: [3] }, null, true],
        kwargs: { user: 'ann', nested: { deep: [1, 2] }, emoji: 'héllo ☃' },
        priority: -12,
        eta: '2031-01-02T03:04:05.678+02:00',
        unique_key: 'report:2031-01',
        retry: false,
        max_retries: null,
        error_eta_inc: 7,
        error_eta_max: 70,
        timeout_seconds: 120,
        store_result: false,
        result_expires: null,
        error_expires: 3600,
        operator: 'alice',
      };
      const t = expectJson(await post(app, '/tasks', input), 201).task;
      const expected = { ...input, eta: '2031-01-02T01:04:05.678Z', status: 'scheduled' };
      expect(t).toMatchObject(expected);
      for (const key of Object.keys(t)) expect(key).toMatch(/^[a-z]+(_[a-z]+)*$/);

      const fetched = expectJson(await get(app, `/tasks/${t.uid}`), 200);
      expect(fetched).toEqual(t);

      const { rows } = await pool().query('select * from tasks where uid = $1', [t.uid]);
      expect(rows[0]).toMatchObject({
        task: 'report.build',
        namespace,
        args: input.args,
        kwargs: input.kwargs,
        priority: -12,
        unique_key: 'report:2031-01',
        retry: false,
        max_retries: null,
        error_eta_inc: 7,
        error_eta_max: 70,
        timeout_seconds: 120,
        store_result: false,
        result_expires: null,
        error_expires: 3600,
        operator: 'alice',
      });
      expect((rows[0].eta as Date).toISOString()).toBe('2031-01-02T01:04:05.678Z');
    });

    it('accepts application/json with parameters', async () => {
      const res = await post(
        app,
        '/tasks',
        { task: 'x', namespace: freshNs('charset') },
        { contentType: 'application/json; charset=utf-8' },
      );
      expect(res.status).toBe(201);
    });

    it('merges a waiting task with the same unique_key (200, same uid): earliest eta, highest priority, latest args', async () => {
      const namespace = freshNs('merge');
      const first = await post(app, '/tasks', {
        task: 'sync',
        namespace,
        unique_key: 'k',
        args: [1],
        priority: 1,
        eta: '2030-01-01T00:00:00Z',
      });
      const a = expectJson(first, 201);
      expect(a.created).toBe(true);
      const second = await post(app, '/tasks', {
        task: 'sync',
        namespace,
        unique_key: 'k',
        args: [2],
        kwargs: { v: 2 },
        priority: 5,
        eta: '2029-01-01T00:00:00Z',
      });
      const b = expectJson(second, 200);
      expect(b.created).toBe(false);
      expect(b.task.uid).toBe(a.task.uid);
      expect(b.task).toMatchObject({ args: [2], kwargs: { v: 2 }, priority: 5, eta: '2029-01-01T00:00:00.000Z', revision: 2 });
      // A later eta and lower priority do not push the merged task back.
      const third = expectJson(
        await post(app, '/tasks', { task: 'sync', namespace, unique_key: 'k', priority: 0, eta: '2035-01-01T00:00:00Z' }),
        200,
      );
      expect(third.task).toMatchObject({ uid: a.task.uid, priority: 5, eta: '2029-01-01T00:00:00.000Z', args: [] });
      expect(await countIn(namespace)).toBe(1);
    });

    it('a unique_key no longer blocks once its task has finished: a new task is created (201)', async () => {
      const namespace = freshNs('merge-done');
      const a = await create(namespace, { unique_key: 'once' });
      const c = await claimOne(namespace, 'job');
      expect(c.uid).toBe(a.uid);
      // While it runs, a new submission with the key is a new waiting task.
      const b = expectJson(await post(app, '/tasks', { task: 'job', namespace, unique_key: 'once' }), 201);
      expect(b.task.uid).not.toBe(a.uid);
      await complete(pool(), { uid: c.uid, workerId: c.workerId, fencingToken: c.fencingToken });
      expect(await countIn(namespace)).toBe(2);
    });

    const invalid: [string, Record<string, unknown>, string | RegExp][] = [
      ['task missing', {}, 'task'],
      ['task not a string', { task: 42 }, 'task'],
      ['task with a space', { task: 'has space' }, 'task'],
      ['task too long', { task: 'x'.repeat(201) }, 'task'],
      ['namespace empty', { task: 't', namespace: '' }, 'namespace'],
      ['priority fractional', { task: 't', priority: 1.5 }, 'priority'],
      ['priority above smallint', { task: 't', priority: 32768 }, 'priority'],
      ['priority below smallint', { task: 't', priority: -32769 }, 'priority'],
      ['priority as a string', { task: 't', priority: '1' }, 'priority'],
      ['eta garbage', { task: 't', eta: 'tomorrow' }, 'eta'],
      ['eta without offset', { task: 't', eta: '2030-01-01T00:00:00' }, 'eta'],
      ['eta impossible date', { task: 't', eta: '2030-02-30T00:00:00Z' }, 'eta'],
      ['eta as epoch millis', { task: 't', eta: 1_900_000_000_000 }, 'eta'],
      ['eta year 0', { task: 't', eta: '0000-01-01T00:00:00Z' }, 'eta'],
      ['eta past year 9999 once in UTC', { task: 't', eta: '9999-12-31T23:59:59-14:00' }, 'eta'],
      ['args an object', { task: 't', args: { a: 1 } }, 'args'],
      ['args null', { task: 't', args: null }, 'args'],
      ['kwargs an array', { task: 't', kwargs: [1] }, 'kwargs'],
      ['unique_key empty', { task: 't', unique_key: '' }, 'unique_key'],
      ['unique_key too long', { task: 't', unique_key: 'k'.repeat(501) }, 'unique_key'],
      ['retry a string', { task: 't', retry: 'true' }, 'retry'],
      ['max_retries negative', { task: 't', max_retries: -1 }, 'max_retries'],
      ['max_retries too many', { task: 't', max_retries: 1001 }, 'max_retries'],
      ['error_eta_inc zero', { task: 't', error_eta_inc: 0 }, 'error_eta_inc'],
      ['error_eta_inc fractional', { task: 't', error_eta_inc: 1.5 }, 'error_eta_inc'],
      ['error_eta_max below error_eta_inc', { task: 't', error_eta_inc: 100, error_eta_max: 50 }, 'error_eta_max'],
      ['timeout_seconds zero', { task: 't', timeout_seconds: 0 }, 'timeout_seconds'],
      ['timeout_seconds over a week', { task: 't', timeout_seconds: 7 * 86400 + 1 }, 'timeout_seconds'],
      ['store_result null', { task: 't', store_result: null }, 'store_result'],
      ['result_expires zero', { task: 't', result_expires: 0 }, 'result_expires'],
      ['error_expires negative', { task: 't', error_expires: -1 }, 'error_expires'],
      ['operator empty', { task: 't', operator: '' }, 'operator'],
      ['a NUL in an args string', { task: 't', args: ['a\u0000b'] }, 'args.0'],
      ['a lone surrogate in a kwargs value', { task: 't', kwargs: { k: 'x\ud800' } }, 'kwargs.k'],
      ['a NUL in a nested kwargs key', { task: 't', kwargs: { k: { 'a\u0000': 1 } } }, /^kwargs/],
      ['a NUL in a kwargs key', { task: 't', kwargs: { 'a\u0000b': 1 } }, /^kwargs/],
      ['a lone surrogate in a kwargs key', { task: 't', kwargs: { '\udc00': 1 } }, /^kwargs/],
      ['a NUL in unique_key', { task: 't', unique_key: 'a\u0000b' }, 'unique_key'],
      ['a lone surrogate in unique_key', { task: 't', unique_key: '\ud800' }, 'unique_key'],
      ['a NUL in operator', { task: 't', operator: 'bob\u0000' }, 'operator'],
      ['a lone surrogate in operator', { task: 't', operator: '\udfff' }, 'operator'],
    ];
    it.each(invalid)('400 naming the field, nothing written: %s', async (_label, body, field) => {
      const namespace = freshNs('invalid');
      const full = { namespace, ...body };
      const res = await post(app, '/tasks', field === 'namespace' ? body : full);
      expectProblem(res, 400, { field, code: 'ValidationError' });
      expect(await countIn(namespace)).toBe(0);
    });

    it('400 naming each unknown field (the wire format is snake_case: camelCase names are unknown)', async () => {
      const namespace = freshNs('unknown');
      const res = await post(app, '/tasks', { task: 't', namespace, uniqueKey: 'k', color: 'red' });
      const p = expectProblem(res, 400, { message: /uniqueKey/ });
      expect(JSON.stringify(p.errors)).toContain('color');
      expect(await countIn(namespace)).toBe(0);
    });

    it('400 for NUL and lone-surrogate escapes written in the JSON text itself', async () => {
      const namespace = freshNs('escapes');
      for (const raw of [
        `{"task":"t","namespace":"${namespace}","args":["\\u0000"]}`,
        `{"task":"t","namespace":"${namespace}","kwargs":{"k":"\\ud800"}}`,
        `{"task":"t","namespace":"${namespace}","kwargs":{"\\u0000":1}}`,
        `{"task":"t","namespace":"${namespace}","unique_key":"a\\u0000"}`,
        `{"task":"t","namespace":"${namespace}","operator":"\\udc00x"}`,
        `{"task":"t\\u0000","namespace":"${namespace}"}`,
      ]) {
        expectProblem(await post(app, '/tasks', undefined, { body: raw }), 400, { code: 'ValidationError' });
      }
      expect(await countIn(namespace)).toBe(0);
    });

    it('400 for values JSON cannot carry: 1e400 (Infinity), NaN, undefined, deep nesting', async () => {
      const namespace = freshNs('nonjson');
      expectProblem(await post(app, '/tasks', undefined, { body: `{"task":"t","namespace":"${namespace}","args":[1e400]}` }), 400, {
        field: 'args.0',
      });
      expectProblem(await post(app, '/tasks', undefined, { body: `{"task":"t","namespace":"${namespace}","priority":1e400}` }), 400, {
        field: 'priority',
      });
      expectProblem(await post(app, '/tasks', undefined, { body: `{"task":"t","args":[NaN]}` }), 400, { field: '(body)' });
      expectProblem(await post(app, '/tasks', undefined, { body: `{"task":"t","args":[undefined]}` }), 400, { field: '(body)' });
      // Deep enough to overflow a recursive validator, and PostgreSQL's jsonb parser too.
      const depth = 50_000;
      const deep = `{"task":"t","namespace":"${namespace}","args":${'['.repeat(depth)}${']'.repeat(depth)}}`;
      expectProblem(await post(app, '/tasks', undefined, { body: deep }), 400, { code: 'ValidationError' });
      const deepObject = `{"task":"t","namespace":"${namespace}","kwargs":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`;
      expectProblem(await post(app, '/tasks', undefined, { body: deepObject }), 400, { code: 'ValidationError' });
      expect(await countIn(namespace)).toBe(0);
    });

    it('415 without a Content-Type, or with text/plain or a form type', async () => {
      const body = JSON.stringify({ task: 't' });
      const missing = await post(app, '/tasks', undefined, { body, contentType: null });
      expect(expectProblem(missing, 415).detail).toContain('none');
      expectProblem(await post(app, '/tasks', undefined, { body, contentType: 'text/plain' }), 415);
      expectProblem(await post(app, '/tasks', undefined, { body, contentType: 'application/x-www-form-urlencoded' }), 415);
      expectProblem(await post(app, '/tasks', undefined, { body, contentType: 'application/jsonp' }), 415);
    });

    it('400 for malformed, truncated or empty JSON', async () => {
      for (const raw of ['{"task":', '{task: "t"}', "{'task':'t'}", '{"task":"t"}}', '', '   ', '\u0000']) {
        expectProblem(await post(app, '/tasks', undefined, { body: raw }), 400, { field: '(body)', code: 'ValidationError' });
      }
    });

    it('400 for JSON bodies that are not an object', async () => {
      for (const raw of ['null', '[]', '[{"task":"t"}]', '"t"', '42', 'true']) {
        expectProblem(await post(app, '/tasks', undefined, { body: raw }), 400, { field: '(body)' });
      }
    });

    it('413 for a body over the limit (with or without Content-Length); a body under it passes', async () => {
      const small = createApp({ database: db(), logger: silentLogger, maxBodyBytes: 1024 });
      const namespace = freshNs('limit');
      const big = JSON.stringify({ task: 't', namespace, args: ['x'.repeat(2000)] });
      const r1 = await post(small, '/tasks', undefined, { body: big });
      expect(expectProblem(r1, 413).detail).toContain('1024');
      const r2 = await post(small, '/tasks', undefined, { body: big, headers: { 'content-length': String(big.length) } });
      expectProblem(r2, 413);
      expect(await countIn(namespace)).toBe(0);
      const ok = await post(small, '/tasks', { task: 't', namespace, args: ['x'.repeat(900)] });
      expect(ok.status).toBe(201);
    });
  });

  describe('POST /tasks/batch', () => {
    it('creates every task (201), results in input order', async () => {
      const namespace = freshNs('batch');
      const res = await post(app, '/tasks/batch', {
        tasks: [
          { task: 'a', namespace, args: [0] },
          { task: 'b', namespace, args: [1], priority: 3 },
          { task: 'c', namespace, args: [2], eta: '2030-05-05T05:05:05Z' },
        ],
      });
      const body = expectJson(res, 201);
      expect(body.results).toHaveLength(3);
      expect(body.results.map((r: Json) => [r.created, r.task.task, r.task.args[0]])).toEqual([
        [true, 'a', 0],
        [true, 'b', 1],
        [true, 'c', 2],
      ]);
      expect(body.results[2].task.eta).toBe('2030-05-05T05:05:05.000Z');
      expect(new Set(body.results.map((r: Json) => r.task.uid)).size).toBe(3);
      expect(await countIn(namespace)).toBe(3);
    });

    it('merges duplicates of one unique_key inside the batch: one task, later results created=false', async () => {
      const namespace = freshNs('batch-dup');
      const res = await post(app, '/tasks/batch', {
        tasks: [
          { task: 'a', namespace, unique_key: 'k', args: [1] },
          { task: 'a', namespace, args: [2] },
          { task: 'a', namespace, unique_key: 'k', args: [3], priority: 9 },
        ],
      });
      const { results } = expectJson(res, 201);
      expect(results[0].created).toBe(true);
      expect(results[2].created).toBe(false);
      expect(results[2].task.uid).toBe(results[0].task.uid);
      expect(results[2].task).toMatchObject({ args: [3], priority: 9 });
      expect(await countIn(namespace)).toBe(2);
      // And a batch merging into a task that already waits.
      const again = expectJson(await post(app, '/tasks/batch', { tasks: [{ task: 'a', namespace, unique_key: 'k', args: [4] }] }), 201);
      expect(again.results[0]).toMatchObject({ created: false, task: { uid: results[0].task.uid, args: [4] } });
    });

    it('is atomic: one bad item → 400 naming tasks.<i>.<field>, and nothing is written', async () => {
      const namespace = freshNs('batch-atomic');
      const res = await post(app, '/tasks/batch', {
        tasks: [
          { task: 'a', namespace },
          { task: 'b', namespace },
          { task: 'c', namespace, priority: 'high' },
          { task: 'd', namespace },
        ],
      });
      expectProblem(res, 400, { field: 'tasks.2.priority' });
      expect(await countIn(namespace)).toBe(0);
    });

    it('names every bad item, including cross-field and unknown-field problems', async () => {
      const namespace = freshNs('batch-many');
      const res = await post(app, '/tasks/batch', {
        tasks: [
          { task: 'ok', namespace },
          { task: 'a', namespace, error_eta_inc: 100, error_eta_max: 50 },
          { task: 'b', namespace, bogus: true },
          { task: 'c', namespace, args: ['\u0000'] },
          { namespace },
        ],
      });
      const p = expectProblem(res, 400, { field: 'tasks.1.error_eta_max' });
      const fields = p.errors.map((e: Json) => e.field);
      expect(fields).toContain('tasks.3.args.0');
      expect(fields).toContain('tasks.4.task');
      expect(p.errors.some((e: Json) => e.field.startsWith('tasks.2') && e.message.includes('bogus'))).toBe(true);
      expect(await countIn(namespace)).toBe(0);
    });

    it('400 for an empty, missing or non-array tasks list, and for unknown top-level fields', async () => {
      expectProblem(await post(app, '/tasks/batch', { tasks: [] }), 400, { field: 'tasks' });
      expectProblem(await post(app, '/tasks/batch', {}), 400, { field: 'tasks' });
      expectProblem(await post(app, '/tasks/batch', { tasks: { task: 'a' } }), 400, { field: 'tasks' });
      expectProblem(await post(app, '/tasks/batch', [{ task: 'a' }]), 400, { field: '(body)' });
      expectProblem(await post(app, '/tasks/batch', { tasks: [{ task: 'a' }], atomic: true }), 400, { message: /atomic/ });
      expectProblem(await post(app, '/tasks/batch', undefined, { body: '{"tasks":[', contentType: 'application/json' }), 400);
      expectProblem(await post(app, '/tasks/batch', undefined, { body: '{"tasks":[]}', contentType: 'text/plain' }), 415);
    });

    it('accepts 10,000 tasks; 10,001 is a 400 naming tasks and writes nothing', async () => {
      const namespace = freshNs('batch-limit');
      const over = Array.from({ length: 10_001 }, (_, i) => ({ task: 'bulk', namespace, args: [i] }));
      const tooMany = await post(app, '/tasks/batch', { tasks: over });
      expectProblem(tooMany, 400, { field: 'tasks', message: /10000/ });
      expect(await countIn(namespace)).toBe(0);

      const res = await post(app, '/tasks/batch', { tasks: over.slice(0, 10_000) });
      const { results } = expectJson(res, 201);
      expect(results).toHaveLength(10_000);
      expect(results[9_999].task.args).toEqual([9_999]);
      expect(await countIn(namespace)).toBe(10_000);
    });
  });

  describe('GET /tasks/{uid} and /tasks/by-unique-key/{namespace}/{unique_key}', () => {
    it('200 with the task', async () => {
      const t = await create(freshNs('get'), { args: ['a'] });
      expect(expectJson(await get(app, `/tasks/${t.uid}`), 200)).toEqual(t);
      // Upper-case hex is the same UUID.
      expect(expectJson(await get(app, `/tasks/${t.uid.toUpperCase()}`), 200).uid).toBe(t.uid);
    });

    it('404 problem for an unknown uid', async () => {
      const uid = randomUUID();
      const p = expectProblem(await get(app, `/tasks/${uid}`), 404, { code: 'TaskNotFound' });
      expect(p.detail).toContain(uid);
    });

    it('400 naming uid for a malformed uid', async () => {
      for (const bad of ['not-a-uuid', '12345', `${randomUUID()}0`, 'zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz', '%27%3B--']) {
        expectProblem(await get(app, `/tasks/${bad}`), 400, { field: 'uid' });
      }
    });

    it('by unique key: 200 with the live task, 404 for an unknown key or namespace', async () => {
      const namespace = freshNs('byk');
      const key = 'order/42 ü#?';
      const t = await create(namespace, { unique_key: key });
      const found = expectJson(await get(app, `/tasks/by-unique-key/${namespace}/${encodeURIComponent(key)}`), 200);
      expect(found.uid).toBe(t.uid);
      expectProblem(await get(app, `/tasks/by-unique-key/${namespace}/nope`), 404, { code: 'NotFound' });
      expectProblem(await get(app, `/tasks/by-unique-key/other-ns/${encodeURIComponent(key)}`), 404, { code: 'NotFound' });
    });

    it('by unique key: a NUL in the path is a client error, never a 500', async () => {
      const res = await get(app, '/tasks/by-unique-key/default/a%00b');
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expectProblem(res, res.status);
    });
  });

  describe('GET /tasks (filters)', () => {
    const namespace = 'api-filters';
    const uids: Record<string, string> = {};
    const list = async (query: string): Promise<Json> => expectJson(await get(app, `/tasks?namespace=${namespace}&${query}`), 200);
    const uidsOf = (page: Json) => new Set(page.tasks.map((t: Json) => t.uid));
    const expectUids = (page: Json, names: string[]) => expect(uidsOf(page)).toEqual(new Set(names.map((n) => uids[n])));

    beforeAll(async () => {
      // t1 a scheduled, t2 b cancelled, t3 a processing, t4 b done, t5 a error, t6 c scheduled with a unique_key.
      // The ones to be claimed are made first, so each claim finds only its own task.
      const p = pool();
      const mk = async (name: string, task: string, uniqueKey?: string) => {
        uids[name] = (await submit(p, { task, namespace, uniqueKey })).task.uid;
      };
      const claimIt = async (name: string, task: string) => {
        const [c] = await claim(p, { workerId: 'w', namespaces: [namespace], tasks: [task], limit: 1, leaseSeconds: 60 });
        expect(c?.uid).toBe(uids[name]);
        return c!;
      };
      await mk('t3', 'a');
      await claimIt('t3', 'a');
      await mk('t4', 'b');
      const c4 = await claimIt('t4', 'b');
      await complete(p, { uid: c4.uid, workerId: 'w', fencingToken: c4.fencingToken, result: { ok: true } });
      await mk('t5', 'a');
      const c5 = await claimIt('t5', 'a');
      await fail(p, { uid: c5.uid, workerId: 'w', fencingToken: c5.fencingToken, error: { class: 'E', message: 'x' }, retryable: false });
      await mk('t1', 'a');
      await mk('t2', 'b');
      expectJson(await post(app, `/tasks/${uids.t2}/cancel`), 200);
      await mk('t6', 'c', 'k1');
      // Distinct, known timestamps: created_at on day N of 2020, updated_at on day N of 2021.
      for (const [i, name] of ['t1', 't2', 't3', 't4', 't5', 't6'].entries()) {
        await p.query(`update tasks set created_at = $2, updated_at = $3 where uid = $1`, [
          uids[name],
          `2020-01-0${i + 1}T00:00:00Z`,
          `2021-01-0${i + 1}T00:00:00Z`,
        ]);
      }
    });

    it('namespace alone lists all six, newest submission first (by id, whatever created_at says)', async () => {
      const page = await list('');
      expect(page.tasks.map((t: Json) => t.uid)).toEqual(['t6', 't2', 't1', 't5', 't4', 't3'].map((n) => uids[n]));
      expect(page.next_cursor).toBeNull();
      for (const t of page.tasks) expect(() => taskOut.parse(t)).not.toThrow();
    });

    it('status: single, repeated, comma list', async () => {
      const statuses = Object.fromEntries((await list('')).tasks.map((t: Json) => [t.uid, t.status]));
      expect(statuses[uids.t3!]).toBe('processing');
      expect(statuses[uids.t4!]).toBe('done');
      expect(statuses[uids.t5!]).toBe('error');
      expectUids(await list('status=scheduled'), ['t1', 't6']);
      expectUids(await list('status=cancelled&status=done'), ['t2', 't4']);
      expectUids(await list('status=cancelled,done,error'), ['t2', 't4', 't5']);
      expectUids(await list('status=processing,error&status=done'), ['t3', 't4', 't5']);
      expectUids(await list('status=retry'), []);
    });

    it('task, unique_key, and filters combined', async () => {
      expectUids(await list('task=a'), ['t1', 't3', 't5']);
      expectUids(await list('task=a&status=scheduled,error'), ['t1', 't5']);
      expectUids(await list('unique_key=k1'), ['t6']);
      expectUids(await list('unique_key=nope'), []);
      // Without a namespace filter, another namespace's tasks would show up too.
      const all = expectJson(await get(app, '/tasks?unique_key=k1&task=c'), 200);
      expect(uidsOf(all).has(uids.t6)).toBe(true);
    });

    it('created_after / created_before / updated_after / updated_before (exclusive bounds)', async () => {
      expectUids(await list('created_after=2020-01-03T00:00:00Z'), ['t4', 't5', 't6']);
      expectUids(await list('created_before=2020-01-03T00:00:00Z'), ['t1', 't2']);
      expectUids(await list('created_after=2020-01-02T00:00:00Z&created_before=2020-01-05T00:00:00Z'), ['t3', 't4']);
      expectUids(await list('updated_after=2021-01-05T00:00:00Z'), ['t6']);
      expectUids(await list('updated_before=2021-01-02T12:00:00%2B00:00'), ['t1', 't2']);
      expectUids(await list('updated_after=2021-01-01T00:00:00Z&updated_before=2021-01-04T00:00:00Z&task=b'), ['t2']);
      // An offset other than Z.
      expectUids(await list('created_after=2020-01-05T23:00:00%2B02:00'), ['t6']);
    });

    it('400 for an unknown filter, naming it', async () => {
      expectProblem(await get(app, '/tasks?color=red'), 400, { message: /color/ });
      expectProblem(await get(app, '/tasks?statuses=done'), 400, { message: /statuses/ });
    });

    it('400 naming status for an unknown status, alone or in a list', async () => {
      expectProblem(await get(app, '/tasks?status=finished'), 400, { field: /^status/ });
      expectProblem(await get(app, '/tasks?status=done,finished'), 400, { field: /^status/ });
      expectProblem(await get(app, '/tasks?status=done&status=DONE'), 400, { field: /^status/ });
    });

    it('400 naming the parameter for bad limits, names and dates', async () => {
      for (const [query, field] of [
        ['limit=0', 'limit'],
        ['limit=501', 'limit'],
        ['limit=abc', 'limit'],
        ['limit=2.5', 'limit'],
        ['namespace=has%20space', 'namespace'],
        ['task=', 'task'],
        ['unique_key=', 'unique_key'],
        ['unique_key=a%00b', 'unique_key'],
        ['created_after=yesterday', 'created_after'],
        ['created_before=2020-01-01', 'created_before'],
        ['updated_after=2020-02-30T00:00:00Z', 'updated_after'],
        ['updated_before=0000-01-01T00:00:00Z', 'updated_before'],
        ['created_after=1', 'created_after'],
      ] as const) {
        expectProblem(await get(app, `/tasks?${query}`), 400, { field });
      }
    });
  });

  describe('GET /tasks (keyset pagination)', () => {
    async function expectedOrder(namespace: string): Promise<string[]> {
      const { rows } = await pool().query<{ uid: string }>('select uid from tasks where namespace = $1 order by id desc', [namespace]);
      return rows.map((r) => r.uid);
    }

    async function pageThrough(path: string, between?: (page: number) => Promise<void>): Promise<{ uids: string[]; sizes: number[] }> {
      const uids: string[] = [];
      const sizes: number[] = [];
      let cursor: string | null = null;
      for (let page = 0; page < 100; page++) {
        const url: string = cursor ? `${path}&cursor=${encodeURIComponent(cursor)}` : path;
        const body = expectJson(await get(app, url), 200);
        uids.push(...body.tasks.map((t: Json) => t.uid));
        sizes.push(body.tasks.length);
        cursor = body.next_cursor;
        if (!cursor) break;
        await between?.(page);
      }
      return { uids, sizes };
    }

    it('pages through 25 tasks by 10 with no duplicate and no gap, newest first, undisturbed by inserts', async () => {
      const namespace = freshNs('pages');
      // Three submissions: tasks of one batch share created_at, so the id breaks the ties.
      expectJson(
        await post(app, '/tasks/batch', { tasks: Array.from({ length: 10 }, (_, i) => ({ task: 'p', namespace, args: [i] })) }),
        201,
      );
      for (let i = 10; i < 20; i++) await create(namespace, { args: [i] });
      expectJson(
        await post(app, '/tasks/batch', { tasks: Array.from({ length: 5 }, (_, i) => ({ task: 'p', namespace, args: [20 + i] })) }),
        201,
      );
      const expected = await expectedOrder(namespace);
      expect(expected).toHaveLength(25);

      const inserted: string[] = [];
      const { uids, sizes } = await pageThrough(`/tasks?namespace=${namespace}&limit=10`, async () => {
        // Newer tasks land before the cursor: the pages still to come must not shift.
        for (let k = 0; k < 3; k++) inserted.push((await create(namespace, { args: ['late'] })).uid);
      });
      expect(sizes).toEqual([10, 10, 5]);
      expect(new Set(uids).size).toBe(uids.length);
      expect(uids).toEqual(expected);
      expect(inserted).toHaveLength(6);

      // The order really is newest first: created_at never increases along the list.
      const fresh = await pageThrough(`/tasks?namespace=${namespace}&limit=7`);
      expect(fresh.uids).toEqual(await expectedOrder(namespace));
      expect(fresh.uids.slice(0, 6).sort()).toEqual([...inserted].sort());
      const all = expectJson(await get(app, `/tasks?namespace=${namespace}&limit=500`), 200).tasks as Json[];
      for (let i = 1; i < all.length; i++) expect(all[i].created_at <= all[i - 1].created_at).toBe(true);
    });

    it('pages by id: ties and microsecond differences in created_at neither skip nor repeat rows', async () => {
      const namespace = freshNs('micro');
      const { results } = expectJson(
        await post(app, '/tasks/batch', { tasks: Array.from({ length: 24 }, (_, i) => ({ task: 'm', namespace, args: [i] })) }),
        201,
      );
      // Half the rows share one instant; the others differ by single microseconds within one millisecond.
      await pool().query(
        `update tasks set created_at = case when (args->>0)::int % 2 = 0
           then '2024-01-01 00:00:00.123456+00'::timestamptz
           else '2024-01-01 00:00:00.123000+00'::timestamptz + make_interval(secs => (args->>0)::int / 1e6) end
         where namespace = $1`,
        [namespace],
      );
      const expected = await expectedOrder(namespace);
      for (const limit of [1, 5, 7, 24]) {
        const { uids } = await pageThrough(`/tasks?namespace=${namespace}&limit=${limit}`);
        expect(uids, `limit ${limit}`).toEqual(expected);
      }
      expect(new Set(expected)).toEqual(new Set(results.map((r: Json) => r.task.uid)));
    });

    it('a forged or damaged cursor is a 400 naming cursor', async () => {
      const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
      const forged = [
        'garbage',
        b64('not json'),
        b64({ c: 'yesterday', i: 1 }),
        b64({ c: '2024-01-01 00:00:00+00', i: 'x' }),
        b64({ c: '2024-01-01 00:00:00+00', i: 1.5 }),
        b64({ c: '2024-01-01 00:00:00+00' }),
        b64([1, 2]),
        b64(null),
        // Dates JavaScript parses but PostgreSQL does not.
        b64({ c: '1', i: 1 }),
        b64({ c: '99999', i: 1 }),
        b64({ c: '0000-01-01 00:00:00+00', i: 1 }),
        b64({ c: '2024-02-30 00:00:00+00', i: 1 }),
        b64({ c: '2024-01-01 00:00:00+00', i: 2 ** 63 }),
        'x'.repeat(201),
      ];
      for (const cursor of forged) {
        const res = await get(app, `/tasks?limit=2&cursor=${encodeURIComponent(cursor)}`);
        expectProblem(res, 400, { field: 'cursor' });
      }
    });
  });

  describe('POST /tasks/{uid}/cancel', () => {
    it('200: a waiting task becomes cancelled at once', async () => {
      const t = await create(freshNs('cancel'));
      const c = expectJson(await post(app, `/tasks/${t.uid}/cancel`), 200);
      expect(c).toMatchObject({ uid: t.uid, status: 'cancelled', cancel_requested: false, revision: 2 });
      expect(c.finished_at).not.toBeNull();
    });

    it('200: a running task is flagged cancel_requested and keeps running', async () => {
      const namespace = freshNs('cancel-run');
      const t = await create(namespace);
      await claimOne(namespace, 'job');
      const c = expectJson(await post(app, `/tasks/${t.uid}/cancel`), 200);
      expect(c).toMatchObject({ uid: t.uid, status: 'processing', cancel_requested: true });
    });

    it('409 InvalidTransition for a finished task, nothing changed', async () => {
      const namespace = freshNs('cancel-done');
      const t = await create(namespace);
      const c = await claimOne(namespace, 'job');
      await complete(pool(), { uid: c.uid, workerId: c.workerId, fencingToken: c.fencingToken });
      const before = expectJson(await get(app, `/tasks/${t.uid}`), 200);
      const p = expectProblem(await post(app, `/tasks/${t.uid}/cancel`), 409, { code: 'InvalidTransition' });
      expect(p.detail).toContain('done');
      expect(expectJson(await get(app, `/tasks/${t.uid}`), 200)).toEqual(before);
      // Cancelling twice is also a transition from a final status.
      const w = await create(namespace);
      expectJson(await post(app, `/tasks/${w.uid}/cancel`), 200);
      expectProblem(await post(app, `/tasks/${w.uid}/cancel`), 409, { code: 'InvalidTransition' });
    });

    it('404 for an unknown task, 400 for a malformed uid', async () => {
      expectProblem(await post(app, `/tasks/${randomUUID()}/cancel`), 404, { code: 'TaskNotFound' });
      expectProblem(await post(app, '/tasks/nope/cancel'), 400, { field: 'uid' });
    });
  });

  describe('POST /tasks/{uid}/reschedule', () => {
    async function errored(namespace: string): Promise<Json> {
      const t = await create(namespace);
      const c = await claimOne(namespace, 'job');
      await fail(pool(), {
        uid: c.uid,
        workerId: c.workerId,
        fencingToken: c.fencingToken,
        error: { class: 'E', message: 'boom' },
        retryable: false,
      });
      return t;
    }

    it('200 from error with an eta body: scheduled at that eta, attempts reset', async () => {
      const namespace = freshNs('resched');
      const t = await errored(namespace);
      expect(expectJson(await get(app, `/tasks/${t.uid}`), 200)).toMatchObject({ status: 'error', attempts: 1 });
      const r = expectJson(await post(app, `/tasks/${t.uid}/reschedule`, { eta: '2032-06-01T12:00:00+02:00' }), 200);
      expect(r).toMatchObject({
        uid: t.uid,
        status: 'scheduled',
        eta: '2032-06-01T10:00:00.000Z',
        attempts: 0,
        finished_at: null,
        expires_at: null,
      });
    });

    it('200 from cancelled with no body at all, and with an empty JSON object: due now', async () => {
      const namespace = freshNs('resched-empty');
      for (const opts of [{}, { json: {} }]) {
        const t = await create(namespace, { eta: '2040-01-01T00:00:00Z' });
        expectJson(await post(app, `/tasks/${t.uid}/cancel`), 200);
        const r = expectJson(await send(app, 'POST', `/tasks/${t.uid}/reschedule`, opts), 200);
        expect(r).toMatchObject({ uid: t.uid, status: 'scheduled', cancel_requested: false });
        // now() of the statement: the same instant as updated_at.
        expect(r.eta).toBe(r.updated_at);
      }
    });

    it('409 InvalidTransition from scheduled (and from processing)', async () => {
      const namespace = freshNs('resched-409');
      const t = await create(namespace);
      expectProblem(await post(app, `/tasks/${t.uid}/reschedule`, {}), 409, { code: 'InvalidTransition' });
      expectProblem(await post(app, `/tasks/${t.uid}/reschedule`), 409, { code: 'InvalidTransition' });
      await claimOne(namespace, 'job');
      expectProblem(await post(app, `/tasks/${t.uid}/reschedule`, { eta: '2032-01-01T00:00:00Z' }), 409, { code: 'InvalidTransition' });
    });

    it('409 UniqueKeyConflict when another waiting task already holds the key', async () => {
      const namespace = freshNs('resched-key');
      const t = await create(namespace, { unique_key: 'u' });
      expectJson(await post(app, `/tasks/${t.uid}/cancel`), 200);
      await create(namespace, { unique_key: 'u' });
      expectProblem(await post(app, `/tasks/${t.uid}/reschedule`), 409, { code: 'UniqueKeyConflict' });
    });

    it('400 for a bad eta or unknown fields, 415 for a non-JSON body; the task is unchanged', async () => {
      const namespace = freshNs('resched-400');
      const t = await errored(namespace);
      const before = expectJson(await get(app, `/tasks/${t.uid}`), 200);
      for (const eta of ['soon', '2030-01-01', 1_900_000_000, null, '2030-02-30T00:00:00Z', '0000-01-01T00:00:00Z']) {
        expectProblem(await post(app, `/tasks/${t.uid}/reschedule`, { eta }), 400, { field: 'eta' });
      }
      expectProblem(await post(app, `/tasks/${t.uid}/reschedule`, { eta: '2030-01-01T00:00:00Z', when: 'now' }), 400, { message: /when/ });
      expectProblem(await post(app, `/tasks/${t.uid}/reschedule`, []), 400);
      expectProblem(await post(app, `/tasks/${t.uid}/reschedule`, undefined, { body: '{"eta":' }), 400, { field: '(body)' });
      expectProblem(
        await post(app, `/tasks/${t.uid}/reschedule`, undefined, { body: '{"eta":"2030-01-01T00:00:00Z"}', contentType: 'text/plain' }),
        415,
      );
      expect(expectJson(await get(app, `/tasks/${t.uid}`), 200)).toEqual(before);
    });

    it('404 for an unknown task, 400 for a malformed uid', async () => {
      expectProblem(await post(app, `/tasks/${randomUUID()}/reschedule`), 404, { code: 'TaskNotFound' });
      expectProblem(await post(app, '/tasks/123/reschedule', {}), 400, { field: 'uid' });
    });
  });

  describe('DELETE /tasks/{uid}', () => {
    it('204 with no body; the task is gone', async () => {
      const t = await create(freshNs('del'));
      const res = await del(app, `/tasks/${t.uid}`);
      expect(res.status).toBe(204);
      expect(res.text).toBe('');
      expectProblem(await get(app, `/tasks/${t.uid}`), 404);
      expectProblem(await del(app, `/tasks/${t.uid}`), 404, { code: 'TaskNotFound' });
    });

    it('409 for a running task, which stays', async () => {
      const namespace = freshNs('del-run');
      const t = await create(namespace);
      await claimOne(namespace, 'job');
      expectProblem(await del(app, `/tasks/${t.uid}`), 409, { code: 'InvalidTransition' });
      expect(expectJson(await get(app, `/tasks/${t.uid}`), 200).status).toBe('processing');
    });

    it('404 for an unknown task, 400 for a malformed uid', async () => {
      expectProblem(await del(app, `/tasks/${randomUUID()}`), 404, { code: 'TaskNotFound' });
      expectProblem(await del(app, '/tasks/abc'), 400, { field: 'uid' });
    });
  });

  it('every error answer of this file is problem+json (spot check of unmatched routes)', async () => {
    const r: ApiResponse[] = [
      await send(app, 'PUT', '/tasks'),
      await send(app, 'PATCH', `/tasks/${randomUUID()}`),
      await get(app, '/task'),
    ];
    for (const res of r) expectProblem(res, 404);
  });
});
