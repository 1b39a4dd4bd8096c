import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type App, createApp } from '../../src/api/app.ts';
import { silentLogger } from '../../src/logger.ts';
import { getTask } from '../../src/queue/get.ts';
import { del, expectJson, get, type Json, post, send } from '../helpers/api.ts';
import { useTestDatabase } from '../helpers/db.ts';
import { done, expectPyError, naive, P, put, pyTask, retry } from './helpers.ts';

/**
 * The Python-Eventix compatible API route by route, in process (app.request) over a real
 * PostgreSQL: the wire format both ways, the priority sign, the status mapping, the write-back
 * guard, and Python's error codes in their shape. Auth, the root mount and the claim race have
 * files of their own.
 */
describe('the Python-Eventix compatible API', () => {
  const db = useTestDatabase();
  let app: App;
  const fresh = () => {
    app = createApp({ database: db(), logger: silentLogger });
    return app;
  };
  /** Each test its own namespace: claims never see another test's tasks. */
  const ns = () => `c${randomUUID().slice(0, 8)}`;
  const submit = async (over: Record<string, unknown>) => expectJson(await post(app, `${P}/task`, pyTask(over)), 200);
  const claimNext = async (namespace: string, worker = 'py-1', extra = '') =>
    get(app, `${P}/tasks/next_scheduled?worker_id=${worker}&namespace=${namespace}${extra}`);
  const native = (uid: string) => getTask(db().pool, uid);

  describe('POST /task', () => {
    it('takes the whole Python model, keeps its uid, negates the priority, and reads a naive eta as UTC', async () => {
      fresh();
      const namespace = ns();
      const eta = new Date(Date.now() + 3_600_000);
      const body = pyTask({ namespace, priority: -7, eta: naive(eta), args: [1, 'two'], kwargs: { k: [3] }, unique_key: null });
      const t = expectJson(await post(app, `${P}/task`, body), 200);
      expect(t).toMatchObject({
        uid: body.uid,
        task: 'compat.add',
        namespace,
        status: 'scheduled',
        priority: -7,
        args: [1, 'two'],
        kwargs: { k: [3] },
        retry: true,
        max_retries: null,
        error_expires: null,
        result_expires: 604800,
        store_result: true,
        result: null,
        worker_id: null,
        worker_expires: null,
        operator: 'unknown',
        revision: '1',
      });
      // Python's eta had microseconds and no offset: read as UTC, kept to the millisecond.
      expect(t.eta).toBe(`${(body.eta as string).slice(0, 23)}Z`);
      const stored = await native(t.uid);
      expect(stored.priority).toBe(7);
      expect(stored.eta.toISOString()).toBe(t.eta);
      // Python's defaults, not ours: retry forever, keep errors forever.
      expect(stored).toMatchObject({ maxRetries: null, errorExpires: null, resultExpires: 604800, timeoutSeconds: null });
    });

    it('ignores the server-managed fields and any field the format does not know', async () => {
      fresh();
      const t = await submit({
        namespace: ns(),
        status: 'done',
        worker_id: 'someone',
        worker_expires: new Date().toISOString(),
        revision: '41',
        result: { old: true },
        expires: new Date().toISOString(),
        not_a_python_field: 1,
      });
      expect(t).toMatchObject({ status: 'scheduled', worker_id: null, revision: '1', result: null, expires: null });
      expect(t).not.toHaveProperty('not_a_python_field');
    });

    it('applies the Python defaults to a partial body, and raises an error_eta_max below error_eta_inc to it', async () => {
      fresh();
      const t = expectJson(await post(app, `${P}/task`, { task: 'compat.min', error_eta_inc: 600, error_eta_max: 60 }), 200);
      expect(t).toMatchObject({ namespace: 'default', priority: 0, args: [], kwargs: {}, max_retries: null, operator: null });
      expect(t).toMatchObject({ error_eta_inc: 600, error_eta_max: 600 });
      expect(Date.parse(t.eta)).toBeLessThanOrEqual(Date.now());
    });

    it('answers 409 TaskNotUnique for a uid that exists, and writes nothing', async () => {
      fresh();
      const namespace = ns();
      const first = await submit({ namespace });
      const again = await post(app, `${P}/task`, pyTask({ uid: first.uid, namespace, task: 'compat.other' }));
      const e = expectPyError(again, 409, 'TaskNotUnique');
      expect(e.error_payload).toEqual({ uid: first.uid });
      expect((await native(first.uid)).task).toBe('compat.add');
    });

    it('merges into the waiting task holding the unique_key: earliest eta, Python-lowest priority, new args', async () => {
      fresh();
      const namespace = ns();
      const later = new Date(Date.now() + 7_200_000);
      const sooner = new Date(Date.now() + 3_600_000);
      const a = await submit({ namespace, unique_key: 'k1', priority: 5, eta: later.toISOString(), args: [1] });
      const b = await submit({ namespace, unique_key: 'k1', priority: -3, eta: sooner.toISOString(), args: [2] });
      expect(b.uid).toBe(a.uid);
      expect(b).toMatchObject({ priority: -3, args: [2], eta: sooner.toISOString(), revision: '2', status: 'scheduled' });
      const c = await submit({ namespace, unique_key: 'k1', priority: 9, eta: later.toISOString(), args: [3] });
      expect(c).toMatchObject({ uid: a.uid, priority: -3, args: [3], eta: sooner.toISOString() });
    });

    it('keeps a merged retry task in retry, its attempt counted (our merge, not Python’s reset)', async () => {
      fresh();
      const namespace = ns();
      await submit({ namespace, unique_key: 'k2' });
      const claimed = expectJson(await claimNext(namespace), 200);
      expectJson(await put(app, `${P}/task/${claimed.uid}`, retry(claimed)), 200);
      const merged = await submit({ namespace, unique_key: 'k2', args: [9] });
      expect(merged).toMatchObject({ uid: claimed.uid, status: 'retry', args: [9] });
      expect((await native(claimed.uid)).attempts).toBe(1);
    });

    it('refuses bad input with a 400 naming the field, never a 500', async () => {
      fresh();
      const cases: [unknown, string][] = [
        [{ ...pyTask(), priority: 'high' }, 'priority'],
        [{ ...pyTask(), priority: 40_000 }, 'priority'],
        [{ ...pyTask(), args: { a: 1 } }, 'args'],
        [{ ...pyTask(), kwargs: [1] }, 'kwargs'],
        [{ ...pyTask(), eta: 'yesterday' }, 'eta'],
        [{ ...pyTask(), eta: '2025-02-30T10:00:00' }, 'eta'],
        [{ ...pyTask(), uid: 'not-a-uuid' }, 'uid'],
        [{ ...pyTask(), task: '' }, 'task'],
        [{ ...pyTask(), max_retries: -1 }, 'max_retries'],
        [{ ...pyTask(), status: 'cancelled' }, 'status'],
        [{ ...pyTask(), revision: 'abc' }, 'revision'],
        [{ ...pyTask(), revision: '9999999999' }, 'revision'],
        [{ ...pyTask(), task: undefined }, 'task'],
        [[pyTask()], '(body)'],
      ];
      for (const [body, field] of cases) {
        const e = expectPyError(await post(app, `${P}/task`, body), 400, 'ValidationError');
        expect(
          e.errors.map((i: { field: string }) => i.field),
          JSON.stringify(body),
        ).toContain(field);
      }
      const malformed = await send(app, 'POST', `${P}/task`, { body: '{"task": "x",', contentType: 'application/json' });
      expect(expectPyError(malformed, 400, 'ValidationError').errors[0].field).toBe('(body)');
      const wrongType = await send(app, 'POST', `${P}/task`, { body: 'task=x', contentType: 'application/x-www-form-urlencoded' });
      expect(wrongType.status).toBe(415);
    });
  });

  describe('GET and DELETE /task/{uid}', () => {
    it('GET answers the task; an unknown uid is 404 NotFound(uid), a malformed one 400', async () => {
      fresh();
      const t = await submit({ namespace: ns(), priority: 4 });
      expect(expectJson(await get(app, `${P}/task/${t.uid}`), 200)).toEqual(t);
      const unknown = randomUUID();
      expect(expectPyError(await get(app, `${P}/task/${unknown}`), 404, 'NotFound').error_payload).toEqual({ uid: unknown });
      expect(expectPyError(await get(app, `${P}/task/nope`), 400, 'ValidationError').errors[0].field).toBe('uid');
    });

    it('DELETE removes a task that is not running (200, null), refuses a running one with 422 WrongTaskStatus', async () => {
      fresh();
      const namespace = ns();
      const t = await submit({ namespace });
      const claimed = expectJson(await claimNext(namespace), 200);
      const e = expectPyError(await del(app, `${P}/task/${claimed.uid}`), 422, 'WrongTaskStatus');
      expect(e.error_payload).toEqual({ uid: t.uid, status: 'processing' });
      expectJson(await put(app, `${P}/task/${claimed.uid}`, done(claimed, 1)), 200);
      const gone = await del(app, `${P}/task/${t.uid}`);
      expect(expectJson(gone, 200)).toBeNull();
      expect(gone.text).toBe('null');
      expectPyError(await del(app, `${P}/task/${t.uid}`), 404, 'NotFound');
    });
  });

  describe('GET /tasks/next_scheduled', () => {
    it('claims one due task with a 300 s lease and answers it processing, at the revision to write back with', async () => {
      fresh();
      const namespace = ns();
      const t = await submit({ namespace, store_result: false });
      const before = Date.now();
      const claimed = expectJson(await claimNext(namespace, 'py-7'), 200);
      expect(claimed).toMatchObject({ uid: t.uid, status: 'processing', worker_id: 'py-7', revision: '2' });
      const lease = Date.parse(claimed.worker_expires) - before;
      expect(lease).toBeGreaterThan(295_000);
      expect(lease).toBeLessThan(305_000);
      // So that the Python worker writes back with a PUT, never the unguarded DELETE it sends for store_result false.
      expect(claimed.store_result).toBe(true);
      const stored = await native(t.uid);
      expect(stored).toMatchObject({ status: 'processing', workerId: 'py-7', attempts: 1, leaseSeconds: 300, storeResult: false });
    });

    it('answers 204 with an empty body when nothing is due (Python NoTaskFound)', async () => {
      fresh();
      const namespace = ns();
      await submit({ namespace, eta: new Date(Date.now() + 3_600_000).toISOString() });
      const none = await claimNext(namespace);
      expect(none.status).toBe(204);
      expect(none.text).toBe('');
    });

    it('runs the LOWEST Python priority first: the sign is flipped both ways', async () => {
      fresh();
      const namespace = ns();
      const eta = new Date(Date.now() - 1000).toISOString();
      const low = await submit({ namespace, priority: 5, eta });
      const urgent = await submit({ namespace, priority: -5, eta });
      const normal = await submit({ namespace, priority: 0, eta });
      const order: string[] = [];
      for (let i = 0; i < 3; i++) order.push(expectJson(await claimNext(namespace), 200).uid);
      expect(order).toEqual([urgent.uid, normal.uid, low.uid]);
      expect((await native(urgent.uid)).priority).toBe(5);
    });

    it('takes lease_seconds, a tasks filter, and namespace "default" when none is given', async () => {
      fresh();
      const namespace = ns();
      const a = await submit({ namespace, task: 'compat.a' });
      const b = await submit({ namespace, task: 'compat.b' });
      const onlyB = expectJson(await claimNext(namespace, 'w', '&tasks=compat.b,compat.c&lease_seconds=30'), 200);
      expect(onlyB.uid).toBe(b.uid);
      expect((await native(b.uid)).leaseSeconds).toBe(30);
      expect((await claimNext(namespace, 'w', '&tasks=compat.b')).status).toBe(204);
      expect(expectJson(await claimNext(namespace), 200).uid).toBe(a.uid);
      const d = await submit({ namespace: 'default', task: `compat.default.${randomUUID()}` });
      const fromDefault = expectJson(await get(app, `${P}/tasks/next_scheduled?worker_id=w&tasks=${d.task}`), 200);
      expect(fromDefault.uid).toBe(d.uid);
      expectPyError(await get(app, `${P}/tasks/next_scheduled?namespace=${namespace}`), 400, 'ValidationError');
      expectPyError(await claimNext(namespace, 'w', '&lease_seconds=1'), 400, 'ValidationError');
    });

    it('refuses HEAD, which would claim a task and drop the answer', async () => {
      fresh();
      const namespace = ns();
      const t = await submit({ namespace });
      const head = await send(app, 'HEAD', `${P}/tasks/next_scheduled?worker_id=w&namespace=${namespace}`);
      expect(head.status).toBe(405);
      expect((await native(t.uid)).status).toBe('scheduled');
    });
  });

  describe('PUT /task/{uid}: a worker’s write-back', () => {
    it('done: stores the result under the claim’s worker and revision; a repeat is 409 RevisionConflict', async () => {
      fresh();
      const namespace = ns();
      await submit({ namespace, args: [2, 3] });
      const claimed = expectJson(await claimNext(namespace, 'py-1'), 200);
      const answer = expectJson(await put(app, `${P}/task/${claimed.uid}`, done(claimed, 5)), 200);
      expect(answer).toMatchObject({ uid: claimed.uid, status: 'done', result: 5, worker_id: 'py-1', worker_expires: null, revision: '3' });
      expect(await native(claimed.uid)).toMatchObject({ status: 'done', result: 5, attempts: 1, leaseExpiresAt: null });
      const again = expectPyError(await put(app, `${P}/task/${claimed.uid}`, done(claimed, 6)), 409, 'RevisionConflict');
      expect(again.error_payload).toEqual({ revision: '3' });
      expect((await native(claimed.uid)).result).toBe(5);
    });

    it('done of a store_result false task deletes it (Python’s worker would have sent DELETE)', async () => {
      fresh();
      const namespace = ns();
      const t = await submit({ namespace, store_result: false });
      const claimed = expectJson(await claimNext(namespace), 200);
      const answer = expectJson(await put(app, `${P}/task/${t.uid}`, done(claimed, 'x')), 200);
      expect(answer).toMatchObject({ uid: t.uid, status: 'done', result: null, store_result: false });
      expectPyError(await get(app, `${P}/task/${t.uid}`), 404, 'NotFound');
    });

    it('retry (worker_id cleared, as Python’s task_set_error does): backoff by our policy, the Python error kept whole', async () => {
      fresh();
      const namespace = ns();
      await submit({ namespace, max_retries: 2 });
      const claimed = expectJson(await claimNext(namespace), 200);
      expect(claimed.max_retries).toBe(2);
      const body = retry(claimed, 'bad input');
      const answer = expectJson(await put(app, `${P}/task/${claimed.uid}`, body), 200);
      expect(answer).toMatchObject({ status: 'retry', worker_id: null, max_retries: 1, result: body.result });
      expect(Date.parse(answer.eta)).toBeGreaterThan(Date.now() + 10_000);
      const stored = await native(claimed.uid);
      expect(stored).toMatchObject({ status: 'retry', attempts: 1, maxRetries: 2, errorEtaInc: 15 });
      expect(stored.error).toMatchObject({ class: 'ValueError', message: 'bad input', payload: body.result });
      expect(stored.error?.stack).toContain('raise ValueError');
      expect(stored.attemptErrors).toHaveLength(1);
    });

    it('retry with no retries left ends in error; error ends at once whatever retries remain', async () => {
      fresh();
      const namespace = ns();
      await submit({ namespace, max_retries: 0, task: 'compat.zero' });
      await submit({ namespace, max_retries: null, task: 'compat.forever' });
      const zero = expectJson(await claimNext(namespace, 'w', '&tasks=compat.zero'), 200);
      expect(expectJson(await put(app, `${P}/task/${zero.uid}`, retry(zero)), 200).status).toBe('error');
      const forever = expectJson(await claimNext(namespace, 'w', '&tasks=compat.forever'), 200);
      const failed = { ...retry(forever, 'fatal'), status: 'error', worker_id: forever.worker_id };
      const answer = expectJson(await put(app, `${P}/task/${forever.uid}`, failed), 200);
      expect(answer).toMatchObject({ status: 'error', result: failed.result });
      expect((await native(forever.uid)).status).toBe('error');
    });

    it('refuses a stale or foreign write-back with 409 and changes nothing', async () => {
      fresh();
      const namespace = ns();
      await submit({ namespace });
      const claimed = expectJson(await claimNext(namespace, 'py-1'), 200);
      const foreign = await put(app, `${P}/task/${claimed.uid}`, { ...done(claimed, 1), worker_id: 'py-2' });
      expect(expectPyError(foreign, 409, 'RevisionConflict').error_message).toContain('another worker');
      const old = await put(app, `${P}/task/${claimed.uid}`, { ...done(claimed, 1), revision: '1' });
      expect(expectPyError(old, 409, 'RevisionConflict').error_message).toContain('superseded');
      const oldRetry = await put(app, `${P}/task/${claimed.uid}`, { ...retry(claimed), revision: 1 });
      expectPyError(oldRetry, 409, 'RevisionConflict');
      expect(await native(claimed.uid)).toMatchObject({ status: 'processing', workerId: 'py-1', revision: 2 });
      expectJson(await put(app, `${P}/task/${claimed.uid}`, done(claimed, 1)), 200);
    });

    it('needs the revision, and a worker_id for done and error; an unknown task is 404', async () => {
      fresh();
      const namespace = ns();
      await submit({ namespace });
      const claimed = expectJson(await claimNext(namespace), 200);
      const noRevision = expectPyError(
        await put(app, `${P}/task/${claimed.uid}`, { ...done(claimed, 1), revision: null }),
        400,
        'ValidationError',
      );
      expect(noRevision.errors.map((e: Json) => e.field)).toEqual(['revision']);
      const noWorker = expectPyError(
        await put(app, `${P}/task/${claimed.uid}`, { ...done(claimed, 1), worker_id: null }),
        400,
        'ValidationError',
      );
      expect(noWorker.errors.map((e: Json) => e.field)).toEqual(['worker_id']);
      expectPyError(await put(app, `${P}/task/${randomUUID()}`, done(claimed, 1)), 404, 'NotFound');
      expect((await native(claimed.uid)).status).toBe('processing');
    });
  });

  describe('PUT /task/{uid}: an edit of a waiting task', () => {
    it('replaces the fields under the revision lock; a stale revision is 409, a non-waiting task 422', async () => {
      fresh();
      const namespace = ns();
      const t = await submit({ namespace, priority: 1, max_retries: 3 });
      const edited = expectJson(await put(app, `${P}/task/${t.uid}`, { ...t, priority: -9, args: ['x'], kwargs: { y: 1 } }), 200);
      expect(edited).toMatchObject({
        uid: t.uid,
        status: 'scheduled',
        priority: -9,
        args: ['x'],
        kwargs: { y: 1 },
        max_retries: 3,
        revision: '2',
      });
      expect((await native(t.uid)).priority).toBe(9);
      expectPyError(await put(app, `${P}/task/${t.uid}`, { ...t, priority: 3 }), 409, 'RevisionConflict');
      expectPyError(await put(app, `${P}/task/${t.uid}`, { ...edited, status: 'processing' }), 422, 'WrongTaskStatus');
      const claimed = expectJson(await claimNext(namespace), 200);
      const running = expectPyError(await put(app, `${P}/task/${t.uid}`, { ...claimed, status: 'scheduled' }), 422, 'WrongTaskStatus');
      expect(running.error_payload).toEqual({ uid: t.uid, status: 'processing' });
    });

    it('keeps max_retries as the retries left across a retry, and the status (no retry → scheduled by edit)', async () => {
      fresh();
      const namespace = ns();
      await submit({ namespace, max_retries: 3 });
      const claimed = expectJson(await claimNext(namespace), 200);
      const back = expectJson(await put(app, `${P}/task/${claimed.uid}`, retry(claimed)), 200);
      expect(back.max_retries).toBe(2);
      const same = expectJson(await put(app, `${P}/task/${claimed.uid}`, { ...back, status: 'retry', priority: -1 }), 200);
      expect(same).toMatchObject({ status: 'retry', max_retries: 2, priority: -1 });
      expect((await native(claimed.uid)).maxRetries).toBe(3);
      expectPyError(await put(app, `${P}/task/${claimed.uid}`, { ...same, status: 'scheduled' }), 422, 'WrongTaskStatus');
    });
  });

  describe('GET /task/{uid}/reschedule', () => {
    it('puts an error task back in line at the eta given (naive: UTC); from scheduled it is 422 WrongTaskStatus', async () => {
      fresh();
      const namespace = ns();
      const t = await submit({ namespace, max_retries: 0 });
      const claimed = expectJson(await claimNext(namespace), 200);
      expectJson(await put(app, `${P}/task/${t.uid}`, retry(claimed)), 200);
      const at = new Date(Date.now() + 60_000);
      const back = expectJson(await get(app, `${P}/task/${t.uid}/reschedule?eta=${encodeURIComponent(naive(at))}`), 200);
      expect(back).toMatchObject({ uid: t.uid, status: 'scheduled', eta: `${naive(at).slice(0, 23)}Z` });
      expect((await native(t.uid)).attempts).toBe(0);
      expectPyError(await get(app, `${P}/task/${t.uid}/reschedule`), 422, 'WrongTaskStatus');
      expectPyError(await get(app, `${P}/task/${randomUUID()}/reschedule`), 404, 'NotFound');
      expectPyError(await get(app, `${P}/task/${t.uid}/reschedule?eta=soon`), 400, 'ValidationError');
      expect((await send(app, 'HEAD', `${P}/task/${t.uid}/reschedule`)).status).toBe(405);
    });
  });

  describe('the unique_key lookups', () => {
    it('GET by key (namespace by query or path, default "default"), stati, and 404 NoTaskFoundForUniqueKey at the top level', async () => {
      fresh();
      const namespace = ns();
      const key = `key-${randomUUID()}`;
      const t = await submit({ namespace, unique_key: key });
      expect(expectJson(await get(app, `${P}/task/by_unique_key/${key}?namespace=${namespace}`), 200).uid).toBe(t.uid);
      expect(expectJson(await get(app, `${P}/task/by_unique_key/${namespace}/${key}`), 200).uid).toBe(t.uid);
      const missing = expectPyError(await get(app, `${P}/task/by_unique_key/${key}`), 404, 'NoTaskFoundForUniqueKey');
      expect(missing.error_payload).toEqual({ unique_key: key });
      const d = await submit({ unique_key: key });
      expect(expectJson(await get(app, `${P}/task/by_unique_key/${key}`), 200).uid).toBe(d.uid);
      // Done: found only when stati asks for it.
      const claimed = expectJson(await claimNext(namespace), 200);
      expectJson(await put(app, `${P}/task/${claimed.uid}`, done(claimed, 1)), 200);
      expectPyError(await get(app, `${P}/task/by_unique_key/${namespace}/${key}`), 404, 'NoTaskFoundForUniqueKey');
      expect(expectJson(await get(app, `${P}/task/by_unique_key/${namespace}/${key}?stati=done&stati=error`), 200).uid).toBe(t.uid);
      expect(expectJson(await get(app, `${P}/task/by_unique_key/${key}?namespace=${namespace}&stati=done,retry`), 200).uid).toBe(t.uid);
      expectPyError(await get(app, `${P}/task/by_unique_key/${key}?stati=cancelled`), 400, 'ValidationError');
      expectPyError(await get(app, `${P}/task/by_unique_key/${encodeURIComponent('a\u0000b')}`), 404, 'NoTaskFoundForUniqueKey');
      expectPyError(await get(app, `${P}/task/by_unique_key/reschedule`), 404, 'NoTaskFoundForUniqueKey');
    });

    it('DELETE by key removes the waiting task holding it', async () => {
      fresh();
      const namespace = ns();
      const t = await submit({ namespace, unique_key: 'gone' });
      expect(expectJson(await del(app, `${P}/task/by_unique_key/gone?namespace=${namespace}`), 200)).toBeNull();
      expectPyError(await get(app, `${P}/task/${t.uid}`), 404, 'NotFound');
      expectPyError(await del(app, `${P}/task/by_unique_key/gone?namespace=${namespace}`), 404, 'NoTaskFoundForUniqueKey');
    });
  });

  describe('PUT /tasks/by_status', () => {
    it('lists by status and namespace, newest first, by skip and limit, with max_results; error covers cancelled', async () => {
      fresh();
      const namespace = ns();
      const made: Json[] = [];
      for (let i = 0; i < 5; i++) made.push(await submit({ namespace, args: [i] }));
      const page = expectJson(await put(app, `${P}/tasks/by_status`, { status: 'scheduled', namespace, skip: 1, limit: 2 }), 200);
      expect(page).toMatchObject({ max_results: 5, skip: 1, limit: 2, sort: null });
      expect(page.data.map((t: Json) => t.uid)).toEqual([made[3].uid, made[2].uid]);
      expect(expectJson(await put(app, `${P}/tasks/by_status`, { namespace }), 200).max_results).toBe(5);
      const cancelled = await post(app, `/tasks/${made[0].uid}/cancel`);
      expect(cancelled.status).toBe(200);
      const errors = expectJson(await put(app, `${P}/tasks/by_status`, { status: 'error', namespace }), 200);
      expect(errors.data).toHaveLength(1);
      expect(errors.data[0]).toMatchObject({ uid: made[0].uid, status: 'error', result: { error_class: 'TaskCancelled' } });
      expect(expectJson(await put(app, `${P}/tasks/by_status`, {}), 200).limit).toBe(25);
      expectPyError(await put(app, `${P}/tasks/by_status`, { status: 'lost' }), 400, 'ValidationError');
      expectPyError(await put(app, `${P}/tasks/by_status`, { limit: 0 }), 400, 'ValidationError');
    });
  });

  describe('POST /event', () => {
    it('publishes the event (priority negated) and answers the tasks its triggers made, in the Python format', async () => {
      fresh();
      const namespace = ns();
      const name = `py.event.${randomUUID().slice(0, 8)}`;
      const trigger = await post(app, '/triggers', {
        name: `compat-${name}`,
        event_name: name,
        template: { task: 'compat.on-event', args: [{ $ptr: '/n' }] },
      });
      expect(trigger.status).toBe(201);
      const tasks = expectJson(
        await post(app, `${P}/event`, {
          uid: randomUUID(),
          name,
          namespace,
          payload: { n: 7 },
          priority: -3,
          operator: 'unknown',
          timestamp: naive(new Date()),
          version: 1,
        }),
        200,
      );
      expect(tasks).toHaveLength(1);
      expect(tasks[0]).toMatchObject({ task: 'compat.on-event', namespace, args: [7], priority: -3, status: 'scheduled' });
      expect((await native(tasks[0].uid)).priority).toBe(3);
      expect(expectJson(await post(app, `${P}/event`, { name: 'py.nothing-listens' }), 200)).toEqual([]);
      expectPyError(await post(app, `${P}/event`, { name: 'x', payload: [1] }), 400, 'ValidationError');
      expectPyError(await post(app, `${P}/event`, { payload: {} }), 400, 'ValidationError');
    });
  });

  it('shows our cancelled as error, with the cancel in result', async () => {
    fresh();
    const t = await submit({ namespace: ns() });
    expect((await post(app, `/tasks/${t.uid}/cancel`)).status).toBe(200);
    const shown = expectJson(await get(app, `${P}/task/${t.uid}`), 200);
    expect(shown).toMatchObject({ status: 'error', result: { error_class: 'TaskCancelled', error_status_code: 500 } });
  });

  it('answers an unknown compatible path with the API’s own 404', async () => {
    fresh();
    const res = await get(app, `${P}/nope`);
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
  });
});
