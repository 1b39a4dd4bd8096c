import type { z } from 'zod';
import type { configListOut, configOut } from '../api/commit-schemas.ts';
import { type RequestOptions, seg, type Transport } from './transport.ts';

/** A benchmark config as commit status stores it, with its pair count. */
export type ConfigJson = z.infer<typeof configOut>;
export type ConfigList = z.infer<typeof configListOut>;

/** `client.configs`: the benchmark configs commit status has seen. */
export class ConfigsApi {
  readonly #t: Transport;

  constructor(transport: Transport) {
    this.#t = transport;
  }

  /** Every config, oldest first. */
  list(opts?: RequestOptions): Promise<ConfigList> {
    return this.#t.request('GET', '/configs', opts);
  }

  get(id: number, opts?: RequestOptions): Promise<ConfigJson> {
    return this.#t.request('GET', `/configs/${seg(id)}`, opts);
  }
}
