import { drizzle } from 'drizzle-orm/node-postgres';
import type pg from 'pg';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { type Executor, run } from '../../src/db/executor.ts';
import { createEventixMetrics } from '../../src/metrics/eventix.ts';
import { submitMany, type TaskStatus } from '../../src/queue/index.ts';
import { namespaceCounts, queueDepth, queueStats } from '../../src/queue/stats.ts';
import { useTestDatabase } from '../helpers/db.ts';

/** How a crafted task should look, with times in seconds relative to the transaction's now(). */
interface Spec {
  namespace: string;
  task: string;
  status: TaskStatus;
  eta?: number;
  finished?: number;
}

/**
 * The data set every test reads. Inside one transaction now() is fixed, so ages and windows come
 * out exact: the oldest due waiting task in alpha became due 300 s ago, whatever the clock says.
 */
const DATA: Spec[] = [
  // alpha / a.one: waiting (due, not due, retry), one done within the minute, one running.
  { namespace: 'alpha', task: 'a.one', status: 'scheduled', eta: -300 },
  { namespace: 'alpha', task: 'a.one', status: 'scheduled', eta: 3600 },
  { namespace: 'alpha', task: 'a.one', status: 'retry', eta: -120 },
  { namespace: 'alpha', task: 'a.one', status: 'done', finished: -30 },
  // Running for long: an old eta on a processing row is not a waiting age.
  { namespace: 'alpha', task: 'a.one', status: 'processing', eta: -1000 },
  // alpha / a.two: finished at various times.
  { namespace: 'alpha', task: 'a.two', status: 'done', finished: -60 }, // exactly a minute ago: the hour only
  { namespace: 'alpha', task: 'a.two', status: 'done', finished: -1800 },
  { namespace: 'alpha', task: 'a.two', status: 'done', finished: -7200 }, // neither window
  { namespace: 'alpha', task: 'a.two', status: 'error', finished: -10 },
  { namespace: 'alpha', task: 'a.two', status: 'error', finished: -10_800 }, // neither window
  { namespace: 'alpha', task: 'a.two', status: 'cancelled', finished: -5 }, // not a failure
  // beta: only a future task waits; failures and completions near the window edges.
  { namespace: 'beta', task: 'b.one', status: 'scheduled', eta: 600 },
  { namespace: 'beta', task: 'b.one', status: 'error', finished: -59 },
  { namespace: 'beta', task: 'b.one', status: 'done', finished: -3599 },
  { namespace: 'beta', task: 'b.one', status: 'done', finished: -3600 }, // exactly an hour ago: out
  // gamma: one retry just due.
  { namespace: 'gamma', task: 'g.one', status: 'retry', eta: -5 },
  // Zulu sorts before alpha in byte order; only history, nothing live.
  { namespace: 'Zulu', task: 'z.one', status: 'done', finished: -7200 },
];

const UPDATE_SQL = `
update tasks set
  status = $2,
  eta = case when $3::float8 is null then eta else now() + make_interval(secs => $3::float8) end,
  finished_at = case when $4::float8 is null then null else now() + make_interval(secs => $4::float8) end,
  worker_id = case when $2 = 'processing' then 'w-1' end,
  lease_expires_at = case when $2 = 'processing' then now() + interval '30 seconds' end,
  fencing_token = case when $2 = 'processing' then nextval('tasks_fencing_token_seq') end,
  attempts = case when $2 in ('scheduled') then 0 else 1 end
where uid = $1
`;

async function craft(ex: Executor, specs: Spec[] = DATA): Promise<string[]> {
  const results = await submitMany(
    ex,
    specs.map((s) => ({ task: s.task, namespace: s.namespace })),
  );
  const uids = results.map((r) => r.task.uid);
  for (const [i, s] of specs.entries()) {
    await run(ex, UPDATE_SQL, [uids[i], s.status, s.eta ?? null, s.finished ?? null]);
  }
  return uids;
}

const zero = { scheduled: 0, processing: 0, done: 0, error: 0, retry: 0, cancelled: 0 };

