import type pg from 'pg';
import { heartbeat } from '../queue/heartbeat.ts';
import type { ClaimedTask } from '../queue/task.ts';
import { AttemptAborted } from './attempt-aborted.ts';

/** What the heartbeat needs of a held task: the task, and what aborts its attempt (or drops it from the local buffer). */
export interface HeartbeatEntry {
  task: ClaimedTask;
  controller: { abort(reason: AttemptAborted): void };
}

export interface HeartbeatsOptions {
  pool: pg.Pool;
  workerId: string;
  leaseSeconds: number;
  /** The attempts running now; each beat renews all of their leases in one statement. */
  entries: () => Iterable<HeartbeatEntry>;
  reportError: (err: unknown, during: string) => void;
  /** True once the worker has stopped: a failed beat is then not retried. */
  stopped: () => boolean;
}

/**
 * The worker's heartbeat loop: renews the leases of its running tasks every beat, and aborts the
 * attempts whose lease was lost or whose task was cancelled.
 */
export class Heartbeats {
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private retry: NodeJS.Timeout | undefined;

  constructor(private readonly opts: HeartbeatsOptions) {}

  start(): void {
    this.timer = setInterval(() => this.beatNow(), this.beatMs);
  }

  /** Stop beating and wait for a beat in flight to settle. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    clearTimeout(this.retry);
    await this.inFlight;
    clearTimeout(this.retry);
  }

  /** A third of the lease: two beats may fail before the lease runs out. */
  private get beatMs(): number {
    return Math.max(250, (this.opts.leaseSeconds * 1000) / 3);
  }

  /** One heartbeat unless one is in flight. A failed one is retried soon rather than a full beat later (see beat()). */
  private beatNow(): void {
    this.inFlight ??= this.beat().finally(() => {
      this.inFlight = undefined;
    });
  }

  private async beat(): Promise<void> {
    clearTimeout(this.retry);
    const entries = [...this.opts.entries()];
    if (entries.length === 0) return;
    try {
      const r = await heartbeat(
        this.opts.pool,
        this.opts.workerId,
        this.opts.leaseSeconds,
        entries.map((e) => e.task),
        { skipLocked: true },
      );
      for (const e of entries) {
        if (r.lost.has(e.task.uid)) {
          e.controller.abort(new AttemptAborted('lease_lost', 'the task is no longer held by this worker'));
        } else if (r.cancelRequested.has(e.task.uid)) {
          e.controller.abort(new AttemptAborted('cancelled', 'the task was cancelled'));
        }
      }
      // Rows a completion batch held just then were skipped: beat again soon rather than a full interval later.
      if (r.busy.size > 0 && !this.opts.stopped()) this.retry = setTimeout(() => this.beatNow(), Math.min(200, this.beatMs / 4));
    } catch (err) {
      this.opts.reportError(err, 'heartbeat');
      // Database unreachable (a restart, a killed connection): the running handlers go on, and the
      // lease keeps them ours only if a beat gets through before it expires. Retrying every second
      // or so renews it as soon as the database is back, instead of up to a beat interval later.
      if (!this.opts.stopped()) {
        this.retry = setTimeout(() => this.beatNow(), Math.min(1000, this.beatMs / 2));
      }
    }
  }
}
