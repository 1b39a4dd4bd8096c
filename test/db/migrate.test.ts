import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { MIGRATIONS_FOLDER, migrate, schemaStatus } from '../../src/db/migrate.ts';
import { runCli } from '../helpers/cli.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

const journal = JSON.parse(readFileSync(`${MIGRATIONS_FOLDER}/meta/_journal.json`, 'utf8')) as { entries: unknown[] };

async function schemaFacts(db: TestDatabase) {
  const migrations = await db.pool.query<{ n: number }>('select count(*)::int as n from drizzle.__drizzle_migrations');
  const tables = await db.pool.query<{ n: number }>(
    "select count(*)::int as n from information_schema.tables where table_schema = 'public' and table_name = 'tasks'",
  );
  const constraint = await db.pool.query<{ n: number }>(
    "select count(*)::int as n from pg_constraint where conname = 'tasks_status_valid'",
  );
  return { migrations: migrations.rows[0]?.n, tables: tables.rows[0]?.n, statusCheck: constraint.rows[0]?.n };
}

describe('migrations', () => {
  const dbs: TestDatabase[] = [];
  afterAll(async () => {
    await Promise.all(dbs.map((d) => d.drop()));
  });

  it('two concurrent migrators in one process both succeed and leave one schema', async () => {
    const target = await createTestDatabase({ empty: true });
    dbs.push(target);
    expect((await schemaStatus(target.pool)).ok).toBe(false);
    const [a, b] = await Promise.all([migrate(target.pool), migrate(target.pool)]);
    expect((a?.applied ?? 0) + (b?.applied ?? 0)).toBe(journal.entries.length);
    expect(await schemaFacts(target)).toEqual({ migrations: journal.entries.length, tables: 1, statusCheck: 1 });
    expect((await schemaStatus(target.pool)).ok).toBe(true);
  });

  it('two `eventix migrate` processes started at once both exit 0 and leave one schema', async () => {
    const target = await createTestDatabase({ empty: true });
    dbs.push(target);
    const [a, b] = await Promise.all([
      runCli(['migrate'], { DATABASE_URL: target.url }),
      runCli(['migrate'], { DATABASE_URL: target.url }),
    ]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    expect(await schemaFacts(target)).toEqual({ migrations: journal.entries.length, tables: 1, statusCheck: 1 });
  });

  it('is idempotent: a second run applies nothing', async () => {
    const target = await createTestDatabase();
    dbs.push(target);
    expect(await migrate(target.pool)).toEqual({ applied: 0 });
  });
});

describe('the tasks schema', () => {
  it('refuses a status outside the documented set, by its named constraint', async () => {
    const db = await createTestDatabase();
    try {
      await expect(db.pool.query("insert into tasks (task, status) values ('t', 'bogus')")).rejects.toMatchObject({
        constraint: 'tasks_status_valid',
      });
      await expect(db.pool.query("insert into tasks (task, args) values ('t', '{}')")).rejects.toMatchObject({
        constraint: 'tasks_args_is_array',
      });
      await expect(db.pool.query("insert into tasks (task, status) values ('t', 'processing')")).rejects.toMatchObject({
        constraint: 'tasks_processing_has_lease',
      });
    } finally {
      await db.drop();
    }
  });

  it('keeps unique_key unique per namespace among waiting tasks only', async () => {
    const db = await createTestDatabase();
    try {
      await db.pool.query("insert into tasks (task, unique_key) values ('t', 'k')");
      await expect(db.pool.query("insert into tasks (task, unique_key) values ('t', 'k')")).rejects.toMatchObject({
        constraint: 'tasks_unique_key_waiting_idx',
      });
      await db.pool.query("insert into tasks (task, unique_key, namespace) values ('t', 'k', 'other')");
      await db.pool.query("insert into tasks (task, unique_key, status) values ('t', 'k', 'done')");
    } finally {
      await db.drop();
    }
  });
});
