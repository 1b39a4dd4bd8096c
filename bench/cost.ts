/**
 * `npm run bench:cost`: what one job costs each system in CPU, split between the worker's process
 * (Node) and PostgreSQL. With 4 worker processes on this machine's 2 cores (the `processes`
 * scenario of `npm run bench`) the cores are busy throughout and the rate is set by CPU per job,
 * not by round trips: this measures that directly, and without the noise of a shared machine
 * deciding which system wins a round.
 *
 * Each round, for each system (the order rotated from round to round): a fresh database, --n no-op
 * jobs bulk-enqueued and VACUUM ANALYZE before the clock starts, then one in-process worker at
 * --concurrency drains them. Measured from the worker's start to its last handler:
 *   - Node: process.cpuUsage() of this process (the worker; the enqueue is over by then);
 *   - PostgreSQL: user + system CPU of every backend connected to the system's database, read from
 *     /proc/<pid>/stat at the start and the end (a backend that connects meanwhile counts from 0).
 *     This needs the server on this machine (the embedded one, or a local DATABASE_URL); otherwise
 *     it is reported as unavailable.
 *   - WAL: pg_current_wal_insert_lsn() at the start and the end, in bytes per job. It is the whole server's
 *     WAL, so another busy database on it counts too.
 * Per system the medians over the rounds; ratios peer / Eventix, so above 1 means Eventix spends less.
 *
 * Database: DATABASE_URL if set (databases bench_cost_<system>_<pid> there, dropped after each round), else a
 * throwaway embedded PostgreSQL with durable settings, as in bench/run.ts. Output: progress on
 * stderr, a table on stdout (or JSON with --json), JSON in bench/results/cost.json (--out). Exit
 * status: 0 done, 1 error, 2 bad arguments, 130 Ctrl-C (after dropping the databases).
 */
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { withDatabase } from './databases.ts';
import type { QueueDriver } from './drivers/types.ts';
import { cleanup, freshDatabase, installCrashGuard, live, onInterrupt, openServer, releaseDatabase } from './lifecycle.ts';
import { createDriver, SYSTEMS } from './options.ts';
import { progress } from './progress.ts';
import { withTimeout } from './wait.ts';

const HELP = `Usage: npm run bench:cost -- [options]

CPU per no-op job, one worker per system on a pre-filled queue: the worker's Node process and the
PostgreSQL backends, each in µs per job, and the WAL the server wrote per job, medians over
interleaved rounds.

  --systems <list>     comma-separated (default eventix,graphile-tuned); known: ${Object.keys(SYSTEMS).join(', ')}
  --n <count>          jobs per round (default 40000)
  --rounds <r>         rounds per system, interleaved (default 3)
  --concurrency <c>    handlers at once (default 16)
  --stall-s <s>        fail a round when no job runs for this long (default 60)
  --json               print the JSON instead of the table
  --out <file>         JSON output (default bench/results/cost.json)
  -h, --help
`;

class UsageError extends Error {}

interface Options {
  systems: string[];
  n: number;
  rounds: number;
  concurrency: number;
  stallMs: number;
  json: boolean;
  out: string;
}

function positive(raw: string | undefined, name: string, fallback: number): number {
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < 1) throw new UsageError(`--${name} must be a positive integer, got '${raw}'`);
  return v;
}

function parseOptions(argv: string[]): Options | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      systems: { type: 'string' },
      n: { type: 'string' },
      rounds: { type: 'string' },
      concurrency: { type: 'string' },
      'stall-s': { type: 'string' },
      json: { type: 'boolean' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) return 'help';
  const systems = (values.systems ?? 'eventix,graphile-tuned').split(',').map((s) => s.trim());
  const unknown = systems.filter((s) => !(s in SYSTEMS));
  if (unknown.length) throw new UsageError(`--systems: unknown ${unknown.join(', ')} (known: ${Object.keys(SYSTEMS).join(', ')})`);
  if (new Set(systems).size !== systems.length) throw new UsageError('--systems lists a system twice');
  return {
    systems,
    n: positive(values.n, 'n', 40_000),
    rounds: positive(values.rounds, 'rounds', 3),
    concurrency: positive(values.concurrency, 'concurrency', 16),
    stallMs: positive(values['stall-s'], 'stall-s', 60) * 1000,
    json: values.json ?? false,
    out: values.out ?? fileURLToPath(new URL('./results/cost.json', import.meta.url)),
  };
}

interface RoundCost {
  perSecond: number;
  nodeUsPerJob: number;
  /** null: the server's processes are not visible from here. */
  postgresUsPerJob: number | null;
  /** The server's WAL written during the round (pg_current_wal_insert_lsn), per job: the whole server's, so keep it quiet. */
  walBytesPerJob: number;
}

