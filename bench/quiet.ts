// Before each timed round: let the server settle, so that what one round left behind (dead rows
// to vacuum, dirty buffers) is not charged to the next round, whichever system that is.
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { withDatabase } from './databases.ts';
import { progress } from './progress.ts';
import { sleep } from './wait.ts';

/** Longest wait for running autovacuum workers to finish; past it the round starts anyway, and says so. */
export const AUTOVACUUM_WAIT_MS = 20_000;
const POLL_MS = 50;

/**
 * Milliseconds of VACUUM run between rounds in each bench database, summed over the run: the
 * clean-up each system's rounds left behind, which no round's rate includes. Reported with the
 * results (bench/report.ts), since a system that leaves more dead rows costs its server more.
 */
export const vacuumMs = new Map<string, number>();

export interface Quiesce {
  admin: pg.Client | undefined;
  serverUrl: string | undefined;
  /** The bench databases that exist now (lifecycle's live.databases). */
  databases: Iterable<string>;
}

/**
 * VACUUM every bench database, CHECKPOINT, then wait until no autovacuum worker runs.
 *
 * Why: rounds are a couple of seconds long, and what the previous round left could land in the
 * next. Autovacuum starts up to a naptime (10 s on the embedded server) after a round has made a
 * table worth vacuuming, so it could run inside whichever round came next, and a checkpoint
 * falling inside a round flushed every dirty buffer on the same disk. Now
 * each round starts on vacuumed tables, right after a checkpoint (checkpoint_timeout is minutes,
 * so none falls due inside a round; each round pays the same full-page writes after one), and
 * the vacuum is timed per database into `vacuumMs`. Autovacuum that a round's own writes start
 * during the round is that system's cost, and stays in its rate.
 */
export async function quiesce({ admin, serverUrl, databases }: Quiesce): Promise<void> {
  if (!admin) return;
  if (serverUrl) {
    for (const name of databases) {
      const client = new pg.Client({ connectionString: withDatabase(serverUrl, name), application_name: 'eventix-bench-vacuum' });
      client.on('error', () => {});
      await client.connect();
      try {
        const t0 = performance.now();
        await client.query('vacuum');
        vacuumMs.set(name, (vacuumMs.get(name) ?? 0) + performance.now() - t0);
      } finally {
        await client.end().catch(() => {});
      }
    }
  }
  try {
    await admin.query('checkpoint');
  } catch (err) {
    // 42501: neither superuser nor pg_checkpoint (PostgreSQL 15+) on a managed server.
    if ((err as { code?: string }).code !== '42501') throw err;
  }
  const t0 = performance.now();
  for (;;) {
    const { rows } = await admin.query<{ n: number }>(
      "select count(*)::int as n from pg_stat_activity where backend_type = 'autovacuum worker'",
    );
    if ((rows[0]?.n ?? 0) === 0) return;
    if (performance.now() - t0 >= AUTOVACUUM_WAIT_MS) {
      progress(`  (autovacuum still running after ${AUTOVACUUM_WAIT_MS / 1000} s; starting the round anyway)`);
      return;
    }
    await sleep(POLL_MS);
  }
}
