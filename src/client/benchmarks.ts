import type { z } from 'zod';
import type { changesOut, changesQuery } from '../api/alert-schemas.ts';
import type { compareBody, compareOut } from '../api/baseline-schemas.ts';
import type { pushResultOut, resultsPushBody, runOut, runPageOut, runsQuery, seriesOut, seriesQuery } from '../api/benchmark-schemas.ts';
import type { nearestOut, nearestQuerySchema } from '../api/nearest-schemas.ts';
import { items, pages } from './paging.ts';
import { bracketed, type QueryInput, type RequestOptions, type TagFilter, type Transport } from './transport.ts';

/** The body of POST /benchmarks/results: a results document in `data`, with what it does not say itself. */
export type ResultsPushRequest = z.input<typeof resultsPushBody>;
export type ResultsPushResponse = z.infer<typeof pushResultOut>;
export type BenchmarkRunJson = z.infer<typeof runOut>;
/** Filters of GET /benchmarks/runs; `limit` is the page size (1-500). */
export type RunFilters = QueryInput<typeof runsQuery>;
export type RunPage = z.infer<typeof runPageOut>;
/** Filters of GET /benchmarks/series; `tags` gives each tag one value or any of several. */
export type SeriesFilters = Omit<QueryInput<typeof seriesQuery>, 'tags'> & { tags?: TagFilter };
export type SeriesJson = z.infer<typeof seriesOut>;
export type ChangesFilters = Omit<QueryInput<typeof changesQuery>, 'tags'> & { tags?: TagFilter };
export type ChangesJson = z.infer<typeof changesOut>;
type NearestWire = z.input<typeof nearestQuerySchema>;
/** GET /benchmarks/nearest: exact-match `tags` (one value each) and the `target` parameters (numbers > 0). */
export type NearestFilters = Omit<NearestWire, 'tags' | 'target'> & {
  tags?: Readonly<Record<string, string | number | boolean>>;
  target: Readonly<Record<string, number | string>>;
};
export type NearestJson = z.infer<typeof nearestOut>;
export type CompareRequest = z.input<typeof compareBody>;
export type CompareResponse = z.infer<typeof compareOut>;

/** `client.benchmarks`: store benchmark results and read them back (runs, series, change points, nearest, compare). */
export class BenchmarksApi {
  readonly #t: Transport;

  constructor(transport: Transport) {
    this.#t = transport;
  }

  /** Store every run and point of a results document, or nothing (a 400 names the offending field). */
  push(body: ResultsPushRequest, opts?: RequestOptions): Promise<ResultsPushResponse> {
    return this.#t.request('POST', '/benchmarks/results', { body, ...opts });
  }

  /** One page of runs with their metric points, newest first. */
  runs(filters: RunFilters = {}, opts?: RequestOptions): Promise<RunPage> {
    return this.#t.request('GET', '/benchmarks/runs', { query: filters, ...opts });
  }

  /** Every run matching `filters`, across pages. */
  iterateRuns(filters: Omit<RunFilters, 'cursor'> = {}, opts?: RequestOptions): AsyncGenerator<BenchmarkRunJson, void, undefined> {
    return items(
      pages((cursor) => this.runs({ ...filters, cursor }, opts)),
      'runs',
    );
  }

  /** One metric over commits in commit order; `truncated` when more points matched than `limit`. */
  series(filters: SeriesFilters, opts?: RequestOptions): Promise<SeriesJson> {
    const { tags, ...rest } = filters;
    return this.#t.request('GET', '/benchmarks/series', { query: { ...rest, ...bracketed('tags', tags) }, ...opts });
  }

  /** The change points of each matching series, computed now from the stored samples (nothing is stored). */
  changes(filters: ChangesFilters, opts?: RequestOptions): Promise<ChangesJson> {
    const { tags, ...rest } = filters;
    return this.#t.request('GET', '/benchmarks/changes', { query: { ...rest, ...bracketed('tags', tags) }, ...opts });
  }

  /** The stored result nearest to `target` among those matching `tags`; a 404 `NoCandidates` when none matches. */
  nearest(filters: NearestFilters, opts?: RequestOptions): Promise<NearestJson> {
    const { tags, target, ...rest } = filters;
    return this.#t.request('GET', '/benchmarks/nearest', {
      query: { ...rest, ...bracketed('tags', tags), ...bracketed('target', target) },
      ...opts,
    });
  }

  /**
   * Compare a commit or run against a baseline: per series the relative change, its confidence
   * interval and a verdict. A POST that only reads (a read token suffices), but still never retried.
   */
  compare(body: CompareRequest, opts?: RequestOptions): Promise<CompareResponse> {
    return this.#t.request('POST', '/benchmarks/compare', { body, ...opts });
  }
}
