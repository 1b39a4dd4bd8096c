import type pg from 'pg';
import { LeaseLost } from '../errors.ts';
import { claim } from '../queue/claim.ts';
import { fail, toTaskError } from '../queue/fail.ts';
import { release } from '../queue/release.ts';
import type { TaskStatus } from '../queue/states.ts';
import type { ClaimedTask, TaskError } from '../queue/task.ts';
import type { TraceCarrier } from '../tracing.ts';
import type { AttemptAbort } from './attempt-abort.ts';
import type { AttemptAborted } from './attempt-aborted.ts';
import { Completer } from './completer.ts';
import { type Attempt, type CoreLabels, WorkerCore } from './core.ts';
import { Heartbeats } from './heartbeats.ts';
import { LocalBuffer, TurnBudget } from './local-buffer.ts';
import type { Maintenance } from './maintenance.ts';
import { Notifier, poolConnectionConfig } from './notifier.ts';
import type { WorkerPresence } from './presence.ts';
import { recordResult } from './retry.ts';
import { backgroundServices } from './services.ts';
import type { StartHandle } from './start-handle.ts';
import { bufferOptions, type WorkerEvents, type WorkerOptions } from './worker-options.ts';

export type { WorkerEvents, WorkerOptions, WorkerState } from './worker-options.ts';
export { DEFAULT_PREFETCH } from './worker-options.ts';

const LABELS: CoreLabels = {
  started: 'worker started',
  stopped: 'worker stopped',
  graceOver: 'grace period over: returned unfinished tasks to the queue',
  leftoverEvent: 'task:released',
  leftoverCount: 'released',
};

/**
 * A long-running worker on the database: claims tasks it has handlers for, runs up to
 * `concurrency` at once, renews their leases in one statement per heartbeat, and reports outcomes
 * under its fencing tokens. States: created → running → stopping → stopped. The runner and the
 * lifecycle are WorkerCore's (shared with RemoteWorker); this is the SQL backend.
 */
export class Worker extends WorkerCore<ClaimedTask, WorkerEvents> {
  protected readonly labels = LABELS;
  private readonly namespaces: string[];
  private readonly leaseSeconds: number;
  private readonly pollIntervalMs: number;
  private readonly pool: pg.Pool;
  private readonly completer: Completer;
  /** Shared (given in the options: never started or stopped here) or this worker's own. */
  private readonly notifier: Notifier | undefined;
  private readonly ownsNotifier: boolean;
  private readonly maintenance: Maintenance | undefined;
  private readonly presence: WorkerPresence | undefined;
  private readonly heartbeats: Heartbeats;
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
  /** Slots promised to the started part of claims in flight (the loop's, or a completer flush's). */
  private reservedSlots = 0;
  /** Buffer places promised to the rest of those claims. */
  private reservedRoom = 0;
  /** Tasks claimed ahead of free slots (see local-buffer.ts); `prefetch` places at most. */
  private readonly buffer: LocalBuffer;
  private readonly prefetch: number;
  private readonly prefetchTtlMs: number;
  private readonly prefetchHorizonMs: number;
  private bufferTimer: NodeJS.Timeout | undefined;
  /** Buffered tasks started per turn of the event loop (see fillSlots). */
  private readonly turn: TurnBudget;
  /** Hand-backs of buffered tasks in flight; stop() waits for them. */
  private readonly bufferReleases = new Set<Promise<unknown>>();
  /** Tasks started from the buffer: when they started, and the start record the completer writes. */
  private readonly bufferedStarts = new WeakMap<ClaimedTask, StartHandle>();
  private readonly onNotify = (ns: string): void => {
    if (ns === '*' || this.namespaces.includes(ns)) {
      this.notified++;
      this.drained = false;
      this.wakeup.wake();
    }
  };
  /** Already logged as a warning by the notifier; polling covers the gap until it reconnects. */
  private readonly onListenLost = ({ error }: { error: Error }): void => this.safeEmit('worker:error', { error, during: 'listen' });

