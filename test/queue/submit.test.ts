import { drizzle } from 'drizzle-orm/node-postgres';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.ts';
import { claim, getTask, getTaskByUniqueKey, type Queryable, submit, submitMany } from '../../src/queue/index.ts';
import { useTestDatabase } from '../helpers/db.ts';

const count = async (q: Queryable, where = 'true', params: unknown[] = []) =>
  Number(((await q.query(`select count(*)::int as n from tasks where ${where}`, params)).rows[0] as { n: number }).n);

describe('submit', () => {
  const db = useTestDatabase({ poolMax: 60 });

  it('applies the documented defaults', async () => {
    const before = Date.now();
    const { task, created } = await submit(db().pool, { task: 'defaults.check' });
    expect(created).toBe(true);
    expect(task).toMatchObject({
      namespace: 'default',
      status: 'scheduled',
      priority: 0,
      args: [],
      kwargs: {},
      retry: true,
      maxRetries: 5,
      errorEtaInc: 15,
      errorEtaMax: 300,
      storeResult: true,
      resultExpires: 604800,
      errorExpires: 604800,
      attempts: 0,
    });
    // eta defaults to the database's now(), within this test's window.
    expect(task.eta.getTime()).toBeGreaterThan(before - 5_000);
    expect(task.eta.getTime()).toBeLessThan(Date.now() + 5_000);
  });

  it('submits 10,000 tasks in a single statement', async () => {
    let statements = 0;
    const pool = db().pool;
    const counting: Queryable = {
      query: (text: string, values?: unknown[]) => {
        statements++;
        return pool.query(text, values);
      },
    };
    const inputs = Array.from({ length: 10_000 }, (_, i) => ({ task: 'bulk.item', namespace: 'bulk', args: [i] }));
    const results = await submitMany(counting, inputs);
    expect(statements).toBe(1);
    expect(results).toHaveLength(10_000);
    expect(results.every((r) => r.created)).toBe(true);
    expect(results.map((r) => r.task.args[0])).toEqual(inputs.map((_, i) => i));
    expect(await count(pool, "namespace = 'bulk'")).toBe(10_000);
  });

  it('gives new tasks time-ordered (version 7) uids, increasing in submission order', async () => {
    // src/queue/uid.ts: the index entries every claim and completion writes then land on the uid
    // index's newest pages. Random (version 4) uids fail both checks.
    const before = Date.now();
    const results = await submitMany(
      db().pool,
      Array.from({ length: 500 }, (_, i) => ({ task: 'uid.order', args: [i] })),
    );
    const { task: single } = await submit(db().pool, { task: 'uid.order', args: [500] });
    const uids = [...results.map((r) => r.task.uid), single.uid];
    for (const uid of uids) expect(uid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect([...uids].sort()).toEqual(uids);
    // The first 48 bits are the submit time in milliseconds.
    const ms = Number.parseInt(single.uid.replace(/-/g, '').slice(0, 12), 16);
    expect(ms).toBeGreaterThanOrEqual(before);
    expect(ms).toBeLessThanOrEqual(Date.now());
    const { rows } = await db().pool.query<{ uid: string }>("select uid::text from tasks where task = 'uid.order' order by id");
    expect(rows.map((r) => r.uid)).toEqual(uids);
  });

  it('returns each task exactly as the database holds it: defaults, every field set, merges', async () => {
    const pool = db().pool;
    const eta = new Date(Date.now() + 3_600_000);
    const fire = new Date(Date.now() - 60_000);
    await submit(pool, { task: 'echo.merge', namespace: 'echo', uniqueKey: 'existing', retry: false, args: ['old'] });
    const results = await submitMany(pool, [
      { task: 'echo.defaults' },
      {
        task: 'echo.full',
        namespace: 'echo',
        args: [1, 'two', { three: [3] }, null],
        kwargs: { zeta: null, alpha: { nested: true }, n: 1.5 },
        priority: -7,
        eta,
        uniqueKey: 'fresh',
        retry: false,
        maxRetries: 0,
        errorEtaInc: 2,
        errorEtaMax: 9,
        timeoutSeconds: 30,
        storeResult: false,
        resultExpires: null,
        errorExpires: 60,
        operator: 'alice',
        scheduleName: 'nightly',
        scheduleFireAt: fire,
        eventUid: '0b5e6f2a-54c1-4d7e-9a43-5f1d2c3b4a59',
        triggerName: 'on-push',
      },
      { task: 'echo.merge', namespace: 'echo', uniqueKey: 'existing', args: ['new'], priority: 4 },
      { task: 'echo.batch', uniqueKey: 'twice', args: [1] },
      { task: 'echo.batch', uniqueKey: 'twice', args: [2] },
      // Nulls that mean something (unlimited retries, keep forever) and defaults given explicitly.
      { task: 'echo.nulls', namespace: 'default', priority: 0, maxRetries: null, errorExpires: null, errorEtaMax: 300, kwargs: {} },
    ]);
    expect(results.map((r) => r.created)).toEqual([true, true, false, true, false, true]);
    expect(results[5]?.task).toMatchObject({ maxRetries: null, errorExpires: null, resultExpires: 604800 });
    for (const r of results) expect(r.task).toEqual(await getTask(pool, r.task.uid));
    expect(results[2]?.task).toMatchObject({ retry: false, args: ['new'], priority: 4, revision: 2 });
  });

  it('stores a batch without unique keys exactly as sent, text that needs quoting in an array included', async () => {
    // Such a batch takes the statement without ON CONFLICT; each column travels as an array.
    const pool = db().pool;
    const eta = new Date(Date.now() + 60_000);
    const results = await submitMany(pool, [
      { task: 'arr.plain' },
      { task: 'arr.text', operator: 'a "quoted", {braced} \\ back\'slash', args: ['x'], kwargs: { k: '"}' } },
      { task: 'arr.text', operator: 'NULL', maxRetries: null, resultExpires: 5, priority: 3, eta, timeoutSeconds: 9 },
      { task: 'arr.text', operator: ' spaced ', scheduleName: 'ünïcode ✓', triggerName: 't', retry: false, storeResult: false },
      { task: 'arr.plain', namespace: 'other', errorEtaInc: 1, errorEtaMax: 2, errorExpires: null },
    ]);
    expect(results.every((r) => r.created)).toBe(true);
    expect(results.map((r) => r.task.operator)).toEqual([null, 'a "quoted", {braced} \\ back\'slash', 'NULL', ' spaced ', null]);
    expect(results[2]?.task).toMatchObject({ maxRetries: null, resultExpires: 5, priority: 3, eta, timeoutSeconds: 9 });
    expect(results[0]?.task).toMatchObject({ maxRetries: 5, resultExpires: 604800, priority: 0, timeoutSeconds: null });
    for (const r of results) expect(r.task).toEqual(await getTask(pool, r.task.uid));
    // Ids follow the input order, so equal tasks run first in, first out.
    const { rows } = await pool.query<{ uid: string }>('select uid from tasks where uid = any($1::uuid[]) order by id', [
      results.map((r) => r.task.uid),
    ]);
    expect(rows.map((r) => r.uid)).toEqual(results.map((r) => r.task.uid));
  });

  it('rejects a whole batch when one item is bad, writing nothing', async () => {
    const pool = db().pool;
    const before = await count(pool);
    const err = await submitMany(pool, [{ task: 'ok.one' }, { task: 'ok.two', priority: 99_999 }, { task: '' }]).catch((e) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).issues.map((i) => i.field)).toEqual(['[1].priority', '[2].task']);
    expect(await count(pool)).toBe(before);
  });

  it.each([
    [{ task: 'x', args: { not: 'a list' } }, 'args'],
    [{ task: 'x', kwargs: [1, 2] }, 'kwargs'],
    [{ task: 'x', args: [Number.NaN] }, 'args.0'],
    [{ task: 'x', args: [() => 1] }, 'args.0'],
    [{ task: 'x', kwargs: { a: undefined } }, 'kwargs.a'],
    [{ task: 'x', args: ['nul\u0000byte'] }, 'args.0'],
    [{ task: 'x', args: [1, { deep: [true, Number.POSITIVE_INFINITY] }] }, 'args.1.deep.1'],
    [{ task: 'x', args: [new Date()] }, 'args.0'],
    [{ task: 'x', args: [new Map()] }, 'args.0'],
    [{ task: 'x', args: [undefined] }, 'args.0'],
    [{ task: 'x', kwargs: new Date() }, 'kwargs'],
    [{ task: 'x', kwargs: { k: { 'a\u0000': 1 } } }, 'kwargs.k.a\u0000'],
    [{ task: 'x', kwargs: { '\udc00': 1 } }, 'kwargs.\udc00'],
    [{ task: 'x', kwargs: { k: 'x\ud800' } }, 'kwargs.k'],
    [{ task: 'x', priority: 1.5 }, 'priority'],
    [{ task: 'x', priority: -40_000 }, 'priority'],
    [{ task: 'x', priority: 40_000 }, 'priority'],
    [{ task: 'x', eta: 'tomorrow' }, 'eta'],
    [{ task: 'x', eta: '0000-01-01T00:00:00Z' }, 'eta'],
    [{ task: 'x', eta: new Date(Number.NaN) }, 'eta'],
    [{ task: 'x', uniqueKey: 'a\u0000b' }, 'uniqueKey'],
    [{ task: 'x', operator: '\ud800' }, 'operator'],
    [{ task: 'x', maxRetries: -1 }, 'maxRetries'],
    [{ task: 'x', errorEtaInc: 100, errorEtaMax: 10 }, 'errorEtaMax'],
    [{ task: 'x', status: 'done' }, '(body)'],
    [{ task: 'has space' }, 'task'],
    [{ task: 'x', namespace: '' }, 'namespace'],
  ])('rejects %j naming %s, and writes nothing', async (input, field) => {
    const pool = db().pool;
    const before = await count(pool);
    const err = await submit(pool, input as never).catch((e) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).issues.map((i) => i.field)).toContain(field);
    expect(await count(pool)).toBe(before);
  });

  it('rejects a bigint in args (JSON has none) naming args.0', async () => {
    const err = await submit(db().pool, { task: 'x', args: [1n] } as never).catch((e) => e);
    expect((err as ValidationError).issues.map((i) => i.field)).toEqual(['args.0']);
  });

  it('accepts any JSON a jsonb column stores, null-prototype objects included, as it stores it', async () => {
    const kwargs = Object.assign(Object.create(null), { a: [null, false, -0.5, 'é😀'], b: { c: {} } });
    const { task } = await submit(db().pool, { task: 'json.ok', args: [[], {}, 0, '', null], kwargs });
    expect((await getTask(db().pool, task.uid)).kwargs).toEqual({ a: [null, false, -0.5, 'é😀'], b: { c: {} } });
    expect(task.args).toEqual([[], {}, 0, '', null]);
  });

  describe('unique_key', () => {
    it('merges into the waiting task: same uid, earlier eta, higher priority, new args', async () => {
      const pool = db().pool;
      const later = new Date(Date.now() + 3_600_000);
      const earlier = new Date(Date.now() + 600_000);
      const first = await submit(pool, { task: 'uk.merge', uniqueKey: 'k1', eta: later, priority: 1, args: ['old'], kwargs: { v: 1 } });
      const second = await submit(pool, { task: 'uk.merge', uniqueKey: 'k1', eta: earlier, priority: 5, args: ['new'], kwargs: { v: 2 } });
      expect(first.created).toBe(true);
      expect(second.created).toBe(false);
      expect(second.task.uid).toBe(first.task.uid);
      expect(second.task.eta.getTime()).toBe(earlier.getTime());
      expect(second.task.priority).toBe(5);
      expect(second.task.args).toEqual(['new']);
      expect(second.task.kwargs).toEqual({ v: 2 });
      // A later eta and lower priority do not win.
      const third = await submit(pool, { task: 'uk.merge', uniqueKey: 'k1', eta: later, priority: 0 });
      expect(third.task.eta.getTime()).toBe(earlier.getTime());
      expect(third.task.priority).toBe(5);
    });

    it('50 concurrent submits of one key leave exactly one waiting task', async () => {
      const pool = db().pool;
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) => submit(pool, { task: 'uk.race', uniqueKey: 'race', args: [i], priority: i % 7 })),
      );
      expect(new Set(results.map((r) => r.task.uid)).size).toBe(1);
      expect(results.filter((r) => r.created)).toHaveLength(1);
      expect(await count(pool, "unique_key = 'race'")).toBe(1);
      const t = await getTaskByUniqueKey(pool, 'default', 'race');
      expect(t?.priority).toBe(6);
    });

    it('is per namespace, and a processing task does not block a new one', async () => {
      const pool = db().pool;
      const a = await submit(pool, { task: 'uk.ns', uniqueKey: 'shared', namespace: 'uk-a' });
      const b = await submit(pool, { task: 'uk.ns', uniqueKey: 'shared', namespace: 'uk-b' });
      expect(b.created).toBe(true);
      expect(b.task.uid).not.toBe(a.task.uid);
      const [running] = await claim(pool, { workerId: 'w', namespaces: ['uk-a'], tasks: ['uk.ns'], limit: 1, leaseSeconds: 30 });
      expect(running?.uid).toBe(a.task.uid);
      const c = await submit(pool, { task: 'uk.ns', uniqueKey: 'shared', namespace: 'uk-a' });
      expect(c.created).toBe(true);
      expect(c.task.uid).not.toBe(a.task.uid);
      // The lookup prefers live tasks, newest first: the new waiting one.
      expect((await getTaskByUniqueKey(pool, 'uk-a', 'shared'))?.uid).toBe(c.task.uid);
      expect((await getTask(pool, a.task.uid)).status).toBe('processing');
    });

    it('merges duplicates inside one batch', async () => {
      const pool = db().pool;
      const results = await submitMany(pool, [
        { task: 'uk.batch', uniqueKey: 'dup', args: [1], priority: 1 },
        { task: 'uk.batch', uniqueKey: 'dup', args: [2], priority: 3 },
        { task: 'uk.batch', args: [3] },
      ]);
      expect(results[0]?.task.uid).toBe(results[1]?.task.uid);
      expect(results.map((r) => r.created)).toEqual([true, false, true]);
      const merged = await getTask(pool, results[0]?.task.uid as string);
      expect(merged.args).toEqual([2]);
      expect(merged.priority).toBe(3);
    });
  });

  describe('inside the caller’s transaction', () => {
    it('a pg client transaction rolled back leaves no task', async () => {
      const client = await db().pool.connect();
      try {
        await client.query('begin');
        const { task } = await submit(client, { task: 'tx.rollback', uniqueKey: 'tx-1' });
        expect((await getTask(client, task.uid)).status).toBe('scheduled');
        await client.query('rollback');
        await expect(getTask(db().pool, task.uid)).rejects.toMatchObject({ code: 'TaskNotFound' });
      } finally {
        client.release();
      }
    });

    it('a drizzle transaction commits with the caller, or not at all', async () => {
      const d = drizzle(db().pool);
      let uid = '';
      await d
        .transaction(async (tx) => {
          uid = (await submit(tx, { task: 'tx.drizzle' })).task.uid;
          throw new Error('caller aborts');
        })
        .catch(() => {});
      await expect(getTask(db().pool, uid)).rejects.toMatchObject({ code: 'TaskNotFound' });

      await d.transaction(async (tx) => {
        uid = (await submit(tx, { task: 'tx.drizzle', args: [1] })).task.uid;
      });
      expect((await getTask(db().pool, uid)).args).toEqual([1]);
    });
  });
});
