import type { z } from 'zod';
import type { snapshotListOut, snapshotListQuery, snapshotOut, snapshotRecordBody, snapshotRecordOut } from '../api/baseline-schemas.ts';
import { items, pages } from './paging.ts';
import type { QueryInput, RequestOptions, Transport } from './transport.ts';

export type SnapshotJson = z.infer<typeof snapshotOut>;
/** Filters of GET /benchmarks/snapshots; `limit` is the page size (1-1000, default 100). */
export type SnapshotFilters = QueryInput<typeof snapshotListQuery>;
export type SnapshotPage = z.infer<typeof snapshotListOut>;
export type SnapshotRecordRequest = z.input<typeof snapshotRecordBody>;
export type SnapshotRecordResponse = z.infer<typeof snapshotRecordOut>;

/** `client.snapshots`: versioned snapshots of series values. */
export class SnapshotsApi {
  readonly #t: Transport;

  constructor(transport: Transport) {
    this.#t = transport;
  }

  /** One page, newest first; `current: true` gives each series' current snapshot. */
  list(filters: SnapshotFilters = {}, opts?: RequestOptions): Promise<SnapshotPage> {
    return this.#t.request('GET', '/benchmarks/snapshots', { query: filters, ...opts });
  }

  iterate(filters: Omit<SnapshotFilters, 'cursor'> = {}, opts?: RequestOptions): AsyncGenerator<SnapshotJson, void, undefined> {
    return items(
      pages((cursor) => this.list({ ...filters, cursor }, opts)),
      'snapshots',
    );
  }

  /** Snapshot every series with runs at a commit (or in a run): each becomes its series' current one, a version up. */
  record(body: SnapshotRecordRequest, opts?: RequestOptions): Promise<SnapshotRecordResponse> {
    return this.#t.request('POST', '/benchmarks/snapshots', { body, ...opts });
  }
}
