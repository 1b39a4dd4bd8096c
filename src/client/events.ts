import type { z } from 'zod';
import type { eventListQuery, eventOut, eventPageOut, eventPublishBody, publishResultOut } from '../api/event-schemas.ts';
import { items, pages } from './paging.ts';
import type { QueryInput, RequestOptions, Transport } from './transport.ts';

export type EventJson = z.infer<typeof eventOut>;
export type EventPublishRequest = z.input<typeof eventPublishBody>;
/** The stored event and, per trigger it fired, the task submitted (`created: false`: merged by unique_key). */
export type EventPublishResponse = z.infer<typeof publishResultOut>;
/** Filters of GET /events; `limit` is the page size (1-500, default 50). */
export type EventFilters = QueryInput<typeof eventListQuery>;
export type EventPage = z.infer<typeof eventPageOut>;

/** `client.events`: publish events and list them. */
export class EventsApi {
  readonly #t: Transport;

  constructor(transport: Transport) {
    this.#t = transport;
  }

  /**
   * Store an event and submit the task of every trigger it fires, in one transaction. A 422
   * `TriggerFailed` (a trigger made an invalid task) means neither the event nor any task was stored.
   */
  publish(body: EventPublishRequest, opts?: RequestOptions): Promise<EventPublishResponse> {
    return this.#t.request('POST', '/events', { body, ...opts });
  }

  /** One page, newest first. */
  list(filters: EventFilters = {}, opts?: RequestOptions): Promise<EventPage> {
    return this.#t.request('GET', '/events', { query: filters, ...opts });
  }

  /** Every event matching `filters`, newest first, across pages. */
  iterate(filters: Omit<EventFilters, 'cursor'> = {}, opts?: RequestOptions): AsyncGenerator<EventJson, void, undefined> {
    return items(
      pages((cursor) => this.list({ ...filters, cursor }, opts)),
      'events',
    );
  }
}
