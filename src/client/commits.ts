import type { z } from 'zod';
import type {
  cleanupBody,
  cleanupOut,
  commitExportQuery,
  commitListQuery,
  commitOut,
  commitPageOut,
  commitStatsOut,
  commitStatsQuery,
  determineBody,
  determineOut,
  exportOut,
  importBody,
  importOut,
  markBody,
  markOut,
  requeueBody,
  requeueOut,
} from '../api/commit-schemas.ts';
import { items, pages } from './paging.ts';
import type { QueryInput, RequestOptions, Transport } from './transport.ts';

/** One (commit, config, architecture) pair's benchmark status. */
export type CommitStatusJson = z.infer<typeof commitOut>;
export type CommitStatusName = CommitStatusJson['status'];
type StatusFilter = { status?: CommitStatusName | readonly CommitStatusName[] };
/** Filters of GET /commits; `status` takes one status or several, `limit` is the page size (1-500). */
export type CommitFilters = Omit<QueryInput<typeof commitListQuery>, 'status'> & StatusFilter;
export type CommitPage = z.infer<typeof commitPageOut>;
export type CommitExportFilters = Omit<QueryInput<typeof commitExportQuery>, 'status'> & StatusFilter;
/** The seed's export format: `{sha, timestamp, status, config}` records, newest first. */
export type CommitExport = z.infer<typeof exportOut>;
export type CommitStatsFilters = QueryInput<typeof commitStatsQuery>;
export type CommitStatsJson = z.infer<typeof commitStatsOut>;
export type DetermineRequest = z.input<typeof determineBody>;
export type DetermineResponse = z.infer<typeof determineOut>;
export type MarkRequest = z.input<typeof markBody>;
export type MarkResponse = z.infer<typeof markOut>;
export type RequeueRequest = z.input<typeof requeueBody>;
export type RequeueResponse = z.infer<typeof requeueOut>;
export type CleanupRequest = z.input<typeof cleanupBody>;
export type CleanupResponse = z.infer<typeof cleanupOut>;
export type CommitImportRequest = z.input<typeof importBody>;
export type CommitImportResponse = z.infer<typeof importOut>;

/** `client.commits`: commit-status tracking, which commits still need a benchmark under which config. */
export class CommitsApi {
  readonly #t: Transport;

  constructor(transport: Transport) {
    this.#t = transport;
  }

  /** One page, newest commit first. */
  list(filters: CommitFilters = {}, opts?: RequestOptions): Promise<CommitPage> {
    return this.#t.request('GET', '/commits', { query: filters, ...opts });
  }

  /** Every pair matching `filters`, across pages. */
  iterate(filters: Omit<CommitFilters, 'cursor'> = {}, opts?: RequestOptions): AsyncGenerator<CommitStatusJson, void, undefined> {
    return items(
      pages((cursor) => this.list({ ...filters, cursor }, opts)),
      'commits',
    );
  }

  /** The commits of a branch that still need a benchmark with a config, newest first (the repo must be in EVENTIX_REPOS). */
  determine(body: DetermineRequest, opts?: RequestOptions): Promise<DetermineResponse> {
    return this.#t.request('POST', '/commits/determine', { body, ...opts });
  }

  /** Set the status of commits (refs resolve to shas) for a config; `claim: true` takes only the pairs still open. */
  mark(body: MarkRequest, opts?: RequestOptions): Promise<MarkResponse> {
    return this.#t.request('POST', '/commits/mark', { body, ...opts });
  }

  /** Offer a failed pair again (its attempts reset); a 409 `PairNotFailed` changes nothing. */
  requeue(body: RequeueRequest, opts?: RequestOptions): Promise<RequeueResponse> {
    return this.#t.request('POST', '/commits/requeue', { body, ...opts });
  }

  /** Return stale in-progress pairs to waiting; without a body, with the server's defaults. */
  cleanup(body?: CleanupRequest, opts?: RequestOptions): Promise<CleanupResponse> {
    return this.#t.request('POST', '/commits/cleanup', { body, ...opts });
  }

  stats(filters: CommitStatsFilters = {}, opts?: RequestOptions): Promise<CommitStatsJson> {
    return this.#t.request('GET', '/commits/stats', { query: filters, ...opts });
  }

  /** Every matching pair in one array (not paged): what `import` reads back. */
  export(filters: CommitExportFilters = {}, opts?: RequestOptions): Promise<CommitExport> {
    return this.#t.request('GET', '/commits/export', { query: filters, ...opts });
  }

  /** All or nothing, never overwriting: a 422 names each invalid record unless `skip_invalid`. */
  import(body: CommitImportRequest, opts?: RequestOptions): Promise<CommitImportResponse> {
    return this.#t.request('POST', '/commits/import', { body, ...opts });
  }
}
