import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type pg from 'pg';
import { LeaseLost } from '../errors.ts';
import { coerceError, type Logger, silentLogger } from '../logger.ts';
import { claim } from '../queue/claim.ts';
import { fail, toTaskError } from '../queue/fail.ts';
import { release } from '../queue/release.ts';
import type { ClaimedTask } from '../queue/task.ts';
import { AttemptAborted } from './attempt-aborted.ts';
import { Completer } from './completer.ts';
import { Heartbeats } from './heartbeats.ts';
import { Maintenance } from './maintenance.ts';
import { Notifier } from './notifier.ts';
import { WorkerPresence } from './presence.ts';
import { buildRegistry, type TaskContext, type TaskDefinition } from './registry.ts';
import { completeRetrying } from './retry.ts';
import { SafeEmitter } from './safe-emitter.ts';
import { Wakeup } from './wakeup.ts';
import type { WorkerEvents, WorkerOptions, WorkerState } from './worker-options.ts';

export type { WorkerEvents, WorkerOptions, WorkerState } from './worker-options.ts';

interface Running {
  task: ClaimedTask;
  controller: AbortController;
  done: Promise<void>;
}

/**
 * A long-running worker: claims tasks it has handlers for, runs up to `concurrency` at once,
 * renews their leases in one statement per heartbeat, and reports outcomes under its fencing
 * tokens. States: created → running → stopping → stopped.
 */
export class Worker extends SafeEmitter<WorkerEvents> {
  readonly workerId: string;
  private state: WorkerState = 'created';
  private readonly registry: Map<string, TaskDefinition>;
  private readonly names: string[];
  private readonly namespaces: string[];
  private readonly concurrency: number;
  private readonly leaseSeconds: number;
  private readonly pollIntervalMs: number;
  private readonly shutdownGraceMs: number;
  protected readonly logger: Logger;
  private readonly pool: pg.Pool;
  private readonly running = new Map<string, Running>();
  private readonly wakeup = new Wakeup();
  private readonly completer: Completer;
  private readonly notifier: Notifier | undefined;
  private readonly maintenance: Maintenance | undefined;
  private readonly presence: WorkerPresence | undefined;
  private loopDone: Promise<void> | undefined;
  private readonly heartbeats: Heartbeats;
  /** reportError bound once, for the helpers that report on the worker's behalf. */
  private readonly report = (err: unknown, during: string): void => this.reportError(err, during);
  /** The last claim found fewer due tasks than it asked for: don't re-claim on every finished task. */
  private drained = false;
  /**
   * NOTIFYs received so far. A claim that comes back short marks the queue drained only if none
   * arrived while it ran: the task announced meanwhile may be invisible to that claim's snapshot,
   * and marking drained anyway left it waiting for the next poll (measured: 1 s in 300 samples).
   */
  private notified = 0;
  /** Claim at once when this many slots are free; fewer wait briefly for company (see loop()). */
  private readonly claimBatchMin: number;
  private readonly claimBatchWaitMs = 10;
  /** Slots promised to claims in flight (the loop's, or a completer flush's). */
  private reserved = 0;

