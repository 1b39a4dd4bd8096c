import type { Options } from './options.ts';

/**
 * How `npm run bench` measures: the one written definition. The JSON report carries it as is
 * (`methodology`), the table's caption fills in this run's numbers (runCaption), and the header of
 * bench/run.ts and README's Performance section point here.
 *
 * The phases run in this order: enqueue rounds for all systems, interleaved; then each system
 * alone, in its own fresh database, a warm-up (a small bulk batch and a few single submissions,
 * processed and discarded) and the throughput phase; then latency for all systems at once.
 *
 * Why interleave: one timed enqueue lasts under half a second, and single measurements of the same
 * code moved by ±20 % between runs; measured one system after another, the same code's latency p50
 * moved by 25 %. Interleaved in a random order each round, drift in the machine (fsync times, CPU
 * frequency, autovacuum) falls on every system alike.
 */
export const RATIO_CONVENTION =
  'ratios compare Eventix with each peer so that > 1 always means Eventix is better: throughput ratio = eventix / peer (enqueue/s, processed/s); latency ratio = peer / eventix (p50, p95, p99)';

export const METHODOLOGY = {
  enqueue:
    'enqueueRounds rounds; in each, every system in a random order gets a fresh database, an untimed warm-up batch, then N no-op jobs bulk-enqueued in batches (timed); enqueue/s is the median of the rounds (all rates in samples)',
  throughput:
    "rounds rounds; in each, every system in turn (rotated each round; no other system working meanwhile) bulk-enqueues N no-op jobs (untimed; fewer for a system that declares throughputJobs), then starts one in-process worker with the given concurrency; a round's rate = jobs / (worker start → all its handlers ran and the database shows none unfinished); processed/s is the median of the rounds, and each processed/s ratio the median over rounds of the two systems' rates in the same round. Round 1 runs in a fresh database after a warm-up; later rounds in the same database, its finished rows kept",
  latency:
    'one job at a time to an idle worker: time from the submit call to the handler starting (same process, monotonic clock); all systems idle side by side and take turns in a random order each round; a uniform random pause of [0, gapMs) after each submission',
  exactlyOnce: 'every job carries a benchmark id; the handler records it; each issued id (warm-up included) must start exactly once',
  ratioConvention: RATIO_CONVENTION,
} as const;

/** The table's caption: METHODOLOGY with this run's parameters in place of its names. */
export function runCaption(opts: Options): string {
  return (
    `N=${opts.n} no-op jobs, bulk-enqueued ${opts.batch} per call; enqueue/s: median of ${opts.enqueueRounds} interleaved rounds, each in a fresh database; processed/s: median of ${opts.rounds} interleaved rounds, one in-process worker per system, concurrency ${opts.concurrency}; ` +
    `latency: ${opts.latency} single submissions per system to idle workers, all systems' workers idling side by side and the submissions interleaved in a random order each round, submit call → handler start, random 0–${opts.gapMs} ms pause between`
  );
}

/** The last line of "How each system was driven": what every system shares. */
export const COMMON_DRIVING =
  "all: a round's processed/s = jobs / (worker start → every job finished in the database), the median of the rounds shown; handler logging silenced; each system in its own database, one after another, round after round";
