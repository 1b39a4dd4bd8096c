import type { App } from '../../src/api/app.ts';
import { EventixApiError, type FetchLike } from '../../src/client/client.ts';

/**
 * The client talks to the real app in-process: same routes, validation and database, no socket.
 * `seen` collects every request sent, to count pages or read the headers.
 */
export const inProcess =
  (app: App, seen?: { url: string; init: RequestInit }[]): FetchLike =>
  (input, init) => {
    seen?.push({ url: input, init });
    return app.request(input, init);
  };

/** Run `fn`, expect it to throw an EventixApiError, and return that. */
export async function apiError(fn: () => Promise<unknown>): Promise<EventixApiError> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof EventixApiError) return err;
    throw err;
  }
  throw new Error('expected an EventixApiError');
}
