import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type pg from 'pg';
import type { Executor } from '../db/executor.ts';
import { withTransaction } from '../db/transaction.ts';
import { NonRetryableError, ValidationError } from '../errors.ts';
import { coerceError, type Logger } from '../logger.ts';
import { markCommits } from '../tracking/commits.ts';
import { machineEnvironment } from '../tracking/environment.ts';
import { FULL_SHA } from '../tracking/git.ts';
import { type PreparedResults, prepareResults, storeResults } from '../tracking/ingest.ts';
import type { TaskContext } from '../worker/registry.ts';
import { bisectionRunStored } from './bisect-hooks.ts';
import type { Sweep, SweepConfig, Sweeps } from './config.ts';
import { type AttemptPair, getPair, lockOwnedPair, markOwnedPair } from './pairs.ts';
import { runCommand } from './process.ts';
import { addWorktree, fetchRemote, hasCommit, RUN_PREFIX, removeWorktree } from './worktree.ts';

/**
 * `benchmark.run`: one (commit, config) pair of a sweep, on a benchmark worker.
 *
 * 1. Make sure this task owns the pair (the sweep fire claimed it for this task; a pair someone
 *    else completed or holds is skipped, so no pair is ever benchmarked twice at once).
 * 2. Check the commit out in a worktree of its own, write the config to a file.
 * 3. Run the command (argv, no shell, own process group; see process.ts) with EVENTIX_SHA,
 *    EVENTIX_CONFIG_FILE and EVENTIX_OUTPUT_DIR, `repeat` times; the output goes to a log file.
 * 4. Mark `benchmark_complete`; read `metrics.json` from the output folder (any format the
 *    results store ingests) and store it with this task's uid; mark `complete`, in the same
 *    transaction as the results, so a stored run and a complete pair never exist one without the other.
 *
 * Every pair write (the claim, both marks, the results) is guarded in its statement by this
 * attempt's fencing token (ctx.fencingToken), not only by the task's uid, which is the same on
 * every retry: an attempt that lost its lease but was not yet aborted writes nothing, and cannot
 * turn the pair its successor completed back into `benchmark_complete` or store a second set of runs.
 *
 * A non-zero exit, a timeout, or missing or invalid metrics throws: the task retries per the
 * sweep's retry policy. The final failure is recorded by the worker's `task:failed` listener
 * (runtime.ts), from the queue's own verdict.
 */

export const BENCHMARK_TASK = 'benchmark.run';

/** Output kept per run: the last 1 MiB of stdout and stderr together. */
export const LOG_LIMIT_BYTES = 1024 * 1024;
/** Of that, what a task's result or error carries, so the API shows why without a shell on the machine. */
export const LOG_TAIL_BYTES = 4096;
/** The file the command writes its results to, in EVENTIX_OUTPUT_DIR. */
export const METRICS_FILE = 'metrics.json';

export interface BenchmarkKwargs {
  sweep: string;
  sha: string;
  /** The config's hash (canonical JSON, sha256); the config itself comes from the sweeps file. */
  config: string;
}

export interface SweepDeps {
  pool: pg.Pool;
  sweeps: Sweeps;
  logger: Logger;
  /** Ownerless in_progress pairs count as abandoned after this long (EVENTIX_COMMITS_STALE_SECONDS). */
  staleSeconds?: number | undefined;
  /** Tests: the process group of each benchmark as it starts. */
  onCommandStart?: ((info: { sweep: string; sha: string; pgid: number }) => void) | undefined;
}

/** A failed benchmark attempt; `payload` (exit code, log file, log tail) is stored with the task's error. */
export class BenchmarkFailed extends Error {
  constructor(
    message: string,
    readonly payload: Record<string, unknown>,
    name = 'BenchmarkFailed',
  ) {
    super(message);
    this.name = name;
  }
}

export function lookupPair(sweeps: Sweeps, kwargs: Partial<BenchmarkKwargs>): { sweep: Sweep; config: SweepConfig; sha: string } {
  const sweep = typeof kwargs.sweep === 'string' ? sweeps.byName.get(kwargs.sweep) : undefined;
  if (!sweep) throw new NonRetryableError(`no sweep named ${JSON.stringify(kwargs.sweep)} in this worker's sweeps file`);
  const config = sweep.configs.find((c) => c.hash === kwargs.config);
  if (!config)
    throw new NonRetryableError(`sweep ${sweep.name} has no config with hash ${String(kwargs.config)} (the sweeps file changed?)`);
  if (typeof kwargs.sha !== 'string' || !FULL_SHA.test(kwargs.sha)) throw new NonRetryableError(`not a full sha: ${String(kwargs.sha)}`);
  return { sweep, config, sha: kwargs.sha };
}

/** Variables of ours that must not reach a benchmark: the database URL and every Eventix setting (API tokens). */
const PRIVATE_ENV = /^(DATABASE_URL|PG[A-Z_]*|EVENTIX_.*)$/;

export function benchmarkEnv(base: NodeJS.ProcessEnv, sweepEnv: Record<string, string>, ours: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(base)) if (v !== undefined && !PRIVATE_ENV.test(k)) env[k] = v;
  return { ...env, ...sweepEnv, ...ours };
}

