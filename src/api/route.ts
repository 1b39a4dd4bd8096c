import type { Context, Hono } from 'hono';
import type { z } from 'zod';
import type { ApiScope } from '../config.ts';
import { type AppEnv, requireScope } from './auth.ts';
import { readJson, readQuery, readUid } from './body.ts';
import type { Tag } from './openapi.ts';

/**
 * One declaration per HTTP operation: `route()` registers its Hono handler (scope check, then path
 * parameters, query and body parsed as declared) and records it for the OpenAPI document, so the
 * router and /openapi.json cannot disagree about a route's path, scope or request schemas.
 *
 * An own helper rather than @hono/zod-openapi: that package's JSON validator skips validation when
 * the content type differs (our 415 would be lost), its generator differs from z.toJSONSchema (the
 * document would change), and its inference is heavy for tsc.
 */

export type Scope = ApiScope | 'public';
export type Method = 'get' | 'post' | 'delete' | 'patch' | 'put';

/** How a path parameter is read (validated, converted) and what the document says of it. */
export interface PathParam<T> {
  /** Its JSON schema in the document; absent: a plain string. */
  schema?: Record<string, unknown>;
  parse: (c: Context, name: string) => T;
}

/** A task's uid: a UUID, lower-cased (see readUid). */
export const UID_PARAM: PathParam<string> = { schema: { type: 'string', format: 'uuid' }, parse: (c, name) => readUid(c, name) };

export interface Declaration {
  method: Method;
  /** OpenAPI form (`/tasks/{uid}`); Hono's `:uid` form is derived from it. */
  path: string;
  summary: string;
  /** The scope requireScope checks; 'public' checks none (and auth.ts lets such paths through). */
  scope: Scope;
  /** The resource group in /docs; absent: the one openapi.ts's TAG_RULES gives its path. */
  tag?: Tag;
  /** Routed but left out of the document (the document's own pages). */
  hidden?: boolean;
  /**
   * A GET that changes state: the Python-Eventix compatible API's claim and reschedule, GETs as
   * Python had them. The document marks it `x-eventix-writes`, so that tools (the chaos fuzzer)
   * do not take it for a read.
   */
  writes?: boolean;
  /** Parsers of path parameters; one not named here reaches the handler as the raw string. */
  params?: Readonly<Record<string, PathParam<unknown>>>;
  query?: z.ZodObject;
  /** The query's reader when it is not plain (`tags[name]=value` filters); it validates with `query`. */
  queryReader?: (c: Context, schema: never) => unknown;
  body?: z.ZodType;
  /** The body may be absent (then the handler gets undefined): an empty POST means defaults. */
  bodyOptional?: boolean;
  ok: { status: number; schema?: z.ZodType; description?: string; contentType?: string };
  also?: readonly { status: number; schema?: z.ZodType; description: string }[];
  errors?: readonly number[];
  /** Descriptions of error statuses where the generic text would mislead (a 404 of a schedule is no task). */
  errorText?: Readonly<Partial<Record<number, string>>>;
}

type ParamNames<P extends string> = P extends `${string}{${infer N}}${infer Rest}` ? N | ParamNames<Rest> : never;

type ParamsOf<D extends Declaration> = {
  [K in ParamNames<D['path']>]: D extends { params: Record<K, PathParam<infer T>> } ? T : string;
};
type QueryOf<D extends Declaration> = D extends { queryReader: (c: Context, schema: never) => infer R }
  ? R
  : D extends { query: infer Q extends z.ZodType }
    ? z.output<Q>
    : undefined;
type BodyOf<D extends Declaration> = D extends { body: infer B extends z.ZodType }
  ? D extends { bodyOptional: true }
    ? z.output<B> | undefined
    : z.output<B>
  : undefined;

/** What the handler of a declaration receives: only the inputs it declares, already validated. */
export interface Input<D extends Declaration> {
  params: ParamsOf<D>;
  query: QueryOf<D>;
  body: BodyOf<D>;
}

export type RouteHandler<D extends Declaration> = (c: Context<AppEnv>, input: Input<D>) => Response | Promise<Response>;

/** The declarations registered on each app, in registration order. */
const declared = new WeakMap<Hono<AppEnv>, Declaration[]>();

/** The operations declared on `app` with route(), in the order they were registered. */
export function declaredOperations(app: Hono<AppEnv>): readonly Declaration[] {
  return declared.get(app) ?? [];
}

/** The paths of the operations declared `scope: 'public'`, which authentication lets through. */
export function publicPathsOf(operations: readonly Declaration[]): ReadonlySet<string> {
  return new Set(operations.filter((op) => op.scope === 'public').map((op) => op.path));
}

export const honoPath = (path: string) => path.replace(/\{(\w+)\}/g, ':$1');

/**
 * Does the request carry a body? Content-Length is not always sent (HTTP/2, an in-process
 * Request), so without it a Transfer-Encoding or Content-Type also announces one.
 */
function hasBody(c: Context): boolean {
  const length = c.req.header('content-length');
  return length !== undefined ? length !== '0' : Boolean(c.req.header('transfer-encoding') || c.req.header('content-type'));
}

/** Declare an operation: register its handler on `app` and record it for the document. */
export function route<const D extends Declaration>(app: Hono<AppEnv>, decl: D, handler: RouteHandler<D>): void {
  const names = [...decl.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1] as string);
  // Path parameters, then the query, then the body: the order the handlers checked them in, so a
  // request wrong in several ways keeps getting the same answer.
  const run = async (c: Context<AppEnv>) => {
    const params: Record<string, unknown> = {};
    for (const name of names) params[name] = decl.params?.[name] ? decl.params[name].parse(c, name) : c.req.param(name);
    const query = decl.query ? (decl.queryReader ?? readQuery)(c, decl.query as never) : undefined;
    const body = decl.body && !(decl.bodyOptional && !hasBody(c)) ? await readJson(c, decl.body) : undefined;
    return handler(c, { params, query, body } as Input<D>);
  };
  const method = decl.method.toUpperCase();
  if (decl.scope === 'public') app.on(method, honoPath(decl.path), run);
  else app.on(method, honoPath(decl.path), requireScope(decl.scope), run);
  const list = declared.get(app) ?? [];
  list.push(decl);
  declared.set(app, list);
}
