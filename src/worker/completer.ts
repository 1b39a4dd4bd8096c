import type pg from 'pg';
import type { ClaimOptions } from '../queue/claim.ts';
import { completeMany } from '../queue/complete.ts';
import { completeAndClaim } from '../queue/complete-and-claim.ts';
import { explainLoss } from '../queue/ownership.ts';
import type { ClaimedTask } from '../queue/task.ts';

/**
 * Lets each flush also claim successors for the slots it frees (see completeAndClaim). `reserve`
 * returns the claim to make for a batch of `finishing` tasks (or undefined to claim nothing) and
 * counts those slots as taken; `claimed` hands over what came back and releases the reservation.
 */
export interface Successors {
  reserve(finishing: number): Omit<ClaimOptions, 'workerId'> | undefined;
  claimed(tasks: ClaimedTask[], reservedLimit: number): void;
}

interface Pending {
  uid: string;
  fencingToken: number;
  result: unknown;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * Batches completions. A completion that arrives while flushes are in flight waits for the next
 * one and shares its statement, so under load many tasks finish per round trip, and when idle a
 * completion is sent at once: batching without a timer and without added latency. Up to
 * `maxInFlight` flushes run at once on different connections: commit latency (the WAL flush), not
 * the statement, bounds a busy worker, and concurrent commits share one flush (group commit).
 */
export class Completer {
  private queue: Pending[] = [];
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly pool: pg.Pool,
    private readonly workerId: string,
    private readonly maxBatch = 500,
    private readonly maxInFlight = 1,
    private readonly successors?: Successors,
  ) {}

  complete(uid: string, fencingToken: number, result: unknown): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ uid, fencingToken, result, resolve, reject });
      this.pump();
    });
  }

  /** Resolves once everything queued so far has been written. */
  async drain(): Promise<void> {
    while (this.inFlight.size) await Promise.all(this.inFlight);
  }

  private pump(): void {
    while (this.queue.length && this.inFlight.size < this.maxInFlight) {
      const batch = this.queue.splice(0, this.maxBatch);
      const flush = this.flush(batch).finally(() => {
        this.inFlight.delete(flush);
        this.pump();
      });
      this.inFlight.add(flush);
    }
  }

  private async flush(batch: Pending[]): Promise<void> {
    const next = this.successors?.reserve(batch.length);
    let claimed: ClaimedTask[] = [];
    try {
      let done: Set<string>;
      if (next) {
        const r = await completeAndClaim(this.pool, this.workerId, batch, next);
        done = r.completed;
        claimed = r.claimed;
      } else {
        done = await completeMany(this.pool, this.workerId, batch);
      }
      for (const p of batch) {
        if (done.has(p.uid)) p.resolve();
        else p.reject(await explainLoss(this.pool, { uid: p.uid, workerId: this.workerId, fencingToken: p.fencingToken }));
      }
    } catch (err) {
      for (const p of batch) p.reject(err);
    } finally {
      if (next) this.successors?.claimed(claimed, next.limit);
    }
  }
}
