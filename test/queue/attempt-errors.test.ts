import { describe, expect, it } from 'vitest';
import { ATTEMPT_ERRORS_KEPT, ATTEMPT_STACK_KEPT } from '../../src/queue/failure-sql.ts';
import { claim, complete, fail, getTask, rescueExpired, submit } from '../../src/queue/index.ts';
import { useTestDatabase } from '../helpers/db.ts';

/**
 * Attempt history (tasks.attempt_errors): each failed attempt appended by the statement that
 * failed it, the last ATTEMPT_ERRORS_KEPT kept, completion leaving the column alone.
 */
describe('attempt history', () => {
  const db = useTestDatabase();
  let n = 0;

  async function claimIn(namespace: string, workerId: string) {
    await db().pool.query("update tasks set eta = now() where namespace = $1 and status in ('scheduled', 'retry')", [namespace]);
    const [t] = await claim(db().pool, { workerId, namespaces: [namespace], tasks: ['h.job'], limit: 1, leaseSeconds: 60 });
    if (!t) throw new Error('nothing claimed');
    return t;
  }

  it(`keeps the last ${ATTEMPT_ERRORS_KEPT} failures in order, each stack cut; the last error keeps its whole stack`, async () => {
    const namespace = `hist-${++n}`;
    const { task } = await submit(db().pool, { task: 'h.job', namespace, maxRetries: null, errorEtaInc: 1, errorEtaMax: 1 });
    const stack = 'x'.repeat(ATTEMPT_STACK_KEPT + 500);
    const total = ATTEMPT_ERRORS_KEPT + 3;
    for (let i = 1; i <= total; i++) {
      const t = await claimIn(namespace, `w${i}`);
      await fail(db().pool, {
        uid: t.uid,
        workerId: `w${i}`,
        fencingToken: t.fencingToken,
        error: { class: 'E', message: `m${i}`, stack },
      });
    }
    const t = await getTask(db().pool, task.uid);
    expect(t.attempts).toBe(total);
    expect(t.error).toMatchObject({ message: `m${total}`, stack });
    expect(t.attemptErrors).toHaveLength(ATTEMPT_ERRORS_KEPT);
    expect(t.attemptErrors!.map((e) => e.attempt)).toEqual(
      Array.from({ length: ATTEMPT_ERRORS_KEPT }, (_, i) => total - ATTEMPT_ERRORS_KEPT + 1 + i),
    );
    expect(t.attemptErrors!.map((e) => e.worker_id)).toEqual(t.attemptErrors!.map((e) => `w${e.attempt}`));
    expect(t.attemptErrors!.map((e) => e.error.message)).toEqual(t.attemptErrors!.map((e) => `m${e.attempt}`));
    for (const e of t.attemptErrors!) expect(e.error.stack).toHaveLength(ATTEMPT_STACK_KEPT);
  });

  it('a rescued attempt (lease expired) is recorded too; completion leaves the history as it was', async () => {
    const namespace = `hist-${++n}`;
    const { task } = await submit(db().pool, { task: 'h.job', namespace, errorEtaInc: 1, errorEtaMax: 1 });
    const first = await claimIn(namespace, 'dead-worker');
    await db().pool.query("update tasks set lease_expires_at = now() - interval '1 second' where uid = $1", [first.uid]);
    expect(await rescueExpired(db().pool)).toEqual([{ uid: task.uid, status: 'retry' }]);
    const second = await claimIn(namespace, 'live-worker');
    const before = (await getTask(db().pool, task.uid)).attemptErrors;
    expect(before).toEqual([
      expect.objectContaining({
        attempt: 1,
        worker_id: 'dead-worker',
        error: expect.objectContaining({ class: 'LeaseExpired', reason: 'lease_expired' }),
      }),
    ]);
    await complete(db().pool, { uid: second.uid, workerId: 'live-worker', fencingToken: second.fencingToken, result: 'ok' });
    const done = await getTask(db().pool, task.uid);
    expect(done).toMatchObject({ status: 'done', error: null });
    expect(done.attemptErrors).toEqual(before);
  });

  it('a task that never failed has none', async () => {
    const namespace = `hist-${++n}`;
    const { task } = await submit(db().pool, { task: 'h.job', namespace });
    const t = await claimIn(namespace, 'w');
    expect(t.attemptErrors).toBeNull();
    await complete(db().pool, { uid: t.uid, workerId: 'w', fencingToken: t.fencingToken });
    expect((await getTask(db().pool, task.uid)).attemptErrors).toBeNull();
  });
});
