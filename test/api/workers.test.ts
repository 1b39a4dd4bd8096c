import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, createApp } from '../../src/api/app.ts';
import { claimedTaskOut } from '../../src/api/schemas.ts';
import { silentLogger } from '../../src/logger.ts';
import { rescueExpired, submit, submitMany } from '../../src/queue/index.ts';
import { Notifier } from '../../src/worker/notifier.ts';
import { expectJson, expectProblem, get, type Json, post } from '../helpers/api.ts';
import { useTestDatabase } from '../helpers/db.ts';
import { waitFor } from '../helpers/wait.ts';

describe('remote worker API', () => {
  const db = useTestDatabase({ poolMax: 30 });
  const pool = () => db().pool;
  let app: App;
  beforeAll(() => {
    app = createApp({ database: db(), logger: silentLogger });
  });

  let nsCounter = 0;
  const freshNs = (label: string) => `wk-${label}-${++nsCounter}`;

  async function submitIn(namespace: string, task = 'job', extra: Record<string, unknown> = {}): Promise<string> {
    return (await submit(pool(), { task, namespace, ...extra })).task.uid;
  }

  async function claimVia(a: App, body: Record<string, unknown>): Promise<Json[]> {
    return expectJson(await post(a, '/workers/claim', body), 200).tasks;
  }

  async function claimOne(namespace: string, workerId = 'w1', task = 'job', extra: Record<string, unknown> = {}): Promise<Json> {
    const tasks = await claimVia(app, { worker_id: workerId, namespace, tasks: [task], ...extra });
    expect(tasks).toHaveLength(1);
    return tasks[0];
  }

  /** Every column of the row, as text: equal snapshots mean the task was not touched at all. */
  async function rowOf(uid: string): Promise<string | undefined> {
    const { rows } = await pool().query<{ r: string }>('select t::text as r from tasks t where uid = $1', [uid]);
    return rows[0]?.r;
  }

  const lease = (c: Json, extra: Record<string, unknown> = {}) => ({ worker_id: c.worker_id, fencing_token: c.fencing_token, ...extra });

  describe('POST /workers/claim', () => {
    it('claims a due task: processing, leased to the worker, with a fencing token', async () => {
      const namespace = freshNs('claim');
      const uid = await submitIn(namespace, 'job', { args: [1], kwargs: { a: 'b' } });
      const [c] = await claimVia(app, { worker_id: 'worker-1', namespace, tasks: ['job'], lease_seconds: 45 });
      expect(() => claimedTaskOut.parse(c)).not.toThrow();
      expect(c).toMatchObject({
        uid,
        status: 'processing',
        worker_id: 'worker-1',
        attempts: 1,
        args: [1],
        kwargs: { a: 'b' },
        revision: 2,
        cancel_requested: false,
      });
      expect(Number.isSafeInteger(c.fencing_token)).toBe(true);
      expect(c.fencing_token).toBeGreaterThan(0);
      // Both stamped by one statement's now(): the lease is exactly lease_seconds long.
      expect(Date.parse(c.lease_expires_at) - Date.parse(c.started_at)).toBe(45_000);
      const { rows } = await pool().query('select status, worker_id, fencing_token from tasks where uid = $1', [uid]);
      expect(rows[0]).toEqual({ status: 'processing', worker_id: 'worker-1', fencing_token: c.fencing_token });
    });

    it('200 with an empty list when nothing is due', async () => {
      const namespace = freshNs('empty');
      expect(await claimVia(app, { worker_id: 'w', namespace, tasks: ['job'] })).toEqual([]);
      // A task due later is not claimable yet.
      await submitIn(namespace, 'job', { eta: new Date(Date.now() + 3_600_000) });
      expect(await claimVia(app, { worker_id: 'w', namespace, tasks: ['job'], limit: 10 })).toEqual([]);
    });

    it('only claims the task names listed', async () => {
      const namespace = freshNs('names');
      const a = await submitIn(namespace, 'a');
      const b = await submitIn(namespace, 'b');
      const c = await submitIn(namespace, 'c');
      const claimed = await claimVia(app, { worker_id: 'w', namespace, tasks: ['a', 'c', 'zzz'], limit: 10 });
      expect(claimed.map((t) => t.uid).sort()).toEqual([a, c].sort());
      expect(expectJson(await get(app, `/tasks/${b}`), 200).status).toBe('scheduled');
    });

    it("defaults to the 'default' namespace, and never reaches into another", async () => {
      const name = `only-default-${randomUUID()}`;
      const elsewhere = await submitIn(freshNs('other'), name);
      const here = await submitIn('default', name);
      const claimed = await claimVia(app, { worker_id: 'w', tasks: [name], limit: 10 });
      expect(claimed.map((t) => t.uid)).toEqual([here]);
      expect(claimed[0].namespace).toBe('default');
      expect(expectJson(await get(app, `/tasks/${elsewhere}`), 200).status).toBe('scheduled');
    });

    it('limit: at most that many, one by default, highest priority first', async () => {
      const namespace = freshNs('limit');
      const uids = [];
      for (let i = 0; i < 5; i++) uids.push(await submitIn(namespace, 'job', { priority: i }));
      const one = await claimVia(app, { worker_id: 'w', namespace, tasks: ['job'] });
      expect(one.map((t) => t.uid)).toEqual([uids[4]]);
      const two = await claimVia(app, { worker_id: 'w', namespace, tasks: ['job'], limit: 2 });
      expect(two.map((t) => t.uid)).toEqual([uids[3], uids[2]]);
      const rest = await claimVia(app, { worker_id: 'w', namespace, tasks: ['job'], limit: 1000 });
      expect(rest.map((t) => t.uid)).toEqual([uids[1], uids[0]]);
      // Each claim drew its own fencing token.
      expect(new Set([...one, ...two, ...rest].map((t) => t.fencing_token)).size).toBe(5);
    });

    it('lease_seconds: 5 and 3600 are accepted; outside the bounds is a 400 naming it', async () => {
      const namespace = freshNs('lease');
      await submitIn(namespace);
      await submitIn(namespace);
      for (const lease_seconds of [4, 3601, 0, -30, 5.5, '30', null]) {
        expectProblem(await post(app, '/workers/claim', { worker_id: 'w', namespace, tasks: ['job'], lease_seconds }), 400, {
          field: 'lease_seconds',
        });
      }
      const [lo] = await claimVia(app, { worker_id: 'w', namespace, tasks: ['job'], lease_seconds: 5 });
      expect(Date.parse(lo.lease_expires_at) - Date.parse(lo.started_at)).toBe(5_000);
      const [hi] = await claimVia(app, { worker_id: 'w', namespace, tasks: ['job'], lease_seconds: 3600 });
      expect(Date.parse(hi.lease_expires_at) - Date.parse(hi.started_at)).toBe(3_600_000);
    });

    it('400 naming the field for every other bad input, and nothing is claimed', async () => {
      const namespace = freshNs('bad');
      const uid = await submitIn(namespace);
      const base = { worker_id: 'w', namespace, tasks: ['job'] };
      const cases: [Record<string, unknown>, string | RegExp][] = [
        [{ namespace, tasks: ['job'] }, 'worker_id'],
        [{ ...base, worker_id: '' }, 'worker_id'],
        [{ ...base, worker_id: 7 }, 'worker_id'],
        [{ ...base, worker_id: 'w'.repeat(201) }, 'worker_id'],
        [{ ...base, worker_id: 'w\u0000' }, 'worker_id'],
        [{ ...base, worker_id: 'w\ud800' }, 'worker_id'],
        [{ worker_id: 'w', namespace }, 'tasks'],
        [{ ...base, tasks: [] }, 'tasks'],
        [{ ...base, tasks: 'job' }, 'tasks'],
        [{ ...base, tasks: ['bad name'] }, 'tasks.0'],
        [{ ...base, tasks: Array.from({ length: 1001 }, (_, i) => `t${i}`) }, 'tasks'],
        [{ ...base, namespace: 'bad ns' }, 'namespace'],
        [{ ...base, limit: 0 }, 'limit'],
        [{ ...base, limit: 1001 }, 'limit'],
        [{ ...base, limit: 2.5 }, 'limit'],
        [{ ...base, wait_seconds: -1 }, 'wait_seconds'],
        [{ ...base, wait_seconds: 61 }, 'wait_seconds'],
        [{ ...base, wait_seconds: '1' }, 'wait_seconds'],
      ];
      for (const [body, field] of cases) expectProblem(await post(app, '/workers/claim', body), 400, { field });
      expectProblem(await post(app, '/workers/claim', { ...base, workerId: 'w2' }), 400, { message: /workerId/ });
      expectProblem(await post(app, '/workers/claim', undefined, { body: '{"worker_id":"w",' }), 400, { field: '(body)' });
      expectProblem(await post(app, '/workers/claim', undefined, { body: JSON.stringify(base), contentType: null }), 415);
      expectProblem(await post(app, '/workers/claim', undefined, { body: JSON.stringify(base), contentType: 'text/plain' }), 415);
      expect(expectJson(await get(app, `/tasks/${uid}`), 200).status).toBe('scheduled');
    });
  });

  describe('long-poll', () => {
    let notifier: Notifier;
    let listening: App;
    beforeAll(async () => {
      // The real LISTEN connection `eventix start` uses: a submit's NOTIFY wakes the long-poll.
      notifier = new Notifier({ connectionString: db().url }, silentLogger);
      await notifier.start();
      listening = createApp({ database: db(), logger: silentLogger, notifications: notifier, longPollIntervalMs: 60_000 });
    });
    afterAll(async () => {
      await notifier?.stop();
    });

    it('a claim waiting up to 5 s answers with a task submitted while it waits (woken by NOTIFY)', async () => {
      const namespace = freshNs('lp-notify');
      const pending = post(listening, '/workers/claim', { worker_id: 'lp', namespace, tasks: ['job'], wait_seconds: 5 });
      // The request is parked in its nap once it listens for 'notify': its first claim found nothing.
      await waitFor(() => notifier.listenerCount('notify') > 0, { message: 'the claim is waiting' });
      const uid = await submitIn(namespace);
      const res = await pending;
      const tasks = expectJson(res, 200).tasks;
      expect(tasks.map((t: Json) => t.uid)).toEqual([uid]);
      expect(tasks[0]).toMatchObject({ status: 'processing', worker_id: 'lp' });
    });

    it('without LISTEN, the backstop poll finds a task submitted while the claim waits', async () => {
      const probe = new EventEmitter(); // Never emits: it only shows when the request naps.
      const polling = createApp({ database: db(), logger: silentLogger, notifications: probe, longPollIntervalMs: 50 });
      const namespace = freshNs('lp-poll');
      const pending = post(polling, '/workers/claim', { worker_id: 'lp', namespace, tasks: ['job'], wait_seconds: 5 });
      await waitFor(() => probe.listenerCount('notify') > 0, { message: 'the claim is waiting' });
      const uid = await submitIn(namespace);
      const tasks = expectJson(await pending, 200).tasks;
      expect(tasks.map((t: Json) => t.uid)).toEqual([uid]);
    });

    it('a NOTIFY for another namespace does not end the wait with a wrong task', async () => {
      const namespace = freshNs('lp-other');
      const pending = post(listening, '/workers/claim', { worker_id: 'lp', namespace, tasks: ['job'], wait_seconds: 5 });
      await waitFor(() => notifier.listenerCount('notify') > 0, { message: 'the claim is waiting' });
      await submitIn(freshNs('lp-elsewhere'));
      const uid = await submitIn(namespace);
      expect(expectJson(await pending, 200).tasks.map((t: Json) => t.uid)).toEqual([uid]);
    });

    it('with wait_seconds 0.3 and nothing due, answers an empty list after waiting', async () => {
      const namespace = freshNs('lp-empty');
      const started = Date.now();
      const res = await post(listening, '/workers/claim', { worker_id: 'lp', namespace, tasks: ['job'], wait_seconds: 0.3 });
      expect(expectJson(res, 200).tasks).toEqual([]);
      expect(Date.now() - started).toBeGreaterThanOrEqual(250);
      expect(notifier.listenerCount('notify')).toBe(0);
    });
  });

  describe('POST /tasks/{uid}/heartbeat', () => {
    it('renews the lease and reports cancel_requested', async () => {
      const namespace = freshNs('hb');
      const uid = await submitIn(namespace);
      const c = await claimOne(namespace, 'w-hb', 'job', { lease_seconds: 10 });
      const hb = expectJson(await post(app, `/tasks/${uid}/heartbeat`, lease(c, { lease_seconds: 600 })), 200);
      expect(hb.cancel_requested).toBe(false);
      expect(Date.parse(hb.lease_expires_at)).toBeGreaterThan(Date.parse(c.lease_expires_at));
      const { rows } = await pool().query<{ lease_expires_at: Date }>('select lease_expires_at from tasks where uid = $1', [uid]);
      expect(rows[0]!.lease_expires_at.toISOString()).toBe(hb.lease_expires_at);
    });

    it('without lease_seconds, renews by the length last given: the claim’s, then a heartbeat’s (never a silent 30 s)', async () => {
      const namespace = freshNs('hb-keep');
      const uid = await submitIn(namespace);
      const c = await claimOne(namespace, 'w-keep', 'job', { lease_seconds: 600 });
      const remaining = async (body: Record<string, unknown>) => {
        const hb = expectJson(await post(app, `/tasks/${uid}/heartbeat`, lease(c, body)), 200);
        const { rows } = await pool().query<{ s: number }>(
          'select extract(epoch from lease_expires_at - now())::float8 as s from tasks where uid = $1',
          [uid],
        );
        expect(new Date(hb.lease_expires_at).getTime()).toBeGreaterThan(Date.now());
        return rows[0]!.s;
      };
      // Bounds rather than equality: now() is the statement's, a moment before this read.
      const claimed = await remaining({});
      expect(claimed).toBeGreaterThan(590);
      expect(claimed).toBeLessThanOrEqual(600);
      const named = await remaining({ lease_seconds: 120 });
      expect(named).toBeGreaterThan(110);
      expect(named).toBeLessThanOrEqual(120);
      const after = await remaining({});
      expect(after).toBeGreaterThan(110);
      expect(after).toBeLessThanOrEqual(120);
      expect(expectJson(await get(app, `/tasks/${uid}`), 200).lease_seconds).toBe(120);
    });

    it('reports cancel_requested after POST /tasks/{uid}/cancel', async () => {
      const namespace = freshNs('hb-cancel');
      const uid = await submitIn(namespace);
      const c = await claimOne(namespace);
      expectJson(await post(app, `/tasks/${uid}/cancel`), 200);
      const hb = expectJson(await post(app, `/tasks/${uid}/heartbeat`, lease(c)), 200);
      expect(hb.cancel_requested).toBe(true);
    });

    it('an upper-case uid is the same task: heartbeat and complete answer 200 (found by the chaos fuzzer: they wrote, then said 409)', async () => {
      const namespace = freshNs('hb-upper');
      const uid = await submitIn(namespace);
      const c = await claimOne(namespace);
      expectJson(await post(app, `/tasks/${uid.toUpperCase()}/heartbeat`, lease(c)), 200);
      expect(expectJson(await post(app, `/tasks/${uid.toUpperCase()}/complete`, lease(c)), 200)).toEqual({ status: 'done' });
      expect(expectJson(await get(app, `/tasks/${uid}`), 200).status).toBe('done');
    });

    it('409 LeaseLost with a wrong fencing token or worker_id, and the task is unchanged', async () => {
      const namespace = freshNs('hb-lost');
      const uid = await submitIn(namespace);
      const c = await claimOne(namespace, 'owner');
      const before = await rowOf(uid);
      const wrongToken = await post(app, `/tasks/${uid}/heartbeat`, lease(c, { fencing_token: c.fencing_token + 1000 }));
      expect(expectProblem(wrongToken, 409, { code: 'LeaseLost' }).detail).toContain('superseded');
      const wrongWorker = await post(app, `/tasks/${uid}/heartbeat`, lease(c, { worker_id: 'intruder' }));
      expectProblem(wrongWorker, 409, { code: 'LeaseLost' });
      expect(await rowOf(uid)).toBe(before);
    });

    it('404 for an unknown task, 400 for a malformed uid or body', async () => {
      expectProblem(await post(app, `/tasks/${randomUUID()}/heartbeat`, { worker_id: 'w', fencing_token: 1 }), 404, {
        code: 'TaskNotFound',
      });
      expectProblem(await post(app, '/tasks/xyz/heartbeat', { worker_id: 'w', fencing_token: 1 }), 400, { field: 'uid' });
      const uid = randomUUID();
      for (const [body, field] of [
        [{ fencing_token: 1 }, 'worker_id'],
        [{ worker_id: 'w' }, 'fencing_token'],
        [{ worker_id: 'w', fencing_token: 0 }, 'fencing_token'],
        [{ worker_id: 'w', fencing_token: -5 }, 'fencing_token'],
        [{ worker_id: 'w', fencing_token: 1.5 }, 'fencing_token'],
        [{ worker_id: 'w', fencing_token: '1' }, 'fencing_token'],
        [{ worker_id: 'w', fencing_token: 2 ** 64 }, 'fencing_token'],
        [{ worker_id: 'w', fencing_token: 1, lease_seconds: 4 }, 'lease_seconds'],
        [{ worker_id: 'w', fencing_token: 1, lease_seconds: 3601 }, 'lease_seconds'],
        [{ worker_id: 'w\u0000', fencing_token: 1 }, 'worker_id'],
      ] as const) {
        expectProblem(await post(app, `/tasks/${uid}/heartbeat`, body), 400, { field });
      }
      expectProblem(await post(app, `/tasks/${uid}/heartbeat`, { worker_id: 'w', fencing_token: 1, extra: 1 }), 400, { message: /extra/ });
      expectProblem(await post(app, `/tasks/${uid}/heartbeat`), 415);
      expectProblem(await post(app, `/tasks/${uid}/heartbeat`, undefined, { body: '', contentType: 'application/json' }), 400, {
        field: '(body)',
      });
    });
  });

  describe('POST /tasks/{uid}/complete', () => {
    it('stores the result: done, lease cleared, finished_at set', async () => {
      const namespace = freshNs('done');
      const uid = await submitIn(namespace);
      const c = await claimOne(namespace);
      const result = { rows: 3, names: ['a', 'b'], nested: { ok: true }, n: null };
      expect(expectJson(await post(app, `/tasks/${uid}/complete`, lease(c, { result })), 200)).toEqual({ status: 'done' });
      const t = expectJson(await get(app, `/tasks/${uid}`), 200);
      expect(t).toMatchObject({ status: 'done', result, lease_expires_at: null, error: null, revision: c.revision + 1 });
      expect(t.finished_at).not.toBeNull();
      expect(t.expires_at).not.toBeNull();
    });

    it('without a result stores null; with store_result off the task is deleted', async () => {
      const namespace = freshNs('done-null');
      const a = await submitIn(namespace);
      const ca = await claimOne(namespace);
      expectJson(await post(app, `/tasks/${a}/complete`, lease(ca)), 200);
      expect(expectJson(await get(app, `/tasks/${a}`), 200)).toMatchObject({ status: 'done', result: null });
      const b = await submitIn(namespace, 'job', { storeResult: false });
      const cb = await claimOne(namespace);
      expectJson(await post(app, `/tasks/${b}/complete`, lease(cb, { result: 1 })), 200);
      expectProblem(await get(app, `/tasks/${b}`), 404);
    });

    it('409 LeaseLost with a wrong fencing token or worker_id (task unchanged), and when completing twice', async () => {
      const namespace = freshNs('done-lost');
      const uid = await submitIn(namespace);
      const c = await claimOne(namespace, 'owner');
      const before = await rowOf(uid);
      expectProblem(await post(app, `/tasks/${uid}/complete`, lease(c, { fencing_token: c.fencing_token - 1 || 1e6, result: 1 })), 409, {
        code: 'LeaseLost',
      });
      expectProblem(await post(app, `/tasks/${uid}/complete`, lease(c, { worker_id: 'other', result: 1 })), 409, { code: 'LeaseLost' });
      expect(await rowOf(uid)).toBe(before);
      expectJson(await post(app, `/tasks/${uid}/complete`, lease(c, { result: 'ok' })), 200);
      const again = await post(app, `/tasks/${uid}/complete`, lease(c, { result: 'again' }));
      expect(expectProblem(again, 409, { code: 'LeaseLost' }).detail).toContain("'done'");
      expect(expectJson(await get(app, `/tasks/${uid}`), 200).result).toBe('ok');
    });

    it('400 for a result PostgreSQL cannot store, unknown fields, bad uid; 404 for an unknown task', async () => {
      const namespace = freshNs('done-bad');
      const uid = await submitIn(namespace);
      const c = await claimOne(namespace);
      const before = await rowOf(uid);
      expectProblem(await post(app, `/tasks/${uid}/complete`, lease(c, { result: 'a\u0000b' })), 400, { field: 'result' });
      expectProblem(await post(app, `/tasks/${uid}/complete`, lease(c, { result: { k: ['\udfff'] } })), 400, { field: /^result/ });
      expectProblem(
        await post(app, `/tasks/${uid}/complete`, undefined, { body: `{"worker_id":"w1","fencing_token":1,"result":1e400}` }),
        400,
        {
          field: /^result/,
        },
      );
      expectProblem(await post(app, `/tasks/${uid}/complete`, lease(c, { status: 'done' })), 400, { message: /status/ });
      expect(await rowOf(uid)).toBe(before);
      expectProblem(await post(app, '/tasks/nope/complete', lease(c)), 400, { field: 'uid' });
      expectProblem(await post(app, `/tasks/${randomUUID()}/complete`, lease(c)), 404, { code: 'TaskNotFound' });
    });
  });

  describe('POST /tasks/{uid}/release', () => {
    it('hands the task back due now, the attempt not counted; another worker then claims it', async () => {
      const namespace = freshNs('rel');
      const uid = await submitIn(namespace);
      const c = await claimOne(namespace, 'w-rel');
      expect(c.attempts).toBe(1);
      expect(expectJson(await post(app, `/tasks/${uid}/release`, lease(c)), 200)).toEqual({ status: 'scheduled' });
      const t = expectJson(await get(app, `/tasks/${uid}`), 200);
      expect(t).toMatchObject({ status: 'scheduled', attempts: 0, lease_expires_at: null, error: null, attempt_errors: null });
      expect(Date.parse(t.eta)).toBeLessThanOrEqual(Date.now());
      // The old claim can change nothing now; the next claim is attempt 1 again.
      expectProblem(await post(app, `/tasks/${uid}/complete`, lease(c)), 409, { code: 'LeaseLost' });
      const again = await claimOne(namespace, 'w-rel-2');
      expect(again.attempts).toBe(1);
      expect(again.fencing_token).toBeGreaterThan(c.fencing_token);
    });

    it('a retried task goes back to retry with its earlier attempts; a cancel requested meanwhile ends it cancelled', async () => {
      const namespace = freshNs('rel-retry');
      const uid = await submitIn(namespace, 'job', { errorEtaInc: 1, errorEtaMax: 1 });
      const c1 = await claimOne(namespace);
      expectJson(await post(app, `/tasks/${uid}/fail`, lease(c1, { error: { message: 'first' } })), 200);
      await pool().query('update tasks set eta = now() where uid = $1', [uid]);
      const c2 = await claimOne(namespace);
      expect(c2.attempts).toBe(2);
      expect(expectJson(await post(app, `/tasks/${uid}/release`, lease(c2)), 200)).toEqual({ status: 'retry' });
      expect(expectJson(await get(app, `/tasks/${uid}`), 200)).toMatchObject({ status: 'retry', attempts: 1 });

      const other = await submitIn(namespace, 'other');
      const c3 = await claimOne(namespace, 'w1', 'other');
      expect(c3.uid).toBe(other);
      expectJson(await post(app, `/tasks/${other}/cancel`), 200);
      expect(expectJson(await post(app, `/tasks/${other}/release`, lease(c3)), 200)).toEqual({ status: 'cancelled' });
      expect(expectJson(await get(app, `/tasks/${other}`), 200).status).toBe('cancelled');
    });

    it('409 LeaseLost with a wrong fencing token or worker_id and when released twice; 404 unknown; 400 naming the field', async () => {
      const namespace = freshNs('rel-lost');
      const uid = await submitIn(namespace);
      const c = await claimOne(namespace, 'owner');
      const before = await rowOf(uid);
      expectProblem(await post(app, `/tasks/${uid}/release`, lease(c, { fencing_token: c.fencing_token + 1 })), 409, { code: 'LeaseLost' });
      expectProblem(await post(app, `/tasks/${uid}/release`, lease(c, { worker_id: 'intruder' })), 409, { code: 'LeaseLost' });
      expect(await rowOf(uid)).toBe(before);
      expectJson(await post(app, `/tasks/${uid}/release`, lease(c)), 200);
      expectProblem(await post(app, `/tasks/${uid}/release`, lease(c)), 409, { code: 'LeaseLost' });
      expectProblem(await post(app, `/tasks/${randomUUID()}/release`, { worker_id: 'w', fencing_token: 1 }), 404, { code: 'TaskNotFound' });
      expectProblem(await post(app, '/tasks/xyz/release', { worker_id: 'w', fencing_token: 1 }), 400, { field: 'uid' });
      for (const [body, field] of [
        [{ fencing_token: 1 }, 'worker_id'],
        [{ worker_id: 'w' }, 'fencing_token'],
        [{ worker_id: 'w', fencing_token: 0 }, 'fencing_token'],
        [{ worker_id: 'w', fencing_token: '1' }, 'fencing_token'],
      ] as const) {
        expectProblem(await post(app, `/tasks/${uid}/release`, body), 400, { field });
      }
      expectProblem(await post(app, `/tasks/${uid}/release`, { worker_id: 'w', fencing_token: 1, lease_seconds: 30 }), 400, {
        message: /lease_seconds/,
      });
    });

    it('race: 10 releases and 10 completes of one claim at once: exactly one wins, the rest get 409', async () => {
      const namespace = freshNs('rel-race');
      const uid = await submitIn(namespace);
      const c = await claimOne(namespace, 'racer');
      const answers = await Promise.all(
        Array.from({ length: 20 }, (_, i) => post(app, `/tasks/${uid}/${i % 2 ? 'release' : 'complete'}`, lease(c))),
      );
      const won = answers.filter((a) => a.status === 200);
      expect(won).toHaveLength(1);
      for (const a of answers) if (a.status !== 200) expectProblem(a, 409, { code: 'LeaseLost' });
      const t = expectJson(await get(app, `/tasks/${uid}`), 200);
      expect(t.status).toBe(won[0]!.body.status === 'done' ? 'done' : 'scheduled');
    });
  });

  describe('POST /tasks/{uid}/fail', () => {
    const error = { class: 'ValueError', message: 'bad thing', stack: 'at x', payload: { code: 42 } };

    it('retryable: status retry with eta pushed by the backoff; the error is stored', async () => {
      const namespace = freshNs('fail');
      const uid = await submitIn(namespace, 'job', { errorEtaInc: 30 });
      const c = await claimOne(namespace);
      const r = expectJson(await post(app, `/tasks/${uid}/fail`, lease(c, { error })), 200);
      expect(r.status).toBe('retry');
      const t = expectJson(await get(app, `/tasks/${uid}`), 200);
      expect(t).toMatchObject({ status: 'retry', error, lease_expires_at: null, finished_at: null, attempts: 1 });
      expect(t.eta).toBe(r.eta);
      // now() + backoff: after the attempt started.
      expect(Date.parse(r.eta)).toBeGreaterThan(Date.parse(c.started_at));
    });

    it('keeps every failed attempt in attempt_errors, with its attempt, worker and times; a completion keeps them', async () => {
      const namespace = freshNs('fail-history');
      const uid = await submitIn(namespace, 'job', { errorEtaInc: 1, errorEtaMax: 1 });
      for (const [i, worker] of ['w-a', 'w-b'].entries()) {
        await pool().query('update tasks set eta = now() where uid = $1', [uid]);
        const c = await claimOne(namespace, worker);
        expectJson(await post(app, `/tasks/${uid}/fail`, lease(c, { error: { class: 'Flaky', message: `attempt ${i + 1}` } })), 200);
      }
      await pool().query('update tasks set eta = now() where uid = $1', [uid]);
      const last = await claimOne(namespace, 'w-c');
      expectJson(await post(app, `/tasks/${uid}/complete`, lease(last, { result: 1 })), 200);
      const t = expectJson(await get(app, `/tasks/${uid}`), 200);
      expect(t).toMatchObject({ status: 'done', attempts: 3, error: null });
      expect(t.attempt_errors).toEqual([
        {
          attempt: 1,
          worker_id: 'w-a',
          started_at: expect.any(String),
          failed_at: expect.any(String),
          error: { class: 'Flaky', message: 'attempt 1' },
        },
        {
          attempt: 2,
          worker_id: 'w-b',
          started_at: expect.any(String),
          failed_at: expect.any(String),
          error: { class: 'Flaky', message: 'attempt 2' },
        },
      ]);
      for (const e of t.attempt_errors) expect(Date.parse(e.failed_at)).toBeGreaterThanOrEqual(Date.parse(e.started_at));
    });

    it('retry:false fails at once; no retries left also ends in error; class defaults to Error', async () => {
      const namespace = freshNs('fail-final');
      const a = await submitIn(namespace);
      const ca = await claimOne(namespace);
      expect(expectJson(await post(app, `/tasks/${a}/fail`, lease(ca, { error: { message: 'no' }, retry: false })), 200).status).toBe(
        'error',
      );
      const ta = expectJson(await get(app, `/tasks/${a}`), 200);
      expect(ta).toMatchObject({ status: 'error', error: { class: 'Error', message: 'no' } });
      expect(ta.finished_at).not.toBeNull();

      const b = await submitIn(namespace, 'job', { maxRetries: 0 });
      const cb = await claimOne(namespace);
      expect(expectJson(await post(app, `/tasks/${b}/fail`, lease(cb, { error })), 200).status).toBe('error');
    });

    it('a task cancelled while running ends cancelled when it fails', async () => {
      const namespace = freshNs('fail-cancel');
      const uid = await submitIn(namespace);
      const c = await claimOne(namespace);
      expectJson(await post(app, `/tasks/${uid}/cancel`), 200);
      const r = expectJson(await post(app, `/tasks/${uid}/fail`, lease(c, { error: { message: 'aborted', reason: 'cancelled' } })), 200);
      expect(r.status).toBe('cancelled');
    });

    it('409 LeaseLost with a wrong fencing token or worker_id, and the task is unchanged', async () => {
      const namespace = freshNs('fail-lost');
      const uid = await submitIn(namespace);
      const c = await claimOne(namespace, 'owner');
      const before = await rowOf(uid);
      expectProblem(await post(app, `/tasks/${uid}/fail`, lease(c, { fencing_token: c.fencing_token + 7, error })), 409, {
        code: 'LeaseLost',
      });
      expectProblem(await post(app, `/tasks/${uid}/fail`, lease(c, { worker_id: 'thief', error })), 409, { code: 'LeaseLost' });
      expect(await rowOf(uid)).toBe(before);
    });

    it('400 naming the field for a bad error or retry; 404 for an unknown task', async () => {
      const namespace = freshNs('fail-bad');
      const uid = await submitIn(namespace);
      const c = await claimOne(namespace);
      const before = await rowOf(uid);
      for (const [body, field] of [
        [lease(c), 'error'],
        [lease(c, { error: 'boom' }), 'error'],
        [lease(c, { error: {} }), 'error.message'],
        [lease(c, { error: { message: 5 } }), 'error.message'],
        [lease(c, { error: { message: 'x'.repeat(100_001) } }), 'error.message'],
        [lease(c, { error: { message: 'a\u0000' } }), 'error.message'],
        [lease(c, { error: { message: '\ud800' } }), 'error.message'],
        [lease(c, { error: { message: 'm', class: '' } }), 'error.class'],
        [lease(c, { error: { message: 'm', class: 'E\u0000' } }), 'error.class'],
        [lease(c, { error: { message: 'm', stack: 'at \u0000' } }), 'error.stack'],
        [lease(c, { error: { message: 'm', payload: ['\u0000'] } }), /^error\.payload/],
        [lease(c, { error: { message: 'm', reason: 'bored' } }), 'error.reason'],
        [lease(c, { error: { message: 'm' }, retry: 'no' }), 'retry'],
      ] as const) {
        expectProblem(await post(app, `/tasks/${uid}/fail`, body), 400, { field });
      }
      expectProblem(await post(app, `/tasks/${uid}/fail`, lease(c, { error: { message: 'm', code: 1 } })), 400, { message: /code/ });
      expect(await rowOf(uid)).toBe(before);
      expectProblem(await post(app, `/tasks/${randomUUID()}/fail`, lease(c, { error })), 404, { code: 'TaskNotFound' });
      expectProblem(await post(app, '/tasks/0/fail', lease(c, { error })), 400, { field: 'uid' });
    });
  });

  it('fencing: after the lease expires and another worker claims, the first worker can change nothing', async () => {
    const namespace = freshNs('fence');
    const uid = await submitIn(namespace);
    const a = await claimOne(namespace, 'worker-a');
    // Time passes: the lease ran out (simulated in the database), and maintenance rescues the task.
    await pool().query(`update tasks set lease_expires_at = now() - interval '1 minute' where uid = $1`, [uid]);
    const rescued = await rescueExpired(pool());
    expect(rescued).toContainEqual({ uid, status: 'retry' });
    await pool().query('update tasks set eta = now() where uid = $1', [uid]);
    const b = await claimOne(namespace, 'worker-b');
    expect(b.uid).toBe(uid);
    expect(b.fencing_token).toBeGreaterThan(a.fencing_token);
    expect(b.attempts).toBe(2);
    const held = await rowOf(uid);
    expectProblem(await post(app, `/tasks/${uid}/heartbeat`, lease(a)), 409, { code: 'LeaseLost' });
    expectProblem(await post(app, `/tasks/${uid}/complete`, lease(a, { result: 'stale' })), 409, { code: 'LeaseLost' });
    expectProblem(await post(app, `/tasks/${uid}/fail`, lease(a, { error: { message: 'stale' } })), 409, { code: 'LeaseLost' });
    // Even with worker-b's id, worker-a's old token is refused.
    expectProblem(await post(app, `/tasks/${uid}/complete`, lease(a, { worker_id: 'worker-b' })), 409, { code: 'LeaseLost' });
    expect(await rowOf(uid)).toBe(held);
    expectJson(await post(app, `/tasks/${uid}/complete`, lease(b, { result: 'fresh' })), 200);
    expect(expectJson(await get(app, `/tasks/${uid}`), 200)).toMatchObject({ status: 'done', result: 'fresh', worker_id: 'worker-b' });
  });

  it('race: 10 concurrent remote workers claim and complete 300 tasks; each is claimed exactly once', async () => {
    const namespace = freshNs('race');
    const TOTAL = 300;
    const submitted = await submitMany(
      pool(),
      Array.from({ length: TOTAL }, (_, i) => ({ task: 'race', namespace, args: [i] })),
    );
    const claims: { uid: string; worker: string; token: number }[] = [];
    let completed = 0;
    const deadline = Date.now() + 45_000;

    async function remoteWorker(id: string): Promise<void> {
      while (completed < TOTAL) {
        if (Date.now() > deadline) throw new Error(`${id}: deadline passed with ${completed}/${TOTAL} done`);
        const res = await post(app, '/workers/claim', { worker_id: id, namespace, tasks: ['race'], limit: 5 });
        const tasks: Json[] = expectJson(res, 200).tasks;
        for (const t of tasks) claims.push({ uid: t.uid, worker: id, token: t.fencing_token });
        await Promise.all(
          tasks.map(async (t) => {
            const done = await post(app, `/tasks/${t.uid}/complete`, { worker_id: id, fencing_token: t.fencing_token, result: { by: id } });
            expectJson(done, 200);
            completed++;
          }),
        );
      }
    }

    await Promise.all(Array.from({ length: 10 }, (_, i) => remoteWorker(`remote-${i}`)));

    expect(completed).toBe(TOTAL);
    expect(claims).toHaveLength(TOTAL);
    const claimedUids = claims.map((c) => c.uid);
    expect(new Set(claimedUids).size).toBe(TOTAL);
    expect(new Set(claimedUids)).toEqual(new Set(submitted.map((s) => s.task.uid)));
    expect(new Set(claims.map((c) => c.token)).size).toBe(TOTAL);
    // More than one worker took part.
    expect(new Set(claims.map((c) => c.worker)).size).toBeGreaterThan(1);

    const { rows } = await pool().query<{ status: string; attempts: number; n: number; right_worker: number }>(
      `select status, attempts, count(*)::int as n, count(*) filter (where result->>'by' = worker_id)::int as right_worker
       from tasks where namespace = $1 group by status, attempts`,
      [namespace],
    );
    expect(rows).toEqual([{ status: 'done', attempts: 1, n: TOTAL, right_worker: TOTAL }]);
  });
});
