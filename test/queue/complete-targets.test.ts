import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { TaskNotFound } from '../../src/errors.ts';
import { completeAndClaim } from '../../src/queue/complete-and-claim.ts';
import { claim, completeMany, getTask, submitMany } from '../../src/queue/index.ts';
import { useTestDatabase } from '../helpers/db.ts';

/**
 * A completion that knows each task's store_result sends a kept task's uid only to the part that
 * updates it and a dropped task's only to the part that deletes it (Completion.storeResult). Each
 * part still checks store_result in SQL, so a wrong hint leaves the task running, never finished
 * the wrong way; an absent hint sends the uid to both, as callers without the claimed row do.
 */
describe('completion targets', () => {
  const db = useTestDatabase();
  const W = 'targets-worker';
  const next = { namespaces: ['targets'], tasks: ['t.none'], limit: 0, leaseSeconds: 60 };

  async function running(storeResult: boolean[]) {
    await submitMany(
      db().pool,
      storeResult.map((s) => ({ task: 't.target', namespace: 'targets', storeResult: s })),
    );
    const claimed = await claim(db().pool, {
      workerId: W,
      namespaces: ['targets'],
      tasks: ['t.target'],
      limit: storeResult.length,
      leaseSeconds: 60,
    });
    expect(claimed).toHaveLength(storeResult.length);
    return claimed;
  }

  it('with the right hint each uid is looked up by one part only, and kept tasks are done, dropped ones deleted', async () => {
    // Two pairs with the same history (submitted, claimed), so their uids have the same index entries.
    const [kept1, dropped1, kept2, dropped2] = await running([true, false, true, false]);
    if (!kept1 || !dropped1 || !kept2 || !dropped2) throw new Error('four tasks claimed');
    const c = await db().pool.connect();
    try {
      // A table this small may be read whole instead of through the index, and not the same way
      // each time (PostgreSQL 15 did so for the second statement): what is counted is the lookups.
      await c.query('set enable_seqscan = off');
      let before = await uidIndexTuplesRead(c);
      const hinted = await completeAndClaim(
        c,
        W,
        [
          { uid: kept1.uid, fencingToken: kept1.fencingToken, result: 'k', storeResult: true },
          { uid: dropped1.uid, fencingToken: dropped1.fencingToken, result: 'd', storeResult: false },
        ],
        next,
      );
      const hintedReads = (await uidIndexTuplesRead(c)) - before;
      before = await uidIndexTuplesRead(c);
      const unhinted = await completeAndClaim(
        c,
        W,
        [
          { uid: kept2.uid, fencingToken: kept2.fencingToken, result: 'k' },
          { uid: dropped2.uid, fencingToken: dropped2.fencingToken, result: 'd' },
        ],
        next,
      );
      const unhintedReads = (await uidIndexTuplesRead(c)) - before;
      expect([...hinted.completed].sort()).toEqual([kept1.uid, dropped1.uid].sort());
      expect([...unhinted.completed].sort()).toEqual([kept2.uid, dropped2.uid].sort());
      // Unhinted, both parts read every uid's entries: twice what the hinted statement read.
      expect(hintedReads).toBeGreaterThanOrEqual(2);
      expect(unhintedReads).toBe(2 * hintedReads);
    } finally {
      await c.query('reset enable_seqscan');
      c.release();
    }
    for (const t of [kept1, kept2]) expect(await getTask(db().pool, t.uid)).toMatchObject({ status: 'done', result: 'k' });
    for (const t of [dropped1, dropped2]) await expect(getTask(db().pool, t.uid)).rejects.toThrow(TaskNotFound);
  });

  it('a wrong hint finishes nothing: both tasks stay processing under their lease', async () => {
    const [kept, dropped] = await running([true, false]);
    if (!kept || !dropped) throw new Error('two tasks claimed');
    const r = await completeAndClaim(
      db().pool,
      W,
      [
        { uid: kept.uid, fencingToken: kept.fencingToken, result: 'k', storeResult: false },
        { uid: dropped.uid, fencingToken: dropped.fencingToken, result: 'd', storeResult: true },
      ],
      next,
    );
    expect(r.completed.size).toBe(0);
    for (const t of [kept, dropped]) {
      expect(await getTask(db().pool, t.uid)).toMatchObject({ status: 'processing', workerId: W, attempts: 1 });
    }
  });

  it('completeMany takes the same hint: a wrong one finishes nothing, the right one finishes both', async () => {
    const [kept, dropped] = await running([true, false]);
    if (!kept || !dropped) throw new Error('two tasks claimed');
    const items = (hint: (s: boolean) => boolean) => [
      { uid: kept.uid, fencingToken: kept.fencingToken, result: 'k', storeResult: hint(true) },
      { uid: dropped.uid, fencingToken: dropped.fencingToken, result: 'd', storeResult: hint(false) },
    ];
    expect(
      (
        await completeMany(
          db().pool,
          W,
          items((s) => !s),
        )
      ).size,
    ).toBe(0);
    expect(
      await completeMany(
        db().pool,
        W,
        items((s) => s),
      ),
    ).toEqual(new Set([kept.uid, dropped.uid]));
    expect(await getTask(db().pool, kept.uid)).toMatchObject({ status: 'done', result: 'k' });
    await expect(getTask(db().pool, dropped.uid)).rejects.toThrow(TaskNotFound);
  });

  /** Index entries of tasks_uid_key read so far, this backend's included (flushed first: see lease-index.test.ts). */
  async function uidIndexTuplesRead(c: pg.PoolClient): Promise<number> {
    await c.query('select pg_stat_force_next_flush()');
    await c.query('select pg_stat_clear_snapshot()');
    const r = await c.query<{ n: string }>("select idx_tup_read::text as n from pg_stat_user_indexes where indexrelname = 'tasks_uid_key'");
    return Number(r.rows[0]?.n ?? 0);
  }
});
