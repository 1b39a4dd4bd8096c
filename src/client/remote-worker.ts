import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { LEASE_MAX, LEASE_MIN } from '../api/schemas.ts';
import { coerceError, type Logger, silentLogger } from '../logger.ts';
import { AttemptAborted } from '../worker/attempt-aborted.ts';
import { buildRegistry, type TaskContext, type TaskDefinition } from '../worker/registry.ts';
import { SafeEmitter } from '../worker/safe-emitter.ts';
import { Wakeup } from '../worker/wakeup.ts';
import type { WorkerState } from '../worker/worker.ts';
import {
  type ClaimedTaskJson,
  type CompleteRequest,
  type EventixClient,
  type FailRequest,
  isEventixApiError,
  type TaskStatusJson,
} from './client.ts';
import { isLeaseLoss, toRemoteError } from './remote-errors.ts';

export interface RemoteWorkerOptions {
  /** The API to work for. Its token needs the `worker` scope. */
  client: EventixClient;
  tasks: readonly TaskDefinition[];
  /** The one namespace this worker claims from (the claim route takes one). Default `default`. */
  namespace?: string;
  /** Handlers run at once. Claims are sized to the free slots. Default 8. */
  concurrency?: number;
  /** Lease asked for at claim and at each heartbeat, 5-3600 s. Default 30. */
  leaseSeconds?: number;
  /** How long one claim may wait on the server for a task to become due (long-poll), 0-60 s. Default 20. */
  waitSeconds?: number;
  /** Between heartbeats of a running task. Default a third of the lease. */
  heartbeatIntervalMs?: number;
  /** How long stop() lets running tasks finish before abandoning them to the server's rescue. Default 30 s. */
  shutdownGraceMs?: number;
  /** First pause after a failed claim; doubles up to `maxErrorDelayMs`. Default 250 ms. */
  errorDelayMs?: number;
  maxErrorDelayMs?: number;
  workerId?: string;
  logger?: Logger;
}

/** The error a remote worker reports for a failed attempt (the `error` of POST /tasks/{uid}/fail). */
export type RemoteTaskError = FailRequest['error'];

export interface RemoteWorkerEvents {
  'worker:started': [{ workerId: string }];
  'worker:stopped': [{ workerId: string; abandoned: number }];
  'worker:error': [{ error: Error; during: string }];
  'task:claimed': [{ task: ClaimedTaskJson }];
  'task:completed': [{ task: ClaimedTaskJson; result: unknown; durationMs: number }];
  'task:failed': [{ task: ClaimedTaskJson; error: RemoteTaskError; status: TaskStatusJson }];
  'task:lease-lost': [{ task: ClaimedTaskJson; reason: string }];
  /** Still running when stop()'s grace period ended: aborted, and left for the server to rescue when its lease expires. */
  'task:abandoned': [{ task: ClaimedTaskJson }];
}

interface Running {
  task: ClaimedTaskJson;
  controller: AbortController;
  done: Promise<void>;
  beating: boolean;
}

/** Calls that report an outcome are retried this often on network errors and 5xx answers. */
const REPORT_ATTEMPTS = 3;

/**
 * A worker that runs `defineTask()` handlers on any machine that can reach the Eventix API, with
 * no database connection: it claims over HTTP (a long-poll sized to its free slots), heartbeats each
 * running task, and reports outcomes under the fencing token of its claim. The guarantees are the
 * library Worker's: a handler whose lease is lost (409 LeaseLost at heartbeat) is aborted and its
 * outcome discarded; a cancel requested while it runs aborts it and ends the task `cancelled`; a
 * timeout aborts it and fails the attempt; NonRetryableError fails at once. Events and states
 * (created → running → stopping → stopped) match the library Worker's.
 *
 * One difference: the API has no release route, so tasks still running when stop()'s grace period
 * ends are aborted and abandoned ('task:abandoned'), and the server's maintenance rescues them once
 * their lease expires — counting the attempt, and up to `leaseSeconds` later — where the library
 * Worker hands them straight back to the queue uncounted. Keep the lease short, or the grace long,
 * where that matters. Likewise a long-poll that stop() interrupts could, in a narrow race, have
 * claimed tasks whose answer never arrives; those are rescued the same way.
 */
