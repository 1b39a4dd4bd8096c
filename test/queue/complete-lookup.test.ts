import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { completeAndClaim } from '../../src/queue/complete-and-claim.ts';
import { claim, completeMany, getTask, submitMany } from '../../src/queue/index.ts';
import { useTestDatabase } from '../helpers/db.ts';

/**
 * A completion batch finds each task's token, result and start in its payload by a keyed lookup,
 * never by joining the payload as a set (src/queue/complete.ts, completeCtes). As a join, the
 * planner (sure that few rows are `processing`) put the payload on the inner side of a nested
 * loop and rescanned it for every task: batch² comparisons, 9,900 for a batch of 100, half the
 * statement's time. auto_explain shows the plan each statement really ran with: a join filter that
 * discards rows is that rescan.
 */
describe('completion payload lookup', () => {
  const db = useTestDatabase();
  const W = 'lookup-worker';
  const NS = 'lookup';

  /** Run fn with auto_explain reporting each statement's executed plan (JSON) as a notice. */
  async function plansOf(fn: (c: pg.PoolClient) => Promise<void>): Promise<unknown[]> {
    const c = await db().pool.connect();
    const plans: unknown[] = [];
    const onNotice = (m: { message?: string }) => {
      const text = m.message ?? '';
      const at = text.indexOf('{');
      if (text.startsWith('duration') && at >= 0) plans.push(JSON.parse(text.slice(at)));
    };
    try {
      await c.query(`load 'auto_explain'`);
      await c.query(
        `set auto_explain.log_min_duration = 0; set auto_explain.sample_rate = 1; set auto_explain.log_analyze = on; set auto_explain.log_format = json;
         set auto_explain.log_level = notice; set client_min_messages = notice`,
      );
      c.on('notice', onNotice);
      await fn(c);
    } finally {
      c.off('notice', onNotice);
      await c.query('reset all');
      c.release();
    }
    return plans;
  }

  /** Rows discarded by join filters anywhere in a plan tree. */
  function rowsRemovedByJoinFilter(node: unknown): number {
    if (Array.isArray(node)) return node.reduce<number>((n, x) => n + rowsRemovedByJoinFilter(x), 0);
    if (!node || typeof node !== 'object') return 0;
    let n = 0;
    for (const [k, v] of Object.entries(node)) n += k === 'Rows Removed by Join Filter' ? Number(v) : rowsRemovedByJoinFilter(v);
    return n;
  }

  /** 20,000 waiting tasks of one name, then fresh statistics: a table read through its indexes. */
  async function fill(task: string): Promise<void> {
    for (let k = 0; k < 20; k++) {
      await submitMany(
        db().pool,
        Array.from({ length: 1000 }, (_, i) => ({ task, namespace: NS, args: [k * 1000 + i] })),
      );
    }
    await db().pool.query('analyze tasks');
  }

  it('finishes 100 tasks and records 100 buffered starts without a join filter discarding a row', async () => {
    // A table large enough to be read through its indexes, with statistics that say what a busy
    // queue's do: few rows are processing.
    await fill('lookup.t');
    const started = await claim(db().pool, { workerId: W, namespaces: [NS], tasks: ['lookup.t'], limit: 100, leaseSeconds: 60 });
    // Claimed for the local buffer: no attempt counted, no started_at, until a start record says so.
    const buffered = await claim(db().pool, { workerId: W, namespaces: [NS], tasks: ['lookup.t'], limit: 100, leaseSeconds: 60, start: 0 });
    expect(started).toHaveLength(100);
    expect(buffered).toHaveLength(100);
    const startedAt = new Date(Date.now() - 1234);
    let result: Awaited<ReturnType<typeof completeAndClaim>> | undefined;
    const plans = await plansOf(async (c) => {
      result = await completeAndClaim(
        c,
        W,
        started.map((t, i) => ({ uid: t.uid, fencingToken: t.fencingToken, result: { i }, storeResult: true })),
        { namespaces: [NS], tasks: ['lookup.t'], limit: 0, leaseSeconds: 60 },
        { starts: buffered.map((t) => ({ uid: t.uid, fencingToken: t.fencingToken, startedAt })) },
      );
    });
    expect(result?.completed.size).toBe(100);
    expect(plans).toHaveLength(1);
    expect(rowsRemovedByJoinFilter(plans)).toBe(0);

    const i = 37;
    const done = await getTask(db().pool, started[i]?.uid ?? '');
    expect(done).toMatchObject({ status: 'done', result: { i }, attempts: 1 });
    const starting = await getTask(db().pool, buffered[i]?.uid ?? '');
    expect(starting).toMatchObject({ status: 'processing', attempts: 1, startedAt });
  });

  /** Scans of the tasks heap from its first page, anywhere in a plan tree. */
  function seqScansOfTasks(node: unknown): number {
    if (Array.isArray(node)) return node.reduce<number>((n, x) => n + seqScansOfTasks(x), 0);
    if (!node || typeof node !== 'object') return 0;
    const own =
      (node as Record<string, unknown>)['Node Type'] === 'Seq Scan' && (node as Record<string, unknown>)['Relation Name'] === 'tasks'
        ? 1
        : 0;
    return own + Object.values(node).reduce<number>((n, v) => n + seqScansOfTasks(v), 0);
  }

  it('reads the rows a large batch writes through their indexes, never by scanning the table', async () => {
    // A batch that is a few percent of the table: given the batch's size, the planner found that
    // 600 probes of an index cost more than reading the whole heap once, and scanned all 20,000
    // rows for the completion and again (hashed) for the claim. Hidden from the planner, the
    // batch is looked up by index at any size (see completeCtes and claimCtes).
    await fill('lookup.big');
    const held = await claim(db().pool, { workerId: W, namespaces: [NS], tasks: ['lookup.big'], limit: 600, leaseSeconds: 60 });
    const buffered = await claim(db().pool, {
      workerId: W,
      namespaces: [NS],
      tasks: ['lookup.big'],
      limit: 600,
      leaseSeconds: 60,
      start: 0,
    });
    let result: Awaited<ReturnType<typeof completeAndClaim>> | undefined;
    const plans = await plansOf(async (c) => {
      result = await completeAndClaim(
        c,
        W,
        held.map((t) => ({ uid: t.uid, fencingToken: t.fencingToken, result: null, storeResult: true })),
        { namespaces: [NS], tasks: ['lookup.big'], limit: 600, leaseSeconds: 60 },
        { starts: buffered.map((t) => ({ uid: t.uid, fencingToken: t.fencingToken, startedAt: new Date() })) },
      );
    });
    expect(result?.completed.size).toBe(600);
    expect(result?.claimed).toHaveLength(600);
    expect(plans).toHaveLength(1);
    expect(seqScansOfTasks(plans)).toBe(0);
    expect(rowsRemovedByJoinFilter(plans)).toBe(0);
    const { rows } = await db().pool.query<{ status: string; n: number }>(
      `select status, count(*)::int as n from tasks where task = 'lookup.big' and attempts = 1 group by status order by status`,
    );
    // 600 done, and 600 started from the buffer plus 600 newly claimed and started, all processing.
    expect(rows).toEqual([
      { status: 'done', n: 600 },
      { status: 'processing', n: 1200 },
    ]);
  });

  it('stores each result with its own task, null as no result, and takes a uid in any case', async () => {
    await submitMany(
      db().pool,
      Array.from({ length: 4 }, (_, i) => ({ task: 'lookup.r', namespace: NS, args: [i] })),
    );
    const [a, b, c, d] = await claim(db().pool, { workerId: W, namespaces: [NS], tasks: ['lookup.r'], limit: 4, leaseSeconds: 60 });
    if (!a || !b || !c || !d) throw new Error('four tasks claimed');
    const done = await completeMany(db().pool, W, [
      { uid: a.uid, fencingToken: a.fencingToken, result: null },
      { uid: b.uid, fencingToken: b.fencingToken, result: 'null' },
      { uid: c.uid.toUpperCase(), fencingToken: c.fencingToken, result: [1, { x: 'y' }] },
      // The wrong token: another worker's claim, or a stale one. Finishes nothing.
      { uid: d.uid, fencingToken: d.fencingToken + 1, result: 'stale' },
    ]);
    expect(done.size).toBe(3);
    const sql = 'select uid::text, result, status from tasks where uid = any($1::uuid[])';
    const { rows } = await db().pool.query<{ uid: string; result: unknown; status: string }>(sql, [[a.uid, b.uid, c.uid, d.uid]]);
    const byUid = new Map(rows.map((r) => [r.uid, r]));
    // SQL NULL (no result), not the JSON value null: as before the lookup, and as the API shows it.
    expect((await db().pool.query('select result is null as none from tasks where uid = $1', [a.uid])).rows[0]).toEqual({ none: true });
    expect(byUid.get(b.uid)).toMatchObject({ result: 'null', status: 'done' });
    expect(byUid.get(c.uid)).toMatchObject({ result: [1, { x: 'y' }], status: 'done' });
    expect(byUid.get(d.uid)).toMatchObject({ result: null, status: 'processing' });
  });
});
