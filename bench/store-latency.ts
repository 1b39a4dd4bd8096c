/**
 * `npm run bench:store`: per-operation latency of the store's read and write paths (the ones the
 * importers, the HTTP API and the results store call), against the target p99 < --target-ms (100).
 *
 * For every --records N and --clients C, in a fresh migrated database of its own:
 *   1. single insert: pushResults of one run with 3 metric points per call; submit of one task per call;
 *   2. batch insert: pushResults of N runs (3 points each) in one push; submitNormalized of N tasks,
 *      normalized before the clock starts (as POST /tasks/batch does after its schema check);
 *   3. lookup by key: getTask by uid; listRuns by repo + sha + config (GET /benchmarks/runs; the store
 *      has no read of one run by uid); queryCommits of one (repo, sha, config) pair (GET /commits);
 *   4. series read: metricSeries (GET /benchmarks/series) of one metric over --series-commits commits
 *      of another repository, stored first and untimed: a generated git repository (git fast-import),
 *      its commits marked complete with markCommits, one run per commit pushed; then ANALYZE.
 * The keys looked up are the ones steps 1 and 2 stored (and step 4 seeded), picked at random.
 *
 * C clients run each operation at once, each on a connection of its own (a pool of one connection,
 * so each call takes the path production takes through a pool), in a Promise.all of loops. Every
 * call is timed with process.hrtime. Per-record operations make --samples calls per cell in all,
 * split over the clients; batches --batches; series reads --series-samples. --warmup calls per client
 * before each operation (one per client for batches) are discarded.
 *
 * Database: DATABASE_URL if set (a database bench_store_<pid> on that server, recreated per cell and
 * dropped afterwards), else a throwaway embedded PostgreSQL with durable settings (fsync and
 * synchronous_commit on, as in bench/run.ts: commits are part of what a write costs).
 * Output: progress on stderr, a table per operation on stdout (or the JSON with --json), JSON in
 * bench/results/store-latency.json (--out). Exit status: 0 done (whatever the verdicts), 1 error,
 * 2 bad arguments, 130 Ctrl-C (after dropping the database and stopping embedded PostgreSQL).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type pg from 'pg';
import { createDatabase, type Database } from '../src/db/client.ts';
import { migrate } from '../src/db/migrate.ts';
import { runImport } from '../src/imports/run.ts';
import type { TaskState } from '../src/imports/targets/tasks.ts';
import type { ImportSource, SourceItem } from '../src/imports/types.ts';
import { getTask } from '../src/queue/get.ts';
import { MAX_BATCH, submit, submitNormalized } from '../src/queue/submit.ts';
import { normalizeSubmit } from '../src/queue/submit-input.ts';
import { markCommits } from '../src/tracking/commits.ts';
import { queryCommits } from '../src/tracking/commits-read.ts';
import { MAX_RUNS } from '../src/tracking/formats/normalized.ts';
import { pushResults } from '../src/tracking/ingest.ts';
import { listRuns } from '../src/tracking/runs.ts';
import { metricSeries } from '../src/tracking/series.ts';
import { withDatabase } from './databases.ts';
import { Rng } from './detect/rng.ts';
import { linearHistory } from './git-history.ts';
import { exitOnInterrupt } from './interrupt.ts';
import { freshDatabase, installCrashGuard, live, openServer, releaseDatabase, cleanup as releaseServer } from './lifecycle.ts';
import { progress } from './progress.ts';
import { type LatencySummary, summarize } from './stats.ts';
import { withTimeout } from './wait.ts';

const HELP = `Usage: npm run bench:store -- [options]

  --records <list>        record counts N, comma-separated: the batch size, and what the store holds (default 100,500,1000)
  --clients <list>        concurrent clients C, comma-separated, each on a connection of its own (default 1,5)
  --samples <n>           calls per cell of each per-record operation, over all clients (default 1000)
  --batches <n>           batches per cell of each batch insert, over all clients (default 50)
  --series-commits <n>    commits in the series read (default 1000)
  --series-samples <n>    series reads per cell, over all clients (default 200)
  --warmup <n>            discarded calls per client before each operation (default 10; one batch)
  --target-ms <ms>        the p99 each operation must stay under (default 100)
  --out <file>            JSON output (default bench/results/store-latency.json)
  --json                  print the JSON on stdout instead of the tables
  -h, --help

Database: DATABASE_URL if set (a database bench_store_<pid> on that server, recreated for every cell
and dropped afterwards), else a throwaway embedded PostgreSQL with fsync and synchronous_commit on.`;

class UsageError extends Error {}

interface Options {
  records: number[];
  clients: number[];
  samples: number;
  batches: number;
  seriesCommits: number;
  seriesSamples: number;
  warmup: number;
  targetMs: number;
  out: string;
  json: boolean;
}

function integer(name: string, raw: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const v = Number(raw.replaceAll('_', ''));
  if (!Number.isInteger(v) || v < min || v > max)
    throw new UsageError(`${name} must be an integer from ${min} to ${max} (got ${JSON.stringify(raw)})`);
  return v;
}

function list(name: string, raw: string, max: number): number[] {
  const values = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => integer(name, s, 1, max));
  if (values.length === 0) throw new UsageError(`${name} is empty`);
  return [...new Set(values)];
}

function parseOptions(argv: string[]): Options | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      records: { type: 'string', default: '100,500,1000' },
      clients: { type: 'string', default: '1,5' },
      samples: { type: 'string', default: '1000' },
      batches: { type: 'string', default: '50' },
      'series-commits': { type: 'string', default: '1000' },
      'series-samples': { type: 'string', default: '200' },
      warmup: { type: 'string', default: '10' },
      'target-ms': { type: 'string', default: '100' },
      out: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return 'help';
  return {
    // A push holds at most MAX_RUNS runs, a batch of tasks MAX_BATCH.
    records: list('--records', values.records, Math.min(MAX_RUNS, MAX_BATCH)),
    clients: list('--clients', values.clients, 100),
    samples: integer('--samples', values.samples, 1),
    batches: integer('--batches', values.batches, 1),
    seriesCommits: integer('--series-commits', values['series-commits'], 1, 100_000),
    seriesSamples: integer('--series-samples', values['series-samples'], 1),
    warmup: integer('--warmup', values.warmup, 0),
    targetMs: integer('--target-ms', values['target-ms'], 1),
    out: path.resolve(values.out ?? fileURLToPath(new URL('./results/store-latency.json', import.meta.url))),
    json: values.json,
  };
}

// ---------------------------------------------------------------------------------------------
// What is stored

const STORE_REPO = 'bench/store';
const SERIES_REPO = 'bench/series';
const SERIES_METRIC = 'rps';
const CONFIG = { clients: 50, pipeline: 1, data_size: 16, tls: false };
const ENVIRONMENT = { hostname: 'bench-1', kernel: '6.8.0', cores: 2 };
const TASK = 'bench.store';

const newSha = () => randomBytes(20).toString('hex');

/** A run as an importer pushes it: one config, three metric points (throughput and two latencies). */
function runDoc(repo: string, sha: string, rng: Rng, startedAt?: string) {
  const tags = { command: 'SET' };
  return {
    repo,
    sha,
    branch: 'main',
    config: CONFIG,
    architecture: 'x86_64',
    environment: ENVIRONMENT,
    ...(startedAt ? { started_at: startedAt } : {}),
    metrics: [
      { name: SERIES_METRIC, value: Math.round(rng.uniform(170_000, 190_000)), unit: 'req/s', direction: 'higher', tags },
      { name: 'latency_p50_ms', value: rng.uniform(0.2, 0.3), unit: 'ms', direction: 'lower', tags },
      { name: 'latency_p99_ms', value: rng.uniform(0.8, 1.2), unit: 'ms', direction: 'lower', tags },
    ],
  };
}
const METRICS_PER_RUN = 3;

