import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type App, createApp } from '../../src/api/app.ts';
import { silentLogger } from '../../src/logger.ts';
import { getTask } from '../../src/queue/get.ts';
import { rescueExpired } from '../../src/queue/rescue.ts';
import { submitMany } from '../../src/queue/submit.ts';
import { expectJson, get, type Json } from '../helpers/api.ts';
import { useTestDatabase } from '../helpers/db.ts';
import { done, expectPyError, P, put, retry } from './helpers.ts';

/**
 * The claim and the write-back under contention, in process against a real PostgreSQL: many
 * Python-style workers racing through /tasks/next_scheduled, each writing back under its claim.
 * No task may be claimed twice, every write-back but the claim's own must change nothing, and a
 * lease that ran out and was rescued must refuse its old holder.
 */
describe('the compatible API under contention', () => {
  const db = useTestDatabase({ poolMax: 40 });
  const appOf = (): App => createApp({ database: db(), logger: silentLogger });
  const ns = () => `race${randomUUID().slice(0, 8)}`;
  const claimPath = (namespace: string, worker: string, extra = '') =>
    `${P}/tasks/next_scheduled?worker_id=${worker}&namespace=${namespace}${extra}`;

  it('24 workers claiming 300 tasks: each claimed once, foreign and repeated write-backs refused, all done', async () => {
    const app = appOf();
    const namespace = ns();
    const n = 300;
    const submitted = await submitMany(
      db().pool,
      Array.from({ length: n }, (_, i) => ({ task: 'race.add', namespace, args: [i, 1] })),
    );
    const claims = new Map<string, string[]>();
    const refused = { foreign: 0, stale: 0, repeated: 0 };
    const worker = async (w: number) => {
      const id = `py-${w}`;
      for (;;) {
        const res = await get(app, claimPath(namespace, id));
        if (res.status === 204) return;
        const t = expectJson(res, 200);
        claims.set(t.uid, [...(claims.get(t.uid) ?? []), id]);
        // Another worker writing this task back, and an older revision: both refused, before and concurrently with the real one.
        const [foreign, stale, real] = await Promise.all([
          put(app, `${P}/task/${t.uid}`, { ...done(t, -1), worker_id: `${id}-other` }),
          put(app, `${P}/task/${t.uid}`, { ...done(t, -2), revision: String(Number(t.revision) - 1) }),
          put(app, `${P}/task/${t.uid}`, done(t, t.args[0] + t.args[1])),
        ]);
        expectPyError(foreign, 409, 'RevisionConflict');
        expectPyError(stale, 409, 'RevisionConflict');
        expect(expectJson(real, 200).status).toBe('done');
        refused.foreign++;
        refused.stale++;
        // The same write-back again (a retry after a lost answer): the outcome stands.
        expectPyError(await put(app, `${P}/task/${t.uid}`, done(t, 0)), 409, 'RevisionConflict');
        refused.repeated++;
      }
    };
    await Promise.all(Array.from({ length: 24 }, (_, w) => worker(w)));

    expect(claims.size).toBe(n);
    const twice = [...claims].filter(([, by]) => by.length > 1);
    expect(twice).toEqual([]);
    expect(new Set([...claims.values()].flat()).size).toBeGreaterThan(1);
    expect(refused).toEqual({ foreign: n, stale: n, repeated: n });
    const { rows } = await db().pool.query<{ status: string; n: number; wrong: number }>(
      `select status, count(*)::int as n, count(*) filter (where result <> to_jsonb((args->>0)::int + 1))::int as wrong
       from tasks where namespace = $1 group by status`,
      [namespace],
    );
    expect(rows).toEqual([{ status: 'done', n, wrong: 0 }]);
    expect(submitted).toHaveLength(n);
  });

  it('ten identical write-backs at once: exactly one is applied', async () => {
    const app = appOf();
    const namespace = ns();
    await submitMany(db().pool, [{ task: 'race.one', namespace }]);
    const t = expectJson(await get(app, claimPath(namespace, 'py-x')), 200);
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => put(app, `${P}/task/${t.uid}`, done(t, i))));
    const ok = answers.filter((a) => a.status === 200);
    expect(ok).toHaveLength(1);
    for (const a of answers.filter((x) => x.status !== 200)) expectPyError(a, 409, 'RevisionConflict');
    expect((await getTask(db().pool, t.uid)).result).toBe(ok[0]?.body.result);
  });

  it('a rescued lease refuses its old holder, even when the same worker_id claims the task again', async () => {
    const app = appOf();
    const pool = db().pool;
    const namespace = ns();
    await submitMany(pool, [{ task: 'race.slow', namespace, errorEtaInc: 1, errorEtaMax: 1 }]);
    const first = expectJson(await get(app, claimPath(namespace, 'py-a', '&lease_seconds=5')), 200);
    // The worker went quiet past its lease; maintenance rescues the task (retry, the attempt counted).
    await pool.query(`update tasks set lease_expires_at = now() - interval '1 second' where uid = $1`, [first.uid]);
    expect(await rescueExpired(pool)).toEqual([{ uid: first.uid, status: 'retry' }]);
    expectPyError(await put(app, `${P}/task/${first.uid}`, done(first, 'late')), 409, 'RevisionConflict');
    expectPyError(await put(app, `${P}/task/${first.uid}`, retry(first)), 409, 'RevisionConflict');
    await pool.query(`update tasks set eta = now() where uid = $1`, [first.uid]);
    const again = expectJson(await get(app, claimPath(namespace, 'py-a')), 200);
    expect(again.uid).toBe(first.uid);
    expect(Number(again.revision)).toBeGreaterThan(Number(first.revision));
    // The same worker id, the old claim's revision: still refused.
    expectPyError(await put(app, `${P}/task/${first.uid}`, done(first, 'late')), 409, 'RevisionConflict');
    expect(expectJson(await put(app, `${P}/task/${again.uid}`, done(again, 'now')), 200).result).toBe('now');
    expect(await getTask(pool, first.uid)).toMatchObject({ status: 'done', result: 'now', attempts: 2 });
  });

  it('a write-back racing the rescue of its expired lease: one of them wins, never both', async () => {
    const app = appOf();
    const pool = db().pool;
    const namespace = ns();
    const n = 40;
    await submitMany(
      pool,
      Array.from({ length: n }, () => ({ task: 'race.edge', namespace })),
    );
    const claimed: Json[] = [];
    for (let i = 0; i < n; i++) claimed.push(expectJson(await get(app, claimPath(namespace, `py-${i}`)), 200));
    await pool.query(`update tasks set lease_expires_at = now() - interval '1 second' where namespace = $1`, [namespace]);
    const [rescued, ...answers] = await Promise.all([
      rescueExpired(pool),
      ...claimed.map((t) => put(app, `${P}/task/${t.uid}`, done(t, 'mine'))),
    ]);
    const rescuedUids = new Set((rescued as { uid: string }[]).map((r) => r.uid));
    for (const [i, a] of (answers as Awaited<ReturnType<typeof put>>[]).entries()) {
      const uid = claimed[i].uid as string;
      const stored = await getTask(pool, uid);
      if (a.status === 200) {
        expect(rescuedUids.has(uid), uid).toBe(false);
        expect(stored).toMatchObject({ status: 'done', result: 'mine' });
      } else {
        expectPyError(a, 409, 'RevisionConflict');
        expect(rescuedUids.has(uid), uid).toBe(true);
        expect(stored.status).toBe('retry');
      }
    }
  });
});
