import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Context, Span } from '@opentelemetry/api';
import { coerceError, type Logger, silentLogger } from '../logger.ts';
import { activeIn, contextOf, endSpan, inSpan, SpanKind, startSpan, type TraceCarrier, traceClaims, withActiveSpan } from '../tracing.ts';
import { AttemptAbort } from './attempt-abort.ts';
import { AttemptAborted } from './attempt-aborted.ts';
import { AttemptContext } from './attempt-context.ts';
import { buildRegistry, type TaskContext, type TaskDefinition } from './registry.ts';
import { SafeEmitter } from './safe-emitter.ts';
import { Wakeup } from './wakeup.ts';
import type { WorkerState } from './worker-options.ts';

/**
 * What the library Worker (SQL) and the RemoteWorker (HTTP) share, so that a fix to either lands
 * in both: the attempt runner (handler call, timeout, abort race), the classification of a failed
 * attempt, the lifecycle (created → running → stopping → stopped, stop with a grace period) and
 * the worker id. Each backend supplies how it claims, records outcomes, heartbeats and hands back
 * what is still running when the grace period ends.
 */

/** What an attempt does differently when it is traced (runAttempt): each part in its span. */
interface Traced {
  /** Run the handler with the attempt's span active, so spans it makes are children. */
  run<R>(fn: () => R): R;
  /** A recording step (complete, fail) as a child span. */
  step<R>(name: string, fn: () => Promise<R>): Promise<R>;
  /** How the attempt ended: done, retry, error, cancelled, lease_lost, shutdown. */
  outcome(outcome: string): void;
  /** The attempt is over: end its span with the outcome. */
  ended(): void;
}

/** An attempt's `done` until runAttempt returns (it is set in the same call). */
const DONE = Promise.resolve();