export class RemoteWorker extends SafeEmitter<RemoteWorkerEvents> {
  readonly workerId: string;
  private state: WorkerState = 'created';
  private readonly client: EventixClient;
  private readonly registry: Map<string, TaskDefinition>;
  private readonly names: string[];
  private readonly namespace: string;
  private readonly concurrency: number;
  private readonly leaseSeconds: number;
  private readonly waitSeconds: number;
  private readonly heartbeatIntervalMs: number;
  private readonly shutdownGraceMs: number;
  private readonly errorDelayMs: number;
  private readonly maxErrorDelayMs: number;
  protected readonly logger: Logger;
  /** By fencing token, unique per claim: a task re-claimed while a stale attempt lingers is two entries. */
  private readonly running = new Map<number, Running>();
  private readonly wakeup = new Wakeup();
  /** Aborts the in-flight long-poll when stop() is called. */
  private readonly polling = new AbortController();
  private loopDone: Promise<void> | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private readonly beats = new Set<Promise<void>>();

  constructor(opts: RemoteWorkerOptions) {
    super();
    this.client = opts.client;
    this.registry = buildRegistry(opts.tasks);
    this.names = [...this.registry.keys()];
    this.namespace = opts.namespace ?? 'default';
    this.concurrency = opts.concurrency ?? 8;
    this.leaseSeconds = opts.leaseSeconds ?? 30;
    this.waitSeconds = opts.waitSeconds ?? 20;
    this.heartbeatIntervalMs = opts.heartbeatIntervalMs ?? Math.max(250, (this.leaseSeconds * 1000) / 3);
    this.shutdownGraceMs = opts.shutdownGraceMs ?? 30_000;
    this.errorDelayMs = opts.errorDelayMs ?? 250;
    this.maxErrorDelayMs = opts.maxErrorDelayMs ?? 10_000;
    this.workerId = opts.workerId ?? `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
    this.logger = (opts.logger ?? silentLogger).child({ component: 'remote-worker', workerId: this.workerId });
    if (this.names.length === 0) throw new TypeError('a worker needs at least one task definition');
    if (!Number.isInteger(this.concurrency) || this.concurrency < 1 || this.concurrency > 1000) {
      throw new TypeError('concurrency must be a whole number from 1 to 1000');
    }
    if (!Number.isInteger(this.leaseSeconds) || this.leaseSeconds < LEASE_MIN || this.leaseSeconds > LEASE_MAX) {
      throw new TypeError(`leaseSeconds must be a whole number from ${LEASE_MIN} to ${LEASE_MAX}`);
    }
    if (!(this.waitSeconds >= 0 && this.waitSeconds <= 60)) throw new TypeError('waitSeconds must be from 0 to 60');
    if (this.heartbeatIntervalMs >= this.leaseSeconds * 1000) throw new TypeError('heartbeatIntervalMs must be shorter than the lease');
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
    this.heartbeatTimer = setInterval(() => this.beatAll(), this.heartbeatIntervalMs);
    this.loopDone = this.loop();
    this.logger.info({ namespace: this.namespace, tasks: this.names, concurrency: this.concurrency }, 'remote worker started');
    this.safeEmit('worker:started', { workerId: this.workerId });
  }

  private async loop(): Promise<void> {
    let errorDelay = 0;
    while (this.state === 'running') {
      const free = this.concurrency - this.running.size;
      if (free <= 0) {
        // Woken when a slot frees, or by stop().
        await this.wakeup.wait(60_000);
        continue;
      }
      let claimed: ClaimedTaskJson[];
      try {
        const r = await this.client.claim(
          {
            worker_id: this.workerId,
            namespace: this.namespace,
            tasks: this.names,
            limit: free,
            lease_seconds: this.leaseSeconds,
            wait_seconds: this.waitSeconds,
          },
          { signal: this.polling.signal },
        );
        claimed = r.tasks;
        errorDelay = 0;
      } catch (err) {
        if (this.state !== 'running') break;
        this.reportError(err, 'claim');
        // The API or the network is in trouble: back off (capped) instead of hammering it.
        errorDelay = Math.min(this.maxErrorDelayMs, Math.max(this.errorDelayMs, errorDelay * 2));
        await this.wakeup.wait(errorDelay);
        continue;
      }
      // Claimed just as stop() began: these are ours now, so they run within the grace period
      // like the others (there is no route to hand them back).
      for (const task of claimed) this.execute(task);
    }
  }

  private execute(task: ClaimedTaskJson): void {
    const controller = new AbortController();
    const entry: Running = { task, controller, done: Promise.resolve(), beating: false };
    this.running.set(task.fencing_token, entry);
    this.safeEmit('task:claimed', { task });
    entry.done = this.runAttempt(task, controller).finally(() => {
      this.running.delete(task.fencing_token);
      this.wakeup.wake();
    });
  }

  private async runAttempt(task: ClaimedTaskJson, controller: AbortController): Promise<void> {
    const def = this.registry.get(task.task);
    const log = this.logger.child({ taskUid: task.uid, task: task.task });
    const started = Date.now();
    const timeoutSeconds = task.timeout_seconds ?? def?.defaults.timeoutSeconds ?? null;
    const timer = timeoutSeconds
      ? setTimeout(() => controller.abort(new AttemptAborted('timeout', `timed out after ${timeoutSeconds} s`)), timeoutSeconds * 1000)
      : undefined;
    const aborted = new Promise<never>((_, reject) => {
      controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true });
    });
    aborted.catch(() => {});
    let result: unknown;
    try {
      if (!def) throw new Error(`no handler registered for task '${task.task}'`);
      const ctx: TaskContext = {
        uid: task.uid,
        task: task.task,
        namespace: task.namespace,
        attempt: task.attempts,
        fencingToken: task.fencing_token,
        signal: controller.signal,
        logger: log,
      };
      // The attempt ends when the handler settles or its signal aborts, whichever is first: a
      // handler that ignores its signal cannot hold a slot (or a lost lease) forever.
      result = await Promise.race([Promise.resolve().then(() => def.handler(task.args, task.kwargs, ctx)), aborted]);
      clearTimeout(timer);
    } catch (err) {
      clearTimeout(timer);
      await this.onAttemptError(task, err, log);
      return;
    }
    let json: CompleteRequest['result'];
    try {
      // What the server will store: a result JSON cannot carry fails the attempt, as in the library worker.
      json = JSON.parse(JSON.stringify(result === undefined ? null : result) ?? 'null');
    } catch (err) {
      await this.onAttemptError(task, new TypeError(`the handler's result is not JSON-serializable: ${coerceError(err).message}`), log);
      return;
    }
    try {
      await this.report('complete', () =>
        this.client.complete(task.uid, { worker_id: this.workerId, fencing_token: task.fencing_token, result: json }),
      );
      this.safeEmit('task:completed', { task, result, durationMs: Date.now() - started });
    } catch (err) {
      if (isLeaseLoss(err)) {
        this.leaseLost(task, err.message, log);
      } else if (isEventixApiError(err) && err.status < 500) {
        // Refused (e.g. a result the server will not store): fail the attempt as the library worker does.
        await this.onAttemptError(task, err, log);
      } else {
        // The lease will expire and the server's rescue will retry the task: nothing is lost.
        this.reportError(err, 'complete');
      }
    }
  }

  private async onAttemptError(task: ClaimedTaskJson, err: unknown, log: Logger): Promise<void> {
    if (err instanceof AttemptAborted && err.reason === 'lease_lost') {
      this.leaseLost(task, err.message, log);
      return;
    }
    // Abandoned by stop(): the server rescues it when the lease expires.
    if (err instanceof AttemptAborted && err.reason === 'shutdown') return;
    const reason = err instanceof AttemptAborted ? err.reason : undefined;
    const error = toRemoteError(err, reason);
    const retry = (err as { retryable?: unknown })?.retryable !== false;
    try {
      const { status } = await this.report('fail', () =>
        this.client.fail(task.uid, { worker_id: this.workerId, fencing_token: task.fencing_token, error, retry }),
      );
      log.warn({ err: coerceError(err), status }, 'task attempt failed');
      this.safeEmit('task:failed', { task, error, status });
    } catch (failErr) {
      if (isLeaseLoss(failErr)) this.leaseLost(task, failErr.message, log);
      // The lease will expire and the server's rescue will retry the task: nothing is lost.
      else this.reportError(failErr, 'fail');
    }
  }

  private leaseLost(task: ClaimedTaskJson, reason: string, log: Logger): void {
    log.warn({ reason }, 'lease lost: the outcome of this attempt is discarded');
    this.safeEmit('task:lease-lost', { task, reason });
  }

  /** One heartbeat per running task (the API renews one lease per call), all at once; a task's next waits for its last. */
  private beatAll(): void {
    for (const entry of this.running.values()) {
      if (entry.beating || entry.controller.signal.aborted) continue;
      entry.beating = true;
      const beat = this.beat(entry).finally(() => {
        entry.beating = false;
        this.beats.delete(beat);
      });
      this.beats.add(beat);
    }
  }

  private async beat(entry: Running): Promise<void> {
    const { task, controller } = entry;
    try {
      const r = await this.client.heartbeat(
        task.uid,
        { worker_id: this.workerId, fencing_token: task.fencing_token, lease_seconds: this.leaseSeconds },
        // A heartbeat stuck on the network must not hold up the next one until the lease is gone.
        { signal: AbortSignal.any([controller.signal, AbortSignal.timeout(Math.max(1000, this.leaseSeconds * 500))]) },
      );
      if (r.cancel_requested) controller.abort(new AttemptAborted('cancelled', 'the task was cancelled'));
    } catch (err) {
      if (controller.signal.aborted) return;
      if (isLeaseLoss(err)) {
        controller.abort(
          new AttemptAborted('lease_lost', `the task is no longer held by this worker (${err.problem.detail ?? err.message})`),
        );
      } else {
        // A missed heartbeat is not a lost lease: the next one may still renew it in time.
        this.reportError(err, 'heartbeat');
      }
    }
  }

  /**
   * Report an outcome, retrying network errors and 5xx answers briefly: the work is done, losing its
   * result is costly. (If a lost answer had in fact been applied, the retry gets 409 and the attempt
   * is reported as 'task:lease-lost', though the server kept its outcome.)
   */
  private async report<T>(during: string, call: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await call();
      } catch (err) {
        const transient = !isEventixApiError(err) || err.status >= 500 || err.status === 429;
        if (!transient || attempt >= REPORT_ATTEMPTS) throw err;
        this.reportError(err, `${during} (attempt ${attempt} of ${REPORT_ATTEMPTS}, retrying)`);
        await new Promise((r) => setTimeout(r, 100 * 2 ** attempt));
      }
    }
  }

  /**
   * Stop claiming (an in-flight long-poll is interrupted), let running tasks finish within the
   * grace period, then abort the rest and resolve once nothing of ours runs. Unlike the library
   * Worker, which releases such tasks, these are rescued by the server when their lease expires.
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
    this.polling.abort(new AttemptAborted('shutdown', 'the worker is shutting down'));
    this.wakeup.wake();
    await this.loopDone;

    const inFlight = () => Promise.all([...this.running.values()].map((e) => e.done));
    let graceTimer: NodeJS.Timeout | undefined;
    await Promise.race([inFlight(), new Promise((r) => (graceTimer = setTimeout(r, this.shutdownGraceMs)))]);
    clearTimeout(graceTimer);

    const leftovers = [...this.running.values()];
    for (const e of leftovers) {
      e.controller.abort(new AttemptAborted('shutdown', 'the worker is shutting down'));
      this.safeEmit('task:abandoned', { task: e.task });
    }
    if (leftovers.length) {
      this.logger.warn(
        { abandoned: leftovers.length },
        'grace period over: unfinished tasks are left to be rescued when their leases expire',
      );
      await inFlight();
    }
    clearInterval(this.heartbeatTimer);
    await Promise.all(this.beats);
    this.state = 'stopped';
    this.logger.info({ abandoned: leftovers.length }, 'remote worker stopped');
    this.safeEmit('worker:stopped', { workerId: this.workerId, abandoned: leftovers.length });
  }
}
