import type { z } from 'zod';
import type {
  baselineCreateBody,
  baselineDeletedOut,
  baselineDetailOut,
  baselineGetQuery,
  baselineListOut,
  baselineListQuery,
  baselineOut,
} from '../api/baseline-schemas.ts';
import { type QueryInput, type RequestOptions, seg, type Transport } from './transport.ts';

export type BaselineJson = z.infer<typeof baselineOut>;
export type BaselineCreateRequest = z.input<typeof baselineCreateBody>;
/** A baseline with the snapshots it recorded. */
export type BaselineDetail = z.infer<typeof baselineDetailOut>;
export type BaselineList = z.infer<typeof baselineListOut>;
export type BaselineFilters = QueryInput<typeof baselineListQuery>;
/** `repo` is needed only when several repositories have a baseline of the name. */
export type BaselineLookup = QueryInput<typeof baselineGetQuery>;
export type BaselineDeleted = z.infer<typeof baselineDeletedOut>;

/** `client.baselines`: named baselines (release-1.2) that compare() measures against. */
export class BaselinesApi {
  readonly #t: Transport;

  constructor(transport: Transport) {
    this.#t = transport;
  }

  list(filters: BaselineFilters = {}, opts?: RequestOptions): Promise<BaselineList> {
    return this.#t.request('GET', '/benchmarks/baselines', { query: filters, ...opts });
  }

  /** Pin a commit (every run of it, per series) or one run; a 409 `BaselineExists` when the name is taken in the repository. */
  create(body: BaselineCreateRequest, opts?: RequestOptions): Promise<BaselineDetail> {
    return this.#t.request('POST', '/benchmarks/baselines', { body, ...opts });
  }

  get(name: string, lookup: BaselineLookup = {}, opts?: RequestOptions): Promise<BaselineDetail> {
    return this.#t.request('GET', `/benchmarks/baselines/${seg(name)}`, { query: lookup, ...opts });
  }

  /** Delete a baseline (admin scope); its snapshots stay, unflagged, and no run is deleted. */
  delete(name: string, lookup: BaselineLookup = {}, opts?: RequestOptions): Promise<BaselineDeleted> {
    return this.#t.request('DELETE', `/benchmarks/baselines/${seg(name)}`, { query: lookup, ...opts });
  }
}
