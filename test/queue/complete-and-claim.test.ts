import { describe, expect, it } from 'vitest';
import { completeAndClaim } from '../../src/queue/complete-and-claim.ts';
import { getTask, submit } from '../../src/queue/index.ts';
import { useTestDatabase } from '../helpers/db.ts';

/**
 * completeAndClaim returns its claimed rows as positional JSON arrays (claimedJsonArraySql): each
 * must come back as the very task a plain claim or getTask reads, every field in its place, with
 * timestamps as Dates to the millisecond.
 */
describe('completeAndClaim', () => {
  const db = useTestDatabase();
  const W = 'cac-worker';

  it('returns a claimed task field for field as getTask reads it, with its fencing token', async () => {
    const eta = new Date(Date.now() - 60_000);
    const { task: submitted } = await submit(db().pool, {
      task: 'cac.full',
      namespace: 'cac',
      args: [1, 'two', { three: [3] }],
      kwargs: { a: null, b: 'ü "quoted" \\ \n', c: 1.5 },
      priority: -7,
      eta,
      uniqueKey: 'cac-key',
      retry: false,
      maxRetries: 2,
      errorEtaInc: 11,
      errorEtaMax: 33,
      timeoutSeconds: 45,
      storeResult: true,
      resultExpires: 123,
      errorExpires: 456,
    });
    const r = await completeAndClaim(db().pool, W, [], { namespaces: ['cac'], tasks: ['cac.full'], limit: 5, leaseSeconds: 60 });
    expect(r.claimed).toHaveLength(1);
    const claimed = r.claimed[0];
    if (!claimed) throw new Error('claimed');
    const stored = await getTask(db().pool, submitted.uid);
    expect(claimed).toEqual({ ...stored, fencingToken: claimed.fencingToken });
    expect(claimed.fencingToken).toBeGreaterThan(0);
    expect(claimed).toMatchObject({
      status: 'processing',
      workerId: W,
      attempts: 1,
      priority: -7,
      uniqueKey: 'cac-key',
      timeoutSeconds: 45,
    });
    for (const k of ['eta', 'createdAt', 'updatedAt', 'startedAt', 'leaseExpiresAt'] as const) expect(claimed[k]).toBeInstanceOf(Date);
    expect(claimed.eta.getTime()).toBe(eta.getTime());
    expect(claimed.finishedAt).toBeNull();
    expect(claimed.result).toBeNull();
  });

  it('hands the claimed tasks back in claim order: highest priority first, then first submitted', async () => {
    const ns = 'cac-order';
    for (const priority of [0, 2, 1, 2]) await submit(db().pool, { task: 'cac.o', namespace: ns, priority });
    const r = await completeAndClaim(db().pool, W, [], { namespaces: [ns], tasks: ['cac.o'], limit: 4, leaseSeconds: 60 });
    expect(r.claimed.map((t) => t.priority)).toEqual([2, 2, 1, 0]);
    // Equal priorities in submission order.
    expect(r.claimed[0]?.createdAt.getTime()).toBeLessThanOrEqual(r.claimed[1]?.createdAt.getTime() as number);
  });
});
