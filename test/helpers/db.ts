import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, inject } from 'vitest';
import { createDatabase, type Database } from '../../src/db/client.ts';
import { withDatabase } from './urls.ts';

export interface TestDatabase extends Database {
  name: string;
  url: string;
  drop(): Promise<void>;
}

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: inject('dbServerUrl') });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** A fresh database cloned from the migrated template (or empty, for migration tests). */
export async function createTestDatabase(opts: { empty?: boolean; poolMax?: number } = {}): Promise<TestDatabase> {
  const name = `eventix_t_${randomBytes(5).toString('hex')}`;
  await admin(async (c) => {
    const source = opts.empty ? 'template0' : inject('dbTemplate');
    // CREATE DATABASE fails if another session is copying the same template at that instant; retry briefly.
    for (let attempt = 0; ; attempt++) {
      try {
        await c.query(`create database ${c.escapeIdentifier(name)} template ${c.escapeIdentifier(source)}`);
        return;
      } catch (err) {
        if ((err as { code?: string }).code !== '55006' || attempt > 50) throw err;
        await new Promise((r) => setTimeout(r, 50 + Math.random() * 100));
      }
    }
  });
  const url = withDatabase(inject('dbServerUrl'), name);
  const database = createDatabase({ url, max: opts.poolMax ?? 20, applicationName: 'eventix-test' });
  return {
    ...database,
    name,
    url,
    async drop() {
      await database.close();
      await admin((c) => c.query(`drop database if exists ${c.escapeIdentifier(name)} with (force)`));
    },
  };
}

/** One database for the whole file: created before the first test, dropped after the last. */
export function useTestDatabase(opts: { poolMax?: number } = {}): () => TestDatabase {
  let db: TestDatabase | undefined;
  beforeAll(async () => {
    db = await createTestDatabase(opts);
  });
  afterAll(async () => {
    await db?.drop();
  });
  return () => {
    if (!db) throw new Error('test database not ready: call inside a test or hook');
    return db;
  };
}
