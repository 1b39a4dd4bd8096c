// The command line of `npm run bench`: the systems it knows, its options and their defaults.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { EventixDriver } from './drivers/eventix.ts';
import { GraphileDriver } from './drivers/graphile.ts';
import { PgBossDriver } from './drivers/pgboss.ts';
import type { QueueDriver } from './drivers/types.ts';

export const SYSTEMS: Record<string, () => QueueDriver> = {
  eventix: () => new EventixDriver(),
  graphile: () => new GraphileDriver('default'),
  'graphile-tuned': () => new GraphileDriver('tuned'),
  pgboss: () => new PgBossDriver('default'),
  'pgboss-tuned': () => new PgBossDriver('tuned'),
};
/** A new driver for a key of SYSTEMS that parseOptions has checked. */
export const createDriver = (key: string): QueueDriver => (SYSTEMS[key] as () => QueueDriver)();

export const DEFAULT_SYSTEMS = ['eventix', 'graphile', 'graphile-tuned', 'pgboss', 'pgboss-tuned'];
/**
 * The shapes of work (bench/scenarios.ts): `noop`, the phases above the main table; `io`, handlers
 * that await a 1–5 ms timer; `mixed`, 5 task names over 3 namespaces with priorities; `processes`,
 * 4 worker processes. See METHODOLOGY.scenarios.
 */
export const SCENARIOS = ['noop', 'io', 'mixed', 'processes'];

/** The systems Eventix's ratios are reported against. */
export const PEERS_OF_RECORD = new Set(['graphile', 'graphile-tuned', 'pgboss', 'pgboss-tuned']);

export const HELP = `Usage: npm run bench -- [options]      (or: npx tsx bench/run.ts [options])

  --n <count>            jobs in the throughput test (default 20000, or BENCH_N)
  --concurrency <c>      handlers at once in the single worker of each system (default 16)
  --batch <size>         jobs per bulk-enqueue call (default 1000)
  --enqueue-rounds <r>   interleaved bulk-enqueue rounds of N jobs per system, each in a fresh database (default 5)
  --rounds <r>           throughput rounds per system, interleaved: every system runs round 1, then round 2 in a
                         rotated order, and so on; processed/s and its ratios are medians over the rounds (default 3)
  --latency <count>      latency rounds: one timed single submission per system each, systems interleaved (default 500)
  --gap-ms <ms>          max random pause between latency submissions; uniform in [0, gap) (default 200)
  --warmup <count>       warm-up jobs per system, discarded (default 500)
  --systems <list>       comma-separated, in order (default ${DEFAULT_SYSTEMS.join(',')})
                         known: ${Object.keys(SYSTEMS).join(', ')}
  --scenarios <list>     shapes of work, comma-separated, noop first (default ${SCENARIOS.join(',')}): noop = the
                         phases above; io = each handler then awaits a random 1–5 ms timer; mixed = no-op jobs of
                         5 task names over 3 namespaces with 3 priorities, one worker taking them all; processes =
                         4 worker processes of the system at --concurrency each; --rounds rounds each, after noop's
  --stall-s <s>          fail a phase when no job starts for this long (default 120)
  --out <file>           JSON output (default bench/results/latest.json)
  --keep-dbs             keep the bench_* databases (DATABASE_URL only; embedded data is always removed)
  -h, --help

Database: DATABASE_URL if set (each system gets a fresh database bench_<system> on that server,
dropped afterwards); otherwise a throwaway embedded PostgreSQL with durable settings.

  --soak                 instead of the comparison: Eventix alone steady at a large backlog (bench/soak.ts)
  --soak-n <count>       tasks waiting and tasks pushed through in --soak (default 1000000)

  --no-determine         skip the last phase, bench/determine.ts (determine on a 10,000-commit repository)
  --http-s <n>           seconds of POST /tasks load on Eventix's HTTP API, at --concurrency connections (default 10; 0 skips)

Commit tracking: \`npm run bench:determine\` times determine on a generated 10,000-commit repository.`;