const taskInput = (i: number) => ({ task: TASK, args: [i], kwargs: { source: 'bench:store' } });

/** A task as an importer maps it (src/imports/targets/tasks.ts), waiting and due in the future. */
function importItem(uid: string, seq: number): SourceItem {
  const now = new Date().toISOString();
  const state: TaskState = {
    task: 'bench.imported',
    namespace: 'bench',
    status: 'scheduled',
    priority: 0,
    eta: '2099-01-01T00:00:00.000Z',
    args: [seq],
    kwargs: {},
    unique_key: null,
    retry: true,
    max_retries: 5,
    error_eta_inc: 15,
    error_eta_max: 300,
    store_result: true,
    result_expires: 604800,
    error_expires: null,
    result: null,
    error: null,
    expires_at: null,
    operator: 'bench',
    created_at: now,
    updated_at: now,
    finished_at: null,
  };
  return { kind: 'task', path: `bench[${seq}]`, key: uid, state };
}

/** An in-memory legacy store: the import path without a second database in the timing. */
function memorySource(sourceKey: string, items: SourceItem[]): ImportSource {
  return {
    name: 'bench',
    sourceKey,
    options: {},
    count: async () => items.length,
    async *batches() {
      for (let i = 0; i < items.length; i += 500) yield items.slice(i, i + 500);
    },
    close: async () => undefined,
  };
}

