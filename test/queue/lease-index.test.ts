import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { completeAndClaim } from '../../src/queue/complete-and-claim.ts';
import { claim, completeMany, heartbeat, type Lease, release, submitMany } from '../../src/queue/index.ts';
import { useTestDatabase } from '../helpers/db.ts';

/**
 * tasks_lease_idx must serve only the statements that compare lease_expires_at (rescue, the
 * dashboard). The worker's per-task statements find their rows by uid; when the index's predicate
 * was `status = 'processing'`, which they all state, the planner ANDed a bitmap scan of it with
 * the uid index, and a bitmap scan reads every entry, the dead ones of every finished task too
 * (migration 0012). Counted with pg_stat_user_indexes.idx_scan, which counts bitmap scans too.
 */
describe('tasks_lease_idx', () => {
  const db = useTestDatabase();
  const WORKER = 'lease-index-worker';
  const NS = 'lease-index';

  async function leaseIndexScans(c: pg.PoolClient): Promise<number> {
    // This backend's counters reach the shared statistics only when flushed, at most once a second.
    await c.query('select pg_stat_force_next_flush()');
    await c.query('select pg_stat_clear_snapshot()');
    const { rows } = await c.query<{ n: string }>("select idx_scan as n from pg_stat_user_indexes where indexrelname = 'tasks_lease_idx'");
    return Number(rows[0]?.n);
  }

  /**
   * The state that misled the planner: thousands of finished tasks, a few running, statistics
   * taken then (so `processing` looks rare), and then every worker statement, each run more times
   * than the plan cache needs to settle on a generic plan.
   */
  async function workerStatementsScanLeaseIndex(c: pg.PoolClient): Promise<number> {
    await submitMany(
      c,
      Array.from({ length: 3000 }, (_, i) => ({ task: 'noop', namespace: NS, args: [i] })),
    );
    const all = await claim(c, { workerId: WORKER, namespaces: [NS], tasks: ['noop'], limit: 3000, leaseSeconds: 60 });
    const leases = (t: { uid: string; fencingToken: number }): Lease => ({ uid: t.uid, workerId: WORKER, fencingToken: t.fencingToken });
    const finished = all.slice(0, 2900);
    const running = all.slice(2900);
    expect(await completeMany(c, WORKER, finished.map(leases))).toHaveProperty('size', 2900);
    await c.query('analyze tasks');

    const before = await leaseIndexScans(c);
    const next = { namespaces: [NS], tasks: ['noop'], limit: 0, leaseSeconds: 60 };
    for (let i = 0; i < 8; i++) {
      const batch = running.slice(i * 10, i * 10 + 10);
      await heartbeat(c, WORKER, 60, batch, { skipLocked: true });
      await heartbeat(c, WORKER, 60, batch);
      await completeAndClaim(c, WORKER, batch.slice(0, 5).map(leases), next, {
        starts: batch.slice(5).map((t) => ({ uid: t.uid, fencingToken: t.fencingToken, startedAt: new Date() })),
      });
      await release(c, WORKER, batch.slice(5).map(leases));
    }
    return (await leaseIndexScans(c)) - before;
  }

  it('is not read by completions, starts, heartbeats or releases, even with statistics that call processing rare', async () => {
    const c = await db().pool.connect();
    try {
      expect(await workerStatementsScanLeaseIndex(c)).toBe(0);
    } finally {
      c.release();
    }
  });

  it('was read by them with the old predicate (the premise of the test above)', async () => {
    const c = await db().pool.connect();
    try {
      await c.query('delete from tasks');
      await c.query('drop index tasks_lease_idx');
      await c.query("create index tasks_lease_idx on tasks (lease_expires_at) where status = 'processing'");
      expect(await workerStatementsScanLeaseIndex(c)).toBeGreaterThan(0);
    } finally {
      c.release();
    }
  });
});
