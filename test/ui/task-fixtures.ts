import { beforeAll } from 'vitest';
import { type App, createApp } from '../../src/api/app.ts';
import { silentLogger } from '../../src/logger.ts';
import { claim, complete, fail, submit, submitMany } from '../../src/queue/index.ts';
import { type TestDatabase, useTestDatabase } from '../helpers/db.ts';
import { UiSession } from '../helpers/ui.ts';

/**
 * What the task page tests share: an app on the file's database with a session that has drawn
 * its first page (and so holds the CSRF cookie, as a browser would), and a few ways to put tasks
 * in a state.
 */
export function useTaskPages() {
  const db = useTestDatabase();
  let app: App | undefined;
  const s = new UiSession(() => app as App);
  beforeAll(async () => {
    app = createApp({ database: db(), logger: silentLogger });
    await s.page('/ui/tasks');
  });
  return { db, pool: () => db().pool, s, ...taskFixtures(db) };
}

export function taskFixtures(db: () => TestDatabase) {
  const pool = () => db().pool;
  let n = 0;
  const ns = (label: string) => `ui-${label}-${++n}`;
  const make = async (namespace: string, count: number, extra: Record<string, unknown> = {}) =>
    (
      await submitMany(
        pool(),
        Array.from({ length: count }, () => ({ task: 'job', namespace, ...extra })),
      )
    ).map((r) => r.task.uid);
  const statusOf = async (uid: string) =>
    (await pool().query<{ status: string; cancel_requested: boolean }>('select status, cancel_requested from tasks where uid = $1', [uid]))
      .rows[0];
  const claimIn = async (namespace: string, limit = 1) =>
    claim(pool(), { workerId: 'w-ui', namespaces: [namespace], tasks: ['job'], limit, leaseSeconds: 60 });
  /** A task of its own ('finisher') taken to done or error, so the other tasks of the namespace stay as they are. */
  const finish = async (namespace: string, outcome: 'done' | 'error', extra: Record<string, unknown> = {}) => {
    await submit(pool(), { task: 'finisher', namespace, ...extra });
    const [t] = await claim(pool(), { workerId: 'w-ui', namespaces: [namespace], tasks: ['finisher'], limit: 1, leaseSeconds: 60 });
    const lease = { uid: t!.uid, workerId: t!.workerId, fencingToken: t!.fencingToken };
    if (outcome === 'done') await complete(pool(), { ...lease, result: { ok: 1 } });
    else {
      const error = { class: 'BoomError', message: 'it went boom', stack: 'BoomError: it went boom\n    at handler (job.ts:1:1)' };
      await fail(pool(), { ...lease, error, retryable: false });
    }
    return t!.uid;
  };
  const finishDone = (namespace: string) => finish(namespace, 'done');
  const finishError = (namespace: string, extra: Record<string, unknown> = {}) => finish(namespace, 'error', extra);
  const linked = (text: string) => [...text.matchAll(/href="\/ui\/tasks\/([0-9a-f-]{36})" class="mono"/g)].map((m) => m[1] as string);
  return { ns, make, statusOf, claimIn, finish, finishDone, finishError, linked };
}
