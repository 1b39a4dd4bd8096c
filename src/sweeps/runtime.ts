import type pg from 'pg';
import { coerceError, type Logger, silentLogger } from '../logger.ts';
import type { Notifier } from '../worker/notifier.ts';
import { defineTask, type TaskDefinition } from '../worker/registry.ts';
import { Worker } from '../worker/worker.ts';
import { BENCHMARK_TASK, type BenchmarkKwargs, runBenchmark, type SweepDeps } from './benchmark-task.ts';
import { runBisectStep } from './bisect.ts';
import { BISECT_TASK, bisectionRunFailed } from './bisect-hooks.ts';
import type { Sweeps } from './config.ts';
import { fireSweep, SWEEP_TASK } from './fire.ts';
import { failPairsOfErroredTasks } from './pairs.ts';
import { removeLeftovers } from './worktree.ts';

/** The task definitions of sweeps (fire, benchmark, bisection step), bound to a sweeps file and a database. */
export function sweepTasks(deps: SweepDeps, track: <T>(p: Promise<T>) => Promise<T> = (p) => p) {
  const fire = defineTask<[], { sweep?: unknown }>(SWEEP_TASK, (_args, kwargs, ctx) =>
    track(fireSweep(deps, String(kwargs.sweep), ctx.signal)),
  );
  const bench = defineTask<[], Partial<BenchmarkKwargs>>(BENCHMARK_TASK, (_args, kwargs, ctx) => track(runBenchmark(deps, kwargs, ctx)));
  const bisect = defineTask<[], Record<string, unknown>>(BISECT_TASK, (_args, kwargs, ctx) => track(runBisectStep(deps, kwargs, ctx)));
  return { fire, bench, bisect };
}

export interface SweepRuntimeOptions {
  pool: pg.Pool;
  sweeps: Sweeps;
  /** The namespaces this process serves; sweeps of other namespaces run elsewhere. */
  namespaces: readonly string[];
  logger?: Logger;
  leaseSeconds?: number;
  pollIntervalMs?: number;
  listen?: boolean;
  /** The process's shared LISTEN connection, for every worker here (see WorkerOptions.notifier). */
  notifier?: Notifier | undefined;
  shutdownGraceMs?: number;
  /** Run rescue and prune in one of these workers (off when the process has another worker or maintenance). */
  maintenance?: boolean;
  maintenanceIntervalMs?: number;
  eventRetentionSeconds?: number | null;
  staleSeconds?: number;
  onCommandStart?: SweepDeps['onCommandStart'];
}

/**
 * The workers of the sweeps in the namespaces this process serves. Per namespace, two workers:
 *
 * - `benchmark.run` with concurrency `concurrency_per_worker` (default 1, so two benchmarks never
 *   share a machine; sweeps sharing a namespace share the smallest of their limits). A separate
 *   worker, because one worker's concurrency counts every task it runs: mixed with fires or other
 *   tasks, it could claim a second benchmark.
 * - `eventix.sweep`, concurrency 2, so a fire never waits behind a benchmark hours long.
 *
 * The benchmark worker's `task:failed` listener records a pair `failed` once the queue has decided
 * `error` for its task (no retries left, or a non-retryable error). Listening, rather than
 * counting attempts in the handler, uses the database's own verdict: one retry rule, and it holds
 * for failures thrown anywhere in the attempt, timeouts included. What no process lives to record
 * (a worker killed on the last attempt) the next fire settles (pairs.ts).
 */
export class SweepRuntime {
  readonly workers: Worker[] = [];
  readonly deps: SweepDeps;
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly logger: Logger;

  constructor(private readonly opts: SweepRuntimeOptions) {
    this.logger = (opts.logger ?? silentLogger).child({ component: 'sweeps' });
    this.deps = {
      pool: opts.pool,
      sweeps: opts.sweeps,
      logger: this.logger,
      staleSeconds: opts.staleSeconds,
      onCommandStart: opts.onCommandStart,
    };
    const { fire, bench, bisect } = sweepTasks(this.deps, (p) => this.track(p));
    let maintenance = opts.maintenance ?? true;
    for (const namespace of this.namespaces) {
      const limits = opts.sweeps.sweeps.filter((s) => s.namespace === namespace).map((s) => s.concurrencyPerWorker);
      const benchWorker = this.worker([bench], namespace, Math.min(...limits), maintenance);
      maintenance = false;
      benchWorker.on('task:failed', ({ task, status }) => {
        if (status !== 'error') return;
        failPairsOfErroredTasks(opts.pool, { taskUid: task.uid, fencingToken: task.fencingToken }).catch((err: unknown) =>
          this.logger.warn({ err: coerceError(err), taskUid: task.uid }, 'could not mark the pair failed; the next fire will'),
        );
        // A bisection waiting for this run skips its commit now, not when its watchdog comes due.
        bisectionRunFailed(opts.pool, task.uid).catch((err: unknown) =>
          this.logger.warn({ err: coerceError(err), taskUid: task.uid }, 'could not wake the bisection; its watchdog will'),
        );
      });
      // Bisection steps are quick (git and a few statements), like fires: they share this worker.
      this.workers.push(benchWorker, this.worker([fire, bisect], namespace, 2, false));
    }
  }

  /** Served namespaces that have sweeps. */
  get namespaces(): string[] {
    const wanted = new Set(this.opts.sweeps.sweeps.map((s) => s.namespace));
    return [...new Set(this.opts.namespaces)].filter((n) => wanted.has(n));
  }

  private worker(tasks: TaskDefinition[], namespace: string, concurrency: number, maintenance: boolean): Worker {
    const o = this.opts;
    return new Worker({
      pool: o.pool,
      tasks,
      namespaces: [namespace],
      concurrency,
      leaseSeconds: o.leaseSeconds,
      pollIntervalMs: o.pollIntervalMs,
      listen: o.listen,
      notifier: o.notifier,
      shutdownGraceMs: o.shutdownGraceMs,
      maintenance,
      maintenanceIntervalMs: o.maintenanceIntervalMs,
      eventRetentionSeconds: o.eventRetentionSeconds,
      logger: o.logger,
    });
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.inFlight.add(p);
    const done = () => this.inFlight.delete(p);
    p.then(done, done);
    return p;
  }

  async start(): Promise<void> {
    const repos = [...new Set(this.opts.sweeps.sweeps.filter((s) => this.namespaces.includes(s.namespace)).map((s) => s.repo))];
    const removed = await removeLeftovers(this.opts.sweeps.workDir, repos);
    if (removed) this.logger.warn({ removed, workDir: this.opts.sweeps.workDir }, 'removed run folders left by killed workers');
    for (const w of this.workers) await w.start();
  }

  /**
   * Stop the workers (running benchmarks get the shutdown grace, then are handed back and their
   * process groups killed), and wait until every handler has cleaned up its worktree: the worker
   * stops waiting for an aborted handler at once, the handler does not.
   */
  async stop(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.stop()));
    await Promise.allSettled([...this.inFlight]);
  }
}
