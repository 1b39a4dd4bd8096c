import { AttemptAborted } from '../worker/attempt-aborted.ts';
import type { Attempt } from '../worker/core.ts';
import type { ClaimedTaskJson, EventixClient } from './client.ts';
import { isLeaseLoss } from './remote-errors.ts';

export interface RemoteHeartbeatsOptions {
  client: EventixClient;
  workerId: string;
  leaseSeconds: number;
  intervalMs: number;
  /** The attempts running now. */
  entries: () => Iterable<Attempt<ClaimedTaskJson>>;
  reportError: (err: unknown, during: string) => void;
}

/**
 * The remote worker's heartbeats: one call per running task (the API renews one lease per call),
 * all at once every interval; a task's next beat waits for its last. A beat that finds the lease
 * lost or the task cancelled aborts the attempt with that reason.
 */
export class RemoteHeartbeats {
  private timer: NodeJS.Timeout | undefined;
  private readonly beats = new Set<Promise<void>>();

  constructor(private readonly opts: RemoteHeartbeatsOptions) {}

  start(): void {
    this.timer = setInterval(() => this.beatAll(), this.opts.intervalMs);
  }

  /** Stop beating and wait for the beats in flight to settle. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all(this.beats);
  }

  private beatAll(): void {
    for (const entry of this.opts.entries()) {
      if (entry.beating || entry.controller.signal.aborted) continue;
      entry.beating = true;
      const beat = this.beat(entry).finally(() => {
        entry.beating = false;
        this.beats.delete(beat);
      });
      this.beats.add(beat);
    }
  }

  private async beat(entry: Attempt<ClaimedTaskJson>): Promise<void> {
    const { task, controller } = entry;
    const { client, workerId, leaseSeconds } = this.opts;
    try {
      const r = await client.heartbeat(
        task.uid,
        { worker_id: workerId, fencing_token: task.fencing_token, lease_seconds: leaseSeconds },
        // A heartbeat stuck on the network must not hold up the next one until the lease is gone.
        { signal: AbortSignal.any([controller.signal, AbortSignal.timeout(Math.max(1000, leaseSeconds * 500))]) },
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
        this.opts.reportError(err, 'heartbeat');
      }
    }
  }
}
