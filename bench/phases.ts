// The timed steps on one system's driver, each used by the warm-up and by the measured phases.
import { performance } from 'node:perf_hooks';
import { type JobShape, mixedJob, type QueueDriver, type StopWorker } from './drivers/types.ts';
import { StallError, type Tracker } from './exactly-once.ts';
import { live, startWorker } from './lifecycle.ts';
import type { Options } from './options.ts';
import { progress } from './progress.ts';
import { quiesce } from './quiet.ts';
import { sleep, withTimeout } from './wait.ts';

/** Polls until the database shows no unfinished job: a handler having started is not the job being done. */
export async function waitRemainingZero(driver: QueueDriver, stallMs: number, signal?: AbortSignal): Promise<void> {
  const deadline = performance.now() + stallMs;
  for (;;) {
    signal?.throwIfAborted();
    const n = await driver.remaining();
    if (n === 0) return;
    if (performance.now() > deadline)
      throw new StallError(`${n} job(s) still unfinished in the database ${Math.round(stallMs / 1000)} s after all had started`);
    await sleep(5);
  }
}

/**
 * Bulk-enqueue `ids`, `batch` per call, as no-op jobs or as mixed ones (mixedJob); returns the
 * seconds it took. `label` turns on progress lines.
 */
export async function enqueuePhase(driver: QueueDriver, ids: number[], batch: number, label: string | undefined, shape: JobShape = 'noop') {
  const t0 = performance.now();
  let lastReport = t0;
  for (let i = 0; i < ids.length; i += batch) {
    const chunk = ids.slice(i, i + batch);
    await (shape === 'mixed' ? driver.enqueueMixed(chunk.map(mixedJob)) : driver.enqueueBulk(chunk));
    const now = performance.now();
    if (label && (now - lastReport > 1000 || i + batch >= ids.length)) {
      lastReport = now;
      progress(`${label}: enqueued ${Math.min(i + batch, ids.length)}/${ids.length}`);
    }
  }
  return (performance.now() - t0) / 1000;
}

/**
 * How a timed phase starts its workers (bench/scenarios.ts): by default one in-process worker
 * reporting to the tracker. `signal` aborts the phase with its reason (a worker process died).
 */
export interface PhaseWorkers {
  start?: () => Promise<StopWorker>;
  signal?: AbortSignal;
  /** Settle the server before the clock starts (bench/quiet.ts); off for untimed warm-ups. */
  quiet?: boolean;
}

/** Start a worker on the enqueued `ids` and time it until every one has run and is recorded finished. */
export async function processPhase(
  driver: QueueDriver,
  tracker: Tracker,
  ids: number[],
  opts: Options,
  label: string | undefined,
  { start = () => startWorker(driver, opts.concurrency, tracker), signal, quiet = true }: PhaseWorkers = {},
) {
  if (quiet) await quiesce({ admin: live.admin, serverUrl: live.serverUrl, databases: live.databases });
  const lo = ids[0] as number;
  const hi = lo + ids.length;
  tracker.beginRange(lo, hi);
  const t0 = performance.now();
  const stop = await start();
  try {
    const { first } = await tracker.waitRange(
      opts.stallMs,
      (seen) => {
        if (label) progress(`${label}: processed ${seen}/${ids.length} (${Math.round(seen / ((performance.now() - t0) / 1000))}/s)`);
      },
      signal,
    );
    const allStarted = performance.now();
    await waitRemainingZero(driver, opts.stallMs, signal);
    const t1 = performance.now();
    if (label) progress(`${label}: processed ${ids.length}/${ids.length}`);
    return { seconds: (t1 - t0) / 1000, allStartedSeconds: (allStarted - t0) / 1000, firstStartMs: first - t0 };
  } finally {
    await stop();
  }
}

/** One single submission, timed from the submit call to its handler's start. */
export async function oneSubmission(driver: QueueDriver, tracker: Tracker, stallMs: number): Promise<number> {
  const [id] = tracker.issue(1) as [number];
  const started = tracker.waitStart(id);
  const t0 = performance.now();
  await driver.enqueueOne(id);
  try {
    return (await withTimeout(started, stallMs, `job ${id} (single submission) to start`)) - t0;
  } catch (err) {
    tracker.forgetStart(id);
    throw new StallError((err as Error).message);
  }
}

/** Single submissions to one idle worker (the warm-up's). */
export async function latencyPhase(driver: QueueDriver, tracker: Tracker, count: number, gapMs: number, opts: Options) {
  const stop = await startWorker(driver, opts.concurrency, tracker);
  try {
    // Let the worker settle into idle (LISTEN connected, first empty poll done).
    await sleep(1000);
    for (let i = 0; i < count; i++) {
      await oneSubmission(driver, tracker, opts.stallMs);
      // A random pause, so submissions do not fall at a fixed phase of a polling cycle.
      if (gapMs > 0) await sleep(Math.random() * gapMs);
    }
    await waitRemainingZero(driver, opts.stallMs);
  } finally {
    await stop();
  }
}