  constructor(opts: WorkerOptions) {
    super({
      tasks: opts.tasks,
      concurrency: opts.concurrency,
      shutdownGraceMs: opts.shutdownGraceMs,
      workerId: opts.workerId,
      logger: opts.logger,
      component: 'worker',
    });
    if (this.concurrency < 1) throw new TypeError('concurrency must be at least 1');
    this.pool = opts.pool;
    this.namespaces = [...(opts.namespaces ?? ['default'])];
    this.leaseSeconds = opts.leaseSeconds ?? 30;
    this.pollIntervalMs = opts.pollIntervalMs ?? 1000;
    ({ prefetch: this.prefetch, ttlMs: this.prefetchTtlMs, horizonMs: this.prefetchHorizonMs } = bufferOptions(opts));
    this.turn = new TurnBudget(Math.max(this.concurrency, Math.ceil(this.prefetch / 4)), () => this.fillSlots());
    this.buffer = new LocalBuffer((task, reason) => {
      // Lost: someone else holds it now; nothing of ours to undo. Cancelled: hand it back, which cancels it.
      if (reason.reason === 'cancelled') this.releaseBuffered([task]);
    });
    this.completer = new Completer(this.pool, this.workerId, 500, 2, {
      reserve: (finishing) => {
        const shape = { namespaces: this.namespaces, tasks: this.names, leaseSeconds: this.leaseSeconds, notified: this.notified };
        if (this.state !== 'running') return { ...shape, limit: 0, start: 0 };
        // The finishing tasks still count as running until this flush returns, and their slots
        // are the ones refilled: from the buffer first, and by tasks this claim starts for the rest.
        const freed = Math.max(
          0,
          Math.min(this.concurrency - this.handlers, this.concurrency + this.prefetch - this.running.size + finishing) - this.reservedSlots,
        );
        const fromBuffer = Math.min(freed, this.buffer.size);
        const start = freed - fromBuffer;
        const room = Math.max(0, this.bufferTarget() - (this.buffer.size - fromBuffer) - this.reservedRoom);
        this.reservedSlots += start;
        this.reservedRoom += room;
        return { ...shape, limit: start + room, start };
      },
      claimed: (tasks, r, startedAt) => {
        this.reservedSlots -= r.start ?? r.limit;
        this.reservedRoom -= r.limit - (r.start ?? r.limit);
        if (r.limit === 0) return;
        // A full answer means more may wait; a short one that the queue is empty for now.
        this.drained = tasks.length < r.limit && r.notified === this.notified;
        this.accept(tasks, startedAt);
      },
    });
    this.heartbeats = new Heartbeats({
      pool: this.pool,
      workerId: this.workerId,
      leaseSeconds: this.leaseSeconds,
      entries: () => [...this.running.values(), ...this.buffer.heartbeatEntries()],
      reportError: this.reportTo,
      stopped: () => this.state === 'stopped',
    });
    this.claimBatchMin = Math.max(1, Math.floor(this.concurrency / 4));
    // listen: false wins over a given notifier: it means "no LISTEN here" (PgBouncer transaction mode).
    const listen = opts.listen ?? true;
    this.ownsNotifier = listen && !opts.notifier;
    if (listen) this.notifier = opts.notifier ?? new Notifier(opts.connection ?? poolConnectionConfig(this.pool), this.logger);
    ({ maintenance: this.maintenance, presence: this.presence } = backgroundServices(opts, {
      pool: this.pool,
      logger: this.logger,
      workerId: this.workerId,
      namespaces: this.namespaces,
      tasks: this.names,
      concurrency: this.concurrency,
      onRescued: (rows) => this.safeEmit('maintenance:rescued', rows),
      onError: (error, during) => this.safeEmit('worker:error', { error, during }),
    }));
  }

  protected async startBackground(): Promise<void> {
    // The first presence upsert runs beside the LISTEN connect; neither rejects, and a failure of either only delays its own retry.
    const presence = this.presence?.start();
    if (this.notifier) {
      // Subscribed only while running: a shared notifier outlives its workers (see stopBackground).
      this.notifier.on('notify', this.onNotify);
      this.notifier.on('listen:lost', this.onListenLost);
      // A failed LISTEN is not fatal: the notifier retries and the poll covers the gap.
      if (this.ownsNotifier) await this.notifier.start().catch((err) => this.reportError(err, 'listen'));
    }
    await presence;
    this.maintenance?.start();
    this.heartbeats.start();
    if (this.prefetch > 0) {
      this.bufferTimer = setInterval(
        () => this.releaseBuffered(this.buffer.takeOlderThan(Date.now() - this.prefetchTtlMs)),
        Math.max(100, this.prefetchTtlMs / 4),
      );
    }
  }

