/**
 * A benchmark sweep, start to finish, with one command: `npm run example:sweep`.
 *
 * 1. Makes a small git repository in a temporary folder: 8 commits of a "project" whose speed
 *    changes from commit to commit (work.json says how much work one operation does).
 * 2. Writes a sweeps file pointing at it and at bench.mjs (next to this file), with two configs.
 * 3. Starts `eventix start` with that file, embedded PostgreSQL in the temporary folder, and a
 *    worker for the `bench` namespace.
 * 4. Fires the sweep (POST /sweeps/demo/run), prints progress from GET /sweeps until every
 *    (commit, config) pair is complete, then the metrics from GET /benchmarks/runs.
 * 5. Stops the server and removes the temporary folder, also on Ctrl-C.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '../..');
const COMMITS = 8;
/** Work per operation at each commit: commit 5 makes it three times slower, commit 7 wins some back. */
const ROUNDS = [1, 1, 1, 1, 3, 3, 2, 2];

const tmp = mkdtempSync(path.join(tmpdir(), 'eventix-example-'));
// Run as root, embedded PostgreSQL runs as the `postgres` user, which must be able to reach its data folder.
chmodSync(tmp, 0o755);
let server: ChildProcess | undefined;
let finished = false;
let interrupted = false;

function cleanup(code: number): never {
  if (!finished) {
    finished = true;
    rmSync(tmp, { recursive: true, force: true });
  }
  process.exit(code);
}

async function stopServer(): Promise<void> {
  const s = server;
  if (!s || s.exitCode !== null || s.signalCode !== null) return;
  const exited = new Promise((resolve) => s.once('exit', resolve));
  s.kill('SIGTERM');
  await exited;
}

process.on('SIGINT', () => {
  if (interrupted) return;
  interrupted = true;
  console.log('\nCtrl-C: stopping Eventix…');
  void stopServer().then(() => cleanup(130));
});

function makeRepository(dir: string): { shas: string[]; subjects: Map<string, string> } {
  mkdirSync(dir);
  const env = {
    ...process.env,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_AUTHOR_NAME: 'Example',
    GIT_AUTHOR_EMAIL: 'example@example.com',
    GIT_COMMITTER_NAME: 'Example',
    GIT_COMMITTER_EMAIL: 'example@example.com',
  };
  const git = (...args: string[]) => execFileSync('git', args, { cwd: dir, env, encoding: 'utf8' });
  git('init', '--quiet', '--initial-branch=main');
  for (let i = 1; i <= COMMITS; i++) {
    writeFileSync(path.join(dir, 'work.json'), `${JSON.stringify({ rounds: ROUNDS[i - 1], version: i })}\n`);
    git('add', 'work.json');
    const date = new Date(Date.UTC(2026, 0, i)).toISOString();
    execFileSync('git', ['commit', '--quiet', '-m', `commit ${i}: rounds = ${ROUNDS[i - 1]}`], {
      cwd: dir,
      env: { ...env, GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date },
    });
  }
  const shas = git('rev-list', 'main').trim().split('\n');
  const subjects = new Map(
    git('log', '--format=%H %s', 'main')
      .trim()
      .split('\n')
      .map((l) => [l.slice(0, 40), l.slice(41)] as const),
  );
  return { shas, subjects };
}

