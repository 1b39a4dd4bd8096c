import type pg from 'pg';
import type { ClaimOptions } from '../queue/claim.ts';
import { checkResult } from '../queue/complete.ts';
import { completeAndClaim } from '../queue/complete-and-claim.ts';
import { explainLoss } from '../queue/ownership.ts';
import type { ClaimedTask } from '../queue/task.ts';
import { StartHandle } from './start-handle.ts';

/**
 * Lets each flush also claim successors for the slots and buffer places it frees (see
 * completeAndClaim). `reserve` returns the claim to make for a batch of `finishing` tasks (a
 * limit of 0 claims nothing) and counts those places as taken; `claimed` hands over what came
 * back and releases the reservation.
 */
export interface Reservation extends Omit<ClaimOptions, 'workerId'> {
  /** The worker's notification count when the claim was planned (see Worker.notified). */
  notified: number;
}

export interface Successors {
  reserve(finishing: number): Reservation;
  /** `startedAt`: when the statement that claimed them was sent (ms since the epoch), for their claim spans. */
  claimed(tasks: ClaimedTask[], reservation: Reservation, startedAt: number): void;
}

interface Pending {
  uid: string;
  fencingToken: number;
  result: unknown;
  /** Set for a task started from the local buffer: the completion counts its attempt if its start was not recorded. */
  startedAt: Date | undefined;
  /** The task's store_result, from its claimed row: which of the statement's two parts looks for it. */
  storeResult: boolean | undefined;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * Batches completions. Completions are sent on the next turn of the event loop, all those of one
 * turn together; one that arrives while a flush is in flight waits for the next flush and shares
 * its statement. Under load many tasks finish per round trip, and when idle a completion is sent
 * at once: batching without a timer and without added latency. `maxInFlight` flushes may run at
 * once on different connections; the worker uses two, so that one chunk's outcomes are written
 * while the next chunk of its local buffer runs (with one, Node and the database took turns).
 *
 * The starts of tasks taken from the worker's local buffer ride along the same way (see
 * recordStart). A task that finishes before its start was sent has the start dropped and its
 * completion counts the attempt instead: one statement never touches a row twice.
 */
export class Completer {
  private queue: Pending[] = [];
  /** Start records not yet sent, by uid. */
  private starts = new Map<string, StartHandle>();
  /** Uids whose start record is in a flush in flight (see pump). */
  private readonly startsInFlight = new Set<string>();
  private readonly inFlight = new Set<Promise<void>>();
  private pumpScheduled = false;

  constructor(
    private readonly pool: pg.Pool,
    private readonly workerId: string,
    private readonly maxBatch: number,
    private readonly maxInFlight: number,
    private readonly successors: Successors,
  ) {}

  /**
   * Rejects at once, without joining a batch, when the result cannot be stored (see checkResult):
   * a batch is one statement, and one bad result in it would fail every task flushed alongside.
   * The caller fails just this attempt, as if its handler had thrown.
   */
  complete(uid: string, fencingToken: number, result: unknown, startedAt?: Date, storeResult?: boolean): Promise<void> {
    let checked: unknown;
    try {
      checked = checkResult(result);
    } catch (err) {
      // Not only ValidationError: a cyclic result overflows the stack, a getter may throw.
      return Promise.reject(err);
    }
    const unsent = this.starts.get(uid);
    if (unsent) {
      // The completion records the start itself (completeCtes counts the attempt when started_at is null).
      this.starts.delete(uid);
      unsent.resolve();
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ uid, fencingToken, result: checked, startedAt, storeResult, resolve, reject });
      this.schedulePump();
    });
  }

  /**
   * Record that a task from the local buffer started: its attempt is counted, and started_at set,
   * with the next flush. The handle says once it is written (or its completion took it over); a
   * failure of the attempt waits for that, so that the failure counts the attempt it ends.
   */
  recordStart(uid: string, fencingToken: number, startedAt: Date): StartHandle {
    const handle = new StartHandle(uid, fencingToken, startedAt);
    this.starts.set(uid, handle);
    this.schedulePump();
    return handle;
  }

  /** Resolves once everything queued so far has been written. */
  async drain(): Promise<void> {
    while (this.inFlight.size || this.queue.length || this.starts.size) {
      if (this.inFlight.size) await Promise.all(this.inFlight);
      // Queued but not yet sent: the pump is scheduled for the next turn.
      else await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /**
   * Flush on the next turn of the event loop, not now: the tasks a flush just handed out, and any
   * others finishing in this turn, complete in the same batch. Pumping synchronously sent the
   * first finisher alone and the rest one statement later (batches of 1 and 16 alternating).
   */
  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  /**
   * Two flushes in flight must never touch the same row: a completion whose task's start record is
   * in a flush still in flight waits for that flush to end. Sent alongside, the second statement
   * waited for the first's row locks while the first, locking its rows in another order, waited
   * for the second's: PostgreSQL broke the deadlock after a second by failing one of them, and its
   * tasks' attempts with it (measured: tasks that await I/O, 1–5 ms each).
   */
  private pump(): void {
    while (this.inFlight.size < this.maxInFlight) {
      const batch = this.takeBatch();
      if (batch.length === 0 && this.starts.size === 0) return;
      const starts = [...this.starts.values()];
      this.starts.clear();
      const uids = starts.map((s) => s.uid);
      for (const uid of uids) this.startsInFlight.add(uid);
      const flush = this.flush(batch, starts).finally(() => {
        for (const uid of uids) this.startsInFlight.delete(uid);
        this.inFlight.delete(flush);
        this.schedulePump();
      });
      this.inFlight.add(flush);
    }
  }

  /** Up to maxBatch queued completions, in order, skipping those whose start record is in flight. */
  private takeBatch(): Pending[] {
    if (this.startsInFlight.size === 0) return this.queue.splice(0, this.maxBatch);
    const batch: Pending[] = [];
    const held: Pending[] = [];
    for (const p of this.queue) {
      if (batch.length < this.maxBatch && !this.startsInFlight.has(p.uid)) batch.push(p);
      else held.push(p);
    }
    this.queue = held;
    return batch;
  }

  private async flush(batch: Pending[], starts: StartHandle[]): Promise<void> {
    const next = this.successors.reserve(batch.length);
    const startedAt = Date.now();
    let claimed: ClaimedTask[] = [];
    try {
      const r = await completeAndClaim(this.pool, this.workerId, batch, next, { resultsChecked: true, starts });
      claimed = r.claimed;
      for (const s of starts) s.resolve();
      for (const p of batch) {
        if (r.completed.has(p.uid)) p.resolve();
        else p.reject(await explainLoss(this.pool, { uid: p.uid, workerId: this.workerId, fencingToken: p.fencingToken }));
      }
    } catch (err) {
      for (const s of starts) s.reject(err);
      for (const p of batch) p.reject(err);
    } finally {
      this.successors.claimed(claimed, next, startedAt);
    }
  }
}
