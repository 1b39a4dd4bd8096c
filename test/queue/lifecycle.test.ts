import { drizzle } from 'drizzle-orm/node-postgres';
import { describe, expect, it } from 'vitest';
import { InvalidTransition, LeaseLost, TaskNotFound, UniqueKeyConflict, ValidationError } from '../../src/errors.ts';
import {
  type ClaimedTask,
  type ClaimOptions,
  cancel,
  claim,
  complete,
  completeMany,
  fail,
  getTask,
  getTaskByUniqueKey,
  heartbeat,
  type Lease,
  pruneExpired,
  type Queryable,
  release,
  reschedule,
  rescueExpired,
  type SubmitInput,
  submit,
  submitMany,
  type Task,
  toTaskError,
} from '../../src/queue/index.ts';
import { useTestDatabase } from '../helpers/db.ts';

const LEASE = 30;

describe('task lifecycle', () => {
  const db = useTestDatabase({ poolMax: 40 });
  const pool = () => db().pool;

  // Every test works in its own namespace, so claims never see another test's tasks.
  let nsCounter = 0;
  const freshNs = (label: string) => `lc-${label}-${++nsCounter}`;

  /** The database clock (the one every statement's now() reads), in ms. */
  async function dbClock(): Promise<number> {
    const { rows } = await pool().query<{ t: Date }>('select clock_timestamp() as t');
    return rows[0]!.t.getTime();
  }

  /** `actual` lies in [lo, hi] ms, give or take the microseconds a JS Date drops. */
  function expectWithin(actual: Date | null | undefined, lo: number, hi: number) {
    expect(actual).toBeInstanceOf(Date);
    const t = (actual as Date).getTime();
    expect(t).toBeGreaterThanOrEqual(lo - 2);
    expect(t).toBeLessThanOrEqual(hi + 2);
  }

  /** Run `fn` and bracket it with the database clock: anything it stamps with now() lies in [before, after]. */
  async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; before: number; after: number }> {
    const before = await dbClock();
    const value = await fn();
    const after = await dbClock();
    return { value, before, after };
  }

  // Making time pass without sleeping: move the row's timestamps into the past.
  const makeDue = (uid: string) => pool().query(`update tasks set eta = now() - interval '1 second' where uid = $1`, [uid]);
  const expireLease = (uid: string) =>
    pool().query(`update tasks set lease_expires_at = now() - interval '1 second' where uid = $1 and status = 'processing'`, [uid]);

  const row = async (uid: string) => (await pool().query('select * from tasks where uid = $1', [uid])).rows[0] as Record<string, unknown>;

  const claimOpts = (ns: string, over: Partial<ClaimOptions> = {}): ClaimOptions => ({
    workerId: 'w1',
    namespaces: [ns],
    tasks: ['job'],
    limit: 10,
    leaseSeconds: LEASE,
    ...over,
  });

  const lease = (t: ClaimedTask): Lease => ({ uid: t.uid, workerId: t.workerId, fencingToken: t.fencingToken });

  async function claimOne(ns: string, over: Partial<ClaimOptions> = {}): Promise<ClaimedTask> {
    const [t] = await claim(pool(), claimOpts(ns, { limit: 1, ...over }));
    if (!t) throw new Error(`nothing to claim in ${ns}`);
    return t;
  }

  async function submitOne(ns: string, input: Partial<SubmitInput> = {}): Promise<Task> {
    return (await submit(pool(), { task: 'job', namespace: ns, ...input })).task;
  }

  /** Simulate a worker that hung: its lease expires, rescue runs, another worker claims the task. */
  async function stealFrom(t: ClaimedTask, workerId: string): Promise<ClaimedTask> {
    await expireLease(t.uid);
    const rescued = await rescueExpired(pool());
    expect(rescued).toContainEqual({ uid: t.uid, status: 'retry' });
    await makeDue(t.uid);
    const again = await claimOne(t.namespace, { workerId, tasks: [t.task] });
    expect(again.uid).toBe(t.uid);
    return again;
  }

  const boom = (message = 'boom') => toTaskError(new Error(message));

  describe('claim', () => {
    it('returns processing tasks with worker, lease, fencing token and the attempt counted', async () => {
      const ns = freshNs('claim');
      const submitted = await submitOne(ns, { args: [1] });
      expect(submitted.attempts).toBe(0);
      const { value, before, after } = await timed(() => claim(pool(), claimOpts(ns, { workerId: 'worker-a', leaseSeconds: 45 })));
      expect(value).toHaveLength(1);
      const t = value[0]!;
      expect(t).toMatchObject({ uid: submitted.uid, status: 'processing', workerId: 'worker-a', attempts: 1, cancelRequested: false });
      expect(typeof t.fencingToken).toBe('number');
      expect(t.fencingToken).toBeGreaterThan(0);
      expectWithin(t.leaseExpiresAt, before + 45_000, after + 45_000);
      expectWithin(t.startedAt, before, after);
      expect(t.revision).toBe(submitted.revision + 1);
      // The row says the same.
      const r = await row(t.uid);
      expect(r).toMatchObject({ status: 'processing', worker_id: 'worker-a', fencing_token: t.fencingToken, attempts: 1 });
      expect((r.lease_expires_at as Date).getTime()).toBe(t.leaseExpiresAt.getTime());
      // A processing task is not claimed again.
      expect(await claim(pool(), claimOpts(ns, { workerId: 'worker-b' }))).toEqual([]);
    });

    it('does not claim a task before its eta; claims it once the eta has passed', async () => {
      const ns = freshNs('eta');
      const t = await submitOne(ns, { eta: new Date(Date.now() + 3_600_000) });
      expect(await claim(pool(), claimOpts(ns))).toEqual([]);
      expect((await getTask(pool(), t.uid)).status).toBe('scheduled');
      await makeDue(t.uid);
      const claimed = await claim(pool(), claimOpts(ns));
      expect(claimed.map((c) => c.uid)).toEqual([t.uid]);
    });

    it('claims by priority (higher first), then earlier eta, then submission order', async () => {
      const ns = freshNs('order');
      const now = Date.now();
      const low = await submitOne(ns, { priority: 0, eta: new Date(now - 600_000), args: ['low'] });
      const highLater = await submitOne(ns, { priority: 5, eta: new Date(now - 60_000), args: ['highLater'] });
      const highEarlier = await submitOne(ns, { priority: 5, eta: new Date(now - 300_000), args: ['highEarlier'] });
      // One batch: same priority, same eta (the statement's now()), same created_at; only submission order differs.
      const batch = (
        await submitMany(
          pool(),
          ['m1', 'm2', 'm3', 'm4', 'm5'].map((a) => ({ task: 'job', namespace: ns, priority: 1, args: [a] })),
        )
      ).map((r) => r.task);
      const negative = await submitOne(ns, { priority: -3, eta: new Date(now - 900_000), args: ['negative'] });
      const expected = [highEarlier, highLater, ...batch, low, negative].map((t) => t.args[0]);

      // One claim hands the tasks out in claim order...
      const all = await claim(pool(), claimOpts(ns, { limit: 100 }));
      expect(all.map((t) => t.args[0])).toEqual(expected);

      // ...and so does claiming them one at a time.
      for (const t of all) {
        await pool().query(
          `update tasks set status = 'scheduled', attempts = 0, worker_id = null, lease_expires_at = null where uid = $1`,
          [t.uid],
        );
      }
      const oneByOne: unknown[] = [];
      for (;;) {
        const [t] = await claim(pool(), claimOpts(ns, { limit: 1 }));
        if (!t) break;
        oneByOne.push(t.args[0]);
      }
      expect(oneByOne).toEqual(expected);
    });

    it('hands out tasks whose etas differ by microseconds in the database’s order', async () => {
      const ns = freshNs('order-us');
      // An old task now due again, and a newer one due 400 µs earlier: same millisecond, so only
      // the database can tell which comes first.
      const old = await submitOne(ns, { args: ['old'] });
      const newer = await submitOne(ns, { args: ['newer'] });
      await pool().query(`update tasks set created_at = now() - interval '1 hour' where uid = $1`, [old.uid]);
      await pool().query(
        `update tasks set eta = date_trunc('milliseconds', now()) - interval '1 second' + (case when uid = $1 then interval '500 microseconds' else interval '100 microseconds' end)
         where uid = any($2::uuid[])`,
        [old.uid, [old.uid, newer.uid]],
      );
      const got = await claim(pool(), claimOpts(ns));
      expect(got.map((t) => t.args[0])).toEqual(['newer', 'old']);
    });

    it('never hands a worker tasks of a namespace it does not serve', async () => {
      const nsA = freshNs('ns-a');
      const nsB = freshNs('ns-b');
      const a = await submitMany(
        pool(),
        [1, 2, 3].map((i) => ({ task: 'job', namespace: nsA, args: [i] })),
      );
      const b = await submitMany(
        pool(),
        [1, 2, 3].map((i) => ({ task: 'job', namespace: nsB, args: [i], priority: 100 })),
      );
      const claimedA = await claim(pool(), claimOpts(nsA, { limit: 100 }));
      expect(claimedA.map((t) => t.uid).sort()).toEqual(a.map((r) => r.task.uid).sort());
      expect(claimedA.every((t) => t.namespace === nsA)).toBe(true);
      expect(await claim(pool(), claimOpts(nsA, { limit: 100 }))).toEqual([]);
      for (const r of b) expect((await getTask(pool(), r.task.uid)).status).toBe('scheduled');
      // A worker serving both sees B's tasks; one serving none sees nothing.
      expect(await claim(pool(), claimOpts(nsA, { namespaces: [] }))).toEqual([]);
      const both = await claim(pool(), claimOpts(nsA, { namespaces: [nsA, nsB], limit: 100 }));
      expect(both.map((t) => t.uid).sort()).toEqual(b.map((r) => r.task.uid).sort());
    });

    it('a worker serving several namespaces gets them merged in claim order, the limit counting across all', async () => {
      const nsA = freshNs('multi-a');
      const nsB = freshNs('multi-b');
      await submitMany(pool(), [
        { task: 'job', namespace: nsA, priority: 1, args: ['a1'] },
        { task: 'job', namespace: nsB, priority: 9, args: ['b9'] },
        { task: 'job', namespace: nsA, priority: 5, args: ['a5'] },
        { task: 'job', namespace: nsB, priority: 0, args: ['b0'] },
        { task: 'job', namespace: nsA, priority: 3, args: ['a3'] },
      ]);
      const opts = claimOpts(nsA, { namespaces: [nsA, nsB], limit: 3 });
      expect((await claim(pool(), opts)).map((t) => t.args[0])).toEqual(['b9', 'a5', 'a3']);
      expect((await claim(pool(), opts)).map((t) => t.args[0])).toEqual(['a1', 'b0']);
      expect(await claim(pool(), opts)).toEqual([]);
    });

    it('never claims a task name the worker did not list; an empty list claims nothing', async () => {
      const ns = freshNs('names');
      const tasks = await submitMany(
        pool(),
        ['send.email', 'resize.image', 'send.email', 'charge.card'].map((task) => ({ task, namespace: ns })),
      );
      expect(await claim(pool(), claimOpts(ns, { tasks: [], limit: 100 }))).toEqual([]);
      const claimed = await claim(pool(), claimOpts(ns, { tasks: ['send.email', 'charge.card', 'not.submitted'], limit: 100 }));
      expect(claimed.map((t) => t.task).sort()).toEqual(['charge.card', 'send.email', 'send.email']);
      const resize = tasks.find((r) => r.task.task === 'resize.image')!.task;
      expect((await getTask(pool(), resize.uid)).status).toBe('scheduled');
      expect(await claim(pool(), claimOpts(ns, { tasks: ['send.email', 'charge.card'], limit: 100 }))).toEqual([]);
      expect((await claim(pool(), claimOpts(ns, { tasks: ['resize.image'] }))).map((t) => t.uid)).toEqual([resize.uid]);
    });

    it('respects the limit', async () => {
      const ns = freshNs('limit');
      await submitMany(
        pool(),
        Array.from({ length: 10 }, (_, i) => ({ task: 'job', namespace: ns, args: [i] })),
      );
      const sizes: number[] = [];
      for (;;) {
        const got = await claim(pool(), claimOpts(ns, { limit: 3 }));
        sizes.push(got.length);
        if (got.length === 0) break;
      }
      expect(sizes).toEqual([3, 3, 3, 1, 0]);
      expect(await claim(pool(), claimOpts(ns, { limit: 0 }))).toEqual([]);
    });

    it('draws strictly increasing fencing tokens across claims', async () => {
      const ns = freshNs('tokens');
      await submitMany(
        pool(),
        Array.from({ length: 12 }, (_, i) => ({ task: 'job', namespace: ns, args: [i] })),
      );
      const tokens: number[] = [];
      for (let i = 0; i < 4; i++) {
        const got = await claim(pool(), claimOpts(ns, { limit: 3 }));
        expect(got).toHaveLength(3);
        // Within one claim every task has its own token...
        expect(new Set(got.map((t) => t.fencingToken)).size).toBe(3);
        const sorted = got.map((t) => t.fencingToken).sort((x, y) => x - y);
        // ...and every token of a later claim is above every token of an earlier one.
        if (tokens.length) expect(sorted[0]!).toBeGreaterThan(tokens[tokens.length - 1]!);
        tokens.push(...sorted);
      }
      // A re-claim of the same task gets a new, larger token too.
      const first = (await claim(pool(), claimOpts(ns))).length;
      expect(first).toBe(0);
      const t = await submitOne(ns);
      const c1 = await claimOne(ns);
      expect(c1.uid).toBe(t.uid);
      const c2 = await stealFrom(c1, 'w2');
      expect(c1.fencingToken).toBeGreaterThan(tokens[tokens.length - 1]!);
      expect(c2.fencingToken).toBeGreaterThan(c1.fencingToken);
    });

    it('20 concurrent claimers take 500 tasks, each exactly once', async () => {
      const ns = freshNs('race');
      const submitted = await submitMany(
        pool(),
        Array.from({ length: 500 }, (_, i) => ({ task: 'job', namespace: ns, args: [i], priority: i % 3 })),
      );
      const perClaimer = await Promise.all(
        Array.from({ length: 20 }, async (_, w) => {
          const mine: ClaimedTask[] = [];
          for (;;) {
            const got = await claim(pool(), claimOpts(ns, { workerId: `racer-${w}`, limit: 7 }));
            if (got.length === 0) return mine;
            expect(got.length).toBeLessThanOrEqual(7);
            mine.push(...got);
          }
        }),
      );
      const uids = perClaimer.flat().map((t) => t.uid);
      expect(uids).toHaveLength(500);
      expect(new Set(uids).size).toBe(500);
      expect(new Set(uids)).toEqual(new Set(submitted.map((r) => r.task.uid)));
      // Each claimed row belongs to the worker that got it, with a token nobody else holds.
      const tokens = perClaimer.flat().map((t) => t.fencingToken);
      expect(new Set(tokens).size).toBe(500);
      const { rows } = await pool().query<{ n: number; workers: number }>(
        `select count(*)::int as n, count(distinct worker_id)::int as workers from tasks where namespace = $1 and status = 'processing' and attempts = 1`,
        [ns],
      );
      expect(rows[0]!.n).toBe(500);
      for (const [w, mine] of perClaimer.entries()) for (const t of mine) expect(t.workerId).toBe(`racer-${w}`);
    });
  });

  describe('complete', () => {
    it('stores the result: done, result kept, expires after result_expires', async () => {
      const ns = freshNs('complete');
      await submitOne(ns, { resultExpires: 3600 });
      const t = await claimOne(ns);
      const { before, after } = await timed(() => complete(pool(), { ...lease(t), result: { ok: true, n: [1, 2] } }));
      const done = await getTask(pool(), t.uid);
      expect(done).toMatchObject({ status: 'done', result: { ok: true, n: [1, 2] }, error: null, leaseExpiresAt: null });
      expectWithin(done.finishedAt, before, after);
      expectWithin(done.expiresAt, before + 3_600_000, after + 3_600_000);
    });

    it('a missing result is stored as null', async () => {
      const ns = freshNs('complete-null');
      await submitOne(ns);
      const t = await claimOne(ns);
      await complete(pool(), lease(t));
      expect(await getTask(pool(), t.uid)).toMatchObject({ status: 'done', result: null });
    });

    it('deletes the row when store_result is off', async () => {
      const ns = freshNs('complete-nostore');
      await submitOne(ns, { storeResult: false });
      const t = await claimOne(ns);
      await complete(pool(), { ...lease(t), result: 'ignored' });
      await expect(getTask(pool(), t.uid)).rejects.toBeInstanceOf(TaskNotFound);
    });

    it('keeps the row forever when result_expires is null', async () => {
      const ns = freshNs('complete-forever');
      await submitOne(ns, { resultExpires: null });
      const t = await claimOne(ns);
      await complete(pool(), { ...lease(t), result: 1 });
      expect(await getTask(pool(), t.uid)).toMatchObject({ status: 'done', result: 1, expiresAt: null });
    });

    it('rejects a stale worker with LeaseLost once its task was rescued and re-claimed; the new owner’s result stands', async () => {
      const ns = freshNs('complete-stale');
      await submitOne(ns);
      const w1 = await claimOne(ns, { workerId: 'w1' });
      const w2 = await stealFrom(w1, 'w2');
      // While w2 runs it, w1 cannot finish it.
      const err = await complete(pool(), { ...lease(w1), result: 'from w1' }).catch((e) => e);
      expect(err).toBeInstanceOf(LeaseLost);
      expect(err.code).toBe('LeaseLost');
      expect((await getTask(pool(), w1.uid)).status).toBe('processing');
      await complete(pool(), { ...lease(w2), result: 'from w2' });
      // Nor after w2 finished it.
      await expect(complete(pool(), { ...lease(w1), result: 'from w1' })).rejects.toMatchObject({ code: 'LeaseLost' });
      expect(await getTask(pool(), w1.uid)).toMatchObject({ status: 'done', result: 'from w2', workerId: 'w2' });
    });

    it('rejects the right worker holding an old fencing token', async () => {
      const ns = freshNs('complete-token');
      await submitOne(ns);
      const first = await claimOne(ns, { workerId: 'same' });
      const second = await stealFrom(first, 'same');
      expect(second.workerId).toBe(first.workerId);
      const err = await complete(pool(), { ...lease(first), result: 'old' }).catch((e) => e);
      expect(err).toBeInstanceOf(LeaseLost);
      expect(err.code).toBe('LeaseLost');
      expect(String(err.message)).toContain('fencing token');
      expect((await getTask(pool(), first.uid)).status).toBe('processing');
      await complete(pool(), { ...lease(second), result: 'new' });
      expect((await getTask(pool(), first.uid)).result).toBe('new');
    });

    it('an unknown uid is TaskNotFound', async () => {
      const err = await complete(pool(), { uid: '00000000-0000-4000-8000-000000000000', workerId: 'w1', fencingToken: 1 }).catch((e) => e);
      expect(err).toBeInstanceOf(TaskNotFound);
      expect(err.code).toBe('TaskNotFound');
    });

    it('completeMany completes what the worker still owns and returns exactly those uids', async () => {
      const ns = freshNs('complete-many');
      await submitMany(
        pool(),
        Array.from({ length: 4 }, (_, i) => ({ task: 'job', namespace: ns, args: [i], storeResult: i !== 1 })),
      );
      const claimed = await claim(pool(), claimOpts(ns, { workerId: 'wm', limit: 4 }));
      expect(claimed).toHaveLength(4);
      const [a, b, c, d] = claimed as [ClaimedTask, ClaimedTask, ClaimedTask, ClaimedTask];
      // c: wrong token; d: taken over by someone else.
      const d2 = await stealFrom(d, 'other');
      const done = await completeMany(pool(), 'wm', [
        { uid: a.uid, fencingToken: a.fencingToken, result: 'a' },
        { uid: b.uid, fencingToken: b.fencingToken, result: 'b' },
        { uid: c.uid, fencingToken: c.fencingToken + 1_000_000, result: 'c' },
        { uid: d.uid, fencingToken: d.fencingToken, result: 'd' },
        { uid: '00000000-0000-4000-8000-000000000001', fencingToken: 1, result: 'ghost' },
      ]);
      expect(done).toEqual(new Set([a.uid, b.uid]));
      const byUid = new Map(claimed.map((t) => [t.uid, t]));
      for (const t of [a, b]) {
        if (byUid.get(t.uid)!.storeResult)
          expect(await getTask(pool(), t.uid)).toMatchObject({ status: 'done', result: t.args[0] === 0 ? 'a' : 'b' });
        else await expect(getTask(pool(), t.uid)).rejects.toBeInstanceOf(TaskNotFound);
      }
      expect(await getTask(pool(), c.uid)).toMatchObject({ status: 'processing', workerId: 'wm' });
      expect(await getTask(pool(), d.uid)).toMatchObject({ status: 'processing', workerId: 'other' });
      expect(d2.workerId).toBe('other');
      expect(await completeMany(pool(), 'wm', [])).toEqual(new Set());
    });

    it('rejects a result that is not JSON and changes nothing', async () => {
      const ns = freshNs('complete-badresult');
      await submitOne(ns);
      const t = await claimOne(ns);
      await expect(complete(pool(), { ...lease(t), result: () => 1 })).rejects.toBeInstanceOf(ValidationError);
      expect((await getTask(pool(), t.uid)).status).toBe('processing');
    });
  });

  describe('fail', () => {
    it('retries with doubling, capped backoff, then ends in error once retries run out', async () => {
      const ns = freshNs('fail-seq');
      const submitted = await submitOne(ns, { maxRetries: 3, errorEtaInc: 10, errorEtaMax: 25, errorExpires: 7200 });
      // Backoff after attempt n: min(25, 10 * 2^(n-1)) ± 10%, never above the cap.
      const bounds: [number, number][] = [
        [9, 11],
        [18, 22],
        [22.5, 25],
      ];
      for (const [attempt, [lo, hi]] of bounds.entries()) {
        if (attempt > 0) await makeDue(submitted.uid);
        const t = await claimOne(ns);
        expect(t.attempts).toBe(attempt + 1);
        const { value, before, after } = await timed(() => fail(pool(), { ...lease(t), error: boom(`attempt ${attempt + 1}`) }));
        expect(value.status).toBe('retry');
        expectWithin(value.eta, before + lo * 1000, after + hi * 1000);
        const r = await getTask(pool(), t.uid);
        expect(r).toMatchObject({ status: 'retry', attempts: attempt + 1, leaseExpiresAt: null, finishedAt: null, expiresAt: null });
        expect(r.eta.getTime()).toBe(value.eta.getTime());
        expect(r.error).toMatchObject({ class: 'Error', message: `attempt ${attempt + 1}` });
        // Not due yet: nobody claims it before its backoff.
        expect(await claim(pool(), claimOpts(ns))).toEqual([]);
      }
      await makeDue(submitted.uid);
      const last = await claimOne(ns);
      expect(last.attempts).toBe(4);
      const err = new TypeError('final failure');
      const { value, before, after } = await timed(() => fail(pool(), { ...lease(last), error: toTaskError(err) }));
      expect(value.status).toBe('error');
      const final = await getTask(pool(), last.uid);
      expect(final).toMatchObject({ status: 'error', attempts: 4, leaseExpiresAt: null });
      expect(final.error).toEqual({ class: 'TypeError', message: 'final failure', stack: err.stack });
      expect(final.error?.stack).toContain('final failure');
      expectWithin(final.finishedAt, before, after);
      expectWithin(final.expiresAt, before + 7_200_000, after + 7_200_000);
      expect(await claim(pool(), claimOpts(ns))).toEqual([]);
    });

    it('a non-retryable error ends in error at once, whatever retries remain', async () => {
      const ns = freshNs('fail-nonretryable');
      await submitOne(ns, { maxRetries: 5 });
      const t = await claimOne(ns);
      const res = await fail(pool(), { ...lease(t), error: boom('bad input'), retryable: false });
      expect(res.status).toBe('error');
      const r = await getTask(pool(), t.uid);
      expect(r).toMatchObject({ status: 'error', attempts: 1, error: { message: 'bad input' } });
      expect(r.finishedAt).toBeInstanceOf(Date);
      expect(r.expiresAt).toBeInstanceOf(Date);
    });

    it('a task submitted with retry off ends in error at once', async () => {
      const ns = freshNs('fail-noretry');
      await submitOne(ns, { retry: false, maxRetries: 5 });
      const t = await claimOne(ns);
      expect((await fail(pool(), { ...lease(t), error: boom() })).status).toBe('error');
      expect((await getTask(pool(), t.uid)).status).toBe('error');
    });

    it('maxRetries 0 ends in error after the first failure', async () => {
      const ns = freshNs('fail-zero');
      await submitOne(ns, { maxRetries: 0 });
      const t = await claimOne(ns);
      expect((await fail(pool(), { ...lease(t), error: boom() })).status).toBe('error');
    });

    it('maxRetries null keeps retrying, with the delay capped', async () => {
      const ns = freshNs('fail-forever');
      const submitted = await submitOne(ns, { maxRetries: null, errorEtaInc: 1, errorEtaMax: 4 });
      for (let i = 1; i <= 10; i++) {
        await makeDue(submitted.uid);
        const t = await claimOne(ns);
        expect(t.attempts).toBe(i);
        const { value, after } = await timed(() => fail(pool(), { ...lease(t), error: boom(`#${i}`) }));
        expect(value.status).toBe('retry');
        expect(value.eta.getTime()).toBeLessThanOrEqual(after + 4_000 + 2);
      }
      expect(await getTask(pool(), submitted.uid)).toMatchObject({ status: 'retry', attempts: 10, finishedAt: null, expiresAt: null });
    });

    it('a stale worker’s fail is LeaseLost and changes nothing', async () => {
      const ns = freshNs('fail-stale');
      await submitOne(ns);
      const w1 = await claimOne(ns, { workerId: 'w1' });
      const w2 = await stealFrom(w1, 'w2');
      const before = await row(w1.uid);
      const err = await fail(pool(), { ...lease(w1), error: boom('late') }).catch((e) => e);
      expect(err).toBeInstanceOf(LeaseLost);
      expect(err.code).toBe('LeaseLost');
      expect(await row(w1.uid)).toEqual(before);
      // Wrong token for the right worker too.
      await expect(fail(pool(), { ...lease(w2), fencingToken: w1.fencingToken, error: boom('late') })).rejects.toMatchObject({
        code: 'LeaseLost',
      });
      expect(await row(w1.uid)).toEqual(before);
      // The owner's fail goes through.
      expect((await fail(pool(), { ...lease(w2), error: boom('owner') })).status).toBe('retry');
    });

    it('an unknown uid is TaskNotFound', async () => {
      await expect(
        fail(pool(), { uid: '00000000-0000-4000-8000-000000000002', workerId: 'w', fencingToken: 1, error: boom() }),
      ).rejects.toMatchObject({ code: 'TaskNotFound' });
    });
  });

  describe('heartbeat', () => {
    it('renews every owned lease in one statement and reports lost and cancel-requested tasks', async () => {
      const ns = freshNs('heartbeat');
      await submitMany(
        pool(),
        Array.from({ length: 6 }, (_, i) => ({ task: 'job', namespace: ns, args: [i] })),
      );
      const claimed = await claim(pool(), claimOpts(ns, { workerId: 'hb', limit: 6, leaseSeconds: 5 }));
      expect(claimed).toHaveLength(6);
      const [a, b, c, stolen, wrongToken, cancelled] = claimed as [
        ClaimedTask,
        ClaimedTask,
        ClaimedTask,
        ClaimedTask,
        ClaimedTask,
        ClaimedTask,
      ];
      const stolenNow = await stealFrom(stolen, 'thief');
      await cancel(pool(), cancelled.uid);

      let statements = 0;
      const counting: Queryable = {
        query: (text: string, values?: unknown[]) => {
          statements++;
          return pool().query(text, values);
        },
      };
      const leases = [a, b, c, stolen, { ...wrongToken, fencingToken: wrongToken.fencingToken + 1_000_000 }, cancelled];
      const { value, before, after } = await timed(() => heartbeat(counting, 'hb', 120, leases));
      expect(statements).toBe(1);
      expect(value.renewed).toEqual(new Set([a.uid, b.uid, c.uid, cancelled.uid]));
      expect(value.lost).toEqual(new Set([stolen.uid, wrongToken.uid]));
      expect(value.cancelRequested).toEqual(new Set([cancelled.uid]));
      for (const t of [a, b, c, cancelled]) expectWithin((await getTask(pool(), t.uid)).leaseExpiresAt, before + 120_000, after + 120_000);
      // Lost tasks are untouched: the thief's lease and the original lease stay as they were.
      expect((await getTask(pool(), stolen.uid)).leaseExpiresAt?.getTime()).toBe(stolenNow.leaseExpiresAt.getTime());
      expect((await getTask(pool(), wrongToken.uid)).leaseExpiresAt?.getTime()).toBe(wrongToken.leaseExpiresAt.getTime());
      // Another worker id presenting the right tokens renews nothing.
      const foreign = await heartbeat(pool(), 'not-hb', 120, [a, b]);
      expect(foreign.renewed.size).toBe(0);
      expect(foreign.lost).toEqual(new Set([a.uid, b.uid]));
      // A finished task is lost too.
      await complete(pool(), lease(a));
      expect((await heartbeat(pool(), 'hb', 120, [a, b])).lost).toEqual(new Set([a.uid]));
      expect(await heartbeat(pool(), 'hb', 120, [])).toEqual({
        renewed: new Set(),
        lost: new Set(),
        busy: new Set(),
        cancelRequested: new Set(),
        expiresAt: new Map(),
      });
    });

    it('skipLocked: a row locked elsewhere is reported busy, neither renewed nor lost, and not waited for', async () => {
      const ns = freshNs('heartbeat-skip');
      await submitOne(ns);
      await submitOne(ns);
      await submitOne(ns);
      const [a, b, gone] = [await claimOne(ns), await claimOne(ns), await claimOne(ns)];
      await complete(pool(), lease(gone));
      const other = await pool().connect();
      try {
        await other.query('begin');
        await other.query('select 1 from tasks where uid = $1 for update', [b.uid]);
        // Without skip locked this statement would wait for `other`, which waits for nothing: the test would hang.
        const r = await heartbeat(pool(), a.workerId, 120, [a, b, gone], { skipLocked: true });
        expect(r.renewed).toEqual(new Set([a.uid]));
        expect(r.busy).toEqual(new Set([b.uid]));
        expect(r.lost).toEqual(new Set([gone.uid]));
        expect((await getTask(pool(), b.uid)).leaseExpiresAt?.getTime()).toBe(b.leaseExpiresAt.getTime());
        await other.query('commit');
      } finally {
        other.release();
      }
      // Once the lock is gone, the next beat renews it; a finished task never comes back as busy.
      const again = await heartbeat(pool(), a.workerId, 120, [a, b, gone], { skipLocked: true });
      expect(again.renewed).toEqual(new Set([a.uid, b.uid]));
      expect(again.busy.size).toBe(0);
      expect(again.lost).toEqual(new Set([gone.uid]));
    });

    it('keeps a renewed lease out of rescue', async () => {
      const ns = freshNs('heartbeat-rescue');
      await submitOne(ns);
      const t = await claimOne(ns, { leaseSeconds: 5 });
      await expireLease(t.uid);
      // The heartbeat comes before rescue runs: the lease is renewed and rescue leaves it alone.
      expect((await heartbeat(pool(), t.workerId, 60, [t])).renewed.has(t.uid)).toBe(true);
      const rescued = await rescueExpired(pool());
      expect(rescued.map((r) => r.uid)).not.toContain(t.uid);
      expect((await getTask(pool(), t.uid)).status).toBe('processing');
    });
  });

  describe('rescue', () => {
    it('sends an expired lease to retry, the attempt counted, error.reason lease_expired', async () => {
      const ns = freshNs('rescue');
      await submitOne(ns, { maxRetries: 2, errorEtaInc: 10, errorEtaMax: 100 });
      const t = await claimOne(ns, { workerId: 'crashed' });
      await expireLease(t.uid);
      const { value, before, after } = await timed(() => rescueExpired(pool()));
      expect(value).toContainEqual({ uid: t.uid, status: 'retry' });
      const r = await getTask(pool(), t.uid);
      expect(r).toMatchObject({ status: 'retry', attempts: 1, leaseExpiresAt: null, finishedAt: null, expiresAt: null });
      expect(r.error).toMatchObject({ class: 'LeaseExpired', reason: 'lease_expired', payload: { worker_id: 'crashed' } });
      expectWithin(r.eta, before + 9_000, after + 11_000);
      // The crashed worker cannot finish it now.
      await expect(complete(pool(), lease(t))).rejects.toMatchObject({ code: 'LeaseLost' });
    });

    it('with no retries left, sends it to error with reason lease_expired', async () => {
      const ns = freshNs('rescue-error');
      await submitOne(ns, { maxRetries: 0, errorExpires: 600 });
      const t = await claimOne(ns);
      await expireLease(t.uid);
      const { value, before, after } = await timed(() => rescueExpired(pool()));
      expect(value).toContainEqual({ uid: t.uid, status: 'error' });
      const r = await getTask(pool(), t.uid);
      expect(r).toMatchObject({ status: 'error', attempts: 1, leaseExpiresAt: null, error: { reason: 'lease_expired' } });
      expectWithin(r.finishedAt, before, after);
      expectWithin(r.expiresAt, before + 600_000, after + 600_000);
    });

    it('a poison task that always kills its worker ends in error after maxRetries + 1 claims', async () => {
      const ns = freshNs('poison');
      const submitted = await submitOne(ns, { maxRetries: 3 });
      let claims = 0;
      for (;;) {
        const [t] = await claim(pool(), claimOpts(ns));
        if (!t) break;
        claims++;
        expect(t.attempts).toBe(claims);
        await expireLease(t.uid);
        const status = (await rescueExpired(pool())).find((r) => r.uid === t.uid)?.status;
        expect(status).toBe(claims <= 3 ? 'retry' : 'error');
        await makeDue(t.uid);
        if (claims > 10) throw new Error('poison task never stopped');
      }
      expect(claims).toBe(4);
      expect(await getTask(pool(), submitted.uid)).toMatchObject({ status: 'error', attempts: 4, error: { reason: 'lease_expired' } });
    });

    it('leaves unexpired leases alone', async () => {
      const ns = freshNs('rescue-live');
      await submitOne(ns);
      const t = await claimOne(ns, { leaseSeconds: 60 });
      const before = await row(t.uid);
      const rescued = await rescueExpired(pool());
      expect(rescued.map((r) => r.uid)).not.toContain(t.uid);
      expect(await row(t.uid)).toEqual(before);
      await complete(pool(), lease(t));
    });

    it('a cancel requested before the lease expired ends cancelled', async () => {
      const ns = freshNs('rescue-cancel');
      await submitOne(ns, { errorExpires: 900 });
      const t = await claimOne(ns);
      await cancel(pool(), t.uid);
      await expireLease(t.uid);
      const { value, before, after } = await timed(() => rescueExpired(pool()));
      expect(value).toContainEqual({ uid: t.uid, status: 'cancelled' });
      const r = await getTask(pool(), t.uid);
      expect(r).toMatchObject({ status: 'cancelled', leaseExpiresAt: null });
      expectWithin(r.finishedAt, before, after);
      expectWithin(r.expiresAt, before + 900_000, after + 900_000);
    });

    it('respects its batch limit', async () => {
      const ns = freshNs('rescue-limit');
      await submitMany(
        pool(),
        Array.from({ length: 5 }, () => ({ task: 'job', namespace: ns })),
      );
      const claimed = await claim(pool(), claimOpts(ns));
      // Leftovers from earlier tests first, so the count below is ours alone.
      while ((await rescueExpired(pool())).length > 0);
      for (const t of claimed) await expireLease(t.uid);
      expect(await rescueExpired(pool(), 2)).toHaveLength(2);
      expect(await rescueExpired(pool(), 2)).toHaveLength(2);
      expect(await rescueExpired(pool(), 2)).toHaveLength(1);
      expect(await rescueExpired(pool(), 2)).toHaveLength(0);
    });
  });

  describe('release', () => {
    it('returns a first attempt to scheduled and a later one to retry, the attempt not counted, due now', async () => {
      const ns = freshNs('release');
      const [first, later] = (
        await submitMany(pool(), [
          { task: 'job', namespace: ns },
          { task: 'job', namespace: ns },
        ])
      ).map((r) => r.task) as [Task, Task];
      // `later` fails once, so its next claim is attempt 2.
      const l1 = await claimOne(ns, { workerId: 'w' });
      await fail(pool(), { ...lease(l1), error: boom() });
      const otherUid = l1.uid === first.uid ? later.uid : first.uid;
      await makeDue(l1.uid);
      const claimed = await claim(pool(), claimOpts(ns, { workerId: 'w' }));
      expect(claimed).toHaveLength(2);
      const second = claimed.find((t) => t.uid === l1.uid)!;
      const fresh = claimed.find((t) => t.uid === otherUid)!;
      expect(second.attempts).toBe(2);
      expect(fresh.attempts).toBe(1);

      const { value, before, after } = await timed(() => release(pool(), 'w', [second, fresh]));
      expect(value).toEqual(
        new Map([
          [second.uid, { status: 'retry', namespace: ns }],
          [fresh.uid, { status: 'scheduled', namespace: ns }],
        ]),
      );
      const s = await getTask(pool(), second.uid);
      const f = await getTask(pool(), fresh.uid);
      expect(s).toMatchObject({ status: 'retry', attempts: 1, leaseExpiresAt: null, finishedAt: null });
      expect(f).toMatchObject({ status: 'scheduled', attempts: 0, leaseExpiresAt: null, finishedAt: null });
      expectWithin(s.eta, before, after);
      expectWithin(f.eta, before, after);
      // Due at once: another worker takes both, and their old owner can no longer touch them.
      const again = await claim(pool(), claimOpts(ns, { workerId: 'w2' }));
      expect(again.map((t) => t.uid).sort()).toEqual([second.uid, fresh.uid].sort());
      expect(again.find((t) => t.uid === fresh.uid)!.attempts).toBe(1);
      await expect(complete(pool(), lease(fresh))).rejects.toMatchObject({ code: 'LeaseLost' });
    });

    it('releases only with the matching worker and fencing token', async () => {
      const ns = freshNs('release-guard');
      await submitOne(ns);
      const t = await claimOne(ns, { workerId: 'owner' });
      const before = await row(t.uid);
      expect(await release(pool(), 'intruder', [t])).toEqual(new Map());
      expect(await release(pool(), 'owner', [{ uid: t.uid, fencingToken: t.fencingToken + 1 }])).toEqual(new Map());
      expect(await release(pool(), 'owner', [])).toEqual(new Map());
      expect(await row(t.uid)).toEqual(before);
      expect(await release(pool(), 'owner', [t])).toEqual(new Map([[t.uid, { status: 'scheduled', namespace: ns }]]));
      // Released once; a second release matches nothing.
      expect(await release(pool(), 'owner', [t])).toEqual(new Map());
    });

    it('a cancel requested while running wins: released as cancelled, and prunable', async () => {
      const ns = freshNs('release-cancel');
      await submitOne(ns, { errorExpires: 300 });
      const t = await claimOne(ns, { workerId: 'owner' });
      await cancel(pool(), t.uid);
      const { before, after } = await timed(() => release(pool(), 'owner', [t]));
      const r = await getTask(pool(), t.uid);
      expect(r).toMatchObject({ status: 'cancelled', leaseExpiresAt: null });
      expectWithin(r.finishedAt, before, after);
      expectWithin(r.expiresAt, before + 300_000, after + 300_000);
    });
  });

  describe('cancel', () => {
    it('cancels a waiting task at once', async () => {
      const ns = freshNs('cancel');
      const scheduled = await submitOne(ns, { errorExpires: 1000 });
      const { value, before, after } = await timed(() => cancel(pool(), scheduled.uid));
      expect(value).toMatchObject({ uid: scheduled.uid, status: 'cancelled', cancelRequested: false });
      expectWithin(value.finishedAt, before, after);
      expectWithin(value.expiresAt, before + 1_000_000, after + 1_000_000);
      expect(await getTask(pool(), scheduled.uid)).toMatchObject({ status: 'cancelled' });
      expect(await claim(pool(), claimOpts(ns))).toEqual([]);

      // A task waiting in retry, too.
      await submitOne(ns);
      const t = await claimOne(ns);
      await fail(pool(), { ...lease(t), error: boom() });
      expect((await cancel(pool(), t.uid)).status).toBe('cancelled');
    });

    it('flags a running task; its next fail ends cancelled', async () => {
      const ns = freshNs('cancel-running');
      await submitOne(ns, { maxRetries: 5 });
      const t = await claimOne(ns);
      const flagged = await cancel(pool(), t.uid);
      expect(flagged).toMatchObject({ status: 'processing', cancelRequested: true, finishedAt: null, workerId: t.workerId });
      // Cancelling again is harmless.
      expect(await cancel(pool(), t.uid)).toMatchObject({ status: 'processing', cancelRequested: true });
      const res = await fail(pool(), { ...lease(t), error: toTaskError(new Error('aborted'), 'cancelled') });
      expect(res.status).toBe('cancelled');
      const r = await getTask(pool(), t.uid);
      expect(r).toMatchObject({ status: 'cancelled', leaseExpiresAt: null, error: { reason: 'cancelled' } });
      expect(r.finishedAt).toBeInstanceOf(Date);
      expect(r.expiresAt).toBeInstanceOf(Date);
    });

    it('a done task cannot be cancelled: InvalidTransition', async () => {
      const ns = freshNs('cancel-done');
      await submitOne(ns);
      const t = await claimOne(ns);
      await complete(pool(), lease(t));
      const err = await cancel(pool(), t.uid).catch((e) => e);
      expect(err).toBeInstanceOf(InvalidTransition);
      expect(err.code).toBe('InvalidTransition');
      expect(err.details).toMatchObject({ status: 'done', action: 'cancel' });
      expect((await getTask(pool(), t.uid)).status).toBe('done');
      // Nor a cancelled one.
      const s = await submitOne(ns);
      await cancel(pool(), s.uid);
      await expect(cancel(pool(), s.uid)).rejects.toMatchObject({ code: 'InvalidTransition' });
    });

    it('an unknown uid is TaskNotFound; a malformed one is ValidationError', async () => {
      const err = await cancel(pool(), '00000000-0000-4000-8000-000000000003').catch((e) => e);
      expect(err).toBeInstanceOf(TaskNotFound);
      expect(err.code).toBe('TaskNotFound');
      const bad = await cancel(pool(), 'not-a-uuid').catch((e) => e);
      expect(bad).toBeInstanceOf(ValidationError);
      expect(bad.code).toBe('ValidationError');
    });
  });

  describe('reschedule', () => {
    async function inError(ns: string, input: Partial<SubmitInput> = {}): Promise<Task> {
      await submitOne(ns, input);
      const t = await claimOne(ns);
      await fail(pool(), { ...lease(t), error: boom(), retryable: false });
      return getTask(pool(), t.uid);
    }

    it('puts an error task back as scheduled with attempts reset, due now', async () => {
      const ns = freshNs('resched-error');
      const t = await inError(ns);
      expect(t).toMatchObject({ status: 'error', attempts: 1 });
      const { value, before, after } = await timed(() => reschedule(pool(), t.uid));
      expect(value).toMatchObject({ status: 'scheduled', attempts: 0, finishedAt: null, expiresAt: null, leaseExpiresAt: null });
      expectWithin(value.eta, before, after);
      const again = await claimOne(ns);
      expect(again).toMatchObject({ uid: t.uid, attempts: 1 });
    });

    it('from retry and cancelled too, with an optional eta', async () => {
      const ns = freshNs('resched-more');
      await submitOne(ns);
      const r = await claimOne(ns);
      await fail(pool(), { ...lease(r), error: boom() });
      const eta = new Date(Date.now() + 86_400_000);
      expect(await reschedule(pool(), r.uid, { eta })).toMatchObject({ status: 'scheduled', attempts: 0, eta });
      expect(await claim(pool(), claimOpts(ns))).toEqual([]);

      const c = await cancel(pool(), r.uid);
      expect(c.status).toBe('cancelled');
      const back = await reschedule(pool(), r.uid, { eta: eta.toISOString() });
      expect(back).toMatchObject({ status: 'scheduled', attempts: 0, eta, cancelRequested: false, finishedAt: null });

      await expect(reschedule(pool(), r.uid, { eta: 'whenever' })).rejects.toBeInstanceOf(ValidationError);
    });

    it('refuses scheduled, processing and done tasks: InvalidTransition', async () => {
      const ns = freshNs('resched-refuse');
      const scheduled = await submitOne(ns);
      const e1 = await reschedule(pool(), scheduled.uid).catch((e) => e);
      expect(e1).toBeInstanceOf(InvalidTransition);
      expect(e1.code).toBe('InvalidTransition');
      expect(e1.details).toMatchObject({ status: 'scheduled', action: 'reschedule' });
      const running = await claimOne(ns);
      await expect(reschedule(pool(), running.uid)).rejects.toMatchObject({ code: 'InvalidTransition', details: { status: 'processing' } });
      expect((await getTask(pool(), running.uid)).status).toBe('processing');
      await complete(pool(), lease(running));
      await expect(reschedule(pool(), running.uid)).rejects.toMatchObject({ code: 'InvalidTransition', details: { status: 'done' } });
      await expect(reschedule(pool(), '00000000-0000-4000-8000-000000000004')).rejects.toMatchObject({ code: 'TaskNotFound' });
      await expect(reschedule(pool(), 'nope')).rejects.toMatchObject({ code: 'ValidationError' });
    });

    it('refuses a task whose unique_key another waiting task now holds: UniqueKeyConflict', async () => {
      const ns = freshNs('resched-uk');
      const old = await inError(ns, { uniqueKey: 'report-42' });
      // The key is free while the old task sits in error, so a new task takes it.
      const fresh = await submit(pool(), { task: 'job', namespace: ns, uniqueKey: 'report-42' });
      expect(fresh.created).toBe(true);
      const err = await reschedule(pool(), old.uid).catch((e) => e);
      expect(err).toBeInstanceOf(UniqueKeyConflict);
      expect(err.code).toBe('UniqueKeyConflict');
      expect(err.details).toEqual({ namespace: ns, unique_key: 'report-42' });
      expect((await getTask(pool(), old.uid)).status).toBe('error');
      // The same through a drizzle executor, whose errors wrap the driver's.
      const err2 = await reschedule(drizzle(pool()), old.uid).catch((e) => e);
      expect(err2).toBeInstanceOf(UniqueKeyConflict);
      // Once the key is free again, reschedule works.
      await cancel(pool(), fresh.task.uid);
      expect((await reschedule(pool(), old.uid)).status).toBe('scheduled');
    });
  });

  describe('prune', () => {
    it('deletes rows whose expires_at has passed, leaves the others, and returns the count', async () => {
      const ns = freshNs('prune');
      // Start from nothing expired.
      while ((await pruneExpired(pool())) > 0);
      const tasks = (
        await submitMany(
          pool(),
          Array.from({ length: 6 }, (_, i) => ({ task: 'job', namespace: ns, args: [i] })),
        )
      ).map((r) => r.task);
      const [expired1, expired2, expired3, future, none, waiting] = tasks as [Task, Task, Task, Task, Task, Task];
      await pool().query(`update tasks set status = 'done', expires_at = now() - interval '1 second' where uid = any($1::uuid[])`, [
        [expired1.uid, expired2.uid, expired3.uid],
      ]);
      await pool().query(`update tasks set status = 'done', expires_at = now() + interval '1 hour' where uid = $1`, [future.uid]);
      await pool().query(`update tasks set status = 'error', expires_at = null where uid = $1`, [none.uid]);
      expect(await pruneExpired(pool(), 2)).toBe(2);
      expect(await pruneExpired(pool())).toBe(1);
      expect(await pruneExpired(pool())).toBe(0);
      for (const t of [expired1, expired2, expired3]) await expect(getTask(pool(), t.uid)).rejects.toBeInstanceOf(TaskNotFound);
      for (const t of [future, none, waiting]) expect((await getTask(pool(), t.uid)).uid).toBe(t.uid);
    });
  });

  describe('get', () => {
    it('getTask returns the task, TaskNotFound for an unknown uid, ValidationError for a malformed one', async () => {
      const ns = freshNs('get');
      const t = await submitOne(ns, { args: ['x'], kwargs: { k: 1 }, priority: 7 });
      expect(await getTask(pool(), t.uid)).toEqual(t);
      await expect(getTask(pool(), '00000000-0000-4000-8000-000000000005')).rejects.toMatchObject({ code: 'TaskNotFound' });
      await expect(getTask(pool(), 'xyz')).rejects.toBeInstanceOf(ValidationError);
      await expect(getTask(pool(), 42 as unknown as string)).rejects.toBeInstanceOf(ValidationError);
    });

    it('getTaskByUniqueKey finds the live task first, else the newest, else nothing', async () => {
      const ns = freshNs('get-uk');
      expect(await getTaskByUniqueKey(pool(), ns, 'k')).toBeUndefined();
      const first = await submitOne(ns, { uniqueKey: 'k' });
      expect((await getTaskByUniqueKey(pool(), ns, 'k'))?.uid).toBe(first.uid);
      // Other namespaces and keys do not match.
      expect(await getTaskByUniqueKey(pool(), `${ns}-other`, 'k')).toBeUndefined();
      expect(await getTaskByUniqueKey(pool(), ns, 'K')).toBeUndefined();
      const c1 = await claimOne(ns);
      await complete(pool(), lease(c1));
      // Only a finished task: it is returned.
      expect(await getTaskByUniqueKey(pool(), ns, 'k')).toMatchObject({ uid: first.uid, status: 'done' });
      const second = await submitOne(ns, { uniqueKey: 'k' });
      expect(second.uid).not.toBe(first.uid);
      expect(await getTaskByUniqueKey(pool(), ns, 'k')).toMatchObject({ uid: second.uid, status: 'scheduled' });
      await cancel(pool(), second.uid);
      // Two finished ones: the newest.
      expect(await getTaskByUniqueKey(pool(), ns, 'k')).toMatchObject({ uid: second.uid, status: 'cancelled' });
    });
  });
});