type Outcome = { skipped: string } | { owned: true };

/** Step 1: own the pair, or say why this task will not run it. */
async function takePair(deps: SweepDeps, sweep: Sweep, config: SweepConfig, sha: string, ctx: TaskContext): Promise<Outcome> {
  const uid = ctx.uid;
  const pair = await getPair(deps.pool, { repo: sweep.repoKey, sha, configHash: config.hash, architecture: sweep.architecture });
  if (pair?.status === 'complete') return { skipped: 'the pair is complete already' };
  if (pair && (pair.status === 'in_progress' || pair.status === 'benchmark_complete')) {
    // Held by this task: claimed at fire time, or by an earlier attempt. Later writes check the token.
    return pair.taskUid === uid ? { owned: true } : { skipped: `the pair is held by task ${pair.taskUid ?? '(none)'}` };
  }
  // Waiting or failed: claim it now (a task submitted by hand, or whose fire-time claim was cleaned up).
  const claimed = await claimPair(deps.pool, sweep, config, sha, uid, ctx.fencingToken);
  return claimed ? { owned: true } : { skipped: 'the pair was claimed by another task, or failed too often' };
}

/**
 * Claim a sweep's (commit, config) pair `in_progress` for the task, unless another task holds it
 * or it failed `max_failed_attempts` times: whether the claim was taken. Used by a fire (fire.ts), by takePair and by
 * a bisection's run (bisect.ts); the fencing token, when given, guards the write.
 */
export async function claimPair(
  ex: Executor,
  sweep: Sweep,
  config: SweepConfig,
  sha: string,
  taskUid: string,
  fencingToken?: number,
): Promise<boolean> {
  const r = await markCommits(ex, {
    repo: sweep.repoKey,
    gitDir: sweep.repo,
    refs: [sha],
    config: config.value,
    configName: config.name,
    status: 'in_progress',
    taskUid,
    fencingToken,
    architecture: sweep.architecture,
    claim: true,
    maxAttempts: sweep.maxFailedAttempts,
  });
  return r.marked.length > 0;
}

function logTail(log: Buffer): string {
  return log.subarray(Math.max(0, log.length - LOG_TAIL_BYTES)).toString('utf8');
}