/** Clock ticks of user + system CPU of a process, or undefined once it is gone (or not ours to see). */
function processTicks(pid: number): number | undefined {
  try {
    // The command name may hold spaces and parentheses: the fields after the last ')' are fixed.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return undefined;
  }
}

// Linux reports /proc CPU in clock ticks of 1/100 s (USER_HZ), whatever the kernel's own rate.
const TICK_US = 10_000;

async function backendTicks(admin: pg.Client, database: string): Promise<Map<number, number>> {
  const { rows } = await admin.query<{ pid: number }>('select pid from pg_stat_activity where datname = $1', [database]);
  const out = new Map<number, number>();
  for (const { pid } of rows) {
    const t = processTicks(pid);
    if (t !== undefined) out.set(pid, t);
  }
  return out;
}

/**
 * WAL is what every commit waits to reach the disk: with 4 worker processes committing at once,
 * the WAL each job writes (row versions, index entries, locks) is time spent in WALSync and
 * WALWrite waits, not CPU, so it is reported beside the CPU.
 */
async function walLsn(admin: pg.Client): Promise<string> {
  return (await admin.query<{ lsn: string }>('select pg_current_wal_insert_lsn()::text as lsn')).rows[0]?.lsn ?? '0/0';
}

async function walBytesSince(admin: pg.Client, lsn: string): Promise<number> {
  const { rows } = await admin.query<{ b: string }>('select pg_wal_lsn_diff(pg_current_wal_insert_lsn(), $1::pg_lsn)::bigint::text as b', [
    lsn,
  ]);
  return Number(rows[0]?.b ?? 0);
}

async function costRound(key: string, serverUrl: string, admin: pg.Client, opts: Options): Promise<RoundCost> {
  const database = `bench_cost_${key.replaceAll('-', '_')}_${process.pid}`;
  await freshDatabase(admin, database);
  const driver: QueueDriver = createDriver(key);
  live.drivers.add(driver);
  try {
    const url = withDatabase(serverUrl, database);
    await driver.setup(url);
    for (let i = 0; i < opts.n; i += 1000) {
      await driver.enqueueBulk(Array.from({ length: Math.min(1000, opts.n - i) }, (_, j) => i + j));
    }
    // Settled like a table a queue has been running on: statistics current, no dead rows to walk.
    const vacuum = new pg.Client({ connectionString: url });
    await vacuum.connect();
    await vacuum.query('vacuum analyze').finally(() => vacuum.end());
    let done = 0;
    let lastJobAt = performance.now();
    let allDone!: () => void;
    const finished = new Promise<void>((resolve) => (allDone = resolve));
    const cpu0 = process.cpuUsage();
    const wall0 = performance.now();
    const stop = await driver.startWorker(opts.concurrency, () => {
      lastJobAt = performance.now();
      if (++done === opts.n) allDone();
    });
    live.stops.add(stop);
    // Backends the worker's pool opened while starting are in the first reading; later ones count from 0.
    const pg0 = await backendTicks(admin, database);
    const wal0 = await walLsn(admin);
    const stalled = new Promise<never>((_, reject) => {
      const timer = setInterval(() => {
        if (performance.now() - lastJobAt > opts.stallMs)
          reject(new Error(`${key}: no job ran for ${opts.stallMs / 1000} s (${done} of ${opts.n})`));
      }, 500);
      void finished.finally(() => clearInterval(timer));
    });
    await Promise.race([finished, stalled]);
    const wallMs = performance.now() - wall0;
    const cpu = process.cpuUsage(cpu0);
    const pg1 = await backendTicks(admin, database);
    const walBytes = await walBytesSince(admin, wal0);
    live.stops.delete(stop);
    await withTimeout(stop(), 30_000, `${key}: stopping the worker`);
    let ticks = 0;
    for (const [pid, t] of pg1) ticks += t - (pg0.get(pid) ?? 0);
    const visible = pg1.size > 0;
    return {
      perSecond: Math.round((opts.n / wallMs) * 1000),
      nodeUsPerJob: round1((cpu.user + cpu.system) / opts.n),
      postgresUsPerJob: visible ? round1((ticks * TICK_US) / opts.n) : null,
      walBytesPerJob: Math.round(walBytes / opts.n),
    };
  } finally {
    live.drivers.delete(driver);
    await driver.teardown();
    await releaseDatabase(admin, database, `${key}: `);
  }
}

const round1 = (v: number) => Math.round(v * 10) / 10;

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

