import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { StallError, Tracker } from '../../bench/exactly-once.ts';

// The benchmark's exactly-once verdict rests on this bookkeeping alone: a tracker that let a
// duplicate or a lost job through would make every "exactly-once: yes" in the report meaningless.

function tracker() {
  const logged: string[] = [];
  // Date.now() is faked below, so the tracker's clock moves with the fake timers.
  const t = new Tracker('sys', { now: () => Date.now(), log: (m) => logged.push(m) });
  return { t, logged };
}

/** Settles `p` into a readable state, so a test can assert on it without awaiting forever. */
function observe<T>(p: Promise<T>) {
  const state: { value?: T; error?: unknown; settled: boolean } = { settled: false };
  p.then(
    (value) => Object.assign(state, { value, settled: true }),
    (error: unknown) => Object.assign(state, { error, settled: true }),
  );
  return state;
}

describe('bench Tracker: exactly once', () => {
  it('passes when every issued id starts once', () => {
    const { t, logged } = tracker();
    const ids = t.issue(5);
    expect(ids).toEqual([0, 1, 2, 3, 4]);
    for (const id of [3, 0, 4, 1, 2]) t.onJob(id);
    expect(t.verify()).toEqual({ issued: 5, missing: [], duplicates: [], unexpected: [] });
    expect(logged).toEqual([]);
  });

  it('reports an id that started twice, with its count, and says so as it happens', () => {
    const { t, logged } = tracker();
    t.issue(3);
    for (const id of [0, 1, 2, 1, 1]) t.onJob(id);
    const v = t.verify();
    expect(v.duplicates).toEqual([{ id: 1, count: 3 }]);
    expect(v.missing).toEqual([]);
    // One line for the first repeat, not one per repeat: a storm of duplicates must not flood stderr.
    expect(logged).toEqual(['sys: DUPLICATE — job 1 started a second time']);
  });

  it('reports an id that never started', () => {
    const { t } = tracker();
    t.issue(4);
    for (const id of [0, 1, 3]) t.onJob(id);
    expect(t.verify()).toMatchObject({ issued: 4, missing: [2], duplicates: [] });
  });

  it('counts ids issued in later batches, and reports ids it never issued', () => {
    const { t, logged } = tracker();
    t.issue(2);
    t.onJob(2); // not issued yet: a handler ran for a job the benchmark did not submit
    expect(t.issue(1)).toEqual([2]);
    t.onJob(0);
    t.onJob(1);
    for (const bad of [-1, 1.5, 'x' as unknown as number]) t.onJob(bad);
    const v = t.verify();
    expect(v.unexpected).toEqual([2, -1, 1.5, 'x']);
    // id 2 was issued afterwards but its only start came before: it still never started.
    expect(v.missing).toEqual([2]);
    expect(logged).toHaveLength(4);
    expect(logged[0]).toContain('never issued: 2');
  });

  it('hands the start time of a single submission to whoever waits for it', async () => {
    const { t } = tracker();
    const [id] = t.issue(1) as [number];
    const started = t.waitStart(id);
    t.onJob(id);
    await expect(started).resolves.toBeTypeOf('number');
  });
});

describe('bench Tracker: ranges and stalls', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('resolves once every id of the range has started, with the first start time', async () => {
    const { t } = tracker();
    const ids = t.issue(3);
    t.beginRange(0, 3);
    const waiting = observe(t.waitRange(5000, () => {}));
    await vi.advanceTimersByTimeAsync(700);
    t.onJob(ids[1] as number);
    const firstAt = Date.now();
    await vi.advanceTimersByTimeAsync(700);
    t.onJob(ids[0] as number);
    await vi.advanceTimersByTimeAsync(0);
    expect(waiting.settled).toBe(false);
    t.onJob(ids[2] as number);
    await vi.advanceTimersByTimeAsync(0);
    expect(waiting).toEqual({ settled: true, value: { first: firstAt } });
  });

  it('fails the phase with a StallError when no job starts for stallMs', async () => {
    const { t } = tracker();
    t.issue(3);
    t.beginRange(0, 3);
    const seen: number[] = [];
    const waiting = observe(t.waitRange(5000, (n) => seen.push(n)));
    t.onJob(0);
    await vi.advanceTimersByTimeAsync(5000);
    // Exactly stallMs without a start is still within the allowance.
    expect(waiting.settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1000);
    expect(waiting.settled).toBe(true);
    expect(waiting.error).toBeInstanceOf(StallError);
    expect((waiting.error as Error).message).toBe('stalled: no job started for 5 s with 2 of 3 still not started');
    expect(seen).toEqual([1, 1, 1, 1, 1, 1]);
  });

  it('does not call a phase stalled while jobs keep starting, however long it takes', async () => {
    const { t } = tracker();
    t.issue(6);
    t.beginRange(0, 6);
    const waiting = observe(t.waitRange(5000, () => {}));
    for (let id = 0; id < 6; id++) {
      await vi.advanceTimersByTimeAsync(4000);
      expect(waiting.settled).toBe(false);
      t.onJob(id);
    }
    await vi.advanceTimersByTimeAsync(0);
    expect(waiting.error).toBeUndefined();
    expect(waiting.settled).toBe(true);
  });

  it('does not count starts outside the range, nor repeats, toward it', async () => {
    const { t } = tracker();
    t.issue(4);
    t.beginRange(2, 4);
    const waiting = observe(t.waitRange(3000, () => {}));
    t.onJob(0);
    t.onJob(2);
    t.onJob(2);
    await vi.advanceTimersByTimeAsync(0);
    expect(waiting.settled).toBe(false);
    await vi.advanceTimersByTimeAsync(4000);
    expect(waiting.error).toBeInstanceOf(StallError);
    expect((waiting.error as Error).message).toContain('1 of 2 still not started');
  });
});
