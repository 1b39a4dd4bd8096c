// The shapes of work after noop (--scenarios; what each measures is METHODOLOGY.scenarios): `io`,
// the same no-op jobs with handlers that then await a short timer, `mixed`, no-op jobs of 5 task
// names over 3 namespaces with 3 priorities (mixedJob), and `processes`, several worker processes
// of one system on its one database. Each runs --rounds rounds per system,
// interleaved like the later throughput rounds, in the database noop's phases left behind.
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { withDatabase } from './databases.ts';
import type { JobHandler } from './drivers/types.ts';
import { killChild, live, startWorker } from './lifecycle.ts';
import type { Options } from './options.ts';
import { enqueuePhase, processPhase } from './phases.ts';
import { progress } from './progress.ts';
import { summarize } from './stats.ts';
import { jobsPerRound, type Run } from './system.ts';
import { sleep, withTimeout } from './wait.ts';
import type { FromWorker, ToWorker } from './worker-process.ts';

/** Worker processes in the `processes` scenario, each with one worker at --concurrency. */
export const PROCESSES = 4;
/** The `io` stand-in for a call to another service: a timer of uniform random length in [min, max) ms. */
export const IO_MS = { min: 1, max: 5 } as const;

const WORKER_SCRIPT = fileURLToPath(new URL('./worker-process.ts', import.meta.url));
/** How long worker processes get to finish their stop (worker, driver) before they are killed. */
const STOP_MS = 30_000;

/** `items` starting at the (round − 1)-th, so that each round a different system goes first. */
export function rotated<T>(items: readonly T[], round: number): T[] {
  const shift = (round - 1) % items.length;
  return [...items.slice(shift), ...items.slice(0, shift)];
}

/** The `io` handler: report the id first, as every handler does, then wait as if for I/O. */
export const withIo =
  (onJob: JobHandler): JobHandler =>
  async (id) => {
    await onJob(id);
    await sleep(IO_MS.min + Math.random() * (IO_MS.max - IO_MS.min));
  };

/** Every scenario after noop in opts.scenarios, over the runs that are still ok. */
export async function runScenarios(runs: readonly Run[], serverUrl: string, opts: Options): Promise<void> {
  for (const name of opts.scenarios) {
    if (name === 'noop') continue;
    for (let round = 1; round <= opts.rounds; round++) {
      const order = rotated(runs, round).filter((r) => r.result.ok);
      if (order.length === 0) return;
      progress(`\n== ${name}: round ${round}/${opts.rounds}`);
      for (const run of order) {
        await scenarioRound(run, name, withDatabase(serverUrl, run.dbName), opts, round);
        // Each round has the machine to itself, as in the throughput rounds.
        await Promise.allSettled([...live.stops].map((s) => s()));
      }
    }
  }
}

/** One round of `name` on one system: enqueue (untimed), then time the workers through the jobs. */
async function scenarioRound(run: Run, name: string, url: string, opts: Options, round: number): Promise<void> {
  const { driver, label, tracker, result } = run;
  try {
    const jobs = jobsPerRound(driver, opts);
    let seconds: number;
    if (name === 'io' || name === 'mixed') {
      const shape = name === 'mixed' ? 'mixed' : 'noop';
      const onJob = name === 'io' ? withIo(tracker.onJob) : tracker.onJob;
      const ids = tracker.issue(jobs);
      await enqueuePhase(driver, ids, opts.batch, undefined, shape);
      ({ seconds } = await processPhase(driver, tracker, ids, opts, undefined, {
        start: () => startWorker(driver, opts.concurrency, tracker, onJob, shape),
      }));
    } else {
      ({ seconds } = await inProcesses(run, jobs, url, opts));
    }
    const rate = jobs / seconds;
    const scenarios = result.scenarios ?? {};
    const entry = scenarios[name] ?? { jobs, perSecond: rate, samples: [] };
    scenarios[name] = entry;
    result.scenarios = scenarios;
    entry.samples.push(rate);
    entry.perSecond = summarize(entry.samples).p50;
    progress(`${label}: ${name} ${Math.round(rate)}/s (round ${round})`);
  } catch (err) {
    if (live.interrupted) throw err;
    result.ok = false;
    result.error = `${name} round ${round}: ${err instanceof Error ? err.message : String(err)}`;
    progress(`${label}: FAILED: ${result.error}`);
  }
}

/**
 * The `processes` round. The workers are started and warmed up first (a batch of --warmup jobs,
 * untimed): a distributed deployment's workers run for days, and a round of about a second
 * measured from a cold start was mostly connections being opened (SCRAM authentication is
 * milliseconds of CPU each) and buffers sizing up. Then the round's jobs are bulk-enqueued while
 * the warm workers run, and the clock runs from the first enqueue call to every job finished.
 */
