import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, type Database } from '../../src/db/client.ts';
import { claim, submit } from '../../src/queue/index.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

describe('prepared statements for the hot queries', () => {
  let db: TestDatabase;
  let single: Database;
  beforeAll(async () => {
    db = await createTestDatabase();
    // One connection, so pg_prepared_statements (per session) shows what that connection holds.
    single = createDatabase({ url: db.url, max: 1 });
  });
  afterAll(async () => {
    await single.close();
    await db.drop();
  });

  const prepared = async (d: Database) =>
    (await d.pool.query<{ name: string }>('select name from pg_prepared_statements order by name')).rows.map((r) => r.name);

  it('prepares the claim once per connection, and not at all when turned off', async () => {
    await submit(single.pool, { task: 'p.t', namespace: 'prep' });
    await submit(single.pool, { task: 'p.t', namespace: 'prep', uniqueKey: 'k' });
    await claim(single.pool, { workerId: 'w', namespaces: ['prep'], tasks: ['p.t'], limit: 1, leaseSeconds: 30 });
    // A batch without unique keys has its own statement, without ON CONFLICT.
    expect(await prepared(single)).toEqual(expect.arrayContaining(['eventix_claim_n1_0', 'eventix_submit_0', 'eventix_submit_unkeyed_0']));

    const off = createDatabase({ url: db.url, max: 1, preparedStatements: false });
    try {
      await submit(off.pool, { task: 'p.t', namespace: 'prep' });
      await claim(off.pool, { workerId: 'w', namespaces: ['prep'], tasks: ['p.t'], limit: 1, leaseSeconds: 30 });
      expect(await prepared(off)).toEqual([]);
    } finally {
      await off.close();
    }
  });

  it('keeps one generic plan for the claim instead of planning it on every call', async () => {
    // A claim's plan used to be rebuilt on every call (0.36 ms each): the generic plan assumed
    // ten namespaces and lost to the custom one. Both namespace counts a worker may use are checked.
    for (const namespaces of [['plan'], ['plan', 'plan2', 'plan3']]) {
      for (let i = 0; i < 12; i++) {
        await submit(single.pool, { task: 'p.t', namespace: 'plan' });
        await claim(single.pool, { workerId: 'w', namespaces, tasks: ['p.t'], limit: 4, leaseSeconds: 30 });
      }
      const { rows } = await single.pool.query<{ generic_plans: string; custom_plans: string }>(
        'select generic_plans, custom_plans from pg_prepared_statements where name = $1',
        [`eventix_claim_n${namespaces.length}_0`],
      );
      expect(Number(rows[0]?.generic_plans)).toBeGreaterThan(0);
      // The plan cache tries five custom plans before it compares.
      expect(Number(rows[0]?.custom_plans)).toBeLessThanOrEqual(5);
    }
  });

  it('survives a migration that changes the row type under a prepared statement', async () => {
    await submit(single.pool, { task: 'p.t', namespace: 'prep2' });
    await claim(single.pool, { workerId: 'w', namespaces: ['prep2'], tasks: ['p.t'], limit: 1, leaseSeconds: 30 });
    // A rolling deploy adds a column while this process keeps running.
    await db.pool.query('alter table tasks add column added_later integer');
    await submit(single.pool, { task: 'p.t', namespace: 'prep2' });
    const [task] = await claim(single.pool, { workerId: 'w', namespaces: ['prep2'], tasks: ['p.t'], limit: 1, leaseSeconds: 30 });
    expect(task?.status).toBe('processing');
  });
});
