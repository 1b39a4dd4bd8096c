import { afterEach, describe, expect, it } from 'vitest';
import { getTask, submitMany } from '../../src/queue/index.ts';
import { defineTask } from '../../src/worker/registry.ts';
import { Worker } from '../../src/worker/worker.ts';
import { useTestDatabase } from '../helpers/db.ts';
import { waitFor } from '../helpers/wait.ts';

/**
 * The worker's completer sends every completion of one event-loop turn in one statement (issue
 * 10). A handler result the database cannot store must fail only its own task, under its own
 * fencing token and the normal retry rules, and never the tasks that happened to finish with it.
 */
describe('completion batches', () => {
  const db = useTestDatabase();
  const workers: Worker[] = [];
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop()));
  });

  const TASKS = 12;
  const BAD = 5;

  it.each([
    { kind: 'a bigint', value: () => ({ total: 10n }), path: 'result.total', found: 'bigint', maxRetries: 0, status: 'error' },
    { kind: 'a Date', value: () => ({ at: new Date() }), path: 'result.at', found: 'Date', maxRetries: 2, status: 'retry' },
    {
      kind: 'undefined inside an object',
      value: () => ({ rows: [{ missing: undefined }] }),
      path: 'result.rows.0.missing',
      found: 'undefined',
      maxRetries: 0,
      status: 'error',
    },
  ])('a handler returning $kind fails only its own task; the others of its batch complete', async (c) => {
    const pool = db().pool;
    const name = `cb.${c.found}`;
    const namespace = `cb-${c.found}`;
    // Every handler waits until all have started, so all finish in the same turn of the event
    // loop and the completer sends them in one flush.
    let started = 0;
    let open!: () => void;
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const def = defineTask<[number]>(name, async ([i]) => {
      if (++started === TASKS) open();
      await gate;
      return i === BAD ? c.value() : { i };
    });
    const results = await submitMany(
      pool,
      Array.from({ length: TASKS }, (_, i) => ({
        task: name,
        namespace,
        args: [i],
        // Far-off backoff: a retried task stays visible as `retry` for the assertions below.
        ...(i === BAD ? { maxRetries: c.maxRetries, errorEtaInc: 600, errorEtaMax: 600 } : { maxRetries: 3, errorEtaInc: 600 }),
      })),
    );
    const uids = results.map((r) => r.task.uid);

    // Watch the completion statements, to prove the good tasks really shared one.
    const batches: number[] = [];
    const original = pool.query;
    pool.query = function (this: unknown, ...args: unknown[]) {
      const config = args[0] as { name?: string; values?: unknown[] } | string;
      const statement = typeof config === 'object' ? config.name : undefined;
      const values = typeof config === 'object' ? config.values : (args[1] as unknown[] | undefined);
      if (statement?.startsWith('eventix_complete')) batches.push((JSON.parse(String(values?.[1])) as unknown[]).length);
      return (original as (...a: unknown[]) => unknown).apply(pool, args);
    } as typeof pool.query;

    const w = new Worker({ pool, tasks: [def], namespaces: [namespace], concurrency: 16, pollIntervalMs: 100, maintenance: false });
    workers.push(w);
    let settled = 0;
    w.on('task:completed', () => settled++);
    w.on('task:failed', () => settled++);
    try {
      await w.start();
      await waitFor(() => settled === TASKS, { message: 'every attempt settled' });
    } finally {
      pool.query = original;
    }

    const tasks = await Promise.all(uids.map((uid) => getTask(pool, uid)));
    const good = tasks.filter((_, i) => i !== BAD);
    expect(good.map((t) => ({ status: t.status, attempts: t.attempts, result: t.result, error: t.error }))).toEqual(
      good.map((t) => ({ status: 'done', attempts: 1, result: { i: t.args[0] }, error: null })),
    );
    expect(Math.max(...batches)).toBe(TASKS - 1);
    const bad = tasks[BAD];
    expect(bad).toMatchObject({ status: c.status, attempts: 1, result: null, error: { class: 'ValidationError' } });
    expect(bad?.error?.message).toContain(c.path);
    expect(bad?.error?.message).toContain(c.found);
  });
});
