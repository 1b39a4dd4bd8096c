/**
 * Keyset pagination, one walk for every listing of the API that answers `next_cursor` (tasks,
 * schedules, events, commits, benchmark runs, snapshots, alerts): pass it back as `cursor` until it
 * is null. Pages are fetched one at a time as the loop asks, so breaking out stops the requests.
 */

export interface Page {
  next_cursor: string | null;
}

type Row<L> = L extends readonly (infer T)[] ? T : never;

/** Every page: `list` gets no cursor first, then each page's `next_cursor`, until one is null. */
export async function* pages<P extends Page>(list: (cursor: string | undefined) => Promise<P>): AsyncGenerator<P, void, undefined> {
  let cursor: string | undefined;
  do {
    const page = await list(cursor);
    yield page;
    cursor = page.next_cursor ?? undefined;
  } while (cursor);
}

/** Every row under `key` of every page, in the listing's order: `items(pages(list), 'tasks')`. */
export async function* items<P extends Page, K extends Exclude<keyof P, 'next_cursor'>>(
  source: AsyncIterable<P>,
  key: K,
): AsyncGenerator<Row<P[K]>, void, undefined> {
  for await (const page of source) yield* page[key] as Iterable<Row<P[K]>>;
}
