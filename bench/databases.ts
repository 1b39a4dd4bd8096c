import { performance } from 'node:perf_hooks';
import type pg from 'pg';
import { sleep } from './wait.ts';

/** The same server and credentials as `url`, another database. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

export const quoteIdent = (name: string) => `"${name.replaceAll('"', '""')}"`;

/**
 * Drop a bench database. Waits (bounded) for the drivers' pools to finish closing first: some
 * libraries resolve their stop() before their pool has ended, and a forced drop would then kill
 * connections that no longer have an error listener, crashing the process.
 */
export async function dropDatabase(admin: pg.Client, name: string, waitMs = 10_000): Promise<void> {
  const deadline = performance.now() + waitMs;
  for (;;) {
    const { rows } = await admin.query<{ n: number }>(
      'select count(*)::int as n from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()',
      [name],
    );
    if ((rows[0]?.n ?? 0) === 0 || performance.now() > deadline) break;
    await sleep(50);
  }
  try {
    await admin.query(`drop database if exists ${quoteIdent(name)} with (force)`);
  } catch (err) {
    // Before PostgreSQL 13 there is no WITH (FORCE): end the sessions, then drop.
    if ((err as { code?: string }).code !== '42601') throw err;
    await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()', [name]);
    await admin.query(`drop database if exists ${quoteIdent(name)}`);
  }
}

/** An empty database `name`, whatever a previous run left behind under that name. */
export async function recreateDatabase(admin: pg.Client, name: string): Promise<void> {
  await dropDatabase(admin, name);
  await admin.query(`create database ${quoteIdent(name)}`);
}
