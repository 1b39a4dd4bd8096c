import type { Config, Env } from '../config.ts';
import type { Database } from '../db/client.ts';
import { connect } from '../db/connect.ts';
import { fail, loadRuntime } from './runtime.ts';

/**
 * Run one administrative command against the database (DATABASE_URL, or embedded PostgreSQL),
 * then close it. Any error is printed as `eventix: <message>` and exits 1, after closing.
 * `overrides` replace variables of the environment (`eventix commits --host …` builds DATABASE_URL).
 */
export async function withDatabase(
  fn: (database: Database, config: Config) => Promise<void>,
  overrides: Partial<Record<keyof Env, string | undefined>> = {},
): Promise<void> {
  const { config, logger } = loadRuntime(overrides, { admin: true });
  let conn: Awaited<ReturnType<typeof connect>>;
  try {
    conn = await connect(config, logger, { joinRunning: true });
  } catch (err) {
    fail(err);
  }
  try {
    await fn(conn.database, config);
  } catch (err) {
    await conn.close().catch(() => undefined);
    fail(err);
  }
  await conn.close();
}

export const printJson = (value: unknown) => process.stdout.write(`${JSON.stringify(value)}\n`);
