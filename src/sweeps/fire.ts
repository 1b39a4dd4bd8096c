import { run } from '../db/executor.ts';
import { withTransaction } from '../db/transaction.ts';
import { NonRetryableError } from '../errors.ts';
import { submitMany } from '../queue/submit.ts';
import type { SubmitInput } from '../queue/submit-input.ts';
import { cleanupCommits } from '../tracking/commits.ts';
import { determineCommits } from '../tracking/determine.ts';
import { BENCHMARK_TASK, type BenchmarkKwargs, claimPair, type SweepDeps } from './benchmark-task.ts';
import type { Sweep } from './config.ts';
import { failPairsOfErroredTasks } from './pairs.ts';
import { fetchRemote } from './worktree.ts';

/**
 * `eventix.sweep`: one fire of a sweep, submitted by its schedule (`sweep:<name>`), its event
 * trigger (`sweep:<name>`) or POST /sweeps/{name}/run. It runs on the sweep's namespace, where
 * the machines with the repository are.
 *
 * 1. fetch, when the sweep asks;
 * 2. settle: pairs whose owner task ended in error are `failed` (pairs.ts says why);
 * 3. cleanup: stale pairs of the repository go back to waiting (their owner is no longer waiting
 *    or running, e.g. it was cancelled);
 * 4. determine, per config: the commits that still need a benchmark;
 * 5. in ONE transaction, per (sha, config): submit a `benchmark.run` task (unique key
 *    `bench:<sweep>:<sha>:<config hash>`) and claim the pair in_progress for that task's uid.
 *
 * Why one transaction: a crash between submit and claim would otherwise leave a task without its
 * pair, or a pair owned by nothing. Why a claim and not a plain mark: two fires at the same moment
 * (two sweeps over one repository and config, or a schedule and a push) both determine the same
 * commits; the claim (claimPair: markCommits with `claim`) lets exactly one take each pair, and the loser
 * deletes the task it submitted for it, in the same transaction, so it never existed. The pairs
 * are taken in one global order (config hash, then sha), so two fires never wait on each other in
 * a cycle. A fire merged (by unique key) into a task that is still waiting adds nothing: that
 * task already owns the pair.
 */

export const SWEEP_TASK = 'eventix.sweep';

export const fireUniqueKey = (sweep: string) => `sweep:${sweep}`;
export const benchmarkUniqueKey = (sweep: string, sha: string, configHash: string) => `bench:${sweep}:${sha}:${configHash}`;

/** Options of every benchmark.run task of a sweep. */
export function benchmarkSubmit(sweep: Sweep, sha: string, configHash: string): SubmitInput {
  const kwargs: BenchmarkKwargs = { sweep: sweep.name, sha, config: configHash };
  return {
    task: BENCHMARK_TASK,
    namespace: sweep.namespace,
    kwargs: { ...kwargs },
    uniqueKey: benchmarkUniqueKey(sweep.name, sha, configHash),
    maxRetries: sweep.retry.maxRetries,
    ...(sweep.retry.errorEtaInc === undefined ? {} : { errorEtaInc: sweep.retry.errorEtaInc }),
    // A backstop only: the command's own timeout (timeout_seconds) is enforced by the handler,
    // which kills the process group and records the log. This covers git and the database too.
    timeoutSeconds: sweep.repeat * (sweep.timeoutSeconds + sweep.killGraceSeconds) + 600,
  };
}

export interface FireResult {
  sweep: string;
  settled: number;
  cleaned: number;
  determined: { config: string; shas: string[]; eligible: number }[];
  submitted: { sha: string; config: string; task_uid: string }[];
  /** Pairs another fire claimed first, or that a waiting task of this sweep already holds. */
  skipped: { sha: string; config: string; reason: string }[];
}

export async function fireSweep(deps: SweepDeps, name: string, signal?: AbortSignal): Promise<FireResult> {
  const sweep = deps.sweeps.byName.get(name);
  if (!sweep) throw new NonRetryableError(`no sweep named ${JSON.stringify(name)} in this worker's sweeps file`);
  const log = deps.logger.child({ sweep: sweep.name });
  if (sweep.fetch) await fetchRemote(sweep.repo, sweep.remote);

  const settled = await failPairsOfErroredTasks(deps.pool, { repo: sweep.repoKey });
  const cleaned = await cleanupCommits(deps.pool, { repo: sweep.repoKey, olderThanSeconds: deps.staleSeconds });

  const determined: FireResult['determined'] = [];
  const pairs: { sha: string; config: Sweep['configs'][number] }[] = [];
  for (const config of sweep.configs) {
    const d = await determineCommits(deps.pool, {
      repo: sweep.repoKey,
      gitDir: sweep.repo,
      branch: sweep.branch,
      config: config.value,
      maxCommits: sweep.maxCommits,
      subsetDetection: sweep.subsetDetection,
      firstParent: sweep.firstParent,
      since: sweep.since,
      strategy: sweep.strategy,
      architecture: sweep.architecture,
      maxAttempts: sweep.maxFailedAttempts,
      staleSeconds: deps.staleSeconds,
    });
    determined.push({ config: config.hash, shas: d.shas, eligible: d.eligible });
    for (const sha of d.shas) pairs.push({ sha, config });
  }
  pairs.sort((a, b) => (a.config.hash === b.config.hash ? cmp(a.sha, b.sha) : cmp(a.config.hash, b.config.hash)));
  if (signal?.aborted) throw signal.reason;

  const submitted: FireResult['submitted'] = [];
  const skipped: FireResult['skipped'] = [];
  if (pairs.length) {
    await withTransaction(deps.pool, async (client) => {
      const results = await submitMany(
        client,
        pairs.map((p) => benchmarkSubmit(sweep, p.sha, p.config.hash)),
      );
      for (const [i, p] of pairs.entries()) {
        const r = results[i];
        if (!r) continue;
        if (!r.created) {
          skipped.push({ sha: p.sha, config: p.config.hash, reason: `merged into waiting task ${r.task.uid}` });
          continue;
        }
        const claimed = await claimPair(client, sweep, p.config, p.sha, r.task.uid);
        if (claimed) {
          submitted.push({ sha: p.sha, config: p.config.hash, task_uid: r.task.uid });
        } else {
          await run(client, 'delete from tasks where uid = $1', [r.task.uid]);
          skipped.push({ sha: p.sha, config: p.config.hash, reason: 'claimed by another fire' });
        }
      }
    });
  }
  const result: FireResult = {
    sweep: sweep.name,
    settled: settled.length,
    cleaned: cleaned.reset,
    determined,
    submitted,
    skipped,
  };
  log.info({ submitted: submitted.length, skipped: skipped.length, settled: settled.length, cleaned: cleaned.reset }, 'sweep fired');
  return result;
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
