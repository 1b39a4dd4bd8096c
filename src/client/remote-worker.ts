import { LEASE_MAX, LEASE_MIN } from '../api/schemas.ts';
import { coerceError, type Logger } from '../logger.ts';
import type { TraceCarrier } from '../tracing.ts';
import { AttemptAborted } from '../worker/attempt-aborted.ts';
import { type Attempt, type CoreLabels, WorkerCore } from '../worker/core.ts';
import type { TaskDefinition } from '../worker/registry.ts';
import {
  type ClaimedTaskJson,
  type CompleteRequest,
  type EventixClient,
  type FailRequest,
  isEventixApiError,
  type TaskStatusJson,
} from './client.ts';
import { isLeaseLoss, toRemoteError } from './remote-errors.ts';
import { RemoteHeartbeats } from './remote-heartbeats.ts';

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
  /** How long stop() lets running tasks finish before handing them back to the queue. Default 30 s. */
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
  'worker:stopped': [{ workerId: string; released: number }];
  'worker:error': [{ error: Error; during: string }];
  'task:claimed': [{ task: ClaimedTaskJson }];
  'task:completed': [{ task: ClaimedTaskJson; result: unknown; durationMs: number }];
  'task:failed': [{ task: ClaimedTaskJson; error: RemoteTaskError; status: TaskStatusJson }];
  'task:lease-lost': [{ task: ClaimedTaskJson; reason: string }];
  /** Still running when stop()'s grace period ended: aborted, and handed back to the queue uncounted. */
  'task:released': [{ task: ClaimedTaskJson }];
}

/**
 * A 409/404 answer to a report means the task is no longer ours: say so as the runner understands
 * it, with the answer's message as the reason. Only the reports are read this way: a handler that
 * throws an API error of its own fails its attempt like any other error.
 */
const leaseLost = (err: Error) => new AttemptAborted('lease_lost', err.message);

/** Calls that report an outcome are retried this often on network errors and 5xx answers. */
const REPORT_ATTEMPTS = 3;

const LABELS: CoreLabels = {
  started: 'remote worker started',
  stopped: 'remote worker stopped',
  graceOver: 'grace period over: unfinished tasks handed back to the queue',
  leftoverEvent: 'task:released',
  leftoverCount: 'released',
};

/**
 * A worker that runs `defineTask()` handlers on any machine that can reach the Eventix API, with
 * no database connection: it claims over HTTP (a long-poll sized to its free slots), heartbeats each
 * running task, and reports outcomes under the fencing token of its claim. The guarantees are the
 * library Worker's, by construction: both run attempts, classify failures and stop through
 * WorkerCore. A handler whose lease is lost (409 LeaseLost at heartbeat) is aborted and its
 * outcome discarded; a cancel requested while it runs aborts it and ends the task `cancelled`; a
 * timeout aborts it and fails the attempt; NonRetryableError fails at once. Events and states
 * (created → running → stopping → stopped) match the library Worker's.
 *
 * Tasks still running when stop()'s grace period ends are aborted and handed back through POST
 * /tasks/{uid}/release ('task:released'): due again at once, the attempt not counted, as the library
 * Worker does. One that cannot be handed back (the API unreachable) waits for the server's rescue
 * once its lease expires, which counts the attempt. So can a task whose claim answer a stop() cut
 * off, in a narrow race: the server claimed it, but the answer never arrived.
 */
export class RemoteWorker extends WorkerCore<ClaimedTaskJson, RemoteWorkerEvents> {
  protected readonly labels = LABELS;
  private readonly client: EventixClient;
  private readonly namespace: string;
  private readonly leaseSeconds: number;
  private readonly waitSeconds: number;
  private readonly errorDelayMs: number;
  private readonly maxErrorDelayMs: number;
  /** Aborts the in-flight long-poll when stop() is called. */
  private readonly polling = new AbortController();
  private readonly heartbeats: RemoteHeartbeats;

  constructor(opts: RemoteWorkerOptions) {
    super({
      tasks: opts.tasks,
      concurrency: opts.concurrency,
      shutdownGraceMs: opts.shutdownGraceMs,
      workerId: opts.workerId,
      logger: opts.logger,
      component: 'remote-worker',
    });
    this.client = opts.client;
    this.namespace = opts.namespace ?? 'default';
    this.leaseSeconds = opts.leaseSeconds ?? 30;
    this.waitSeconds = opts.waitSeconds ?? 20;
    const heartbeatIntervalMs = opts.heartbeatIntervalMs ?? Math.max(250, (this.leaseSeconds * 1000) / 3);
    this.errorDelayMs = opts.errorDelayMs ?? 250;
    this.maxErrorDelayMs = opts.maxErrorDelayMs ?? 10_000;
    if (!Number.isInteger(this.concurrency) || this.concurrency < 1 || this.concurrency > 1000) {
      throw new TypeError('concurrency must be a whole number from 1 to 1000');
    }
    if (!Number.isInteger(this.leaseSeconds) || this.leaseSeconds < LEASE_MIN || this.leaseSeconds > LEASE_MAX) {
      throw new TypeError(`leaseSeconds must be a whole number from ${LEASE_MIN} to ${LEASE_MAX}`);
    }
    if (!(this.waitSeconds >= 0 && this.waitSeconds <= 60)) throw new TypeError('waitSeconds must be from 0 to 60');
    if (heartbeatIntervalMs >= this.leaseSeconds * 1000) throw new TypeError('heartbeatIntervalMs must be shorter than the lease');
    this.heartbeats = new RemoteHeartbeats({
      client: this.client,
      workerId: this.workerId,
      leaseSeconds: this.leaseSeconds,
      intervalMs: heartbeatIntervalMs,
      entries: () => this.running.values(),
      reportError: this.reportTo,
    });
  }

