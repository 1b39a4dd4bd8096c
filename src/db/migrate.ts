import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate as drizzleMigrate } from 'drizzle-orm/node-postgres/migrator';
import type pg from 'pg';
import type { Logger } from '../logger.ts';
import { connectClient } from './connection-errors.ts';

/** The committed migrations; the same relative path works from src/db and from dist/db. */
export const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../drizzle', import.meta.url));

/**
 * Arbitrary but fixed key for the session advisory lock that serializes migrators. Two processes
 * starting at once both call migrate(): the second waits, then finds nothing left to apply.
 */
const MIGRATION_LOCK_KEY = 0x6576_6e74; // 'evnt'

export async function migrate(pool: pg.Pool, logger?: Logger): Promise<{ applied: number }> {
  const client = await connectClient(pool);
  try {
    await client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    try {
      const before = await appliedCount(client);
      await drizzleMigrate(drizzle(client), { migrationsFolder: MIGRATIONS_FOLDER });
      const applied = (await appliedCount(client)) - before;
      logger?.info({ applied }, applied ? 'applied migrations' : 'schema is up to date');
      return { applied };
    } finally {
      await client.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
    }
  } finally {
    client.release();
  }
}

// The table is referenced only after checking it exists: a reference to a missing relation fails
// at parse time even inside a CASE branch that would never run.
async function migrationsTableExists(q: pg.Pool | pg.PoolClient): Promise<boolean> {
  const { rows } = await q.query<{ t: string | null }>(`select to_regclass('drizzle.__drizzle_migrations')::text as t`);
  return rows[0]?.t != null;
}

async function appliedCount(client: pg.PoolClient): Promise<number> {
  if (!(await migrationsTableExists(client))) return 0;
  const { rows } = await client.query<{ n: number }>('select count(*)::int as n from drizzle.__drizzle_migrations');
  return rows[0]?.n ?? 0;
}

interface Journal {
  entries: { idx: number; when: number; tag: string }[];
}

function latestMigrationMillis(): number {
  const journal = JSON.parse(readFileSync(`${MIGRATIONS_FOLDER}/meta/_journal.json`, 'utf8')) as Journal;
  return Math.max(...journal.entries.map((e) => e.when));
}

/** Ready means: the database answers and the newest committed migration has been applied. */
export async function schemaStatus(pool: pg.Pool): Promise<{ ok: boolean; detail: string }> {
  const expected = latestMigrationMillis();
  if (!(await migrationsTableExists(pool))) return { ok: false, detail: 'no migrations applied' };
  const { rows } = await pool.query<{ latest: string | null }>('select max(created_at)::text as latest from drizzle.__drizzle_migrations');
  const latest = rows[0]?.latest == null ? null : Number(rows[0].latest);
  if (latest === null) return { ok: false, detail: 'no migrations applied' };
  if (latest < expected) return { ok: false, detail: 'pending migrations' };
  return { ok: true, detail: 'schema up to date' };
}