export interface Options {
  n: number;
  concurrency: number;
  batch: number;
  enqueueRounds: number;
  rounds: number;
  latency: number;
  gapMs: number;
  warmup: number;
  systems: string[];
  /** SCENARIOS to run, `noop` first. */
  scenarios: string[];
  stallMs: number;
  out: string;
  keepDbs: boolean;
  httpSeconds: number;
  determine: boolean;
  soak: boolean;
  soakN: number;
}

/** Bad arguments: main() prints the message and HELP, and exits 2. */
export class UsageError extends Error {}

function positiveInt(name: string, raw: string | undefined, fallback: number, min = 1): number {
  if (raw === undefined || raw === '') return fallback;
  const v = Number(raw.replaceAll('_', ''));
  if (!Number.isInteger(v) || v < min) throw new UsageError(`${name} must be an integer ≥ ${min} (got ${JSON.stringify(raw)})`);
  return v;
}

function parseScenarios(raw: string | undefined): string[] {
  const scenarios = (raw ?? SCENARIOS.join(','))
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  const unknown = scenarios.filter((s) => !SCENARIOS.includes(s));
  if (unknown.length) throw new UsageError(`unknown scenario(s): ${unknown.join(', ')} (known: ${SCENARIOS.join(', ')})`);
  if (scenarios.length === 0) throw new UsageError('--scenarios is empty');
  if (new Set(scenarios).size !== scenarios.length) throw new UsageError('--scenarios lists a scenario twice');
  // The others run in the databases noop's phases set up and warmed.
  if (scenarios[0] !== 'noop') throw new UsageError('--scenarios must start with noop');
  return scenarios;
}

export function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      n: { type: 'string' },
      concurrency: { type: 'string' },
      batch: { type: 'string' },
      'enqueue-rounds': { type: 'string' },
      rounds: { type: 'string' },
      latency: { type: 'string' },
      'gap-ms': { type: 'string' },
      warmup: { type: 'string' },
      systems: { type: 'string' },
      scenarios: { type: 'string' },
      'stall-s': { type: 'string' },
      out: { type: 'string' },
      'http-s': { type: 'string' },
      'no-determine': { type: 'boolean' },
      soak: { type: 'boolean', default: false },
      'soak-n': { type: 'string' },
      'keep-dbs': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    console.log(HELP);
    process.exit(0);
  }
  const systems = (values.systems ?? DEFAULT_SYSTEMS.join(','))
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  const unknown = systems.filter((s) => !SYSTEMS[s]);
  if (unknown.length) throw new UsageError(`unknown system(s): ${unknown.join(', ')} (known: ${Object.keys(SYSTEMS).join(', ')})`);
  if (systems.length === 0) throw new UsageError('--systems is empty');
  if (new Set(systems).size !== systems.length) throw new UsageError('--systems lists a system twice');
  const scenarios = parseScenarios(values.scenarios);
  const here = path.dirname(fileURLToPath(import.meta.url));
  return {
    n: positiveInt('--n', values.n ?? process.env.BENCH_N, 20_000),
    concurrency: positiveInt('--concurrency', values.concurrency, 16),
    batch: positiveInt('--batch', values.batch, 1000),
    enqueueRounds: positiveInt('--enqueue-rounds', values['enqueue-rounds'], 5),
    rounds: positiveInt('--rounds', values.rounds, 3),
    latency: positiveInt('--latency', values.latency, 500),
    gapMs: positiveInt('--gap-ms', values['gap-ms'], 200, 0),
    warmup: positiveInt('--warmup', values.warmup, 500, 0),
    systems,
    scenarios,
    stallMs: positiveInt('--stall-s', values['stall-s'], 120) * 1000,
    out: path.resolve(values.out ?? path.join(here, 'results', 'latest.json')),
    keepDbs: values['keep-dbs'] ?? false,
    httpSeconds: positiveInt('--http-s', values['http-s'], 10, 0),
    determine: !values['no-determine'],
    soak: values.soak ?? false,
    soakN: positiveInt('--soak-n', values['soak-n'], 1_000_000, 100_000),
  };
}