export async function runBenchmark(deps: SweepDeps, kwargs: Partial<BenchmarkKwargs>, ctx: TaskContext): Promise<Record<string, unknown>> {
  const { sweep, config, sha } = lookupPair(deps.sweeps, kwargs);
  const started = Date.now();
  const taken = await takePair(deps, sweep, config, sha, ctx);
  if ('skipped' in taken) {
    ctx.logger.info({ sweep: sweep.name, sha, reason: taken.skipped }, 'benchmark skipped');
    return { sha, config: config.hash, skipped: taken.skipped };
  }

  const workDir = deps.sweeps.workDir;
  await mkdir(workDir, { recursive: true });
  const runDir = await mkdtemp(path.join(workDir, `${RUN_PREFIX}${process.pid}-`));
  const worktree = path.join(runDir, 'worktree');
  let worktreeAdded = false;
  try {
    if (!(await hasCommit(sweep.repo, sha))) {
      if (sweep.fetch) await fetchRemote(sweep.repo, sweep.remote);
      if (!(await hasCommit(sweep.repo, sha))) throw new Error(`commit ${sha} is not in ${sweep.repo}`);
    }
    await addWorktree(sweep.repo, worktree, sha);
    worktreeAdded = true;
    const configFile = path.join(runDir, 'config.json');
    await writeFile(configFile, `${JSON.stringify(config.value, null, 2)}\n`);
    const cwd = sweep.cwd === undefined ? worktree : path.resolve(worktree, sweep.cwd);
    if (!existsSync(cwd)) throw new BenchmarkFailed(`the working directory ${cwd} does not exist (cwd of sweep ${sweep.name})`, {});
    const logDir = path.join(workDir, 'logs', sweep.name);
    await mkdir(logDir, { recursive: true });

    const prepared: PreparedResults[] = [];
    const logFiles: string[] = [];
    for (let i = 0; i < sweep.repeat; i++) {
      const outputDir = path.join(runDir, `out-${i}`);
      await mkdir(outputDir);
      const startedAt = new Date();
      const result = await runCommand({
        argv: sweep.command,
        cwd,
        env: benchmarkEnv(process.env, sweep.env, {
          EVENTIX_SHA: sha,
          EVENTIX_CONFIG_FILE: configFile,
          EVENTIX_OUTPUT_DIR: outputDir,
          EVENTIX_WORKTREE: worktree,
          EVENTIX_SWEEP: sweep.name,
          EVENTIX_REPEAT_INDEX: String(i),
          EVENTIX_TASK_UID: ctx.uid,
          EVENTIX_ATTEMPT: String(ctx.attempt),
        }),
        timeoutMs: sweep.timeoutSeconds * 1000,
        killGraceMs: sweep.killGraceSeconds * 1000,
        signal: ctx.signal,
        logLimitBytes: LOG_LIMIT_BYTES,
        onStart: (pgid) => deps.onCommandStart?.({ sweep: sweep.name, sha, pgid }),
      });
      const finishedAt = new Date();
      const logFile = path.join(
        logDir,
        `${sha.slice(0, 12)}-${config.hash.slice(0, 12)}-${ctx.uid}-a${ctx.attempt}${sweep.repeat > 1 ? `-r${i}` : ''}.log`,
      );
      const header = result.droppedBytes
        ? `[eventix: the first ${result.droppedBytes} bytes of output were dropped; the last ${LOG_LIMIT_BYTES} are kept]\n`
        : '';
      await writeFile(logFile, Buffer.concat([Buffer.from(header), result.log]));
      logFiles.push(logFile);
      // Cancelled, lease lost, shutting down: the worker has already settled this attempt.
      if (result.aborted !== undefined) throw result.aborted;
      const facts = { exit_code: result.code, log_file: logFile, log_tail: logTail(result.log), repeat_index: i };
      if (result.timedOut) {
        throw new BenchmarkFailed(
          `the benchmark command timed out after ${sweep.timeoutSeconds} s; its process group was killed (log: ${logFile})`,
          facts,
          'BenchmarkTimeout',
        );
      }
      if (result.code !== 0) {
        const how = result.code === null ? 'could not be started' : `exited with code ${result.code}`;
        throw new BenchmarkFailed(`the benchmark command ${how} (log: ${logFile})`, facts);
      }
      prepared.push(await readMetrics(deps, sweep, config, sha, outputDir, { ctx, i, startedAt, finishedAt, facts }));
    }
    if (ctx.signal.aborted) throw ctx.signal.reason;

    const pair: AttemptPair = {
      repo: sweep.repoKey,
      sha,
      configHash: config.hash,
      architecture: sweep.architecture,
      taskUid: ctx.uid,
      fencingToken: ctx.fencingToken,
    };
    // Refused when this attempt lost its lease (the worker then discards its outcome) or the pair
    // was taken from the task (then this is the attempt's failure, and retrying cannot help).
    const notOwned = () =>
      new NonRetryableError(
        'the pair is no longer owned by this attempt (its lease was lost, or the pair was taken); its results are not stored',
      );
    if (!(await markOwnedPair(deps.pool, pair, 'benchmark_complete'))) throw notOwned();
    const stored = await withTransaction(deps.pool, async (client) => {
      if (!(await lockOwnedPair(client, pair))) throw notOwned();
      const r = await storeResults(client, merge(prepared));
      // Cannot be refused now that both rows are locked; checked anyway, as every pair write is.
      if (!(await markOwnedPair(client, pair, 'complete'))) throw notOwned();
      // With the results: a bisection waiting for this commit takes its next step (bisect-hooks.ts).
      await bisectionRunStored(client, pair);
      return r;
    });
    return {
      sha,
      config: config.hash,
      runs: stored.runs.map((r) => r.uid),
      metrics: stored.metrics,
      log_files: logFiles,
      duration_ms: Date.now() - started,
    };
  } finally {
    if (worktreeAdded) await removeWorktree(sweep.repo, worktree);
    await rm(runDir, { recursive: true, force: true }).catch((err: unknown) =>
      deps.logger.warn({ err: coerceError(err), runDir }, 'could not remove a benchmark run folder'),
    );
  }
}

async function readMetrics(
  deps: SweepDeps,
  sweep: Sweep,
  config: SweepConfig,
  sha: string,
  outputDir: string,
  run: { ctx: TaskContext; i: number; startedAt: Date; finishedAt: Date; facts: Record<string, unknown> },
): Promise<PreparedResults> {
  const file = path.join(outputDir, METRICS_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new BenchmarkFailed(`the benchmark command exited 0 but wrote no ${METRICS_FILE} in EVENTIX_OUTPUT_DIR`, run.facts);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new BenchmarkFailed(`${METRICS_FILE} is not JSON: ${coerceError(err).message}`, run.facts);
  }
  try {
    return prepareResults(
      {
        data,
        repo: sweep.repoKey,
        sha,
        branch: sweep.branch,
        config: config.value,
        configName: config.name ?? undefined,
        architecture: sweep.architecture,
        environment: machineEnvironment(),
        taskUid: run.ctx.uid,
        repeatIndex: run.i,
        startedAt: run.startedAt.toISOString(),
        finishedAt: run.finishedAt.toISOString(),
      },
      { root: METRICS_FILE },
    );
  } catch (err) {
    if (err instanceof ValidationError) throw new BenchmarkFailed(`${METRICS_FILE} is not valid results: ${err.message}`, run.facts);
    deps.logger.warn({ err: coerceError(err) }, 'reading metrics failed');
    throw err;
  }
}

/** Several repeats' results, stored as one push: all or nothing. */
function merge(parts: PreparedResults[]): PreparedResults {
  const first = parts[0];
  if (!first) throw new Error('no results to store');
  return {
    format: first.format,
    configName: first.configName,
    runs: parts.flatMap((p) => p.runs),
    skipped: parts.flatMap((p) => p.skipped),
  };
}