/** host:pid:random: readable in the dashboard, distinct for every worker of a process and every restart. */
export function newWorkerId(): string {
  return `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
}

/** The fields of a claimed task the runner reads; both backends' task shapes have them under these names. */
export interface AttemptTask {
  uid: string;
  task: string;
  namespace: string;
  attempts: number;
  args: unknown[];
  kwargs: Record<string, unknown>;
}

/** One running attempt. `beating`: a heartbeat of its own is in flight (the HTTP backend beats per task). */
export interface Attempt<T> {
  task: T;
  controller: AttemptAbort;
  done: Promise<void>;
  beating: boolean;
}

/** The events both backends emit with the same meaning; each backend's map narrows `error` and `status`. */
export interface CoreEvents<T> {
  'worker:started': [{ workerId: string }];
  'worker:error': [{ error: Error; during: string }];
  'task:claimed': [{ task: T }];
  'task:completed': [{ task: T; result: unknown; durationMs: number }];
  'task:failed': [{ task: T; error: unknown; status: unknown }];
  'task:lease-lost': [{ task: T; reason: string }];
}

export interface CoreOptions {
  tasks: readonly TaskDefinition[];
  /** Handlers run at once. Default 8. */
  concurrency: number | undefined;
  /** How long stop() lets running tasks finish. Default 30 s. */
  shutdownGraceMs: number | undefined;
  workerId: string | undefined;
  logger: Logger | undefined;
  /** The `component` of the worker's log lines. */
  component: string;
}

/** Where the backends' log lines and stop events differ in wording only. */
export interface CoreLabels {
  started: string;
  stopped: string;
  /** Logged when the grace period ends with attempts still running. */
  graceOver: string;
  /** Emitted for each of those attempts that was handed back, and the name of their count in 'worker:stopped'. */
  leftoverEvent: 'task:released' | 'task:abandoned';
  leftoverCount: 'released' | 'abandoned';
}

type Emit = (event: string, payload: unknown) => void;

export abstract class WorkerCore<T extends AttemptTask, E extends CoreEvents<T> & Record<keyof E, unknown[]>> extends SafeEmitter<E> {
  readonly workerId: string;
  protected state: WorkerState = 'created';
  protected readonly registry: Map<string, TaskDefinition>;
  protected readonly names: string[];
  protected readonly concurrency: number;
  protected readonly shutdownGraceMs: number;
  protected readonly logger: Logger;
  /** Running attempts by keyOf(task), until their outcome is recorded. */
  protected readonly running = new Map<string | number, Attempt<T>>();
  /** Attempts whose handler has not settled yet: fewer than `running` while outcomes are being recorded. */
  protected handlers = 0;
  protected readonly wakeup = new Wakeup();
  /** reportError bound once, for the helpers that report on the worker's behalf. */
  protected readonly reportTo = (err: unknown, during: string): void => this.reportError(err, during);
  private loopDone: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  /**
   * The core's events have the same shape in every backend's map, which TypeScript cannot see
   * through the generic E: one cast here instead of one per emit.
   */
  private readonly emitCore = this.safeEmit as unknown as Emit;

  protected abstract readonly labels: CoreLabels;

  constructor(opts: CoreOptions) {
    super();
    this.registry = buildRegistry(opts.tasks);
    this.names = [...this.registry.keys()];
    this.concurrency = opts.concurrency ?? 8;
    this.shutdownGraceMs = opts.shutdownGraceMs ?? 30_000;
    this.workerId = opts.workerId ?? newWorkerId();
    this.logger = (opts.logger ?? silentLogger).child({ component: opts.component, workerId: this.workerId });
    if (this.names.length === 0) throw new TypeError('a worker needs at least one task definition');
  }

  /** Start what runs beside the claims (heartbeats, LISTEN, presence…); the first claim follows. */
  protected abstract startBackground(): Promise<void> | void;
  /** Claim and execute() while the state is 'running'. */
  protected abstract loop(): Promise<void>;
  /** The key of a task in `running`. */
  protected abstract keyOf(task: T): string | number;
  protected abstract fencingTokenOf(task: T): number;
  /** The task's own timeout, if it has one (the definition's default applies otherwise). */
  protected abstract timeoutOf(task: T): number | null | undefined;
  /** The W3C trace context stored with the task at submit, if it was traced (src/tracing.ts). */
  protected abstract traceCarrierOf(task: T): TraceCarrier | null | undefined;
  /**
   * Record a result. Resolves false when it was not recorded, already reported, and is left to
   * the lease (rescue retries the task); undefined or true means recorded (undefined lets the SQL
   * backend return its completion's promise as is: no extra promise per task). Rejects when the attempt
   * must fail instead (a result that cannot be stored) or its lease is lost (see isLeaseLoss).
   */
  protected abstract record(task: T, result: unknown, abort: AttemptAbort): Promise<boolean | undefined>;
  /** Record a failed attempt; throws when it could not be recorded. */
  protected abstract failAttempt(
    task: T,
    err: unknown,
    reason: AttemptAborted['reason'] | undefined,
    retryable: boolean,
  ): Promise<{ error: unknown; status: unknown }>;
  /** Hand back the attempts still running when the grace period ended; returns the keys of those handed back. */
  protected abstract handBack(leftovers: Attempt<T>[]): Promise<ReadonlySet<string | number>>;
  /** Stop what startBackground started, once no attempt runs any more. */
  protected abstract stopBackground(): Promise<void>;
  /** The fields of the 'started' log line. */
  protected abstract describe(): Record<string, unknown>;

  /** Claimed tasks, each with a claim span in its own trace from `startedAt` (when the claim was sent) until now. */
  protected traceClaimed(tasks: readonly T[], startedAt: number): void {
    traceClaims(
      tasks,
      (t) => this.traceCarrierOf(t),
      startedAt,
      (t) => ({
        'messaging.system': 'eventix',
        'messaging.operation.type': 'receive',
        'messaging.destination.name': t.namespace,
        'messaging.message.id': t.uid,
        'eventix.worker.id': this.workerId,
      }),
    );
  }

  /** Stop claiming at once: interrupt what the loop may be waiting on besides the wakeup. */
  protected interruptClaims(): void {}

  /** A slot freed (the attempt's outcome is recorded): claim again. */
  protected slotFreed(): void {
    this.wakeup.wake();
  }

  /** A handler settled; its outcome is still to be recorded. */
  protected handlerSettled(): void {}

  /** The error means the task is no longer ours: its outcome is discarded, nothing is reported. */
  protected isLeaseLoss(err: unknown): err is Error {
    return err instanceof AttemptAborted && err.reason === 'lease_lost';
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
    await this.startBackground();
    this.loopDone = this.loop();
    this.logger.info(this.describe(), this.labels.started);
    this.emitCore('worker:started', { workerId: this.workerId });
  }

  protected execute(task: T): void {
    const controller = new AttemptAbort();
    const entry: Attempt<T> = { task, controller, done: DONE, beating: false };
    this.running.set(this.keyOf(task), entry);
    if (this.listens('task:claimed')) this.emitCore('task:claimed', { task });
    // runAttempt ends with the bookkeeping (attemptEnded): no .finally() promise and closure per attempt.
    entry.done = this.runAttempt(task, controller);
  }

  /** The attempt's outcome is recorded (or given up): its slot is free. */
  private attemptEnded(task: T): void {
    this.running.delete(this.keyOf(task));
    this.slotFreed();
  }

  /**
   * The attempt as the span `eventix.run <task>` in the trace its submit began, with
   * `eventix.complete` or `eventix.fail` under it. Without an OpenTelemetry SDK the span does not
   * record, and nothing else is done: no context switch, no child spans, no attributes.
   */
  private runAttempt(task: T, controller: AttemptAbort): Promise<void> {
    const parent = contextOf(this.traceCarrierOf(task));
    const span = startSpan(`eventix.run ${task.task}`, SpanKind.CONSUMER, {}, parent);
    if (!span.isRecording()) return this.attempt(task, controller);
    return this.runTraced(task, controller, span, parent);
  }

  private async runTraced(task: T, controller: AttemptAbort, span: Span, parent: Context): Promise<void> {
    span.setAttributes({
      'messaging.system': 'eventix',
      'messaging.operation.type': 'process',
      'messaging.destination.name': task.namespace,
      'messaging.message.id': task.uid,
      'eventix.task.name': task.task,
      'eventix.task.attempt': task.attempts,
      'eventix.worker.id': this.workerId,
    });
    let outcome = 'done';
    const traced: Traced = {
      run: (fn) => withActiveSpan(span, parent, fn),
      step: (name, fn) => inSpan(name, SpanKind.INTERNAL, { 'messaging.message.id': task.uid }, fn, activeIn(parent, span)),
      outcome: (o) => {
        outcome = o;
      },
      ended: () => {
        span.setAttribute('eventix.task.outcome', outcome);
        endSpan(span, outcome === 'done' || outcome === 'shutdown' ? undefined : new Error(`attempt ended ${outcome}`));
      },
    };
    await this.attempt(task, controller, traced);
  }

  /**
   * One attempt, from the handler's call to its recorded outcome, ending with attemptEnded. Lean
   * on purpose: it runs for every task, and the garbage collector took a third of the worker's CPU
   * at 20k no-op tasks a second before it was (README, "What each change bought").
   */
  private async attempt(task: T, controller: AttemptAbort, traced?: Traced): Promise<void> {
    const def = this.registry.get(task.task);
    const ctx = new AttemptContext(task, this.fencingTokenOf(task), controller, this.logger);
    const started = Date.now();
    const timeoutSeconds = this.timeoutOf(task) ?? def?.defaults.timeoutSeconds ?? null;
    const timer = timeoutSeconds
      ? setTimeout(() => controller.abort(new AttemptAborted('timeout', `timed out after ${timeoutSeconds} s`)), timeoutSeconds * 1000)
      : undefined;
    this.handlers++;
    try {
      let result: unknown;
      try {
        // The handler runs on a later microtask, never inside the loop that called execute().
        await undefined;
        if (!def) throw new Error(`no handler registered for task '${task.task}'`);
        // The attempt ends when the handler settles or its signal aborts, whichever is first: a
        // handler that ignores its signal cannot hold a slot (or a lost lease) forever.
        result = await controller.race(
          traced ? traced.run(() => def.handler(task.args, task.kwargs, ctx)) : def.handler(task.args, task.kwargs, ctx),
        );
      } catch (err) {
        clearTimeout(timer);
        this.handlerDone();
        await this.onAttemptError(task, err, ctx.logger, traced);
        return;
      }
      clearTimeout(timer);
      this.handlerDone();
      try {
        const recorded = traced
          ? traced.step('eventix.complete', () => this.record(task, result, controller))
          : this.record(task, result, controller);
        if ((await recorded) !== false && this.listens('task:completed')) {
          this.emitCore('task:completed', { task, result, durationMs: Date.now() - started });
        }
      } catch (err) {
        await this.onAttemptError(task, err, ctx.logger, traced);
      }
    } finally {
      traced?.ended();
      this.attemptEnded(task);
    }
  }

  /** The attempt's handler settled (its outcome is still to be recorded). Called once per attempt. */
  private handlerDone(): void {
    this.handlers--;
    this.handlerSettled();
  }

  /** A lost lease discards the outcome; a shutdown abort reports nothing (stop() hands the task back); anything else fails the attempt. */
  private async onAttemptError(task: T, err: unknown, log: Logger, traced?: Traced): Promise<void> {
    if (this.isLeaseLoss(err)) {
      traced?.outcome('lease_lost');
      this.leaseLost(task, err.message, log);
      return;
    }
    if (err instanceof AttemptAborted && err.reason === 'shutdown') {
      traced?.outcome('shutdown');
      return;
    }
    const reason = err instanceof AttemptAborted ? err.reason : undefined;
    const retryable = (err as { retryable?: unknown })?.retryable !== false;
    traced?.outcome('failed');
    try {
      const fail = () => this.failAttempt(task, err, reason, retryable);
      const { error, status } = await (traced ? traced.step('eventix.fail', fail) : fail());
      traced?.outcome(String(status));
      log.warn({ err: coerceError(err), status }, 'task attempt failed');
      this.emitCore('task:failed', { task, error, status });
    } catch (failErr) {
      if (this.isLeaseLoss(failErr)) this.leaseLost(task, failErr.message, log);
      // The lease will expire and rescue will retry the task: nothing is lost.
      else this.reportError(failErr, 'fail');
    }
  }

  private leaseLost(task: T, reason: string, log: Logger): void {
    log.warn({ reason }, 'lease lost: the outcome of this attempt is discarded');
    this.emitCore('task:lease-lost', { task, reason });
  }

  /**
   * Stop claiming, let running tasks finish within the grace period, then abort the rest and hand
   * them back (how depends on the backend), and resolve once nothing of ours is left running. A
   * second call waits for the first.
   */
  async stop(): Promise<void> {
    if (this.state === 'created') this.state = 'stopped';
    if (this.state === 'stopped' && !this.stopping) return;
    this.stopping ??= this.shutdown();
    await this.stopping;
  }

  private async shutdown(): Promise<void> {
    this.state = 'stopping';
    this.interruptClaims();
    this.wakeup.wake();
    await this.loopDone;

    const inFlight = () => Promise.all([...this.running.values()].map((e) => e.done));
    let graceTimer: NodeJS.Timeout | undefined;
    await Promise.race([inFlight(), new Promise((r) => (graceTimer = setTimeout(r, this.shutdownGraceMs)))]);
    clearTimeout(graceTimer);

    let handedBack = 0;
    const leftovers = [...this.running.values()];
    if (leftovers.length) {
      const back = await this.handBack(leftovers);
      handedBack = back.size;
      for (const e of leftovers) {
        e.controller.abort(new AttemptAborted('shutdown', 'the worker is shutting down'));
        if (back.has(this.keyOf(e.task))) this.emitCore(this.labels.leftoverEvent, { task: e.task });
      }
      this.logger.warn({ [this.labels.leftoverCount]: handedBack }, this.labels.graceOver);
      await inFlight();
    }
    await this.stopBackground();
    this.state = 'stopped';
    this.logger.info({ [this.labels.leftoverCount]: handedBack }, this.labels.stopped);
    this.emitCore('worker:stopped', { workerId: this.workerId, [this.labels.leftoverCount]: handedBack });
  }
}