  protected startBackground(): void {
    this.heartbeats.start();
  }

  protected describe(): Record<string, unknown> {
    return { namespace: this.namespace, tasks: this.names, concurrency: this.concurrency };
  }

  protected async loop(): Promise<void> {
    let errorDelay = 0;
    while (this.state === 'running') {
      const free = this.concurrency - this.running.size;
      if (free <= 0) {
        // Woken when a slot frees, or by stop().
        await this.wakeup.wait(60_000);
        continue;
      }
      let claimed: ClaimedTaskJson[];
      const claimStartedAt = Date.now();
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
        this.traceClaimed(claimed, claimStartedAt);
      } catch (err) {
        if (this.state !== 'running') break;
        this.reportError(err, 'claim');
        // The API or the network is in trouble: back off (capped) instead of hammering it.
        errorDelay = Math.min(this.maxErrorDelayMs, Math.max(this.errorDelayMs, errorDelay * 2));
        await this.wakeup.wait(errorDelay);
        continue;
      }
      // Claimed just as stop() began: these are ours now, so they run within the grace period
      // like the others, and are handed back if it ends first.
      for (const task of claimed) this.execute(task);
    }
  }

  /** Stop claiming: interrupt the long-poll in flight. */
  protected override interruptClaims(): void {
    this.polling.abort(new AttemptAborted('shutdown', 'the worker is shutting down'));
  }

  /** By fencing token, unique per claim: a task re-claimed while a stale attempt lingers is two entries. */
  protected keyOf(task: ClaimedTaskJson): number {
    return task.fencing_token;
  }

  protected fencingTokenOf(task: ClaimedTaskJson): number {
    return task.fencing_token;
  }

  protected timeoutOf(task: ClaimedTaskJson): number | null {
    return task.timeout_seconds;
  }

  protected traceCarrierOf(task: ClaimedTaskJson): TraceCarrier | null {
    return task.trace_context;
  }

  protected async record(task: ClaimedTaskJson, result: unknown): Promise<boolean> {
    let json: CompleteRequest['result'];
    try {
      // What the server will store: a result JSON cannot carry fails the attempt, as in the library worker.
      json = JSON.parse(JSON.stringify(result === undefined ? null : result) ?? 'null');
    } catch (err) {
      throw new TypeError(`the handler's result is not JSON-serializable: ${coerceError(err).message}`);
    }
    try {
      await this.report('complete', () =>
        this.client.complete(task.uid, { worker_id: this.workerId, fencing_token: task.fencing_token, result: json }),
      );
      return true;
    } catch (err) {
      if (isLeaseLoss(err)) throw leaseLost(err);
      // Refused (e.g. a result the server will not store): fail the attempt as the library worker does.
      if (isEventixApiError(err) && err.status < 500) throw err;
      // The lease will expire and the server's rescue will retry the task: nothing is lost.
      this.reportError(err, 'complete');
      return false;
    }
  }

  protected async failAttempt(
    task: ClaimedTaskJson,
    err: unknown,
    reason: AttemptAborted['reason'] | undefined,
    retry: boolean,
  ): Promise<{ error: RemoteTaskError; status: TaskStatusJson }> {
    const error = toRemoteError(err, reason);
    try {
      const { status } = await this.report('fail', () =>
        this.client.fail(task.uid, { worker_id: this.workerId, fencing_token: task.fencing_token, error, retry }),
      );
      return { error, status };
    } catch (failErr) {
      throw isLeaseLoss(failErr) ? leaseLost(failErr) : failErr;
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

  /** Back to the queue at once, without using up an attempt; the answer's keys are the fencing tokens handed back. */
  protected async handBack(leftovers: Attempt<ClaimedTaskJson>[]): Promise<ReadonlySet<number>> {
    const back = new Set<number>();
    await Promise.all(
      leftovers.map(async ({ task }) => {
        try {
          await this.report('release', () =>
            this.client.release(task.uid, { worker_id: this.workerId, fencing_token: task.fencing_token }),
          );
          back.add(task.fencing_token);
        } catch (err) {
          // Not ours any more (409/404): nothing to hand back. Unreachable: the lease runs out, rescue retries it.
          if (!isLeaseLoss(err)) this.reportError(err, 'release');
        }
      }),
    );
    return back;
  }

  protected async stopBackground(): Promise<void> {
    await this.heartbeats.stop();
  }
}
