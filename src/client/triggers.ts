import type { z } from 'zod';
import type { triggerCreateBody, triggerListOut, triggerListQuery, triggerOut, triggerPutBody } from '../api/event-schemas.ts';
import { type QueryInput, type RequestOptions, seg, type Transport } from './transport.ts';

export type TriggerJson = z.infer<typeof triggerOut>;
export type TriggerCreateRequest = z.input<typeof triggerCreateBody>;
/** The body of PUT /triggers/{name}: the trigger whole; `name`, if given, must equal the path's. */
export type TriggerPutRequest = z.input<typeof triggerPutBody>;
export type TriggerFilters = QueryInput<typeof triggerListQuery>;
export type TriggerList = z.infer<typeof triggerListOut>;

/** `client.triggers`: the stored triggers (changing them takes the admin scope). Not paged: the list is whole. */
export class TriggersApi {
  readonly #t: Transport;

  constructor(transport: Transport) {
    this.#t = transport;
  }

  list(filters: TriggerFilters = {}, opts?: RequestOptions): Promise<TriggerList> {
    return this.#t.request('GET', '/triggers', { query: filters, ...opts });
  }

  /** A 409 `TriggerExists` when the name is taken (by a stored or a code trigger). */
  create(body: TriggerCreateRequest, opts?: RequestOptions): Promise<TriggerJson> {
    return this.#t.request('POST', '/triggers', { body, ...opts });
  }

  get(name: string, opts?: RequestOptions): Promise<TriggerJson> {
    return this.#t.request('GET', `/triggers/${seg(name)}`, opts);
  }

  /** Create or replace: `revision` is 1 for a new trigger and goes up by one at each replacement. */
  put(name: string, body: TriggerPutRequest, opts?: RequestOptions): Promise<TriggerJson> {
    return this.#t.request('PUT', `/triggers/${seg(name)}`, { body, ...opts });
  }

  async delete(name: string, opts?: RequestOptions): Promise<void> {
    await this.#t.request('DELETE', `/triggers/${seg(name)}`, opts);
  }
}