  /**
   * Claimed tasks: those the claim started run now, the rest join the buffer, and any slot still
   * free takes from the buffer. Stopped meanwhile: hand them all straight back, untouched.
   */
  private accept(tasks: ClaimedTask[], claimStartedAt: number): void {
    this.traceClaimed(tasks, claimStartedAt);
    if (this.state !== 'running') {
      this.releaseBuffered(tasks);
      return;
    }
    for (const task of tasks) {
      if (task.startedAt) {
        this.buffer.countStart();
        this.execute(task);
      } else this.buffer.add(task);
    }
    this.fillSlots();
  }

  /**
   * Slots are handlers: one frees when its handler settles, while its outcome waits for the
   * completer's next flush, so a buffered task starts at once instead of a round trip later. The
   * second bound keeps the tasks awaiting that flush in check (with no buffer it is the only one:
   * a slot frees once the outcome is recorded).
   */
  /** Buffer places to fill now: none with prefetch 0, else what the recent start rate calls for (LocalBuffer.target). */
  private bufferTarget(): number {
    return this.prefetch === 0 ? 0 : this.buffer.target(this.prefetch, this.prefetchHorizonMs);
  }

  private freeSlots(): number {
    return Math.min(this.concurrency - this.handlers, this.concurrency + this.prefetch - this.running.size) - this.reservedSlots;
  }

  /**
   * Start buffered tasks in the free slots, each start recorded with the completer's next flush; a
   * quarter of the buffer per turn of the event loop at most, so that a flush carries one chunk's
   * outcomes while the next chunk runs (without the yield, the whole buffer ran before the completer
   * could send a thing: 14k no-op tasks/s against 18k with chunks; README, "Performance").
   */
  private fillSlots(): void {
    while (this.state === 'running' && this.freeSlots() > 0 && this.buffer.size > 0) {
      // Yield once the turn's budget is spent: the completer sends what finished so far meanwhile.
      if (!this.turn.take()) return;
      const task = this.buffer.take();
      if (!task) return;
      const at = new Date();
      task.startedAt = at;
      task.attempts += 1;
      // Awaited by a failure only; a completion records the start itself.
      this.bufferedStarts.set(task, this.completer.recordStart(task.uid, task.fencingToken, at));
      this.buffer.countStart();
      this.execute(task);
    }
  }

  /** Hand buffered tasks back to the queue (nothing counted: they never started). */
  private releaseBuffered(tasks: ClaimedTask[]): void {
    if (tasks.length === 0) return;
    const p = release(this.pool, this.workerId, tasks).catch((err) => this.reportError(err, 'release'));
    this.bufferReleases.add(p);
    void p.finally(() => this.bufferReleases.delete(p));
  }

  /** Stop: the buffered tasks go back to the queue at once, before the running ones finish. */
  protected override interruptClaims(): void {
    clearInterval(this.bufferTimer);
    this.releaseBuffered(this.buffer.takeAll());
  }

  protected describe(): Record<string, unknown> {
    return { namespaces: this.namespaces, tasks: this.names, concurrency: this.concurrency };
  }