describe('queue stats', () => {
  const db = useTestDatabase();

  /** Run `fn` in a transaction that is always rolled back, so every test starts from an empty table. */
  async function inTx<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await db().pool.connect();
    try {
      await client.query('begin');
      return await fn(client);
    } finally {
      await client.query('rollback');
      client.release();
    }
  }

  it('answers empty on an empty table', async () => {
    await inTx(async (c) => {
      expect(await namespaceCounts(c)).toEqual([]);
      expect((await queueStats(c)).namespaces).toEqual([]);
      expect(await queueDepth(c)).toEqual([]);
    });
  });

  describe('namespaceCounts', () => {
    it('counts every status of every namespace, with zeros, in byte order of namespace', async () => {
      await inTx(async (c) => {
        await craft(c);
        expect(await namespaceCounts(c)).toEqual([
          { namespace: 'Zulu', counts: { ...zero, done: 1 }, total: 1 },
          { namespace: 'alpha', counts: { scheduled: 2, processing: 1, done: 4, error: 2, retry: 1, cancelled: 1 }, total: 11 },
          { namespace: 'beta', counts: { ...zero, scheduled: 1, done: 2, error: 1 }, total: 4 },
          { namespace: 'gamma', counts: { ...zero, retry: 1 }, total: 1 },
        ]);
      });
    });

    it('runs on a drizzle transaction as well', async () => {
      const rollback = new Error('rollback');
      const err = await drizzle(db().pool)
        .transaction(async (tx) => {
          await craft(tx, [
            { namespace: 'dz', task: 't', status: 'scheduled' },
            { namespace: 'dz', task: 't', status: 'error', finished: -1 },
          ]);
          expect(await namespaceCounts(tx)).toEqual([{ namespace: 'dz', counts: { ...zero, scheduled: 1, error: 1 }, total: 2 }]);
          expect(await queueDepth(tx)).toEqual([
            { namespace: 'dz', counts: { scheduled: 1, retry: 0, processing: 0 }, oldestWaitingAgeSeconds: 0 },
          ]);
          throw rollback;
        })
        .catch((e) => e);
      expect(err).toBe(rollback);
      expect(await namespaceCounts(db().pool)).toEqual([]);
    });
  });

  describe('queueStats', () => {
    it('reports counts by namespace and task, the oldest waiting age, and the minute and hour windows', async () => {
      await inTx(async (c) => {
        await craft(c);
        const [{ now }] = (await c.query<{ now: Date }>('select now()')).rows as [{ now: Date }];
        const stats = await queueStats(c);
        expect(stats.at).toEqual(now);
        expect(stats.namespaces).toEqual([
          {
            namespace: 'Zulu',
            counts: { ...zero, done: 1 },
            tasks: [{ task: 'z.one', counts: { ...zero, done: 1 } }],
            oldestWaitingAgeSeconds: null,
            completed: { lastMinute: 0, lastHour: 0 },
            failed: { lastMinute: 0, lastHour: 0 },
          },
          {
            namespace: 'alpha',
            counts: { scheduled: 2, processing: 1, done: 4, error: 2, retry: 1, cancelled: 1 },
            tasks: [
              { task: 'a.one', counts: { ...zero, scheduled: 2, retry: 1, done: 1, processing: 1 } },
              { task: 'a.two', counts: { ...zero, done: 3, error: 2, cancelled: 1 } },
            ],
            oldestWaitingAgeSeconds: 300,
            // done 30 s ago (minute, hour); 60 s ago and 30 min ago (hour); 2 h ago (neither).
            completed: { lastMinute: 1, lastHour: 3 },
            // error 10 s ago (minute, hour); 3 h ago (neither). The cancelled one is not a failure.
            failed: { lastMinute: 1, lastHour: 1 },
          },
          {
            namespace: 'beta',
            counts: { ...zero, scheduled: 1, done: 2, error: 1 },
            tasks: [{ task: 'b.one', counts: { ...zero, scheduled: 1, done: 2, error: 1 } }],
            // Its only waiting task is not due yet.
            oldestWaitingAgeSeconds: null,
            completed: { lastMinute: 0, lastHour: 1 },
            failed: { lastMinute: 1, lastHour: 1 },
          },
          {
            namespace: 'gamma',
            counts: { ...zero, retry: 1 },
            tasks: [{ task: 'g.one', counts: { ...zero, retry: 1 } }],
            oldestWaitingAgeSeconds: 5,
            completed: { lastMinute: 0, lastHour: 0 },
            failed: { lastMinute: 0, lastHour: 0 },
          },
        ]);
      });
    });

    it('measures ages and windows from the database clock, as time passes', async () => {
      await inTx(async (c) => {
        await craft(c, [
          { namespace: 'clock', task: 't', status: 'scheduled', eta: 0 },
          { namespace: 'clock', task: 't', status: 'done', finished: 0 },
          { namespace: 'clock', task: 't', status: 'error', finished: 0 },
        ]);
        const at = async () => (await queueStats(c)).namespaces[0];
        expect(await at()).toMatchObject({ oldestWaitingAgeSeconds: 0, completed: { lastMinute: 1, lastHour: 1 } });
        // Move everything 90 s into the past instead of waiting: out of the minute, still in the hour.
        await c.query(`update tasks set eta = eta - interval '90 seconds', finished_at = finished_at - interval '90 seconds'`);
        expect(await at()).toMatchObject({
          oldestWaitingAgeSeconds: 90,
          completed: { lastMinute: 0, lastHour: 1 },
          failed: { lastMinute: 0, lastHour: 1 },
        });
        await c.query(`update tasks set eta = eta - interval '1 hour', finished_at = finished_at - interval '1 hour'`);
        expect(await at()).toMatchObject({
          oldestWaitingAgeSeconds: 3690,
          completed: { lastMinute: 0, lastHour: 0 },
          failed: { lastMinute: 0, lastHour: 0 },
        });
      });
    });
  });

  describe('queueDepth', () => {
    it('counts live tasks per namespace and status and the oldest due wait, ignoring finished rows', async () => {
      await inTx(async (c) => {
        await craft(c);
        expect(await queueDepth(c)).toEqual([
          // Zulu has only finished tasks: absent.
          { namespace: 'alpha', counts: { scheduled: 2, retry: 1, processing: 1 }, oldestWaitingAgeSeconds: 300 },
          { namespace: 'beta', counts: { scheduled: 1, retry: 0, processing: 0 }, oldestWaitingAgeSeconds: null },
          { namespace: 'gamma', counts: { scheduled: 0, retry: 1, processing: 0 }, oldestWaitingAgeSeconds: 5 },
        ]);
      });
    });

    it('takes the oldest of scheduled and retry tasks', async () => {
      await inTx(async (c) => {
        await craft(c, [
          { namespace: 'mix', task: 't', status: 'scheduled', eta: -40 },
          { namespace: 'mix', task: 't', status: 'retry', eta: -70 },
          { namespace: 'mix', task: 't', status: 'retry', eta: 70 },
        ]);
        expect(await queueDepth(c)).toEqual([
          { namespace: 'mix', counts: { scheduled: 1, retry: 2, processing: 0 }, oldestWaitingAgeSeconds: 70 },
        ]);
      });
    });

    it('reads live rows through the partial indexes, not the finished history', async () => {
      await inTx(async (c) => {
        await c.query(`
          insert into tasks (task, namespace, status, finished_at)
          select 'h', 'hist', 'done', now() from generate_series(1, 20000)`);
        await craft(c, [
          { namespace: 'hist', task: 'h', status: 'scheduled', eta: -1 },
          { namespace: 'hist', task: 'h', status: 'processing' },
        ]);
        await c.query('analyze tasks');
        // Catch the statement queueDepth sends, then ask the planner how it runs it.
        let statement = '';
        const spy: Executor = {
          query: (text: string, values?: unknown[]) => {
            statement = text;
            return c.query(text, values);
          },
        };
        expect(await queueDepth(spy)).toEqual([
          { namespace: 'hist', counts: { scheduled: 1, retry: 0, processing: 1 }, oldestWaitingAgeSeconds: 1 },
        ]);
        const { rows } = await c.query(`explain (format json) ${statement}`);
        const plan = JSON.stringify(rows[0]);
        expect(plan).not.toContain('Seq Scan');
        expect(plan).toContain('tasks_claim_idx');
        expect(plan).toContain('tasks_lease_idx');
      });
    });
  });

  describe('queue gauges of createEventixMetrics', () => {
    it('are read from the database at every scrape, and drop to 0 when a namespace drains', async () => {
      await inTx(async (c) => {
        await craft(c);
        const metrics = createEventixMetrics(new Registry(), { executor: c });
        const text = await metrics.registry.metrics();
        const samples = (prefix: string, t: string) => t.split('\n').filter((l) => l.startsWith(prefix));
        expect(samples('eventix_queue_depth{', text)).toEqual([
          'eventix_queue_depth{namespace="alpha",status="scheduled"} 2',
          'eventix_queue_depth{namespace="alpha",status="retry"} 1',
          'eventix_queue_depth{namespace="alpha",status="processing"} 1',
          'eventix_queue_depth{namespace="beta",status="scheduled"} 1',
          'eventix_queue_depth{namespace="beta",status="retry"} 0',
          'eventix_queue_depth{namespace="beta",status="processing"} 0',
          'eventix_queue_depth{namespace="gamma",status="scheduled"} 0',
          'eventix_queue_depth{namespace="gamma",status="retry"} 1',
          'eventix_queue_depth{namespace="gamma",status="processing"} 0',
        ]);
        expect(samples('eventix_queue_oldest_waiting_age_seconds{', text)).toEqual([
          'eventix_queue_oldest_waiting_age_seconds{namespace="alpha"} 300',
          'eventix_queue_oldest_waiting_age_seconds{namespace="beta"} 0',
          'eventix_queue_oldest_waiting_age_seconds{namespace="gamma"} 5',
        ]);

        // gamma's task runs and finishes: its series stay, at 0.
        await c.query(`update tasks set status = 'done', finished_at = now() where namespace = 'gamma'`);
        const after = await metrics.registry.metrics();
        expect(samples('eventix_queue_depth{namespace="gamma"', after)).toEqual([
          'eventix_queue_depth{namespace="gamma",status="scheduled"} 0',
          'eventix_queue_depth{namespace="gamma",status="retry"} 0',
          'eventix_queue_depth{namespace="gamma",status="processing"} 0',
        ]);
        expect(samples('eventix_queue_oldest_waiting_age_seconds{namespace="gamma"', after)).toEqual([
          'eventix_queue_oldest_waiting_age_seconds{namespace="gamma"} 0',
        ]);
      });
    });

    it('share one database query per scrape', async () => {
      let statements = 0;
      const pool = db().pool;
      const counting: Executor = {
        query: (text: string, values?: unknown[]) => {
          statements++;
          return pool.query(text, values);
        },
      };
      const metrics = createEventixMetrics(new Registry(), { executor: counting });
      await metrics.registry.metrics();
      expect(statements).toBe(1);
      await Promise.all([metrics.registry.metrics(), metrics.registry.metrics()]);
      expect(statements).toBe(2);
    });
  });
});
