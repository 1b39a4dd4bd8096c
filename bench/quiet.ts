// Before each timed round: let the server settle, so that what one round left behind (dirty
// buffers, an autovacuum of the table the previous system just churned) is not charged to the next.
import { performance } from 'node:perf_hooks';
import type pg from 'pg';
import { progress } from './progress.ts';
import { sleep } from './wait.ts';

/** Longest wait for running autovacuum workers to finish; past it the round starts anyway, and says so. */
export const AUTOVACUUM_WAIT_MS = 20_000;
const POLL_MS = 50;

export interface Quiet {
  /** CHECKPOINT ran (false: the role may not, 42501; the round then starts without one). */
  checkpointed: boolean;
  /** How long autovacuum workers kept the round waiting. */
  waitedMs: number;
  /** Still running when the wait gave up. */
  autovacuumRunning: number;
}

/**
 * CHECKPOINT, then wait until no autovacuum worker runs. Measured on the 5432 service (PostgreSQL
 * 15), the same system's 4-process rate moved between 0.53× and 1.28× of its peer's from one run
 * to the next. A round that began while the previous system's table was being vacuumed shared
 * the two cores with that vacuum, and a checkpoint landing inside a round of about two seconds
 * flushed every dirty buffer on the same disk. With a checkpoint just before each round, none
 * falls due inside it (checkpoint_timeout is minutes), and each round pays the same full-page
 * writes after one. Autovacuum that the round's own writes start is the system's cost, and stays.
 */
export async function quiesce(admin: pg.Client | undefined): Promise<Quiet | undefined> {
  if (!admin) return undefined;
  let checkpointed = true;
  try {
    await admin.query('checkpoint');
  } catch (err) {
    // 42501: neither superuser nor pg_checkpoint (PostgreSQL 15+) on a managed server.
    if ((err as { code?: string }).code !== '42501') throw err;
    checkpointed = false;
  }
  const t0 = performance.now();
  for (;;) {
    const { rows } = await admin.query<{ n: number }>(
      "select count(*)::int as n from pg_stat_activity where backend_type = 'autovacuum worker'",
    );
    const running = rows[0]?.n ?? 0;
    const waitedMs = performance.now() - t0;
    if (running === 0) return { checkpointed, waitedMs, autovacuumRunning: 0 };
    if (waitedMs >= AUTOVACUUM_WAIT_MS) {
      progress(`  (autovacuum still running after ${AUTOVACUUM_WAIT_MS / 1000} s; starting the round anyway)`);
      return { checkpointed, waitedMs, autovacuumRunning: running };
    }
    await sleep(POLL_MS);
  }
}
