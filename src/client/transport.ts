import type { z } from 'zod';

/*
 * What the resource groups of EventixClient (schedules.ts, events.ts, …) share with it: the one
 * transport, reached through `Transport` (the client's `request`, defined in client.ts), and the
 * helpers that turn arguments into paths and query strings the way the server reads them.
 */

export interface RequestOptions {
  /** Abort the request (the client's own timeout applies as well); an aborted call is never retried. */
  signal?: AbortSignal | undefined;
}

type Scalar = string | number | boolean;
/** Query parameters; an array repeats its parameter (`status=a&status=b`), undefined leaves it out. */
export type Query = Record<string, Scalar | readonly Scalar[] | undefined>;

export interface CallOptions extends RequestOptions {
  body?: unknown;
  query?: Query;
  /** Statuses besides 2xx that are answers, not errors (a 503 of /readyz). */
  accept?: number[];
  /** Added to the client's timeout (a long-poll claim's wait). */
  extraTimeoutMs?: number;
  /** Answer with the body's text instead of parsing JSON (/metrics). */
  text?: boolean;
}

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** The client's transport as the groups see it: one request, answered as JSON (or text), or thrown as EventixApiError. */
export interface Transport {
  request<T>(method: Method, path: string, opts?: CallOptions): Promise<T>;
}

/** A path segment: a name with `/`, `?` or `#` stays one segment. */
export function seg(value: string | number): string {
  return encodeURIComponent(String(value));
}

export function queryString(query: Query | undefined): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined) continue;
    for (const one of typeof v === 'object' ? v : [v]) params.append(k, String(one));
  }
  const s = params.toString();
  return s ? `?${s}` : '';
}

/**
 * `tags[name]=value` parameters (readTaggedQuery and the nearest lookup on the server gather them
 * back into an object): a list repeats the parameter, for any of several values.
 */
export function bracketed(group: string, values: Readonly<Record<string, Scalar | readonly Scalar[]>> | undefined): Query {
  if (!values) return {};
  return Object.fromEntries(Object.entries(values).map(([name, v]) => [`${group}[${name}]`, v]));
}

/** A tag filter as the client takes it: tag → one value or any of several, sent as text. */
export type TagFilter = Readonly<Record<string, Scalar | readonly Scalar[]>>;

/**
 * A query schema's input as a caller writes it: the fields the server coerces from text (`limit`,
 * `config_id`, …; `unknown` to zod) as numbers, and `'true' | 'false'` also as booleans. The rest is
 * the schema's own input type, so a field the server adds shows up here too.
 */
export type QueryInput<S extends z.ZodType> = { [K in keyof z.input<S>]: QueryField<z.input<S>[K]> };
type QueryField<T> = unknown extends T ? number : T extends 'true' | 'false' ? boolean | T : T;
