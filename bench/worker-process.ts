/**
 * One worker of a system in a process of its own, for the `processes` scenario: bench/scenarios.ts
 * spawns it (`node --import tsx bench/worker-process.ts <system> <concurrency>`, IPC channel) and
 * drives it with the messages below. The database URL comes over the channel, not the command
 * line, where every user of the machine could read its password.
 *
 *   parent → child: setup {url} · go · stop
 *   child → parent: ready · ids {ids} (batched) · stopped · error {message}
 */
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import path from 'node:path';
import type { StopWorker } from './drivers/types.ts';
import { createDriver, SYSTEMS } from './options.ts';

export type ToWorker = { type: 'setup'; url: string } | { type: 'go' } | { type: 'stop' };
export type FromWorker = { type: 'ready' } | { type: 'ids'; ids: number[] } | { type: 'stopped' } | { type: 'error'; message: string };

/**
 * Started ids go to the parent at most this long after the handler reported them: one message per
 * job would cost the parent, on the same cores, more than the jobs themselves.
 */
const FLUSH_MS = 10;

const [key = '', concurrencyArg = ''] = process.argv.slice(2);
const concurrency = Number(concurrencyArg);

function send(msg: FromWorker): Promise<void> {
  return new Promise((resolve, reject) => {
    process.send?.(msg, undefined, undefined, (err) => (err ? reject(err) : resolve()));
  });
}

async function fail(err: unknown): Promise<never> {
  await send({ type: 'error', message: err instanceof Error ? err.message : String(err) }).catch(() => {});
  process.exit(1);
}

if (!process.send || !SYSTEMS[key] || !Number.isInteger(concurrency) || concurrency < 1) {
  console.error('bench/worker-process.ts: started by bench/scenarios.ts only (IPC channel, <system> <concurrency>)');
  process.exit(2);
}

// The parent gone (crashed, killed) closes the channel: no orphan goes on working on a bench database.
process.on('disconnect', () => process.exit(1));

const driver = createDriver(key);
let stopWorker: StopWorker | undefined;
const started: number[] = [];
let flushTimer: NodeJS.Timeout | undefined;

function flush(): void {
  clearTimeout(flushTimer);
  flushTimer = undefined;
  if (started.length) send({ type: 'ids', ids: started.splice(0) }).catch(fail);
}

/** The handler's report, its very first action: buffered, sent within FLUSH_MS. */
function onJob(id: number): void {
  started.push(id);
  flushTimer ??= setTimeout(flush, FLUSH_MS);
}

/**
 * BENCH_CPU_PROF=<dir>: a V8 CPU profile of this worker from `go` to `stop`, the job loop only.
 * A whole-process profile (--cpu-prof) was mostly module loading through tsx and the wait for `go`.
 * With BENCH_HEAP_PROF=1 as well, a sampling heap profile of the same span beside it
 * (.heapprofile), collected objects included: where the garbage the collector spends time on is made.
 */
const profileDir = process.env.BENCH_CPU_PROF;
let profiler: Session | undefined;

async function startProfile(): Promise<void> {
  if (!profileDir) return;
  profiler = new Session();
  profiler.connect();
  await profiler.post('Profiler.enable');
  await profiler.post('Profiler.start');
  if (process.env.BENCH_HEAP_PROF)
    await profiler.post('HeapProfiler.startSampling', {
      samplingInterval: 4096,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
}

async function stopProfile(): Promise<void> {
  if (!profiler || !profileDir) return;
  if (process.env.BENCH_HEAP_PROF) {
    const { profile: heap } = await profiler.post('HeapProfiler.stopSampling');
    await writeFile(path.join(profileDir, `worker-${key}-${process.pid}.heapprofile`), JSON.stringify(heap));
  }
  const { profile } = await profiler.post('Profiler.stop');
  await writeFile(path.join(profileDir, `worker-${key}-${process.pid}.cpuprofile`), JSON.stringify(profile));
  profiler.disconnect();
}

async function handle(msg: ToWorker): Promise<void> {
  switch (msg.type) {
    case 'setup':
      // Idempotent for every driver: the schema is already there (noop's phases installed it).
      await driver.setup(msg.url);
      await send({ type: 'ready' });
      return;
    case 'go':
      await startProfile();
      stopWorker = await driver.startWorker(concurrency, onJob);
      return;
    case 'stop':
      await stopWorker?.();
      await stopProfile();
      flush();
      await driver.teardown();
      // Sent after the last ids (the channel keeps order); exit only once it has gone out.
      await send({ type: 'stopped' });
      process.exit(0);
  }
}

// One message at a time, in order: a stop that arrives while the worker is starting waits for it.
let chain = Promise.resolve();
process.on('message', (msg: ToWorker) => {
  chain = chain.then(() => handle(msg)).catch(fail);
});
