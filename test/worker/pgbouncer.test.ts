import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, type Database } from '../../src/db/client.ts';
import { getTask, submit, submitMany } from '../../src/queue/index.ts';
import { defineTask } from '../../src/worker/registry.ts';
import { Worker } from '../../src/worker/worker.ts';
import { useTestDatabase } from '../helpers/db.ts';
import { type Bouncer, findPgbouncer, startPgbouncer } from '../helpers/pgbouncer.ts';
import { waitFor } from '../helpers/wait.ts';

const binary = findPgbouncer();
// CI installs PgBouncer and sets this, so there the test can never be skipped silently.
if (!binary && process.env.EVENTIX_REQUIRE_PGBOUNCER === '1') throw new Error('EVENTIX_REQUIRE_PGBOUNCER=1 but no pgbouncer binary found');

describe.runIf(binary)('through PgBouncer in transaction pooling mode', () => {
  const db = useTestDatabase();
  let bouncer: Bouncer;
  let viaBouncer: Database;
  beforeAll(async () => {
    bouncer = await startPgbouncer(binary as string, db().url, 2);
    // PgBouncer 1.18 in transaction mode cannot keep named prepared statements: they must be off.
    viaBouncer = createDatabase({ url: bouncer.url(db().url), max: 8, preparedStatements: false });
  });
  afterAll(async () => {
    await viaBouncer?.close();
    await bouncer?.stop();
  });

  it('poll-only workers run every task exactly once', async () => {
    const runs = new Map<number, number>();
    const def = defineTask<[number]>('bouncer.task', (args) => {
      runs.set(args[0], (runs.get(args[0]) ?? 0) + 1);
      return args[0];
    });
    await submitMany(
      viaBouncer.pool,
      Array.from({ length: 500 }, (_, i) => ({ task: 'bouncer.task', args: [i] })),
    );
    const workers = [1, 2].map(
      (n) =>
        new Worker({
          pool: viaBouncer.pool,
          tasks: [def],
          listen: false,
          pollIntervalMs: 50,
          concurrency: 8,
          workerId: `bouncer-${n}`,
          maintenanceIntervalMs: 200,
        }),
    );
    await Promise.all(workers.map((w) => w.start()));
    try {
      await waitFor(() => runs.size === 500, { timeoutMs: 60_000, message: '500 tasks run' });
      await waitFor(async () => {
        const { rows } = await db().pool.query<{ n: number }>(
          "select count(*)::int as n from tasks where task = 'bouncer.task' and status = 'done'",
        );
        return rows[0]?.n === 500;
      });
    } finally {
      await Promise.all(workers.map((w) => w.stop()));
    }
    expect([...runs.values()].every((n) => n === 1)).toBe(true);
  });

  it('a transactional submit through the pooler commits or rolls back with the caller', async () => {
    const client = await viaBouncer.pool.connect();
    try {
      await client.query('begin');
      const { task } = await submit(client, { task: 'bouncer.tx' });
      await client.query('rollback');
      await expect(getTask(db().pool, task.uid)).rejects.toMatchObject({ code: 'TaskNotFound' });
      await client.query('begin');
      const kept = await submit(client, { task: 'bouncer.tx' });
      await client.query('commit');
      expect((await getTask(db().pool, kept.task.uid)).status).toBe('scheduled');
    } finally {
      client.release();
    }
  });
});
