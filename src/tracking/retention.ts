import type pg from 'pg';
import { run } from '../db/executor.ts';
import { withTransaction } from '../db/transaction.ts';
import { ValidationError } from '../errors.ts';

/**
 * The retention command, and the only way benchmark results ever leave the database: the
 * append-only trigger (drizzle/0004) refuses every UPDATE, DELETE and TRUNCATE of runs and
 * metric points unless the transaction has done `SET LOCAL eventix.benchmark_retention = 'on'`,
 * and then it allows DELETE only. Only this file sets it.
 *
 * A run is old when it was stored (created_at) before the cutoff, now minus the given days, read
 * once from the database clock at the start so every batch uses the same instant. Runs go in
 * batches, each its own transaction, oldest first; their metric points follow by ON DELETE
 * CASCADE. Between batches the caller may stop (Ctrl-C): what was deleted stays deleted, and no
 * run ever loses some of its points but not others.
 */

/** The cutoff, and what it would delete. */
const COUNT_OLD_SQL = `
with cutoff as (select now() - ($1::double precision * interval '1 day') as at)
select cutoff.at as cutoff, cutoff.at::text as cutoff_text,
  (select count(*)::int from benchmark_runs r where r.created_at < cutoff.at) as runs,
  (select count(*)::int from benchmark_metrics m join benchmark_runs r on r.id = m.run_id where r.created_at < cutoff.at) as metrics
from cutoff
`;

/**
 * One batch. SKIP LOCKED lets two pruners share the work; the points are counted in the same
 * snapshot as the runs they belong to, since a cascaded delete returns nothing of its own.
 */
const DELETE_OLD_BATCH_SQL = `
with doomed as (
  select id from benchmark_runs where created_at < $1::timestamptz order by created_at, id limit $2 for update skip locked
), counted as (
  select count(*)::int as metrics from benchmark_metrics where run_id in (select id from doomed)
), gone as (
  delete from benchmark_runs r using doomed where r.id = doomed.id returning r.id
)
select (select count(*)::int from gone) as runs, (select metrics from counted) as metrics
`;

export interface PruneProgress {
  /** Deleted so far. */
  runs: number;
  metrics: number;
  batches: number;
  /** Old runs when the prune started. */
  total: number;
}

export interface PruneOptions {
  olderThanDays: number;
  /** Runs per batch and transaction (default 1000). */
  batchSize?: number;
  dryRun?: boolean;
  /** Checked before every batch: abort to stop after the batch in flight. */
  signal?: AbortSignal;
  onProgress?: (p: PruneProgress) => void;
}

export interface PruneResult {
  cutoff: Date;
  dryRun: boolean;
  /** Old runs and their points when the prune started. */
  matched: { runs: number; metrics: number };
  deleted: { runs: number; metrics: number };
  batches: number;
  /** true when stopped by the signal before every old run was deleted. */
  interrupted: boolean;
}

export async function pruneRuns(pool: Pick<pg.Pool, 'connect' | 'query'>, opts: PruneOptions): Promise<PruneResult> {
  const days = opts.olderThanDays;
  if (!Number.isFinite(days) || days < 0 || days > 1_000_000) {
    throw new ValidationError([{ field: 'older-than', message: 'must be a number of days, 0 or more' }]);
  }
  const batchSize = opts.batchSize ?? 1000;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1 || batchSize > 1_000_000) {
    throw new ValidationError([{ field: 'batch-size', message: 'must be a whole number from 1 to 1000000' }]);
  }
  // The cutoff travels back as PostgreSQL text: a JS Date would drop its microseconds.
  const [count] = await run<{ cutoff: Date; cutoff_text: string; runs: number; metrics: number }>(pool, COUNT_OLD_SQL, [days]);
  if (!count) throw new Error('count returned nothing');
  const result: PruneResult = {
    cutoff: count.cutoff,
    dryRun: Boolean(opts.dryRun),
    matched: { runs: count.runs, metrics: count.metrics },
    deleted: { runs: 0, metrics: 0 },
    batches: 0,
    interrupted: false,
  };
  if (opts.dryRun || count.runs === 0) return result;

  for (;;) {
    if (opts.signal?.aborted) {
      result.interrupted = true;
      break;
    }
    const batch = await deleteBatch(pool, count.cutoff_text, batchSize);
    if (batch.runs === 0) break;
    result.batches++;
    result.deleted.runs += batch.runs;
    result.deleted.metrics += batch.metrics;
    opts.onProgress?.({ ...result.deleted, batches: result.batches, total: count.runs });
    if (batch.runs < batchSize) break;
  }
  return result;
}

async function deleteBatch(pool: Pick<pg.Pool, 'connect'>, cutoff: string, limit: number): Promise<{ runs: number; metrics: number }> {
  return withTransaction(pool, async (client) => {
    // LOCAL: the permission ends with this transaction, and no other statement on the pooled connection inherits it.
    await client.query(`set local eventix.benchmark_retention = 'on'`);
    const [row] = await run<{ runs: number; metrics: number }>(client, DELETE_OLD_BATCH_SQL, [cutoff, limit]);
    return row ?? { runs: 0, metrics: 0 };
  });
}
