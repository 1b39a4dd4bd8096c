import type pg from 'pg';
import { coerceError } from '../logger.ts';
import { connectClient } from './connection-errors.ts';

/**
 * Run `fn` in a transaction on a connection of its own: commit when it resolves, roll back when
 * it throws. A connection whose rollback failed is in an unknown state, so it is destroyed rather
 * than handed to the next caller. The one begin/commit of the code base: every transaction goes
 * through here, so that rule holds everywhere.
 */
export async function withTransaction<T>(pool: Pick<pg.Pool, 'connect'>, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await connectClient(pool);
  let broken: Error | undefined;
  try {
    await client.query('begin');
    const result = await fn(client);
    await client.query('commit');
    return result;
  } catch (err) {
    try {
      await client.query('rollback');
    } catch (rollbackError) {
      broken = coerceError(rollbackError);
    }
    throw err;
  } finally {
    client.release(broken);
  }
}
