import type { ClaimedTask } from '../queue/task.ts';
import type { AttemptAborted } from './attempt-aborted.ts';
import type { HeartbeatEntry } from './heartbeats.ts';

/**
 * Tasks a worker claimed ahead of its free slots, as graphile-worker's localQueue does: when a
 * slot frees, the next task starts at once instead of after a claim's round trip. With short
 * tasks that round trip is what bounds a worker, and claiming ahead lets one statement finish,
 * start and claim many tasks at a time.
 *
 * What holds for a buffered task:
 * - It is `processing` under this worker's id, lease and fencing token, like a running one: no
 *   other worker can take it, and the heartbeat renews its lease with the rest.
 * - Its attempt is not counted and its started_at is null until it starts (the claim leaves both,
 *   see claimCtes). Its start is recorded with the next completer flush.
 * - It is handed back (release, nothing counted) when the worker stops, when it has waited longer
 *   than the buffer's ttl (so a worker stuck behind long tasks does not hoard short ones), and
 *   when a heartbeat finds it cancelled.
 * - If the worker dies, rescue returns it as it was once its lease runs out (see rescueExpired).
 *
 * Each entry answers the heartbeat's abort like a running attempt does: its lease was lost, or
 * its task cancelled.
 */
export interface BufferedEntry extends HeartbeatEntry {
  claimedAt: number;
}

/** The start rate is counted over two windows of this length: about the last half second. */
const WINDOW_MS = 250;

/**
 * A buffered task as the heartbeat sees it: its own abort controller, a plain method rather than
 * an AbortController or a closure, since thousands are made a second and nothing else listens.
 */
class Buffered implements BufferedEntry {
  readonly controller = this;

  constructor(
    private readonly buffer: LocalBuffer,
    readonly task: ClaimedTask,
    readonly claimedAt: number,
  ) {}

  abort(reason: AttemptAborted): void {
    this.buffer.aborted(this, reason);
  }
}

export class LocalBuffer {
  private readonly entries = new Map<string, BufferedEntry>();
  /** Starts counted in the current window and the one before it, for the recent start rate. */
  private windowAt = Date.now();
  private windowStarts = 0;
  private previousAt = 0;
  private previousStarts = 0;

  constructor(
    /** Called when the heartbeat aborts an entry: lost (drop it) or cancelled (hand it back). */
    private readonly onAbort: (task: ClaimedTask, reason: AttemptAborted) => void,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** A task of this worker started (from the buffer or straight from a claim). */
  countStart(now = Date.now()): void {
    this.roll(now);
    this.windowStarts++;
  }

  /**
   * How many tasks to hold: what the worker starts in `horizonMs` at its rate over the last half
   * second or so, at most `prefetch` (an infinite horizon: always `prefetch`). A worker whose tasks
   * take seconds holds one or two, so it neither hoards tasks that idle workers could run nor churns
   * them through the ttl; one running thousands a second holds `prefetch`. An idle worker holds none
   * until tasks start flowing.
   */
  target(prefetch: number, horizonMs: number, now = Date.now()): number {
    if (horizonMs === Number.POSITIVE_INFINITY) return prefetch;
    this.roll(now);
    // Over the time actually covered (at least 20 ms), not a full window: a worker that has just
    // begun, or woken after a lull, sizes its buffer from its first few milliseconds of starts.
    const since = this.previousStarts > 0 ? this.previousAt : this.windowAt;
    const rate = (this.windowStarts + this.previousStarts) / (Math.max(20, now - since) / 1000);
    return Math.min(prefetch, Math.ceil((rate * horizonMs) / 1000));
  }

  private roll(now: number): void {
    const elapsed = now - this.windowAt;
    if (elapsed < WINDOW_MS) return;
    this.previousStarts = elapsed < 2 * WINDOW_MS ? this.windowStarts : 0;
    this.previousAt = this.windowAt;
    this.windowStarts = 0;
    this.windowAt = now;
  }

  add(task: ClaimedTask, now = Date.now()): void {
    this.entries.set(task.uid, new Buffered(this, task, now));
  }

  /** A buffered task was aborted (lease lost, cancelled) by the heartbeat: drop it, if still ours, and say so. */
  aborted(entry: BufferedEntry, reason: AttemptAborted): void {
    if (this.entries.get(entry.task.uid) !== entry) return;
    this.entries.delete(entry.task.uid);
    this.onAbort(entry.task, reason);
  }

  take(): ClaimedTask | undefined {
    // values(), not entries(): no [key, value] array per task taken.
    const first = this.entries.values().next();
    if (first.done) return undefined;
    this.entries.delete(first.value.task.uid);
    return first.value.task;
  }

  takeOlderThan(cutoff: number): ClaimedTask[] {
    const out: ClaimedTask[] = [];
    for (const [uid, entry] of this.entries) {
      // Insertion order is claim order, so the first young entry ends the scan.
      if (entry.claimedAt >= cutoff) break;
      this.entries.delete(uid);
      out.push(entry.task);
    }
    return out;
  }

  takeAll(): ClaimedTask[] {
    const out = [...this.entries.values()].map((e) => e.task);
    this.entries.clear();
    return out;
  }

  /** For the heartbeat: every buffered task's lease is renewed with the running ones. */
  heartbeatEntries(): Iterable<HeartbeatEntry> {
    return this.entries.values();
  }
}

/**
 * At most `perTurn` starts per turn of the event loop. take() answers false once they are spent,
 * and calls `resume` on the next turn. Short handlers settle in microtasks, so without a yield a
 * whole buffer ran before the completer could send a thing (see Worker.fillSlots).
 */
export class TurnBudget {
  private used = 0;
  private resuming = false;

  constructor(
    private readonly perTurn: number,
    private readonly resume: () => void,
  ) {}

  take(): boolean {
    if (this.used >= this.perTurn) {
      if (!this.resuming) {
        this.resuming = true;
        setImmediate(() => {
          this.resuming = false;
          this.resume();
        });
      }
      return false;
    }
    if (this.used++ === 0) setImmediate(() => (this.used = 0));
    return true;
  }
}