async function inProcesses(run: Run, jobs: number, url: string, opts: Options) {
  const { driver, tracker } = run;
  const pool = new WorkerProcesses(run.key, opts.concurrency, tracker.onJob);
  try {
    // Spawning and setting up (tsx, imports, connections) is not the system's work: before t0.
    await pool.spawn(PROCESSES, url, opts.stallMs);
    pool.go();
    if (opts.warmup > 0) {
      const warm = tracker.issue(Math.min(opts.warmup, jobs));
      await enqueuePhase(driver, warm, opts.batch, undefined);
      await processPhase(driver, tracker, warm, opts, undefined, { start: async () => async () => {}, signal: pool.signal, quiet: false });
    }
    const ids = tracker.issue(jobs);
    return await processPhase(driver, tracker, ids, opts, undefined, {
      start: async () => {
        await enqueuePhase(driver, ids, opts.batch, undefined);
        return async () => {};
      },
      signal: pool.signal,
    });
  } finally {
    await pool.stop();
  }
}

interface Child {
  n: number;
  proc: ChildProcess;
  ready: boolean;
  stopped: boolean;
  /** Resolves on 'close': the process has exited and its last message has been handled. */
  closed: Promise<unknown>;
  /** What the child said went wrong, for the error when it exits. */
  error?: string;
}

/**
 * Worker processes of one system (bench/worker-process.ts, protocol there). Any of them exiting
 * before it was asked to stop, or without confirming the stop, aborts `signal`: the round fails.
 */
class WorkerProcesses {
  private readonly children: Child[] = [];
  private readonly failure = new AbortController();
  readonly signal = this.failure.signal;
  private stopping: Promise<void> | undefined;
  private readyWaiter: (() => void) | undefined;

  constructor(
    private readonly key: string,
    private readonly concurrency: number,
    private readonly onJob: JobHandler,
  ) {}

  /** Spawn `count` children and have each set up its driver on `url`; resolves when all are ready. */
  async spawn(count: number, url: string, timeoutMs: number): Promise<void> {
    const allReady = new Promise<void>((resolve) => {
      this.readyWaiter = () => {
        if (this.children.every((c) => c.ready)) resolve();
      };
    });
    for (let n = 1; n <= count; n++) this.children.push(this.spawnOne(n, count));
    for (const c of this.children) this.send(c, { type: 'setup', url });
    try {
      await withTimeout(Promise.race([allReady, this.aborted()]), timeoutMs, `${count} worker processes to set up`);
    } catch (err) {
      this.fail(err as Error);
      throw err;
    }
  }

  go(): void {
    for (const c of this.children) this.send(c, { type: 'go' });
  }

  /** Ask every child to stop (or kill them all after a failure); rejects when the round failed. Once. */
  stop(): Promise<void> {
    this.stopping ??= this.stopAll();
    return this.stopping;
  }

  private spawnOne(n: number, count: number): Child {
    // BENCH_CPU_PROF=<dir> (read by the child): each worker process profiles its job loop there (bench/worker-process.ts).
    const proc = spawn(process.execPath, ['--import', 'tsx', WORKER_SCRIPT, this.key, String(this.concurrency)], {
      // Same process group: Ctrl-C in the terminal reaches the children too; cleanup kills the rest.
      detached: false,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    live.children.add(proc);
    const child: Child = { n, proc, ready: false, stopped: false, closed: new Promise((r) => proc.once('close', r)) };
    const who = () => `worker process ${n}/${count} (pid ${proc.pid ?? '?'})`;
    proc.on('message', (msg: FromWorker) => {
      if (msg.type === 'ids') for (const id of msg.ids) this.onJob(id);
      else if (msg.type === 'ready') {
        child.ready = true;
        this.readyWaiter?.();
      } else if (msg.type === 'stopped') child.stopped = true;
      else if (msg.type === 'error') child.error = msg.message;
    });
    proc.on('error', (err) => this.fail(new Error(`${who()}: ${err.message}`)));
    // 'close', not 'exit': it comes after the IPC channel has delivered the child's last message.
    proc.on('close', (code, signal) => {
      live.children.delete(proc);
      if (child.stopped) return;
      const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
      const when = this.stopping ? 'while stopping, without confirming the stop' : 'before it was asked to stop';
      this.fail(new Error(`${who()} ${how} ${when}${child.error ? `: ${child.error}` : ''}`));
    });
    return child;
  }

  private send(c: Child, msg: ToWorker): void {
    if (!c.proc.connected) return;
    c.proc.send(msg, (err) => {
      if (err) this.fail(new Error(`worker process ${c.n}: ${err.message}`));
    });
  }

  private fail(err: Error): void {
    if (!this.signal.aborted) this.failure.abort(err);
  }

  /** Rejects with the failure, once there is one. */
  private aborted(): Promise<never> {
    return new Promise<never>((_, reject) => {
      if (this.signal.aborted) reject(this.signal.reason);
      this.signal.addEventListener('abort', () => reject(this.signal.reason), { once: true });
    });
  }

  private async stopAll(): Promise<void> {
    const closed = Promise.all(this.children.map((c) => c.closed));
    if (!this.signal.aborted) {
      for (const c of this.children) this.send(c, { type: 'stop' });
      await withTimeout(Promise.race([closed, this.aborted()]), STOP_MS, 'worker processes to stop').catch((err: Error) => this.fail(err));
    }
    // After a failure the others' work no longer counts; and none may outlive the round.
    await Promise.all(this.children.map((c) => killChild(c.proc)));
    // Every 'close' seen, so that a child that went without confirming the stop has failed the round.
    await closed;
    if (this.signal.aborted) throw this.signal.reason;
  }
}
