import type { z } from 'zod';
import type { sweepListOut, sweepOut, sweepRunOut, sweepRunsOut, sweepRunsQuery } from '../api/sweep-schemas.ts';
import { type QueryInput, type RequestOptions, seg, type Transport } from './transport.ts';

export type SweepJson = z.infer<typeof sweepOut>;
export type SweepList = z.infer<typeof sweepListOut>;
/** POST /sweeps/{name}/run: the eventix.sweep task; `created: false` when merged into a fire still waiting. */
export type SweepRunResponse = z.infer<typeof sweepRunOut>;
export type SweepRunsFilters = QueryInput<typeof sweepRunsQuery>;
/** A sweep's recent fires and benchmark runs (tasks), newest first. */
export type SweepRunsJson = z.infer<typeof sweepRunsOut>;

/** `client.sweeps`: the sweeps of the server's sweeps file, which the API reads and fires but never changes. */
export class SweepsApi {
  readonly #t: Transport;

  constructor(transport: Transport) {
    this.#t = transport;
  }

  list(opts?: RequestOptions): Promise<SweepList> {
    return this.#t.request('GET', '/sweeps', opts);
  }

  /** Fire a sweep now; a 404 `SweepNotFound` for a name the server's file does not define. */
  run(name: string, opts?: RequestOptions): Promise<SweepRunResponse> {
    return this.#t.request('POST', `/sweeps/${seg(name)}/run`, opts);
  }

  runs(name: string, filters: SweepRunsFilters = {}, opts?: RequestOptions): Promise<SweepRunsJson> {
    return this.#t.request('GET', `/sweeps/${seg(name)}/runs`, { query: filters, ...opts });
  }
}
