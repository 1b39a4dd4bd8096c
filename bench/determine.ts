/**
 * `npm run bench:determine`: how long `determine` takes on a large history.
 *
 * Builds a 10,000-commit repository with `git fast-import` (about a second), marks 5,000 of its
 * (commit, config) pairs complete (every other commit), adds noise that determine must read past
 * (a covering superset config complete on 1,000 other commits, failed and in-progress pairs),
 * then times `determineCommits` end to end: `git rev-list`, and its two SQL statements over all
 * 10,000 candidates. Reported: min / median / p95 over the runs, for the `newest` and `spread`
 * strategies, with and without subset detection.
 *
 * Database: DATABASE_URL if set (a fresh database bench_determine on that server, dropped after),
 * else a throwaway embedded PostgreSQL. Output: a table on stdout, JSON with --out.
 */
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { createDatabase } from '../src/db/client.ts';
import { type EmbeddedPostgres, startEmbeddedPostgres } from '../src/db/embedded.ts';
import { migrate } from '../src/db/migrate.ts';
import { markCommits } from '../src/tracking/commits.ts';
import { determineCommits } from '../src/tracking/determine.ts';
import { dropDatabase, recreateDatabase, withDatabase } from './databases.ts';
import { linearHistory } from './git-history.ts';
import { progress } from './progress.ts';

const HELP = `Usage: npm run bench:determine -- [options]

  --commits <n>    commits in the generated repository (default 10000)
  --complete <n>   pairs marked complete for the benchmarked config (default half the commits)
  --runs <n>       timed runs per case (default 20)
  --out <file>     also write the results as JSON
  -h, --help`;

const { values } = parseArgs({
  options: {
    commits: { type: 'string', default: '10000' },
    complete: { type: 'string' },
    runs: { type: 'string', default: '20' },
    out: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  process.stdout.write(`${HELP}\n`);
  process.exit(0);
}
const commits = Number(values.commits);
const complete = Number(values.complete ?? Math.floor(commits / 2));
const runs = Number(values.runs);
if (![commits, complete, runs].every((n) => Number.isSafeInteger(n) && n > 0) || complete > commits) {
  process.stderr.write(`bad arguments\n${HELP}\n`);
  process.exit(2);
}

const log = (m: string) => progress(`[bench:determine] ${m}`);

function summarize(ms: number[]) {
  const s = [...ms].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))] as number;
  return { min: s[0] as number, median: q(0.5), p95: q(0.95) };
}

let embedded: EmbeddedPostgres | undefined;
let tmp: string | undefined;
let admin: pg.Client | undefined;
const work = await mkdtemp(path.join(os.tmpdir(), 'eventix-bench-determine-'));
try {
  let url = process.env.DATABASE_URL;
  if (url) {
    admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await recreateDatabase(admin, 'bench_determine');
    url = withDatabase(url, 'bench_determine');
  } else {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'eventix-bench-pg-'));
    await chmod(tmp, 0o755);
    embedded = await startEmbeddedPostgres({ dataDir: tmp, port: 0, ephemeral: true });
    url = embedded.url;
  }
  const database = createDatabase({ url, max: 4 });
  await migrate(database.pool);

  let t = performance.now();
  const shas = linearHistory(work, commits);
  log(`generated ${shas.length} commits with git fast-import in ${(performance.now() - t).toFixed(0)} ms`);

  const config = [{ data_sizes: [16, 64], pipeline: [1, 10], 'io-threads': 1, tls: false }];
  const superset = [{ data_sizes: [16, 64, 256], pipeline: [1, 10], 'io-threads': 1, tls: false }];
  t = performance.now();
  const done = shas.filter((_, i) => i % 2 === 1).slice(0, complete);
  await markCommits(database.pool, { repo: work, refs: done, status: 'complete', config });
  const others = shas.filter((_, i) => i % 2 === 0);
  await markCommits(database.pool, { repo: work, refs: others.filter((_, i) => i % 5 === 1), status: 'complete', config: superset });
  await markCommits(database.pool, { repo: work, refs: others.filter((_, i) => i % 25 === 2), status: 'failed', config, error: 'x' });
  await markCommits(database.pool, { repo: work, refs: others.filter((_, i) => i % 25 === 3), status: 'in_progress', config });
  await database.pool.query('analyze commit_status');
  const { rows } = await database.pool.query<{ n: number }>('select count(*)::int as n from commit_status');
  log(`marked ${done.length} pairs complete (${rows[0]?.n} rows in all) in ${(performance.now() - t).toFixed(0)} ms`);

  const cases = [
    { name: 'newest, max 10, subset detection', strategy: 'newest' as const, subsetDetection: true, maxCommits: 10 },
    { name: 'newest, max 10, no subset detection', strategy: 'newest' as const, subsetDetection: false, maxCommits: 10 },
    { name: 'spread, max 100, subset detection', strategy: 'spread' as const, subsetDetection: true, maxCommits: 100 },
  ];
  const results = [];
  for (const c of cases) {
    const times: number[] = [];
    let picked = 0;
    let eligible = 0;
    for (let i = 0; i < runs + 2; i++) {
      const start = performance.now();
      const r = await determineCommits(database.pool, { repo: work, branch: 'main', config, ...c });
      if (i >= 2) times.push(performance.now() - start); // two warm-up runs
      picked = r.shas.length;
      eligible = r.eligible;
    }
    results.push({ case: c.name, commits, complete: done.length, eligible, picked, ms: summarize(times) });
  }

  process.stdout.write(`\ndetermine on ${commits} commits, ${done.length} pairs complete (${runs} runs each)\n\n`);
  process.stdout.write(
    `${'case'.padEnd(40)} ${'eligible'.padStart(8)} ${'min ms'.padStart(8)} ${'median'.padStart(8)} ${'p95'.padStart(8)}\n`,
  );
  for (const r of results) {
    process.stdout.write(
      `${r.case.padEnd(40)} ${String(r.eligible).padStart(8)} ${r.ms.min.toFixed(1).padStart(8)} ${r.ms.median.toFixed(1).padStart(8)} ${r.ms.p95.toFixed(1).padStart(8)}\n`,
    );
  }
  if (values.out)
    await writeFile(values.out, `${JSON.stringify({ at: new Date().toISOString(), node: process.version, results }, null, 2)}\n`);
  await database.close();
} finally {
  if (admin) {
    await dropDatabase(admin, 'bench_determine').catch(() => undefined);
    await admin.end();
  }
  await embedded?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
  await rm(work, { recursive: true, force: true });
}