// ---------------------------------------------------------------------------------------------
// Timing

/** The operations, in the order they run and are reported. */
const OPS = [
  { key: 'push_one', group: 'single insert', title: 'pushResults, 1 run × 3 metric points per call', short: 'push 1 run' },
  { key: 'submit_one', group: 'single insert', title: 'submit, 1 task per call', short: 'submit 1 task' },
  {
    key: 'push_batch',
    group: 'batch insert',
    title: 'pushResults, N runs × 3 metric points in one push',
    short: 'push N runs',
    batch: true,
  },
  { key: 'submit_batch', group: 'batch insert', title: 'submitNormalized, N tasks in one batch', short: 'submit N tasks', batch: true },
  {
    key: 'import_batch',
    group: 'batch insert',
    title: "runImport of N tasks (the importers' path: compare, write, ledger, one transaction)",
    short: 'import N tasks',
    batch: true,
  },
  { key: 'get_task', group: 'lookup by key', title: 'getTask by uid', short: 'task by uid' },
  {
    key: 'get_run',
    group: 'lookup by key',
    title: 'listRuns by repo + sha + config (GET /benchmarks/runs)',
    short: 'run by repo+sha+config',
  },
  {
    key: 'commit_status',
    group: 'lookup by key',
    title: 'queryCommits of one (repo, sha, config) pair (GET /commits)',
    short: 'commit status',
  },
  {
    key: 'series',
    group: 'series read',
    title: 'metricSeries, one metric over the seeded commits (GET /benchmarks/series)',
    short: 'series',
  },
] as const;
type OpKey = (typeof OPS)[number]['key'];

/** One call: made ready (its document built, its key picked) by `prepare`, then timed alone. */
type Prepare = (db: Database, client: number) => () => Promise<unknown>;

class Interrupted extends Error {}

const elapsedMs = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;

/**
 * Warm-up, then `perClient` timed calls on every client at once. Each client's loop awaits its own
 * calls one after another; the clients run side by side. Returns every call's latency in ms.
 */
async function timed(clients: readonly Database[], perClient: number, warmup: number, prepare: Prepare): Promise<number[]> {
  const loop = (count: number, record: ((ms: number) => void) | undefined) =>
    Promise.all(
      clients.map(async (db, i) => {
        for (let k = 0; k < count; k++) {
          if (live.interrupted) throw new Interrupted('interrupted');
          const call = prepare(db, i);
          const t0 = process.hrtime.bigint();
          await call();
          record?.(elapsedMs(t0));
        }
      }),
    );
  await loop(warmup, undefined);
  const samples: number[] = [];
  await loop(perClient, (ms) => samples.push(ms));
  return samples;
}

interface OpResult {
  /** Timed calls, over all clients. */
  count: number;
  /** Milliseconds per call (per batch, for the batch inserts). */
  ms: LatencySummary;
  /** Batch inserts: the same divided by the records in a batch. */
  perRecordMs?: { p50: number; p95: number; p99: number; max: number };
  pass: boolean;
}

