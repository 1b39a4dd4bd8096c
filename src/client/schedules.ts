import type { z } from 'zod';
import type {
  scheduleCreateBody,
  scheduleListQuery,
  scheduleOut,
  schedulePageOut,
  scheduleRunOut,
  scheduleUpdateBody,
} from '../api/schedule-schemas.ts';
import { items, pages } from './paging.ts';
import { type QueryInput, type RequestOptions, seg, type Transport } from './transport.ts';

export type ScheduleJson = z.infer<typeof scheduleOut>;
export type ScheduleCreateRequest = z.input<typeof scheduleCreateBody>;
/** The fields to change; the others keep their values (`options` replaces the whole set). */
export type ScheduleUpdateRequest = z.input<typeof scheduleUpdateBody>;
/** Filters of GET /schedules; `limit` is the page size (1-500, default 100). */
export type ScheduleFilters = QueryInput<typeof scheduleListQuery>;
export type SchedulePage = z.infer<typeof schedulePageOut>;
/** POST /schedules/{name}/run: the fire time and the task it submitted. */
export type ScheduleRunResponse = z.infer<typeof scheduleRunOut>;

/** `client.schedules`: the routes under /schedules. */
export class SchedulesApi {
  readonly #t: Transport;

  constructor(transport: Transport) {
    this.#t = transport;
  }

  /** One page, by name. Pass `next_cursor` back as `cursor` for the next; null means the last page. */
  list(filters: ScheduleFilters = {}, opts?: RequestOptions): Promise<SchedulePage> {
    return this.#t.request('GET', '/schedules', { query: filters, ...opts });
  }

  /** Every schedule matching `filters`, across pages fetched as the loop asks (`limit` is the page size). */
  iterate(filters: Omit<ScheduleFilters, 'cursor'> = {}, opts?: RequestOptions): AsyncGenerator<ScheduleJson, void, undefined> {
    return items(
      pages((cursor) => this.list({ ...filters, cursor }, opts)),
      'schedules',
    );
  }

  /** A 409 `ScheduleExists` when the name is taken. */
  create(body: ScheduleCreateRequest, opts?: RequestOptions): Promise<ScheduleJson> {
    return this.#t.request('POST', '/schedules', { body, ...opts });
  }

  get(name: string, opts?: RequestOptions): Promise<ScheduleJson> {
    return this.#t.request('GET', `/schedules/${seg(name)}`, opts);
  }

  /** next_fire_at is recomputed when cron or timezone change. */
  update(name: string, patch: ScheduleUpdateRequest, opts?: RequestOptions): Promise<ScheduleJson> {
    return this.#t.request('PATCH', `/schedules/${seg(name)}`, { body: patch, ...opts });
  }

  /** Delete a schedule and its fire history (admin scope); the tasks it submitted stay. */
  async delete(name: string, opts?: RequestOptions): Promise<void> {
    await this.#t.request('DELETE', `/schedules/${seg(name)}`, opts);
  }

  /** Idempotent: pausing a paused schedule answers it unchanged. */
  pause(name: string, opts?: RequestOptions): Promise<ScheduleJson> {
    return this.#t.request('POST', `/schedules/${seg(name)}/pause`, opts);
  }

  /** Resume from now on: the times that passed while paused are not fired. */
  resume(name: string, opts?: RequestOptions): Promise<ScheduleJson> {
    return this.#t.request('POST', `/schedules/${seg(name)}/resume`, opts);
  }

  /** Fire once now, whatever the cron, the overlap setting or a pause. */
  run(name: string, opts?: RequestOptions): Promise<ScheduleRunResponse> {
    return this.#t.request('POST', `/schedules/${seg(name)}/run`, opts);
  }
}
