import type { z } from 'zod';
import type { alertOut, alertPageOut, alertPatchBody, alertsQuery } from '../api/alert-schemas.ts';
import { items, pages } from './paging.ts';
import { type QueryInput, type RequestOptions, seg, type Transport } from './transport.ts';

export type AlertJson = z.infer<typeof alertOut>;
export type AlertStatusJson = AlertJson['status'];
/** Filters of GET /benchmarks/alerts; `status` takes one status or several, `limit` is the page size (1-500). */
export type AlertFilters = Omit<QueryInput<typeof alertsQuery>, 'status'> & { status?: AlertStatusJson | readonly AlertStatusJson[] };
export type AlertPage = z.infer<typeof alertPageOut>;
/** Give the `revision` you read to be refused (409 `AlertConflict`) when the alert changed since. */
export type AlertPatchRequest = z.input<typeof alertPatchBody>;

/** `client.alerts`: the regression alerts raised on change points. */
export class AlertsApi {
  readonly #t: Transport;

  constructor(transport: Transport) {
    this.#t = transport;
  }

  /** One page, newest first. */
  list(filters: AlertFilters = {}, opts?: RequestOptions): Promise<AlertPage> {
    return this.#t.request('GET', '/benchmarks/alerts', { query: filters, ...opts });
  }

  iterate(filters: Omit<AlertFilters, 'cursor'> = {}, opts?: RequestOptions): AsyncGenerator<AlertJson, void, undefined> {
    return items(
      pages((cursor) => this.list({ ...filters, cursor }, opts)),
      'alerts',
    );
  }

  get(id: number, opts?: RequestOptions): Promise<AlertJson> {
    return this.#t.request('GET', `/benchmarks/alerts/${seg(id)}`, opts);
  }

  /** Set the status (acknowledged, false_positive, open, resolved) and note; re-evaluation keeps acknowledged and false_positive. */
  update(id: number, patch: AlertPatchRequest, opts?: RequestOptions): Promise<AlertJson> {
    return this.#t.request('PATCH', `/benchmarks/alerts/${seg(id)}`, { body: patch, ...opts });
  }
}
