/**
 * `npm run bench`: Eventix against graphile-worker and pg-boss on one PostgreSQL, in one run.
 *
 * What is measured, and why so, is written once, in bench/methodology.ts; the options and their
 * defaults are HELP in bench/options.ts. After the queue phases come the other shapes of work
 * (bench/scenarios.ts), Eventix's HTTP API under load (bench/http.ts) and determine on a
 * 10,000-commit repository (bench/determine.ts).
 *
 * Output: a table on stdout, JSON in bench/results/latest.json, progress on stderr.
 * Exit status: 0 ok, 1 a system failed or a job ran twice / never, 2 bad arguments, 130 Ctrl-C.
 */

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { benchHttp, type HttpResult } from './http.ts';
import { interleavedEnqueue, interleavedLatency } from './interleaved.ts';
import { cleanup, installCrashGuard, live, onInterrupt, openServer } from './lifecycle.ts';
import { HELP, type Options, parseOptions } from './options.ts';
import { progress } from './progress.ts';
import { printReport, ratios, writeJsonReport } from './report.ts';
import { rotated, runScenarios } from './scenarios.ts';
import { runSoak } from './soak.ts';
import { summarize } from './stats.ts';
import { finish, type Run, type SystemResult, throughputOf, throughputRound } from './system.ts';

/** The commit-tracking benchmark, in its own process (it builds its own repository); its exit code. */
function runDetermine(): Promise<number> {
  return new Promise<number>((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./determine.ts', import.meta.url))], {
      stdio: 'inherit',
    });
    child.on('exit', (c) => resolve(c ?? 1));
  });
}

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
  if (opts.soak) return runSoak(opts);

  const { url: serverUrl, description: database, admin, settings: server } = await openServer();
  const plan = `${opts.systems.join(', ')}: N=${opts.n}, ${opts.enqueueRounds} enqueue rounds, concurrency ${opts.concurrency}, batch ${opts.batch}, latency ${opts.latency} samples (pause 0–${opts.gapMs} ms), warm-up ${opts.warmup}, scenarios ${opts.scenarios.join(',')}`;
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
  // Later rounds in a rotated order, so that drift in the machine falls on every system alike.
  for (let round = 2; round <= opts.rounds; round++) {
    progress(`\n== throughput round ${round}/${opts.rounds}`);
    for (const run of rotated(runs, round)) {
      await throughputRound(run, opts, round);
      await Promise.allSettled([...live.stops].map((s) => s()));
    }
  }
  await interleavedLatency(runs, opts);
  await runScenarios(runs, serverUrl, opts);
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

  const ctx = { opts, database, settings: server };
  const rat = ratios(results);
  printReport(ctx, results, rat, http);
  await writeJsonReport(ctx, results, rat, http);

  if (opts.determine) {
    // Run here so that `npm run bench` reports every figure the project tracks.
    progress('determine: running bench/determine.ts…');
    const code = await runDetermine();
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
