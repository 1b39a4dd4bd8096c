import { performance } from 'node:perf_hooks';
import { progress } from './progress.ts';

/** A phase made no progress: no job started for the allowed time. */
export class StallError extends Error {}

export interface TrackerOptions {
  /** Monotonic milliseconds; injectable so that a test can drive the stall check. */
  now?: () => number;
  /** Where duplicates and never-issued ids are reported as they happen. */
  log?: (msg: string) => void;
}

export interface Verdict {
  issued: number;
  missing: number[];
  duplicates: { id: number; count: number }[];
  unexpected: unknown[];
}

interface Range {
  lo: number;
  hi: number;
  seen: number;
  first: number | undefined;
  done: () => void;
  finished: Promise<void>;
}

/**
 * Hands out job ids (0, 1, 2, …) and counts handler starts per id. Every issued id must start
 * exactly once over the whole run of one system; anything else is reported.
 */
export class Tracker {
  private next = 0;
  private readonly counts = new Map<number, number>();
  readonly unexpected: unknown[] = [];
  private readonly starts = new Map<number, (t: number) => void>();
  private phase: Range | undefined;
  private readonly now: () => number;
  private readonly log: (msg: string) => void;
  lastStartAt: number;

  constructor(
    private readonly label: string,
    opts: TrackerOptions = {},
  ) {
    this.now = opts.now ?? (() => performance.now());
    this.log = opts.log ?? progress;
    this.lastStartAt = this.now();
  }

  issue(count: number): number[] {
    const ids = Array.from({ length: count }, (_, i) => this.next + i);
    this.next += count;
    return ids;
  }

  /** The handler callback: must be cheap, it runs inside every job. */
  readonly onJob = (id: number): void => {
    const t = this.now();
    this.lastStartAt = t;
    if (!Number.isInteger(id) || id < 0 || id >= this.next) {
      this.unexpected.push(id);
      this.log(`${this.label}: handler ran for a job id the benchmark never issued: ${JSON.stringify(id)}`);
      return;
    }
    const c = (this.counts.get(id) ?? 0) + 1;
    this.counts.set(id, c);
    if (c === 2) this.log(`${this.label}: DUPLICATE — job ${id} started a second time`);
    if (c !== 1) return;
    this.starts.get(id)?.(t);
    const ph = this.phase;
    if (ph && id >= ph.lo && id < ph.hi) {
      ph.first ??= t;
      if (++ph.seen === ph.hi - ph.lo) ph.done();
    }
  };

  /** Resolves with the handler-start time of `id`. Register before submitting. */
  waitStart(id: number): Promise<number> {
    return new Promise((resolve) => {
      this.starts.set(id, (t) => {
        this.starts.delete(id);
        resolve(t);
      });
    });
  }

  forgetStart(id: number): void {
    this.starts.delete(id);
  }

  /** Start watching [lo, hi): call before the worker starts, so no start goes uncounted. */
  beginRange(lo: number, hi: number): void {
    let done!: () => void;
    const finished = new Promise<void>((r) => {
      done = r;
    });
    this.phase = { lo, hi, seen: 0, first: undefined, done, finished };
  }

  /**
   * Resolves when every id of the range has started; rejects when none starts for `stallMs`, or
   * with `signal`'s reason when it aborts (a worker process died: no need to wait for the stall).
   */
  async waitRange(stallMs: number, report: (seen: number) => void, signal?: AbortSignal): Promise<{ first: number }> {
    const ph = this.phase;
    if (!ph) throw new Error('waitRange without beginRange');
    this.lastStartAt = this.now();
    const ticker = setInterval(() => {
      report(ph.seen);
      if (this.now() - this.lastStartAt > stallMs) ph.done();
    }, 1000);
    signal?.addEventListener('abort', ph.done);
    try {
      if (ph.seen < ph.hi - ph.lo && !signal?.aborted) await ph.finished;
    } finally {
      clearInterval(ticker);
      signal?.removeEventListener('abort', ph.done);
      this.phase = undefined;
    }
    signal?.throwIfAborted();
    const total = ph.hi - ph.lo;
    if (ph.seen !== total) {
      throw new StallError(
        `stalled: no job started for ${Math.round(stallMs / 1000)} s with ${total - ph.seen} of ${total} still not started`,
      );
    }
    return { first: ph.first ?? this.now() };
  }

  verify(): Verdict {
    const missing: number[] = [];
    const duplicates: { id: number; count: number }[] = [];
    for (let id = 0; id < this.next; id++) {
      const c = this.counts.get(id) ?? 0;
      if (c === 0) missing.push(id);
      else if (c > 1) duplicates.push({ id, count: c });
    }
    return { issued: this.next, missing, duplicates, unexpected: [...this.unexpected] };
  }
}
