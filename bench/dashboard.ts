/**
 * `npm run bench:dashboard`: what the overview page (/ui) costs with a large tasks table.
 *
 *   1. A fresh database (embedded PostgreSQL with pg_stat_statements, or a database of its own
 *      on DATABASE_URL's server), migrated, filled with --rows tasks (bench/dashboard-seed.ts),
 *      then VACUUM ANALYZE, as autovacuum would leave it.
 *   2. The rollup pass (src/queue/rollup.ts), timed: the background cost, once per 30 s.
 *   3. --requests overview requests through createApp(...).request('/ui'), one at a time after a
 *      warm-up: server time from the page's own Server-Timing header (p50/p95), and per request
 *      the statements and database time from pg_stat_statements.
 *   4. --tabs open tabs refreshing every 5 s (what app.js does, x-eventix-live included), for
 *      --tab-seconds: the database cost measured over that window, queries/s and DB ms/s, beside
 *      what step 3 predicts for tabs that each read alone.
 *
 * Output: progress on stderr, JSON in bench/results/dashboard.json (and a summary on stdout).
 * Ctrl-C stops embedded PostgreSQL (or drops the bench database) and removes its files.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { createApp } from '../src/api/app.ts';
import { createDatabase, type Database } from '../src/db/client.ts';
import { type EmbeddedPostgres, startEmbeddedPostgres } from '../src/db/embedded.ts';
import { migrate } from '../src/db/migrate.ts';
import { silentLogger } from '../src/logger.ts';
import { DEFAULT_ROLLUP_INTERVAL_MS, refreshTaskRollup } from '../src/queue/rollup.ts';
import { seedTasks } from './dashboard-seed.ts';
import { dropDatabase, quoteIdent, withDatabase } from './databases.ts';
import { exitOnInterrupt } from './interrupt.ts';
import { progress } from './progress.ts';
import { type LatencySummary, summarize } from './stats.ts';
import { sleep } from './wait.ts';

const HELP = `usage: npm run bench:dashboard -- [--rows 1000000] [--requests 100] [--tabs 10] [--tab-seconds 30]
Database: DATABASE_URL if set (a database bench_dashboard on that server, dropped afterwards), else a throwaway embedded PostgreSQL.`;

const round = (v: number, digits = 1) => Math.round(v * 10 ** digits) / 10 ** digits;
const LIVE_MS = 5000;

const live = {
  interrupted: false,
  cleaning: undefined as Promise<void> | undefined,
  server: undefined as EmbeddedPostgres | undefined,
  tmpDir: undefined as string | undefined,
  database: undefined as Database | undefined,
  dropDb: undefined as { adminUrl: string; name: string } | undefined,
};

/** Once, whoever asks first (the end of main, or Ctrl-C); later callers wait for the same run. */
function cleanup(): Promise<void> {
  live.cleaning ??= cleanupNow();
  return live.cleaning;
}

async function cleanupNow(): Promise<void> {
  const step = async (what: string, fn: () => Promise<unknown>) => {
    try {
      await fn();
    } catch (err) {
      progress(`cleanup: ${what}: ${(err as Error).message}`);
    }
  };
  const { database, dropDb, server, tmpDir } = live;
  if (database) await step('closing the pool', () => database.close());
  if (dropDb) {
    await step(`dropping ${dropDb.name}`, async () => {
      const admin = new pg.Client({ connectionString: dropDb.adminUrl });
      await admin.connect();
      await dropDatabase(admin, dropDb.name).finally(() => admin.end());
    });
  }
  if (server) await step('stopping embedded PostgreSQL', () => server.stop());
  if (tmpDir) await step('removing the data folder', () => rm(tmpDir, { recursive: true, force: true }));
}

interface Cost {
  statements: number;
  dbMs: number;
}

/** Statements and execution time recorded since the last reset, the bench's own probes excluded. */
async function statCost(pool: pg.Pool): Promise<Cost> {
  const { rows } = await pool.query<{ calls: string; ms: number }>(
    `select coalesce(sum(calls), 0) as calls, coalesce(sum(total_exec_time + total_plan_time), 0)::float8 as ms
     from pg_stat_statements where dbid = (select oid from pg_database where datname = current_database())
       and query not ilike '%pg_stat_statements%'`,
  );
  return { statements: Number(rows[0]?.calls ?? 0), dbMs: Number(rows[0]?.ms ?? 0) };
}