  protected async loop(): Promise<void> {
    let errorDelay = 0;
    let batchDeadline = 0;
    while (this.state === 'running') {
      const free = this.freeSlots();
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
      // A non-empty buffer fills free slots by itself (fillSlots); the loop claims when it is empty.
      if (free > 0 && !this.drained && this.buffer.size === 0) {
        let claimed: ClaimedTask[] = [];
        const notified = this.notified;
        const room = Math.max(0, this.bufferTarget() - this.reservedRoom);
        const limit = free + room;
        this.reservedSlots += free;
        this.reservedRoom += room;
        const claimStartedAt = Date.now();
        try {
          claimed = await claim(this.pool, {
            workerId: this.workerId,
            namespaces: this.namespaces,
            tasks: this.names,
            limit,
            start: free,
            leaseSeconds: this.leaseSeconds,
          });
          errorDelay = 0;
        } catch (err) {
          this.reservedSlots -= free;
          this.reservedRoom -= room;
          this.reportError(err, 'claim');
          // Database trouble: back off (capped) instead of hammering it, with jitter so that workers
          // which lost the same server at the same instant do not come back in step. A wake (the
          // notifier's '*' once LISTEN is back, a slot freed, stop()) ends the wait early.
          errorDelay = Math.min(this.pollIntervalMs * 5, Math.max(100, errorDelay * 2));
          await this.wakeup.wait(errorDelay * (0.5 + Math.random() / 2));
          continue;
        }
        this.reservedSlots -= free;
        this.reservedRoom -= room;
        this.accept(claimed, claimStartedAt);
        if (this.state !== 'running') break;
        if (claimed.length === limit) continue;
        if (notified === this.notified) this.drained = true;
      }
      await this.wakeup.wait(this.pollIntervalMs);
      // A poll tick (no wake) means: look again even if the last claim came back short.
      if (this.running.size < this.concurrency) this.drained = false;
    }
  }

  protected keyOf(task: ClaimedTask): string {
    return task.uid;
  }

  protected fencingTokenOf(task: ClaimedTask): number {
    return task.fencingToken;
  }

  protected timeoutOf(task: ClaimedTask): number | null | undefined {
    return task.timeoutSeconds;
  }

  protected traceCarrierOf(task: ClaimedTask): TraceCarrier | null {
    return task.traceContext;
  }

  protected override handlerSettled(): void {
    this.fillSlots();
  }

  /** A slot freed: start the next buffered task, or claim again unless the queue was just found empty. */
  protected override slotFreed(): void {
    this.fillSlots();
    if (this.buffer.size === 0 && !this.drained) this.wakeup.wake();
  }

  protected override isLeaseLoss(err: unknown): err is Error {
    return err instanceof LeaseLost || super.isLeaseLoss(err);
  }

  /** Through the completer's batches; a result the database cannot store rejects at once (see Completer.complete). */
  protected record(task: ClaimedTask, result: unknown, abort: AttemptAbort): Promise<undefined> {
    const startedAt = this.bufferedStarts.get(task)?.startedAt;
    return recordResult(this.completer, task, result, { leaseSeconds: this.leaseSeconds, abort, reportError: this.reportTo, startedAt });
  }

  protected async failAttempt(
    task: ClaimedTask,
    err: unknown,
    reason: AttemptAborted['reason'] | undefined,
    retryable: boolean,
  ): Promise<{ error: TaskError; status: TaskStatus }> {
    const error = toTaskError(err, reason);
    // Started from the buffer: the failure must find its attempt counted (see Completer.recordStart).
    await this.bufferedStarts.get(task)?.written();
    const { status } = await fail(this.pool, { uid: task.uid, workerId: this.workerId, fencingToken: task.fencingToken, error, retryable });
    return { error, status };
  }

  /** Back to the queue at once, without using up a retry. */
  protected async handBack(leftovers: Attempt<ClaimedTask>[]): Promise<ReadonlySet<string>> {
    return release(
      this.pool,
      this.workerId,
      leftovers.map((e) => e.task),
    ).then(
      (released) => new Set(released.keys()),
      (err) => {
        this.reportError(err, 'release');
        return new Set<string>();
      },
    );
  }

  protected async stopBackground(): Promise<void> {
    clearInterval(this.bufferTimer);
    await this.heartbeats.stop();
    await this.completer.drain();
    // After the drain: a claim of the last flush, come back after stop(), is handed back too.
    while (this.bufferReleases.size) await Promise.all(this.bufferReleases);
    await this.maintenance?.stop();
    await this.presence?.stop();
    if (this.notifier) {
      this.notifier.off('notify', this.onNotify);
      this.notifier.off('listen:lost', this.onListenLost);
      if (this.ownsNotifier) await this.notifier.stop();
    }
  }

  /** Run rescue and prune now (tests and admin tools); normally they run on their own timer. */
  async runMaintenance(): Promise<{ rescued: number; pruned: number }> {
    if (!this.maintenance) return { rescued: 0, pruned: 0 };
    return this.maintenance.runOnce();
  }
}
