import { describe, expect, it } from 'vitest';
import { type Logger, silentLogger } from '../../src/logger.ts';
import { AttemptAbort } from '../../src/worker/attempt-abort.ts';
import { AttemptAborted } from '../../src/worker/attempt-aborted.ts';
import { AttemptContext } from '../../src/worker/attempt-context.ts';

/** The attempt's race between its handler and its abort (core.ts), without Promise.race. */
describe('AttemptAbort.race', () => {
  it('gives a plain value back as it is, and a promise its outcome', async () => {
    const a = new AttemptAbort();
    expect(a.race(7)).toBe(7);
    await expect(a.race(Promise.resolve('ok'))).resolves.toBe('ok');
    await expect(new AttemptAbort().race(Promise.reject(new Error('boom')))).rejects.toThrow('boom');
  });

  it('rejects with the reason when aborted first, and the handler settling later changes nothing', async () => {
    const a = new AttemptAbort();
    let settle!: (v: string) => void;
    const raced = a.race(new Promise<string>((r) => (settle = r)));
    const reason = new AttemptAborted('timeout', 'timed out after 1 s');
    a.abort(reason);
    await expect(raced).rejects.toBe(reason);
    settle('late');
    await expect(raced).rejects.toBe(reason);
  });

  it('rejects at once when already aborted, and still observes a handler that rejects later', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (err: unknown) => unhandled.push(err);
    process.on('unhandledRejection', onUnhandled);
    try {
      const a = new AttemptAbort();
      const reason = new AttemptAborted('cancelled', 'cancelled');
      a.abort(reason);
      let fail!: (e: Error) => void;
      const handler = new Promise<never>((_, reject) => (fail = reject));
      await expect(Promise.resolve(a.race(handler))).rejects.toBe(reason);
      await expect(Promise.resolve(a.race(3))).rejects.toBe(reason);
      fail(new Error('late failure'));
      // Two turns of the event loop: Node reports an unhandled rejection after the microtasks of one.
      await new Promise((r) => setImmediate(r));
      await new Promise((r) => setImmediate(r));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});

describe('AttemptContext', () => {
  it('carries the task fields and makes the signal and the logger on first use', () => {
    const abort = new AttemptAbort();
    let children = 0;
    const logger = Object.assign(Object.create(silentLogger), {
      child: () => {
        children++;
        return silentLogger;
      },
    }) as Logger;
    const ctx = new AttemptContext({ uid: 'u-1', task: 't', namespace: 'ns', attempts: 2, args: [], kwargs: {} }, 41, abort, logger);
    expect({ uid: ctx.uid, task: ctx.task, namespace: ctx.namespace, attempt: ctx.attempt, fencingToken: ctx.fencingToken }).toEqual({
      uid: 'u-1',
      task: 't',
      namespace: 'ns',
      attempt: 2,
      fencingToken: 41,
    });
    expect(children).toBe(0);
    expect(ctx.logger).toBe(ctx.logger);
    expect(children).toBe(1);
    const reason = new AttemptAborted('lease_lost', 'lost');
    abort.abort(reason);
    expect(ctx.signal.aborted).toBe(true);
    expect(ctx.signal.reason).toBe(reason);
  });
});