const resetStats = (pool: pg.Pool) => pool.query('select pg_stat_statements_reset()');

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      rows: { type: 'string', default: '1000000' },
      requests: { type: 'string', default: '100' },
      tabs: { type: 'string', default: '10' },
      'tab-seconds': { type: 'string', default: '30' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    progress(HELP);
    return 0;
  }
  const rows = Number(values.rows);
  const requests = Number(values.requests);
  const tabs = Number(values.tabs);
  const tabSeconds = Number(values['tab-seconds']);
  if (![rows, requests, tabs, tabSeconds].every((n) => Number.isInteger(n) && n > 0)) {
    progress(`bench: every option must be a positive integer\n\n${HELP}`);
    return 2;
  }

  let url: string;
  if (process.env.DATABASE_URL) {
    const name = `bench_dashboard_${process.pid}`;
    const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await admin.connect();
    await admin.query(`create database ${quoteIdent(name)}`).finally(() => admin.end());
    live.dropDb = { adminUrl: process.env.DATABASE_URL, name };
    url = withDatabase(process.env.DATABASE_URL, name);
  } else {
    live.tmpDir = await mkdtemp(path.join(os.tmpdir(), 'eventix-bench-dashboard-'));
    progress(`starting embedded PostgreSQL in ${live.tmpDir}…`);
    live.server = await startEmbeddedPostgres({
      dataDir: live.tmpDir,
      port: 0,
      // Seeding is not what is measured; durability settings do not change read costs.
      ephemeral: true,
      settings: { shared_preload_libraries: 'pg_stat_statements', shared_buffers: '256MB' },
    });
    url = live.server.url;
  }
  const database = createDatabase({ url, max: 20, applicationName: 'eventix-bench-dashboard' });
  live.database = database;
  const pool = database.pool;
  await migrate(pool);
  const statements = await pool
    .query('create extension if not exists pg_stat_statements')
    .then(() => pool.query('select 1 from pg_stat_statements limit 1'))
    .then(
      () => true,
      (err: Error) => {
        progress(`pg_stat_statements unavailable (${err.message}): DB cost is timed on the client instead`);
        return false;
      },
    );
  const { rows: info } = await pool.query<{ v: string; sb: string }>(
    `select current_setting('server_version') as v, current_setting('shared_buffers') as sb`,
  );

  progress(`seeding ${rows.toLocaleString('en-US')} tasks…`);
  let t = performance.now();
  await seedTasks(pool, rows, progress);
  const seedSeconds = (performance.now() - t) / 1000;
  progress(`seeded in ${round(seedSeconds)} s; VACUUM ANALYZE…`);
  await pool.query('vacuum analyze tasks');
  await pool.query('vacuum analyze schedules');
  const { rows: size } = await pool.query<{ bytes: string }>(`select pg_total_relation_size('tasks') as bytes`);

  progress('rollup passes…');
  const rollupMs: number[] = [];
  for (let i = 0; i < 3; i++) {
    const r = await refreshTaskRollup(pool, { minAgeSeconds: 0 });
    if (r.refreshed) rollupMs.push(r.durationMs);
  }
  const skipped = performance.now();
  const fresh = await refreshTaskRollup(pool, { minAgeSeconds: 25 });
  const skipMs = performance.now() - skipped;

  const app = createApp({ database, logger: silentLogger });
  // live: what a tab's refresh sends (app.js); such refreshes share reads younger than 2.5 s.
  const overview = async (live = false) => {
    const res = await app.request('/ui', { headers: { accept: 'text/html', ...(live ? { 'x-eventix-live': '1' } : {}) } });
    if (res.status !== 200) throw new Error(`GET /ui answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
    await res.arrayBuffer();
    const timing = res.headers.get('server-timing') ?? '';
    const dur = (name: string) => Number(new RegExp(`(?:^|, )${name};dur=([\\d.]+)`).exec(timing)?.[1] ?? Number.NaN);
    return { total: dur('total'), db: dur('db') };
  };
  progress(`${requests} overview requests…`);
  for (let i = 0; i < 10; i++) await overview();
  if (statements) await resetStats(pool);
  const totals: number[] = [];
  const dbTimes: number[] = [];
  for (let i = 0; i < requests; i++) {
    const r = await overview();
    totals.push(r.total);
    dbTimes.push(r.db);
  }
  const perRequest = statements ? await statCost(pool) : { statements: 2 * requests, dbMs: dbTimes.reduce((a, b) => a + b, 0) };
  const perRefresh = { statements: perRequest.statements / requests, dbMs: perRequest.dbMs / requests };

  progress(`${tabs} tabs refreshing every ${LIVE_MS / 1000} s for ${tabSeconds} s…`);
  if (statements) await resetStats(pool);
  t = performance.now();
  const deadline = t + tabSeconds * 1000;
  const tabTotals: number[] = [];
  let tabDbClient = 0;
  await Promise.all(
    Array.from({ length: tabs }, async (_, i) => {
      // Tabs opened at different moments: spread over one period.
      await sleep((i * LIVE_MS) / tabs);
      // Refreshes that start before the deadline, one every LIVE_MS per tab: the window is the deadline.
      for (let next = performance.now(); next < deadline; next += LIVE_MS) {
        await sleep(Math.max(0, next - performance.now()));
        const r = await overview(true);
        tabTotals.push(r.total);
        tabDbClient += r.db;
      }
    }),
  );
  const windowSeconds = (deadline - t) / 1000;
  const tabCost = statements ? await statCost(pool) : { statements: 2 * tabTotals.length, dbMs: tabDbClient };
  const rollupAvg = rollupMs.reduce((a, b) => a + b, 0) / Math.max(1, rollupMs.length);

  const ms = (s: LatencySummary) => ({ p50: round(s.p50), p95: round(s.p95), p99: round(s.p99), max: round(s.max), samples: s.samples });
  const result = {
    at: new Date().toISOString(),
    postgres: info[0]?.v,
    sharedBuffers: info[0]?.sb,
    database: live.server ? 'embedded' : 'DATABASE_URL',
    costSource: statements
      ? 'pg_stat_statements (execution time; planning, ~1 ms per read, is not tracked by default)'
      : 'client-side timing of each statement',
    tasks: rows,
    tasksTableMB: round(Number(size[0]?.bytes ?? 0) / 2 ** 20),
    seedSeconds: round(seedSeconds),
    rollup: {
      passMs: rollupMs.map((v) => round(v)),
      skippedWhileFreshMs: round(skipMs, 2),
      skippedResult: fresh,
      intervalSeconds: DEFAULT_ROLLUP_INTERVAL_MS / 1000,
      dbMsPerSecond: round(rollupAvg / (DEFAULT_ROLLUP_INTERVAL_MS / 1000), 2),
    },
    overview: {
      serverMs: ms(summarize(totals)),
      // Server-Timing's db: the two statements' times added up (they run side by side, so this can exceed serverMs).
      statementMsSum: ms(summarize(dbTimes)),
      statementsPerRefresh: round(perRefresh.statements, 2),
      dbMsPerRefresh: round(perRefresh.dbMs, 2),
    },
    tabs: {
      tabs,
      refreshSeconds: LIVE_MS / 1000,
      /** Every tab reading alone: step 3's cost per refresh × tabs / 5 s. */
      unshared: {
        queriesPerSecond: round((perRefresh.statements * tabs) / (LIVE_MS / 1000), 2),
        dbMsPerSecond: round((perRefresh.dbMs * tabs) / (LIVE_MS / 1000), 2),
      },
      measured: {
        seconds: round(windowSeconds),
        refreshes: tabTotals.length,
        queriesPerSecond: round(tabCost.statements / windowSeconds, 2),
        dbMsPerSecond: round(tabCost.dbMs / windowSeconds, 2),
        serverMs: ms(summarize(tabTotals)),
      },
    },
  };
  const out = fileURLToPath(new URL('./results/dashboard.json', import.meta.url));
  await mkdir(path.dirname(out), { recursive: true });
  await writeFile(out, `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(
    `${rows.toLocaleString('en-US')} tasks (${result.tasksTableMB} MB), PostgreSQL ${result.postgres}\n` +
      `rollup pass: ${result.rollup.passMs.join(', ')} ms (every ${result.rollup.intervalSeconds} s → ${result.rollup.dbMsPerSecond} DB ms/s); skipped while fresh in ${result.rollup.skippedWhileFreshMs} ms\n` +
      `overview server time: p50 ${result.overview.serverMs.p50} ms, p95 ${result.overview.serverMs.p95} ms; ` +
      `${result.overview.statementsPerRefresh} statements, ${result.overview.dbMsPerRefresh} DB ms per refresh\n` +
      `${tabs} tabs / ${LIVE_MS / 1000} s: ${result.tabs.measured.queriesPerSecond} queries/s, ${result.tabs.measured.dbMsPerSecond} DB ms/s measured ` +
      `(each tab reading alone: ${result.tabs.unshared.queriesPerSecond} queries/s, ${result.tabs.unshared.dbMsPerSecond} DB ms/s)\n` +
      `written to ${path.relative(process.cwd(), out)}\n`,
  );
  return 0;
}

exitOnInterrupt({
  onFirst() {
    live.interrupted = true;
  },
  message: (signal) => `\n${signal}: cleaning up… (again to force)`,
  cleanup,
});

main().then(
  async (code) => {
    if (live.interrupted) return;
    await cleanup();
    process.exit(code);
  },
  async (err) => {
    // After Ctrl-C the pool is closed under the running phase: that failure is expected, and the
    // signal handler exits once cleanup is done.
    if (live.interrupted) return;
    progress(`bench: ${(err as Error).stack ?? String(err)}`);
    await cleanup();
    process.exit(1);
  },
);