  constructor(opts: WorkerOptions) {
    super();
    this.pool = opts.pool;
    this.registry = buildRegistry(opts.tasks);
    this.names = [...this.registry.keys()];
    this.namespaces = [...(opts.namespaces ?? ['default'])];
    this.concurrency = opts.concurrency ?? 8;
    this.leaseSeconds = opts.leaseSeconds ?? 30;
    this.pollIntervalMs = opts.pollIntervalMs ?? 1000;
    this.shutdownGraceMs = opts.shutdownGraceMs ?? 30_000;
    this.workerId = opts.workerId ?? `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
    this.logger = (opts.logger ?? silentLogger).child({ component: 'worker', workerId: this.workerId });
    this.completer = new Completer(this.pool, this.workerId, 500, 1, {
      reserve: (finishing) => {
        if (this.state !== 'running') return undefined;
        // The finishing tasks still count as running until this flush returns; their slots are the ones refilled.
        const limit = Math.min(this.concurrency, this.concurrency - this.running.size - this.reserved + finishing);
        if (limit <= 0) return undefined;
        this.reserved += limit;
        return { namespaces: this.namespaces, tasks: this.names, limit, leaseSeconds: this.leaseSeconds, notified: this.notified };
      },
      claimed: (tasks, { limit, notified }) => {
        this.reserved -= limit;
        // A full answer means more may wait; a short one that the queue is empty for now.
        this.drained = tasks.length < limit && notified === this.notified;
        if (this.state !== 'running') {
          // Stopped during the flush: hand these straight back, untouched.
          void release(this.pool, this.workerId, tasks).catch((err) => this.reportError(err, 'release'));
          return;
        }
        for (const task of tasks) this.execute(task);
      },
    });
    this.heartbeats = new Heartbeats({
      pool: this.pool,
      workerId: this.workerId,
      leaseSeconds: this.leaseSeconds,
      entries: () => this.running.values(),
      reportError: this.report,
      stopped: () => this.state === 'stopped',
    });
    this.claimBatchMin = Math.max(1, Math.floor(this.concurrency / 4));
    if (this.concurrency < 1) throw new TypeError('concurrency must be at least 1');
    if (this.names.length === 0) throw new TypeError('a worker needs at least one task definition');
    if (opts.listen ?? true) {
      this.notifier = new Notifier((this.pool as unknown as { options: pg.ClientConfig }).options, this.logger);
      this.notifier.on('notify', (ns) => {
        if (ns === '*' || this.namespaces.includes(ns)) {
          this.notified++;
          this.drained = false;
          this.wakeup.wake();
        }
      });
      // Already logged as a warning by the notifier; polling covers the gap until it reconnects.
      this.notifier.on('listen:lost', ({ error }) => this.safeEmit('worker:error', { error, during: 'listen' }));
    }
    if (opts.maintenance ?? true) {
      this.maintenance = new Maintenance({
        pool: this.pool,
        logger: this.logger,
        intervalMs: opts.maintenanceIntervalMs ?? 10_000,
        eventRetentionSeconds: opts.eventRetentionSeconds,
      });
      this.maintenance.on('rescued', (rows) => this.safeEmit('maintenance:rescued', rows));
      this.maintenance.on('maintenance:error', ({ error }) => this.safeEmit('worker:error', { error, during: 'maintenance' }));
    }
    if (opts.presence ?? true) {
      this.presence = new WorkerPresence({
        pool: this.pool,
        logger: this.logger,
        workerId: this.workerId,
        namespaces: this.namespaces,
        tasks: this.names,
        concurrency: this.concurrency,
        intervalMs: opts.presenceIntervalMs,
      });
      // Already logged (once per outage) by WorkerPresence; the next upsert follows on its timer.
      this.presence.on('presence:error', ({ error }) => this.safeEmit('worker:error', { error, during: 'presence' }));
    }
  }

  get status(): WorkerState {
    return this.state;
  }

  /** Tasks currently running in this worker. */
  get active(): number {
    return this.running.size;
  }

  async start(): Promise<void> {
    if (this.state !== 'created') throw new Error(`cannot start a worker that is ${this.state}`);
    this.state = 'running';
    // The first presence upsert runs beside the LISTEN connect; neither rejects, and a failure of either only delays its own retry.
    const presence = this.presence?.start();
    if (this.notifier) {
      // A failed LISTEN is not fatal: the notifier retries and the poll covers the gap.
      await this.notifier.start().catch((err) => this.reportError(err, 'listen'));
    }
    await presence;
    this.maintenance?.start();
    this.heartbeats.start();
    this.loopDone = this.loop();
    this.logger.info({ namespaces: this.namespaces, tasks: this.names, concurrency: this.concurrency }, 'worker started');
    this.safeEmit('worker:started', { workerId: this.workerId });
  }

  private async loop(): Promise<void> {
    let errorDelay = 0;
    let batchDeadline = 0;
    while (this.state === 'running') {
      const free = this.concurrency - this.running.size - this.reserved;
      // Under load, slots free one by one, and claiming for each would spend a commit per task.
      // When only a few are free, wait up to claimBatchWaitMs for more to free up, then claim
      // together. A worker with long tasks loses at most that delay; an idle one waits not at all.
      if (free > 0 && free < this.claimBatchMin && !this.drained) {
        const now = Date.now();
        if (batchDeadline === 0) batchDeadline = now + this.claimBatchWaitMs;
        if (now < batchDeadline) {
          await this.wakeup.wait(batchDeadline - now);
          continue;
        }
      }
      batchDeadline = 0;
      if (free > 0 && !this.drained) {
        let claimed: ClaimedTask[] = [];
        const notified = this.notified;
        this.reserved += free;
        try {
          claimed = await claim(this.pool, {
            workerId: this.workerId,
            namespaces: this.namespaces,
            tasks: this.names,
            limit: free,
            leaseSeconds: this.leaseSeconds,
          });
          errorDelay = 0;
        } catch (err) {
          this.reserved -= free;
          this.reportError(err, 'claim');
          // Database trouble: back off (capped) instead of hammering it, with jitter so that workers
          // which lost the same server at the same instant do not come back in step. A wake (the
          // notifier's '*' once LISTEN is back, a slot freed, stop()) ends the wait early.
          errorDelay = Math.min(this.pollIntervalMs * 5, Math.max(100, errorDelay * 2));
          await this.wakeup.wait(errorDelay * (0.5 + Math.random() / 2));
          continue;
        }
        this.reserved -= free;
        // Stopped while claiming: hand these straight back, untouched.
        if (this.state !== 'running') {
          await release(this.pool, this.workerId, claimed).catch((err) => this.reportError(err, 'release'));
          break;
        }
        for (const task of claimed) this.execute(task);
        if (claimed.length === free) continue;
        if (notified === this.notified) this.drained = true;
      }
      await this.wakeup.wait(this.pollIntervalMs);
      // A poll tick (no wake) means: look again even if the last claim came back short.
      if (this.running.size < this.concurrency) this.drained = false;
    }
  }

  private execute(task: ClaimedTask): void {
    const controller = new AbortController();
    const entry: Running = { task, controller, done: Promise.resolve() };
    this.running.set(task.uid, entry);
    this.safeEmit('task:claimed', { task });
    entry.done = this.runAttempt(task, controller).finally(() => {
      this.running.delete(task.uid);
      // A slot freed: claim again unless the queue was just found empty.
      if (!this.drained) this.wakeup.wake();
    });
  }

  private async runAttempt(task: ClaimedTask, controller: AbortController): Promise<void> {
    const def = this.registry.get(task.task);
    // A child logger per task is costly at thousands of tasks a second: make it on first use.
    let child: Logger | undefined;
    const log = () => (child ??= this.logger.child({ taskUid: task.uid, task: task.task }));
    const started = Date.now();
    const timeoutSeconds = task.timeoutSeconds ?? def?.defaults.timeoutSeconds ?? null;
    const timer = timeoutSeconds
      ? setTimeout(() => controller.abort(new AttemptAborted('timeout', `timed out after ${timeoutSeconds} s`)), timeoutSeconds * 1000)
      : undefined;
    const aborted = new Promise<never>((_, reject) => {
      controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true });
    });
    aborted.catch(() => {});
    try {
      if (!def) throw new Error(`no handler registered for task '${task.task}'`);
      const ctx: TaskContext = {
        uid: task.uid,
        task: task.task,
        namespace: task.namespace,
        attempt: task.attempts,
        fencingToken: task.fencingToken,
        signal: controller.signal,
        get logger() {
          return log();
        },
      };
      // The attempt ends when the handler settles or its signal aborts, whichever is first: a
      // handler that ignores its signal cannot hold a slot (or a lost lease) forever.
      const result = await Promise.race([Promise.resolve().then(() => def.handler(task.args, task.kwargs, ctx)), aborted]);
      clearTimeout(timer);
      await completeRetrying(this.completer, task, result, {
        leaseSeconds: this.leaseSeconds,
        signal: controller.signal,
        reportError: this.report,
      });
      this.safeEmit('task:completed', { task, result, durationMs: Date.now() - started });
    } catch (err) {
      clearTimeout(timer);
      await this.onAttemptError(task, err, log());
    }
  }

  private async onAttemptError(task: ClaimedTask, err: unknown, log: Logger): Promise<void> {
    if (err instanceof LeaseLost || (err instanceof AttemptAborted && err.reason === 'lease_lost')) {
      log.warn({ reason: err.message }, 'lease lost: the outcome of this attempt is discarded');
      this.safeEmit('task:lease-lost', { task, reason: err.message });
      return;
    }
    // Released by stop(): the queue already has it back.
    if (err instanceof AttemptAborted && err.reason === 'shutdown') return;
    const reason = err instanceof AttemptAborted ? err.reason : undefined;
    const error = toTaskError(err, reason);
    const retryable = (err as { retryable?: unknown })?.retryable !== false;
    try {
      const { status } = await fail(this.pool, {
        uid: task.uid,
        workerId: this.workerId,
        fencingToken: task.fencingToken,
        error,
        retryable,
      });
      log.warn({ err: coerceError(err), status }, 'task attempt failed');
      this.safeEmit('task:failed', { task, error, status });
    } catch (failErr) {
      if (failErr instanceof LeaseLost) {
        this.safeEmit('task:lease-lost', { task, reason: failErr.message });
      } else {
        // The lease will expire and rescue will retry the task: nothing is lost.
        this.reportError(failErr, 'fail');
      }
    }
  }

  /**
   * Stop claiming, let running tasks finish within the grace period, then hand the rest back to
   * the queue without using up a retry, and resolve once nothing of ours is left running.
   */
  async stop(): Promise<void> {
    if (this.state === 'stopped' || this.state === 'created') {
      this.state = 'stopped';
      return;
    }
    if (this.state === 'stopping') {
      await new Promise<void>((resolve) => this.once('worker:stopped', () => resolve()));
      return;
    }
    this.state = 'stopping';
    this.wakeup.wake();
    await this.loopDone;

    const inFlight = () => Promise.all([...this.running.values()].map((e) => e.done));
    let graceTimer: NodeJS.Timeout | undefined;
    await Promise.race([inFlight(), new Promise((r) => (graceTimer = setTimeout(r, this.shutdownGraceMs)))]);
    clearTimeout(graceTimer);

    let released = 0;
    const leftovers = [...this.running.values()];
    if (leftovers.length) {
      const ok = await release(
        this.pool,
        this.workerId,
        leftovers.map((e) => e.task),
      ).catch((err) => {
        this.reportError(err, 'release');
        return new Set<string>();
      });
      released = ok.size;
      for (const e of leftovers) {
        e.controller.abort(new AttemptAborted('shutdown', 'the worker is shutting down'));
        if (ok.has(e.task.uid)) this.safeEmit('task:released', { task: e.task });
      }
      this.logger.warn({ released }, 'grace period over: returned unfinished tasks to the queue');
      await inFlight();
    }
    await this.heartbeats.stop();
    await this.completer.drain();
    await this.maintenance?.stop();
    await this.presence?.stop();
    await this.notifier?.stop();
    this.state = 'stopped';
    this.logger.info({ released }, 'worker stopped');
    this.safeEmit('worker:stopped', { workerId: this.workerId, released });
  }

  /** Run rescue and prune now (tests and admin tools); normally they run on their own timer. */
  async runMaintenance(): Promise<{ rescued: number; pruned: number }> {
    if (!this.maintenance) return { rescued: 0, pruned: 0 };
    return this.maintenance.runOnce();
  }
}
