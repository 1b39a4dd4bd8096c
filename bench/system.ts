// One system's run: fresh database, warm-up and throughput, and at the end teardown and the
// exactly-once verdict. The latency phase (bench/interleaved.ts) runs between the two.
import type pg from 'pg';
import { withDatabase } from './databases.ts';
import type { QueueDriver } from './drivers/types.ts';
import { Tracker } from './exactly-once.ts';
import { freshDatabase, live, releaseDatabase } from './lifecycle.ts';
import { createDriver, type Options } from './options.ts';
import { enqueuePhase, latencyPhase, processPhase } from './phases.ts';
import { progress } from './progress.ts';
import { type LatencySummary, summarize } from './stats.ts';

/** One system's entry in the report (latest.json's `results`). */
export interface SystemResult {
  key: string;
  name: string;
  ok: boolean;
  error?: string;
  /** perSecond: the median of the rounds' rates. */
  enqueue?: { jobs: number; batch: number; rounds: number; perSecond: number; samples: number[] };
  /** perSecond: the median of the rounds' rates (each round's in samples); jobs, seconds…: of the first round. */
  process?: { jobs: number; seconds: number; perSecond: number; firstStartMs: number; allStartedSeconds: number; samples: number[] };
  latency?: LatencySummary & { unit: 'ms'; gapMs: number };
  exactlyOnce?: { issued: number; missing: number; duplicates: number; unexpected: number; ok: boolean; examples: unknown };
  /** The shapes of work after noop, by name (bench/scenarios.ts): perSecond is the median of samples. */
  scenarios?: Record<string, { jobs: number; perSecond: number; samples: number[] }>;
  notes: readonly string[];
  config: Readonly<Record<string, unknown>>;
}

/** A system between its throughput phase and its teardown: still set up, its database still there. */
export interface Run {
  key: string;
  label: string;
  driver: QueueDriver;
  tracker: Tracker;
  dbName: string;
  result: SystemResult;
}

/** The database a system's phase runs in: bench_<system>, with a suffix for the enqueue rounds'. */
export const databaseOf = (key: string, suffix = '') => `bench_${key.replaceAll('-', '_')}${suffix}`;

/** Fresh database, warm-up and throughput. The system stays set up for the latency phase. */
export async function throughputOf(key: string, serverUrl: string, admin: pg.Client, opts: Options): Promise<Run> {
  const driver = createDriver(key);
  const label = driver.name;
  const tracker = new Tracker(label);
  const dbName = databaseOf(key);
  const result: SystemResult = { key, name: driver.name, ok: false, notes: driver.notes, config: driver.config };
  const run: Run = { key, label, driver, tracker, dbName, result };
  live.drivers.add(driver);
  try {
    progress(`\n== ${label}: fresh database ${dbName}`);
    await freshDatabase(admin, dbName);
    await driver.setup(withDatabase(serverUrl, dbName));

    if (opts.warmup > 0) {
      progress(`${label}: warm-up (${opts.warmup} bulk jobs, 10 single submissions)`);
      const warm = tracker.issue(opts.warmup);
      await enqueuePhase(driver, warm, opts.batch, undefined);
      await processPhase(driver, tracker, warm, opts, undefined, { quiet: false });
      await latencyPhase(driver, tracker, 10, Math.min(opts.gapMs, 50), opts);
    }

    // The enqueue rate was measured in its own interleaved rounds (interleavedEnqueue).
    const jobs = jobsPerRound(driver, opts);
    const ids = tracker.issue(jobs);
    await enqueuePhase(driver, ids, opts.batch, label);

    const proc = await processPhase(driver, tracker, ids, opts, label);
    const rate = jobs / proc.seconds;
    result.process = { jobs, ...proc, perSecond: rate, samples: [rate] };
    progress(`${label}: processed ${Math.round(rate)}/s (round 1)`);
    result.ok = true;
  } catch (err) {
    if (live.interrupted) throw err;
    result.error = err instanceof Error ? err.message : String(err);
    progress(`${label}: FAILED: ${result.error}`);
  }
  return run;
}

export const jobsPerRound = (driver: QueueDriver, opts: Options) => Math.min(opts.n, driver.throughputJobs ?? opts.n);

/**
 * A further throughput round in the system's database: enqueue a fresh set of jobs (untimed) and
 * time a new worker through them. Earlier rounds' finished rows stay, as they would in production.
 */
export async function throughputRound(run: Run, opts: Options, round: number): Promise<void> {
  const { driver, label, tracker, result } = run;
  if (!result.ok || !result.process) return;
  try {
    const jobs = jobsPerRound(driver, opts);
    const ids = tracker.issue(jobs);
    await enqueuePhase(driver, ids, opts.batch, undefined);
    const proc = await processPhase(driver, tracker, ids, opts, undefined);
    const rate = jobs / proc.seconds;
    result.process.samples.push(rate);
    result.process.perSecond = summarize(result.process.samples).p50;
    progress(`${label}: processed ${Math.round(rate)}/s (round ${round})`);
  } catch (err) {
    if (live.interrupted) throw err;
    result.ok = false;
    result.error = err instanceof Error ? err.message : String(err);
    progress(`${label}: FAILED in round ${round}: ${result.error}`);
  }
}

/** Stop, drop the database and check that every job ran exactly once. */
export async function finish(run: Run, admin: pg.Client, opts: Options): Promise<SystemResult> {
  const { driver, label, dbName, tracker, result } = run;
  result.config = driver.config;
  await driver.teardown().catch((err) => progress(`${label}: teardown: ${(err as Error).message}`));
  live.drivers.delete(driver);
  if (!live.interrupted && (!opts.keepDbs || live.server)) {
    await releaseDatabase(admin, dbName, `${label}: `);
  }

  // Give a straggler (a duplicate delivery after stop, say) no chance to go unseen: verify last.
  const v = tracker.verify();
  const exactlyOk = v.missing.length === 0 && v.duplicates.length === 0 && v.unexpected.length === 0;
  result.exactlyOnce = {
    issued: v.issued,
    missing: v.missing.length,
    duplicates: v.duplicates.length,
    unexpected: v.unexpected.length,
    ok: exactlyOk,
    examples: { missing: v.missing.slice(0, 20), duplicates: v.duplicates.slice(0, 20), unexpected: v.unexpected.slice(0, 20) },
  };
  // Ids are issued as jobs are submitted, so "never started" is meaningful even after a failure.
  if (!exactlyOk) {
    const what = `exactly-once violated: ${v.missing.length} never started, ${v.duplicates.length} started twice or more, ${v.unexpected.length} never issued`;
    result.error = result.ok || !result.error ? what : `${result.error}; ${what}`;
    result.ok = false;
    progress(`${label}: ${what}`);
    const show = <T>(what: string, items: T[], fmt: (x: T) => string) => {
      if (items.length) progress(`  ${what} (${items.length}, first 20): ${items.slice(0, 20).map(fmt).join(', ')}`);
    };
    show('never started', v.missing, String);
    show('started more than once', v.duplicates, (d) => `${d.id}×${d.count}`);
    show('never issued', v.unexpected, (u) => JSON.stringify(u));
  }
  return result;
}
