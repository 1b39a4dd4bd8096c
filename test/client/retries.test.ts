import { describe, expect, it } from 'vitest';
import { EventixApiError, EventixClient, type EventixClientOptions, type FetchLike } from '../../src/client/client.ts';

/*
 * Retries of idempotent calls on network errors. No server is needed: the injected fetch fails the
 * way undici's does (`TypeError: fetch failed`) as often as the test says, then answers.
 */

const BASE = 'http://retries.test';

/** A fetch that throws `failures` network errors, then answers `answer()`; `calls` counts every attempt. */
function flaky(failures: number, answer: () => Response = () => Response.json({ status: 'ok' })) {
  const state = { calls: 0 };
  const fetch: FetchLike = async () => {
    state.calls++;
    if (state.calls <= failures) throw new TypeError('fetch failed');
    return answer();
  };
  return { state, fetch };
}

const clientWith = (fetch: FetchLike, opts: Partial<EventixClientOptions> = {}) =>
  new EventixClient({ baseUrl: BASE, fetch, retryDelayMs: 1, ...opts });

describe('EventixClient retries', () => {
  it('a GET that fails twice on the network succeeds at the third attempt', async () => {
    const { state, fetch } = flaky(2);
    expect(await clientWith(fetch).health()).toEqual({ status: 'ok' });
    expect(state.calls).toBe(3);
  });

  it('PUT and DELETE are retried too; a third failure is thrown as fetch raised it', async () => {
    const put = flaky(2, () => Response.json({ name: 'tr', revision: 1 }));
    expect(await clientWith(put.fetch).triggers.put('tr', { event_name: 'e', template: { task: 't' } })).toMatchObject({ revision: 1 });
    expect(put.state.calls).toBe(3);

    const del = flaky(2, () => new Response(null, { status: 204 }));
    await clientWith(del.fetch).schedules.delete('s');
    expect(del.state.calls).toBe(3);

    const down = flaky(Number.POSITIVE_INFINITY);
    await expect(clientWith(down.fetch).get('00000000-0000-4000-8000-000000000000')).rejects.toThrow('fetch failed');
    expect(down.state.calls).toBe(3);
  });

  it('`retries` bounds the attempts; 0 disables retrying', async () => {
    const five = flaky(Number.POSITIVE_INFINITY);
    await expect(clientWith(five.fetch, { retries: 4 }).version()).rejects.toBeInstanceOf(TypeError);
    expect(five.state.calls).toBe(5);
    const none = flaky(1);
    await expect(clientWith(none.fetch, { retries: 0 }).version()).rejects.toBeInstanceOf(TypeError);
    expect(none.state.calls).toBe(1);
  });

  it('a POST or PATCH is never retried, not even the read-only POST /benchmarks/compare', async () => {
    const calls: Array<(c: EventixClient) => Promise<unknown>> = [
      (c) => c.submit({ task: 't' }),
      (c) => c.benchmarks.compare({ baseline: 'b', commit: 'a'.repeat(40) }),
      (c) => c.schedules.update('s', { priority: 1 }),
    ];
    for (const call of calls) {
      const { state, fetch } = flaky(1);
      await expect(call(clientWith(fetch))).rejects.toThrow('fetch failed');
      expect(state.calls).toBe(1);
    }
  });

  it('HTTP answers and errors other than network errors are not retried', async () => {
    const unavailable = flaky(0, () => Response.json({ title: 'Service Unavailable', status: 503 }, { status: 503 }));
    await expect(clientWith(unavailable.fetch).stats()).rejects.toBeInstanceOf(EventixApiError);
    expect(unavailable.state.calls).toBe(1);

    let calls = 0;
    const broken: FetchLike = async () => {
      calls++;
      throw new Error('a bug in an injected fetch');
    };
    await expect(clientWith(broken).stats()).rejects.toThrow('a bug');
    expect(calls).toBe(1);
  });

  it('never retries once the caller’s signal fired: neither after the failed attempt nor during the wait', async () => {
    const controller = new AbortController();
    let calls = 0;
    const abortThenFail: FetchLike = async () => {
      calls++;
      controller.abort(new Error('caller gave up'));
      throw new TypeError('fetch failed');
    };
    await expect(clientWith(abortThenFail).health({ signal: controller.signal })).rejects.toThrow('fetch failed');
    expect(calls).toBe(1);

    // The first attempt fails; the caller aborts during the (long) wait before the second. The
    // client listens to the signal only while it waits, so its listener says when the wait began.
    const waiting = new AbortController();
    const listen = waiting.signal.addEventListener.bind(waiting.signal);
    const waitBegan = new Promise<void>((resolve) => {
      waiting.signal.addEventListener = ((...args: Parameters<typeof listen>) => {
        listen(...args);
        resolve();
      }) as typeof listen;
    });
    const { state, fetch } = flaky(1);
    const pending = clientWith(fetch, { retryDelayMs: 600_000, timeoutMs: 0 }).stats({ signal: waiting.signal });
    await waitBegan;
    waiting.abort(new Error('stopped waiting'));
    await expect(pending).rejects.toThrow('stopped waiting');
    expect(state.calls).toBe(1);
  });
});
