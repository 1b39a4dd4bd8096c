import { drizzle } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
// The library as a host imports it: every module that used to touch pg's globals is loaded.
import { claim, submit } from '../../src/index.ts';
import { useTestDatabase } from '../helpers/db.ts';

/**
 * Importing Eventix must not change `pg` for the rest of its host process (issue 10): int8 comes
 * back as pg's default (a string) on the host's own connections, and as a number only on ours.
 */
describe('pg type parsers', () => {
  const db = useTestDatabase();
  const opened: { end(): Promise<void> }[] = [];
  afterAll(async () => {
    await Promise.all(opened.map((c) => c.end()));
  });

  const INT8 = 'select 9007199254740991::int8 as n';

  it("leaves the host's own pg clients and pools alone", async () => {
    const client = new pg.Client({ connectionString: db().url });
    await client.connect();
    opened.push(client);
    expect((await client.query(INT8)).rows[0]).toEqual({ n: '9007199254740991' });
    const pool = new pg.Pool({ connectionString: db().url, max: 1 });
    opened.push(pool);
    expect((await pool.query(INT8)).rows[0]).toEqual({ n: '9007199254740991' });
  });

  it('parses int8 as a number on our pool and on clients built from its options (the LISTEN connection)', async () => {
    expect((await db().pool.query(INT8)).rows[0]).toEqual({ n: 9007199254740991 });
    const listener = new pg.Client({ ...(db().pool as unknown as { options: pg.ClientConfig }).options });
    await listener.connect();
    opened.push(listener);
    expect((await listener.query(INT8)).rows[0]).toEqual({ n: 9007199254740991 });
  });

  it("queue functions return int8 as numbers on executors we did not create: the host's pool, drizzle", async () => {
    const hostPool = new pg.Pool({ connectionString: db().url, max: 2 });
    opened.push(hostPool);
    const executors = { 'a host pool': hostPool, 'a host drizzle': drizzle(hostPool), 'our drizzle': db().db };
    for (const [label, ex] of Object.entries(executors)) {
      const namespace = `types-${label.replaceAll(' ', '-')}`;
      await submit(ex, { task: 'types.t', namespace });
      const [task] = await claim(ex, { workerId: 'w', namespaces: [namespace], tasks: ['types.t'], limit: 1, leaseSeconds: 30 });
      expect({ label, token: typeof task?.fencingToken }).toEqual({ label, token: 'number' });
    }
  });
});
