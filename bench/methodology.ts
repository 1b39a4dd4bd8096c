import { MIXED_NAMES, MIXED_NAMESPACES, MIXED_TASKS } from './drivers/types.ts';
import type { Options } from './options.ts';
import { AUTOVACUUM_WAIT_MS } from './quiet.ts';
import { IO_MS, PROCESSES } from './scenarios.ts';

/**
 * How `npm run bench` measures: the one written definition. The JSON report carries it as is
 * (`methodology`), the table's caption fills in this run's numbers (runCaption), and the header of
 * bench/run.ts and README's Performance section point here.
 *
 * The phases run in this order: enqueue rounds for all systems, interleaved; then each system
 * alone, in its own fresh database, a warm-up (a small bulk batch and a few single submissions,
 * processed and discarded) and the throughput phase; then latency for all systems at once. These
 * are the `noop` scenario; the other shapes of work (--scenarios, bench/scenarios.ts) come last.
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
  quiet: `before every timed processing round (throughput, io, mixed, processes; not the warm-ups): VACUUM of every bench database (timed per database, summed over the run and reported as vacuumMs: the clean-up each system's rounds left, which no rate includes), CHECKPOINT (skipped when the role may not), then a wait, polled every 50 ms, until no autovacuum worker runs, at most ${AUTOVACUUM_WAIT_MS / 1000} s; so every round starts on vacuumed tables right after a checkpoint, whichever system ran before it (bench/quiet.ts)`,
  latency:
    'one job at a time to an idle worker: time from the submit call to the handler starting (same process, monotonic clock); all systems idle side by side and take turns in a random order each round; a uniform random pause of [0, gapMs) after each submission',
  exactlyOnce:
    'every job carries a benchmark id; the handler records it; each issued id (warm-up and every scenario included) must start exactly once',
  scenarios: {
    noop: 'the enqueue, throughput and latency phases above, of no-op jobs',
    io: `after noop, in each system's database: rounds rounds like the later throughput rounds (rotated order, one system at a time, N jobs or throughputJobs, one in-process worker at the given concurrency, the same timing), but each handler, after recording its id, awaits a timer of uniform random ${IO_MS.min}–${IO_MS.max} ms, a stand-in for I/O; a job counts as finished only once its timer has fired. pg-boss's batch handler runs its batch's jobs one after another, so every system has at most concurrency handlers (timers) in flight`,
    mixed: `after io: rounds rounds as for io, no-op handlers, but the jobs are a mixed queue: ${MIXED_TASKS.length} task names over ${MIXED_NAMESPACES.length} namespaces with priorities 0–2 (higher first), each job's three fixed by its id so that every combination is equally frequent (mixedJob in bench/drivers/types.ts), bulk-enqueued untimed, and one in-process worker at the given concurrency takes every name in every namespace. Where a system has no namespaces a job's namespace is part of its name: ${MIXED_NAMES.length} graphile-worker task identifiers in one runner (priority negated, its order being ascending), and ${MIXED_NAMES.length} pg-boss queues with one work() each, the concurrency split evenly among them, at least 1 each (work() takes one queue and pg-boss has no concurrency shared across queues: at concurrency 16, 15 handlers at once)`,
    processes: `after mixed: rounds rounds as for io, no-op jobs, but worked by ${PROCESSES} worker processes of the same system (node child processes, each one worker at the given concurrency, on the same database); they are spawned, set up, started and warmed up (warmup jobs, untimed) before the clock starts, as long-running workers of a distributed deployment are; the round's jobs are then bulk-enqueued while they run, and a round's rate = jobs / (the first enqueue call → all handlers ran, their ids reported to the parent over IPC in batches of ≤ 10 ms, and the database shows none unfinished)`,
    ratios: 'per scenario, the median over rounds of eventix / peer in the same round, as for processed/s',
  },
  ratioConvention: RATIO_CONVENTION,
} as const;

/** The table's caption: METHODOLOGY with this run's parameters in place of its names. */
export function runCaption(opts: Options): string {
  return (
    `N=${opts.n} no-op jobs, bulk-enqueued ${opts.batch} per call; enqueue/s: median of ${opts.enqueueRounds} interleaved rounds, each in a fresh database; processed/s: median of ${opts.rounds} interleaved rounds, one in-process worker per system, concurrency ${opts.concurrency}; ` +
    `latency: ${opts.latency} single submissions per system to idle workers, all systems' workers idling side by side and the submissions interleaved in a random order each round, submit call → handler start, random 0–${opts.gapMs} ms pause between`
  );
}

/** The caption of the shapes-of-work table: METHODOLOGY.scenarios with this run's parameters. */
export function scenarioCaption(opts: Options): string {
  const what: Record<string, string> = {
    io: `io = each handler then awaits a random ${IO_MS.min}–${IO_MS.max} ms timer, one in-process worker at concurrency ${opts.concurrency}`,
    mixed: `mixed = ${MIXED_TASKS.length} task names over ${MIXED_NAMESPACES.length} namespaces with priorities 0–2, no-op handlers, one in-process worker taking them all at concurrency ${opts.concurrency}`,
    processes: `processes = ${PROCESSES} worker processes, each one worker at concurrency ${opts.concurrency}`,
  };
  const shown = opts.scenarios.filter((s) => s !== 'noop').map((s) => what[s] ?? s);
  return `processed/s, median of ${opts.rounds} interleaved rounds per system, after the no-op phases in the same database; ${shown.join('; ')}`;
}

/** The last line of "How each system was driven": what every system shares. */
export const COMMON_DRIVING =
  "all: a round's processed/s = jobs / (worker start → every job finished in the database), the median of the rounds shown; handler logging silenced; each system in its own database, one after another, round after round";