interface SystemCost {
  system: string;
  name: string;
  rounds: RoundCost[];
  perSecond: number;
  nodeUsPerJob: number;
  postgresUsPerJob: number | null;
  totalUsPerJob: number | null;
  walBytesPerJob: number;
}

function summarizeSystem(key: string, name: string, rounds: RoundCost[]): SystemCost {
  const pgRounds = rounds.map((r) => r.postgresUsPerJob).filter((v): v is number => v !== null);
  const nodeUsPerJob = round1(median(rounds.map((r) => r.nodeUsPerJob)));
  const postgresUsPerJob = pgRounds.length === rounds.length ? round1(median(pgRounds)) : null;
  return {
    system: key,
    name,
    rounds,
    perSecond: Math.round(median(rounds.map((r) => r.perSecond))),
    nodeUsPerJob,
    postgresUsPerJob,
    totalUsPerJob: postgresUsPerJob === null ? null : round1(median(rounds.map((r) => r.nodeUsPerJob + (r.postgresUsPerJob ?? 0)))),
    walBytesPerJob: Math.round(median(rounds.map((r) => r.walBytesPerJob))),
  };
}

function table(results: SystemCost[]): string {
  const eventix = results.find((r) => r.system === 'eventix');
  const ratio = (peer: number | null, own: number | null | undefined) =>
    peer === null || own === null || own === undefined || own === 0 ? '—' : `${(peer / own).toFixed(2)}×`;
  const lines = [
    'system                          processed/s  Node µs/job  PostgreSQL µs/job  total µs/job  total vs Eventix  WAL B/job',
    '------------------------------  -----------  -----------  -----------------  ------------  ----------------  ---------',
  ];
  for (const r of results) {
    lines.push(
      [
        r.name.padEnd(30),
        r.perSecond.toLocaleString('en-US').padStart(11),
        r.nodeUsPerJob.toFixed(1).padStart(11),
        (r.postgresUsPerJob?.toFixed(1) ?? 'n/a').padStart(17),
        (r.totalUsPerJob?.toFixed(1) ?? 'n/a').padStart(12),
        (r.system === 'eventix' ? '' : ratio(r.totalUsPerJob, eventix?.totalUsPerJob)).padStart(16),
        r.walBytesPerJob.toLocaleString('en-US').padStart(9),
      ].join('  '),
    );
  }
  return `${lines.join('\n')}\n\n"total vs Eventix" = the peer's CPU per job / Eventix's: above 1, Eventix spends less.\n`;
}

async function main(): Promise<void> {
  let opts: Options | 'help';
  try {
    opts = parseOptions(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`bench:cost: ${(err as Error).message}\n\n${HELP}`);
    process.exit(2);
  }
  if (opts === 'help') {
    process.stdout.write(HELP);
    return;
  }
  installCrashGuard();
  onInterrupt();
  const server = await openServer();
  const names = new Map(opts.systems.map((k) => [k, createDriver(k).name]));
  const rounds = new Map<string, RoundCost[]>(opts.systems.map((k) => [k, []]));
  progress(
    `bench:cost: ${opts.systems.join(', ')}; ${opts.n} no-op jobs per round, ${opts.rounds} rounds, concurrency ${opts.concurrency}; ${server.description}`,
  );
  for (let round = 0; round < opts.rounds; round++) {
    const order = opts.systems.map((_, i) => opts.systems[(i + round) % opts.systems.length] as string);
    for (const key of order) {
      const r = await costRound(key, server.url, server.admin, opts);
      rounds.get(key)?.push(r);
      progress(
        `round ${round + 1}/${opts.rounds} ${names.get(key)}: ${r.perSecond}/s, Node ${r.nodeUsPerJob} µs/job, PostgreSQL ${r.postgresUsPerJob ?? 'n/a'} µs/job, WAL ${r.walBytesPerJob} B/job`,
      );
    }
  }
  const results = opts.systems.map((k) => summarizeSystem(k, names.get(k) ?? k, rounds.get(k) ?? []));
  const report = {
    date: new Date().toISOString(),
    node: process.version,
    database: server.description,
    settings: server.settings,
    n: opts.n,
    concurrency: opts.concurrency,
    results,
  };
  await mkdir(path.dirname(opts.out), { recursive: true });
  await writeFile(opts.out, `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : table(results));
  progress(`JSON: ${path.relative(process.cwd(), opts.out)}`);
}

main()
  .then(() => cleanup())
  .catch(async (err) => {
    // Ctrl-C tore the drivers down under a round: the interrupt's cleanup exits with 130.
    if (live.interrupted) return;
    progress(`bench:cost: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    await cleanup();
    process.exit(1);
  });