async function waitForUrl(child: ChildProcess): Promise<string> {
  let out = '';
  let err = '';
  child.stderr?.on('data', (d) => {
    err += d;
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Eventix did not start within 60 s:\n${out}\n${err}`)), 60_000);
    child.stdout?.on('data', (d) => {
      out += d;
      process.stdout.write(`${String(d).replace(/\n$/, '').replace(/^/gm, '  | ')}\n`);
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1] as string);
      }
    });
    child.once('exit', (code) => reject(new Error(`Eventix exited with ${code}:\n${out}\n${err}`)));
  });
}

// biome-ignore lint/suspicious/noExplicitAny: the example reads JSON answers loosely.
async function api(base: string, method: string, route: string): Promise<any> {
  const res = await fetch(`${base}${route}`, { method });
  const body = await res.json();
  if (!res.ok) throw new Error(`${method} ${route}: ${res.status} ${JSON.stringify(body)}`);
  return body;
}

async function main(): Promise<void> {
  const started = Date.now();
  const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s`;
  const repoDir = path.join(tmp, 'repo');
  const { shas, subjects } = makeRepository(repoDir);
  console.log(`Made a git repository with ${COMMITS} commits in ${repoDir}`);

  const sweepsFile = path.join(tmp, 'sweeps.json');
  const sweeps = {
    work_dir: path.join(tmp, 'work'),
    sweeps: [
      {
        name: 'demo',
        repo: repoDir,
        branch: 'main',
        configs: [
          { config: { size: 1024 }, name: '1 KiB' },
          { config: { size: 16384 }, name: '16 KiB' },
        ],
        max_commits: COMMITS,
        command: [process.execPath, path.join(HERE, 'bench.mjs')],
        timeout_seconds: 60,
        retry: { max_retries: 1, error_eta_inc: 1 },
        namespace: 'bench',
      },
    ],
  };
  writeFileSync(sweepsFile, JSON.stringify(sweeps, null, 2));
  console.log(`Wrote the sweeps file ${sweepsFile}:\n${JSON.stringify(sweeps.sweeps[0], null, 2).replace(/^/gm, '  ')}\n`);

  console.log('Starting eventix start (embedded PostgreSQL; the first start initialises it, a few seconds)…');
  // Its own process group: Ctrl-C reaches this script, which stops the server once, gracefully.
  server = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli/main.ts'), 'start'], {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      DATABASE_URL: '',
      EVENTIX_DATA_DIR: path.join(tmp, 'pgdata'),
      EVENTIX_EMBEDDED_PORT: '0',
      EVENTIX_PORT: '0',
      EVENTIX_SWEEPS_FILE: sweepsFile,
      EVENTIX_NAMESPACES: 'bench',
      EVENTIX_LOG_LEVEL: 'warn',
    },
  });
  const base = await waitForUrl(server);

  console.log(`\nWhile it runs, look around: ${base}/sweeps  ${base}/sweeps/demo/runs  ${base}/docs`);
  const fire = await api(base, 'POST', '/sweeps/demo/run');
  console.log(`\n${elapsed()}  fired the sweep: task ${fire.task.uid} (eventix.sweep)`);

  const total = COMMITS * sweeps.sweeps[0]!.configs.length;
  let last = '';
  for (;;) {
    const { sweeps: list } = await api(base, 'GET', '/sweeps');
    const c = list[0].counts;
    const line = `complete ${c.complete}/${total}, in progress ${c.in_progress + c.benchmark_complete}, failed ${c.failed}`;
    if (line !== last) console.log(`${elapsed()}  ${line}`);
    last = line;
    if (c.complete + c.failed === total) break;
    if (Date.now() - started > 120_000) throw new Error('the sweep did not finish within 120 s');
    await new Promise((r) => setTimeout(r, 250));
  }

  const { runs } = await api(base, 'GET', `/benchmarks/runs?repo=${encodeURIComponent(realpathSync(repoDir))}&limit=500`);
  const ops = new Map<string, number>();
  for (const run of runs) {
    const m = run.metrics.find((x: { name: string }) => x.name === 'ops_per_sec');
    if (m) ops.set(`${run.sha} ${run.config?.name}`, m.value);
  }
  const names = sweeps.sweeps[0]!.configs.map((c) => c.name);
  console.log(`\nops_per_sec by commit (newest first), from GET /benchmarks/runs:\n`);
  console.log(`  ${'commit'.padEnd(9)}${'subject'.padEnd(24)}${names.map((n) => n.padStart(12)).join('')}`);
  for (const sha of shas) {
    const cells = names.map((n) => {
      const v = ops.get(`${sha} ${n}`);
      return (v === undefined ? '-' : Math.round(v).toLocaleString('en-US')).padStart(12);
    });
    console.log(`  ${sha.slice(0, 7).padEnd(9)}${(subjects.get(sha) ?? '').padEnd(24)}${cells.join('')}`);
  }
  console.log(`\nDone in ${elapsed().trim()}. The same answers came from GET /sweeps, /sweeps/demo/runs and /benchmarks/runs.`);
  await stopServer();
  cleanup(0);
}

main().catch(async (err: unknown) => {
  if (interrupted) return; // the SIGINT handler is stopping everything
  console.error(`example failed: ${err instanceof Error ? err.message : String(err)}`);
  await stopServer();
  cleanup(1);
});
