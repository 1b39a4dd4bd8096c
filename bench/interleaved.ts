// The phases that measure every system at once, each round visiting the systems in a random
// order, so that drift in the machine falls on all of them alike (see bench/methodology.ts).
import { performance } from 'node:perf_hooks';
import type pg from 'pg';
import { withDatabase } from './databases.ts';
import type { StopWorker } from './drivers/types.ts';
import { freshDatabase, live, releaseDatabase, startWorker } from './lifecycle.ts';
import { createDriver, type Options } from './options.ts';
import { enqueuePhase, oneSubmission, waitRemainingZero } from './phases.ts';
import { progress } from './progress.ts';
import { summarize } from './stats.ts';
import { databaseOf, type Run } from './system.ts';
import { sleep } from './wait.ts';

/** Ids for the enqueue rounds: their jobs never run (the database is dropped), so not the tracker's. */
let enqueueRoundId = 1_000_000_000;

/**
 * Bulk-enqueue rate of every system: R rounds, and in each every system, in a random order, gets a
 * fresh database, an untimed warm-up batch, and N jobs enqueued in batches, timed. Interleaving
 * spreads drift in the machine over all systems alike, as for latency. A system that fails is
 * left out of later rounds; its error is returned.
 */
export async function interleavedEnqueue(keys: readonly string[], serverUrl: string, admin: pg.Client, opts: Options) {
  const samples = new Map<string, number[]>(keys.map((k) => [k, []]));
  const errors = new Map<string, string>();
  progress(`\n== enqueue: ${opts.enqueueRounds} rounds of ${opts.n} jobs over ${keys.join(', ')}, in a random order each round`);
  for (let round = 0; round < opts.enqueueRounds; round++) {
    for (const key of keys.filter((k) => !errors.has(k)).sort(() => Math.random() - 0.5)) {
      const driver = createDriver(key);
      const dbName = databaseOf(key, '_enqueue');
      live.drivers.add(driver);
      try {
        await freshDatabase(admin, dbName);
        await driver.setup(withDatabase(serverUrl, dbName));
        const ids = (n: number) => Array.from({ length: n }, () => enqueueRoundId++);
        if (opts.warmup > 0) await enqueuePhase(driver, ids(Math.min(opts.warmup, opts.batch)), opts.batch, undefined);
        const seconds = await enqueuePhase(driver, ids(opts.n), opts.batch, undefined);
        samples.get(key)?.push(opts.n / seconds);
      } catch (err) {
        if (live.interrupted) throw err;
        errors.set(key, `enqueue: ${err instanceof Error ? err.message : String(err)}`);
        progress(`${driver.name}: FAILED: ${errors.get(key)}`);
      } finally {
        await driver.teardown().catch((err) => progress(`${driver.name}: teardown: ${(err as Error).message}`));
        live.drivers.delete(driver);
        if (!live.interrupted) await releaseDatabase(admin, dbName, '');
      }
    }
    const line = keys.map((k) => `${k} ${Math.round(samples.get(k)?.[round] ?? Number.NaN)}/s`).join(', ');
    progress(`enqueue: round ${round + 1}/${opts.enqueueRounds}: ${line}`);
  }
  return { samples, errors };
}

/**
 * Submit-to-start latency of every system at once: all workers idle side by side, and each round
 * sends one single submission to each system, in a random order. A system that stalls is marked
 * failed and leaves the rotation; the others go on.
 */
export async function interleavedLatency(runs: Run[], opts: Options): Promise<void> {
  const active = runs.filter((r) => r.result.ok);
  if (active.length === 0 || opts.latency === 0) return;
  progress(`\n== latency: ${opts.latency} rounds over ${active.map((r) => r.label).join(', ')}, in a random order each round`);
  const stops = new Map<Run, StopWorker>();
  const samples = new Map<Run, number[]>(active.map((r) => [r, []]));
  try {
    for (const r of active) stops.set(r, await startWorker(r.driver, opts.concurrency, r.tracker));
    // Let the workers settle into idle (LISTEN connected, first empty poll done).
    await sleep(1000);
    let lastReport = performance.now();
    for (let round = 0; round < opts.latency; round++) {
      const order = active.filter((r) => r.result.ok).sort(() => Math.random() - 0.5);
      if (order.length === 0) break;
      for (const r of order) {
        try {
          (samples.get(r) as number[]).push(await oneSubmission(r.driver, r.tracker, opts.stallMs));
        } catch (err) {
          if (live.interrupted) throw err;
          r.result.ok = false;
          r.result.error = `latency: ${err instanceof Error ? err.message : String(err)}`;
          progress(`${r.label}: FAILED: ${r.result.error}`);
        }
        // A random pause, so submissions do not fall at a fixed phase of any system's polling cycle.
        if (opts.gapMs > 0) await sleep(Math.random() * opts.gapMs);
      }
      if (performance.now() - lastReport > 2000) {
        lastReport = performance.now();
        progress(`latency: round ${round + 1}/${opts.latency}`);
      }
    }
    for (const r of active) {
      if (!r.result.ok) continue;
      await waitRemainingZero(r.driver, opts.stallMs);
      r.result.latency = { ...summarize(samples.get(r) as number[]), unit: 'ms', gapMs: opts.gapMs };
      const l = r.result.latency;
      progress(`${r.label}: latency p50 ${l.p50.toFixed(1)} ms, p95 ${l.p95.toFixed(1)} ms, p99 ${l.p99.toFixed(1)} ms`);
    }
  } finally {
    await Promise.allSettled([...stops.values()].map((stop) => stop()));
  }
}
