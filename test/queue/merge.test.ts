import { describe, expect, it } from 'vitest';
import { claim, fail, getTask, submit } from '../../src/queue/index.ts';
import { useTestDatabase } from '../helpers/db.ts';

// The merge rule of unique keys, for each waiting status: a submission merged into a waiting task
// never changes that task's status. A `retry` task has already run and failed; calling it
// `scheduled` would hide that, while its attempts and error carry on either way.
describe('unique_key merge keeps the waiting status', () => {
  const db = useTestDatabase();

  it('a task in retry stays in retry, with its attempts and error; eta moves earlier, priority up, args replaced', async () => {
    const pool = db().pool;
    const first = await submit(pool, {
      task: 'merge.retry',
      namespace: 'merge',
      uniqueKey: 'k1',
      args: ['old'],
      errorEtaInc: 3600,
      errorEtaMax: 3600,
    });
    const [claimed] = await claim(pool, { namespaces: ['merge'], tasks: ['merge.retry'], limit: 1, workerId: 'w1', leaseSeconds: 30 });
    expect(claimed?.uid).toBe(first.task.uid);
    if (!claimed) return;
    const failed = await fail(pool, {
      uid: claimed.uid,
      workerId: 'w1',
      fencingToken: claimed.fencingToken,
      error: { class: 'Boom', message: 'first attempt failed' },
    });
    expect(failed.status).toBe('retry');

    const merged = await submit(pool, { task: 'merge.retry', namespace: 'merge', uniqueKey: 'k1', args: ['new'], priority: 5 });
    expect(merged.created).toBe(false);
    expect(merged.task.uid).toBe(first.task.uid);
    const row = await getTask(pool, first.task.uid);
    expect(row).toMatchObject({ status: 'retry', attempts: 1, args: ['new'], priority: 5, error: { class: 'Boom' } });
    // The backoff put eta an hour out; the merge's "now" is earlier, so the task is due again at once.
    expect(row?.eta.getTime()).toBeLessThanOrEqual(Date.now() + 1000);
  });

  it('a scheduled task stays scheduled', async () => {
    const pool = db().pool;
    const later = new Date(Date.now() + 3_600_000);
    const first = await submit(pool, { task: 'merge.scheduled', namespace: 'merge', uniqueKey: 'k2', eta: later });
    const merged = await submit(pool, {
      task: 'merge.scheduled',
      namespace: 'merge',
      uniqueKey: 'k2',
      eta: new Date(later.getTime() + 60_000),
    });
    expect(merged.created).toBe(false);
    const row = await getTask(pool, first.task.uid);
    expect(row).toMatchObject({ status: 'scheduled', attempts: 0 });
    expect(row?.eta.getTime()).toBe(later.getTime());
  });
});