interface Cell {
  records: number;
  clients: number;
  ops: Partial<Record<OpKey, OpResult>>;
  /** What the store held when the cell ended. */
  rows: Record<string, number>;
}

const fmtMs = (v: number | undefined) =>
  v === undefined || !Number.isFinite(v) ? '—' : v < 1 ? v.toFixed(3) : v < 10 ? v.toFixed(2) : v.toFixed(1);
const round = (v: number, digits = 3) => Math.round(v * 10 ** digits) / 10 ** digits;

function result(samples: number[], targetMs: number, records?: number): OpResult {
  const ms = summarize(samples);
  const out: OpResult = { count: ms.samples, ms, pass: ms.p99 < targetMs };
  if (records !== undefined) {
    out.perRecordMs = { p50: ms.p50 / records, p95: ms.p95 / records, p99: ms.p99 / records, max: ms.max / records };
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// One cell: N records, C clients, a fresh database

const state = {
  /** The cell's client pools, closed by cleanup if Ctrl-C comes mid-cell. */
  clients: [] as Database[],
  repoDir: undefined as string | undefined,
  cleaning: undefined as Promise<void> | undefined,
};

async function closeClients(): Promise<void> {
  const clients = state.clients.splice(0);
  await Promise.allSettled(clients.map((c) => c.close()));
}

async function runCell(
  serverUrl: string,
  admin: pg.Client,
  opts: Options,
  records: number,
  clientCount: number,
  repo: { dir: string; shas: string[] },
): Promise<Cell> {
  const label = `[N=${records} C=${clientCount}]`;
  const dbName = `bench_store_${process.pid}`;
  progress(`\n${label} fresh database ${dbName}`);
  await freshDatabase(admin, dbName);
  const url = withDatabase(serverUrl, dbName);
  state.clients = Array.from({ length: clientCount }, (_, i) =>
    createDatabase({ url, max: 1, applicationName: `eventix-bench-store-${i}` }),
  );
  const clients = state.clients;
  const first = clients[0] as Database;
  await migrate(first.pool);

  const cell: Cell = { records, clients: clientCount, ops: {}, rows: {} };
  const rng = new Rng(20_260_101 + records * 1000 + clientCount);
  const perClient = (total: number) => Math.ceil(total / clientCount);
  const taskUids: string[] = [];
  const runShas: string[] = [];
  let configId = 0;
  let taskSeq = 0;

  const measure = async (key: OpKey, total: number, warmup: number, prepare: Prepare, batchRecords?: number) => {
    const op = OPS.find((o) => o.key === key) as (typeof OPS)[number];
    const n = perClient(total);
    progress(`${label} ${op.group}: ${op.title}: ${n * clientCount} timed calls (${n} per client) after ${warmup} per client…`);
    const r = result(await timed(clients, n, warmup, prepare), opts.targetMs, batchRecords);
    cell.ops[key] = r;
    progress(
      `${label}   p50 ${fmtMs(r.ms.p50)} ms, p99 ${fmtMs(r.ms.p99)} ms, max ${fmtMs(r.ms.max)} ms: ${r.pass ? 'PASS' : 'FAIL'}` +
        (r.perRecordMs ? ` (p99 ${fmtMs(r.perRecordMs.p99)} ms per record)` : ''),
    );
  };

  // 1. Single inserts.
  await measure('push_one', opts.samples, opts.warmup, (db) => {
    const sha = newSha();
    const data = { format: 'eventix', version: 1, runs: [runDoc(STORE_REPO, sha, rng)] };
    return async () => {
      const pushed = await pushResults(db.pool, { data });
      const run = pushed.runs[0];
      if (pushed.runs.length !== 1 || pushed.metrics !== METRICS_PER_RUN || !run?.config) throw new Error('push stored something else');
      configId = run.config.id;
      runShas.push(sha);
    };
  });
  await measure('submit_one', opts.samples, opts.warmup, (db) => {
    const input = taskInput(taskSeq++);
    return async () => {
      const { task, created } = await submit(db.pool, input);
      if (!created) throw new Error('submit merged a task that has no unique key');
      taskUids.push(task.uid);
    };
  });

  // 2. Batch inserts.
  await measure(
    'push_batch',
    opts.batches,
    Math.min(opts.warmup, 1),
    (db) => {
      const shas = Array.from({ length: records }, newSha);
      const data = { format: 'eventix', version: 1, runs: shas.map((sha) => runDoc(STORE_REPO, sha, rng)) };
      return async () => {
        const pushed = await pushResults(db.pool, { data });
        if (pushed.runs.length !== records || pushed.metrics !== records * METRICS_PER_RUN) throw new Error('push stored something else');
        runShas.push(...shas);
      };
    },
    records,
  );
  await measure(
    'submit_batch',
    opts.batches,
    Math.min(opts.warmup, 1),
    (db) => {
      const batch = Array.from({ length: records }, () => normalizeSubmit(taskInput(taskSeq++), randomUUID()));
      return async () => {
        const results = await submitNormalized(db.pool, batch);
        if (results.length !== records) throw new Error('submitNormalized returned another count');
        for (const r of results) taskUids.push(r.task.uid);
      };
    },
    records,
  );

  await measure(
    'import_batch',
    opts.batches,
    Math.min(opts.warmup, 1),
    (db, client) => {
      // A source of its own per call: imports of one source are serialized by design, which is not what this times.
      const items = Array.from({ length: records }, () => importItem(randomUUID(), taskSeq++));
      const source = memorySource(`bench:${client}:${randomUUID()}`, items);
      return async () => {
        const r = await runImport(db.pool, source);
        if (r.created !== records) throw new Error(`import created ${r.created} of ${records}`);
        for (const i of items) if ('key' in i) taskUids.push(i.key);
      };
    },
    records,
  );

  // The series' commits: marked complete (committer times from git), one run each; untimed.
  progress(`${label} seeding the series: ${repo.shas.length} commits marked complete, one run each (untimed)…`);
  const marked = await markCommits(first.pool, {
    repo: SERIES_REPO,
    gitDir: repo.dir,
    refs: repo.shas,
    status: 'complete',
    config: CONFIG,
  });
  if (marked.config.id !== configId) throw new Error('the series config is not the pushes’ config');
  for (let i = 0; i < repo.shas.length; i += 500) {
    const runs = repo.shas
      .slice(i, i + 500)
      .map((sha, j) => runDoc(SERIES_REPO, sha, rng, new Date((1_600_000_000 + (i + j + 1) * 60) * 1000 + 5000).toISOString()));
    await pushResults(first.pool, { data: { runs } });
  }
  // As autovacuum would leave the tables after the loads; the embedded server's naptime is 10 s.
  await first.pool.query('analyze');

  // 3. Lookups of keys stored above.
  await measure('get_task', opts.samples, opts.warmup, (db) => {
    const uid = rng.pick(taskUids);
    return async () => {
      const task = await getTask(db.pool, uid);
      if (task.uid !== uid) throw new Error('getTask returned another task');
    };
  });
  await measure('get_run', opts.samples, opts.warmup, (db) => {
    const sha = rng.pick(runShas);
    return async () => {
      const page = await listRuns(db.pool, { repo: STORE_REPO, sha, configId });
      if (page.runs.length !== 1 || page.runs[0]?.metrics.length !== METRICS_PER_RUN) throw new Error(`run ${sha} not found once`);
    };
  });
  await measure('commit_status', opts.samples, opts.warmup, (db) => {
    const sha = rng.pick(repo.shas);
    return async () => {
      const page = await queryCommits(db.pool, { repo: SERIES_REPO, sha, configId });
      if (page.commits.length !== 1 || page.commits[0]?.status !== 'complete') throw new Error(`pair ${sha} not found once`);
    };
  });

  // 4. The series read.
  await measure('series', opts.seriesSamples, Math.min(opts.warmup, 3), (db) => async () => {
    const series = await metricSeries(db.pool, { metric: SERIES_METRIC, repo: SERIES_REPO, configId });
    if (series.points.length !== repo.shas.length || series.truncated) throw new Error(`series has ${series.points.length} points`);
  });

  const { rows } = await first.pool.query<Record<string, number>>(
    `select (select count(*) from tasks)::int as tasks, (select count(*) from benchmark_runs)::int as runs,
            (select count(*) from benchmark_metrics)::int as metrics, (select count(*) from commit_status)::int as commit_status`,
  );
  cell.rows = rows[0] ?? {};
  progress(
    `${label} the store held ${Object.entries(cell.rows)
      .map(([k, v]) => `${v.toLocaleString('en-US')} ${k}`)
      .join(', ')}`,
  );
  await closeClients();
  await releaseDatabase(admin, dbName, `${label} `);
  return cell;
}

// ---------------------------------------------------------------------------------------------
// Report

function markdown(header: string[], rows: string[][]): string {
  const align = header.map((_, i) => (i < 2 ? '---' : '---:'));
  return [header, align, ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
}

function tables(cells: Cell[], opts: Options, caption: string): string {
  const verdict = (r: OpResult) => (r.pass ? 'PASS' : 'FAIL');
  const out: string[] = [caption];
  for (const op of OPS) {
    const batch = 'batch' in op && op.batch;
    out.push(`\n${op.group}: ${op.title}${batch ? ' — ms per batch, and per record' : ''}\n`);
    const header = [
      'N',
      'C',
      'count',
      'p50 ms',
      'p95 ms',
      'p99 ms',
      'max ms',
      ...(batch ? ['p50/record', 'p99/record'] : []),
      `p99 < ${opts.targetMs} ms`,
    ];
    const rows = cells.flatMap((c) => {
      const r = c.ops[op.key];
      if (!r) return [];
      return [
        [
          String(c.records),
          String(c.clients),
          String(r.count),
          fmtMs(r.ms.p50),
          fmtMs(r.ms.p95),
          fmtMs(r.ms.p99),
          fmtMs(r.ms.max),
          ...(batch ? [fmtMs(r.perRecordMs?.p50), fmtMs(r.perRecordMs?.p99)] : []),
          verdict(r),
        ],
      ];
    });
    out.push(markdown(header, rows));
  }
  out.push(`\nSummary: p99 ms per operation (per batch for the batch inserts); FAIL marks p99 ≥ ${opts.targetMs} ms\n`);
  out.push(
    markdown(
      ['N', 'C', ...OPS.map((o) => o.short)],
      cells.map((c) => [
        String(c.records),
        String(c.clients),
        ...OPS.map((o) => {
          const r = c.ops[o.key];
          return r ? `${fmtMs(r.ms.p99)}${r.pass ? '' : ' FAIL'}` : '—';
        }),
      ]),
    ),
  );
  return out.join('\n');
}

const summaryJson = (s: LatencySummary) => ({
  samples: s.samples,
  min: round(s.min),
  mean: round(s.mean),
  p50: round(s.p50),
  p95: round(s.p95),
  p99: round(s.p99),
  max: round(s.max),
});

// ---------------------------------------------------------------------------------------------

function cleanup(): Promise<void> {
  state.cleaning ??= (async () => {
    await withTimeout(closeClients(), 10_000, 'closing the client pools').catch((err: Error) => progress(`cleanup: ${err.message}`));
    await releaseServer();
    const dir = state.repoDir;
    state.repoDir = undefined;
    if (dir) await rm(dir, { recursive: true, force: true }).catch(() => {});
  })();
  return state.cleaning;
}

async function main(): Promise<number> {
  let opts: Options;
  try {
    const parsed = parseOptions(process.argv.slice(2));
    if (parsed === 'help') {
      process.stdout.write(`${HELP}\n`);
      return 0;
    }
    opts = parsed;
  } catch (err) {
    if (!(err instanceof UsageError) && (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') !== true) throw err;
    progress(`bench:store: ${(err as Error).message}\n\n${HELP}`);
    return 2;
  }
  installCrashGuard();

  state.repoDir = await mkdtemp(path.join(os.tmpdir(), 'eventix-bench-store-repo-'));
  const repo = { dir: state.repoDir, shas: linearHistory(state.repoDir, opts.seriesCommits).reverse() };
  const { url: serverUrl, description: database, admin, settings } = await openServer();
  progress(
    `PostgreSQL ${settings.server_version} (${database}); fsync=${settings.fsync}, synchronous_commit=${settings.synchronous_commit}`,
  );
  progress(
    `plan — N ${opts.records.join(',')} × C ${opts.clients.join(',')}: ${opts.samples} calls per per-record op, ${opts.batches} batches, ` +
      `${opts.seriesSamples} series reads over ${opts.seriesCommits} commits, warm-up ${opts.warmup} per client`,
  );

  const cells: Cell[] = [];
  for (const records of opts.records) {
    for (const clients of opts.clients) cells.push(await runCell(serverUrl, admin, opts, records, clients, repo));
  }
  await cleanup();

  const caption =
    `Store latency — PostgreSQL ${settings.server_version}, ${database}, fsync=${settings.fsync}, ` +
    `synchronous_commit=${settings.synchronous_commit}; ${os.cpus().length} cores, Node ${process.version}`;
  const report = {
    generatedAt: new Date().toISOString(),
    command: `npm run bench:store${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    environment: {
      node: process.version,
      platform: `${os.platform()} ${os.release()} ${os.arch()}`,
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model,
      memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
      database,
      postgres: settings,
    },
    parameters: { ...opts, out: undefined, metricsPerRun: METRICS_PER_RUN },
    method: {
      database: 'a fresh migrated database per (records, clients) cell',
      clients: 'C clients, each a pool of one connection, run each operation at once in a Promise.all of loops',
      timing: 'process.hrtime around each call; the document or batch is built before the clock starts',
      samples: 'per-record operations: --samples calls per cell over all clients; batch inserts: --batches; series: --series-samples',
      warmup: '--warmup calls per client before each operation (one batch for the batch inserts), discarded',
      keys: 'lookups pick at random among the tasks, runs and pairs stored earlier in the cell',
      series: 'the series repository is seeded untimed (markCommits of a generated git history, one run per commit), then ANALYZE',
      target: `PASS when p99 < ${opts.targetMs} ms (per batch for the batch inserts)`,
    },
    operations: OPS.map(({ key, group, title }) => ({ key, group, title })),
    cells: cells.map((c) => ({
      records: c.records,
      clients: c.clients,
      rows: c.rows,
      ops: Object.fromEntries(
        Object.entries(c.ops).map(([k, r]) => [
          k,
          {
            count: r.count,
            ms: summaryJson(r.ms),
            ...(r.perRecordMs ? { perRecordMs: Object.fromEntries(Object.entries(r.perRecordMs).map(([q, v]) => [q, round(v, 4)])) } : {}),
            pass: r.pass,
          },
        ]),
      ),
    })),
    allPass: cells.every((c) => Object.values(c.ops).every((r) => r.pass)),
  };
  await mkdir(path.dirname(opts.out), { recursive: true });
  await writeFile(opts.out, `${JSON.stringify(report, null, 2)}\n`);
  if (opts.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else process.stdout.write(`${tables(cells, opts, caption)}\n\nJSON: ${path.relative(process.cwd(), opts.out) || opts.out}\n`);
  return 0;
}

exitOnInterrupt({
  onFirst() {
    live.interrupted = true;
    // pg's complaints about connections closing under the running calls are expected now.
    console.error = () => {};
    console.warn = () => {};
  },
  message: (signal) => `\n${signal}: dropping the bench database${live.server ? ', stopping embedded PostgreSQL' : ''}… (again to force)`,
  cleanup,
});

main().then(
  async (code) => {
    if (live.interrupted) return;
    await cleanup();
    process.exit(code);
  },
  async (err) => {
    // After Ctrl-C the signal handler owns the exit; errors from connections it closed are expected.
    if (live.interrupted) return;
    progress(`bench:store: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    await cleanup();
    process.exit(1);
  },
);
