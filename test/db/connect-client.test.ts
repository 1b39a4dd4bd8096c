import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { connectClient } from '../../src/db/connection-errors.ts';
import { withTransaction } from '../../src/db/transaction.ts';
import { useTestDatabase } from '../helpers/db.ts';

/**
 * connectClient on a pool the host made (no createDatabase 'connect' listener): the client must
 * be listened to from the instant pg-pool hands it out. pg parses a whole TCP chunk at once, so a
 * FATAL that follows the ReadyForQuery of a new connection in the same chunk is emitted before
 * any promise continuation runs; with no listener it ends the process (seen in reconnect.test.ts
 * under a restart). A microtask queued from pg-pool's synchronous 'acquire' event runs in exactly
 * that window: before the caller of an awaited pool.connect() resumes.
 */
describe('connectClient', () => {
  const db = useTestDatabase();
  const pools: pg.Pool[] = [];
  afterEach(async () => {
    await Promise.all(pools.splice(0).map((p) => p.end()));
  });

  /** A host's pool that records, in the window, how many 'error' listeners each handed-out client has. */
  function hostPool() {
    const pool = new pg.Pool({ connectionString: db().url, max: 1 });
    pool.on('error', () => {});
    pools.push(pool);
    const listenersInWindow: number[] = [];
    pool.on('acquire', (client) => queueMicrotask(() => listenersInWindow.push(client.listenerCount('error'))));
    return { pool, listenersInWindow };
  }

  it("listens to a new and to a reused client before pool.connect()'s caller could resume", async () => {
    const { pool, listenersInWindow } = hostPool();
    const fresh = await connectClient(pool);
    const pid = (await fresh.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]?.pid;
    fresh.release();
    const reused = await connectClient(pool);
    expect((await reused.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]?.pid).toBe(pid);
    reused.release();
    await withTransaction(pool, async (client) => client.query('select 1'));
    expect(listenersInWindow).toHaveLength(3);
    for (const n of listenersInWindow) expect(n).toBeGreaterThan(0);
    // Released clients are the pool's again: only its idle listener is left.
    expect(reused.listenerCount('error')).toBe(1);
  });

  it('the window is real: an awaited pool.connect() leaves the client unlistened in it', async () => {
    const { pool, listenersInWindow } = hostPool();
    const client = await pool.connect();
    client.release();
    expect(listenersInWindow).toEqual([0]);
  });

  it('an error emitted on the client in that window is absorbed and the broken client is discarded', async () => {
    const { pool } = hostPool();
    pool.on('acquire', (client) =>
      queueMicrotask(() => {
        // What pg does on a FATAL with no query in flight: marks the client unqueryable and emits.
        (client as unknown as { _queryable: boolean })._queryable = false;
        client.emit('error', Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }));
      }),
    );
    const failure = await withTransaction(pool, async (client) => client.query('select 1')).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(Error);
    pool.removeAllListeners('acquire');
    // The next transaction runs on a new connection.
    expect((await withTransaction(pool, async (client) => client.query('select 1 as one'))).rows).toEqual([{ one: 1 }]);
  });
});
