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

export class LocalBuffer {
  private readonly entries = new Map<string, BufferedEntry>();

  constructor(
    /** Called when the heartbeat aborts an entry: lost (drop it) or cancelled (hand it back). */
    private readonly onAbort: (task: ClaimedTask, reason: AttemptAborted) => void,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  add(task: ClaimedTask, now = Date.now()): void {
    // A plain object, not an AbortController: thousands are made a second, and nothing listens.
    const entry: BufferedEntry = {
      task,
      claimedAt: now,
      controller: {
        abort: (reason) => {
          if (this.entries.get(task.uid) !== entry) return;
          this.entries.delete(task.uid);
          this.onAbort(task, reason);
        },
      },
    };
    this.entries.set(task.uid, entry);
  }

  /** The oldest buffered task (claim order), removed; undefined when empty. */
  take(): ClaimedTask | undefined {
    for (const [uid, entry] of this.entries) {
      this.entries.delete(uid);
      return entry.task;
    }
    return undefined;
  }

  /** Remove and return the tasks buffered before `cutoff` (ms since the epoch). */
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
