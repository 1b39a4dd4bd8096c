import { expect } from 'vitest';
import type { App } from '../../src/api/app.ts';

/**
 * Response bodies are checked at run time by the tests themselves, so they are typed loosely here.
 */
// biome-ignore lint/suspicious/noExplicitAny: JSON bodies are asserted at run time.
export type Json = any;

export interface ApiResponse {
  status: number;
  headers: Headers;
  /** Parsed JSON when the body is JSON, else undefined. */
  body: Json;
  /** The raw body text. */
  text: string;
}

export interface SendOptions {
  /** A value to send as JSON, with Content-Type application/json unless `contentType` says otherwise. */
  json?: unknown;
  /** A raw body (string or bytes), sent as is. A Uint8Array carries no Content-Type of its own. */
  body?: string | Uint8Array;
  /** Content-Type to send; null sends none at all. */
  contentType?: string | null;
  /** Bearer token. */
  token?: string;
  /** Raw Authorization header, overriding `token`. */
  authorization?: string;
  headers?: Record<string, string>;
}

/** Send one request through `app.request()` (no socket) and read the answer completely. */
export async function send(app: App, method: string, path: string, opts: SendOptions = {}): Promise<ApiResponse> {
  const headers = new Headers(opts.headers);
  let body: Uint8Array | undefined;
  if (opts.json !== undefined) body = new TextEncoder().encode(JSON.stringify(opts.json));
  else if (typeof opts.body === 'string') body = new TextEncoder().encode(opts.body);
  else if (opts.body !== undefined) body = opts.body;
  const contentType = opts.contentType === undefined ? (body !== undefined ? 'application/json' : null) : opts.contentType;
  if (contentType !== null) headers.set('content-type', contentType);
  if (opts.authorization !== undefined) headers.set('authorization', opts.authorization);
  else if (opts.token !== undefined) headers.set('authorization', `Bearer ${opts.token}`);
  // Bytes, never a string: undici would otherwise add "text/plain;charset=UTF-8" on its own.
  const res = await app.request(path, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  let parsed: Json;
  const type = res.headers.get('content-type') ?? '';
  if (/json/i.test(type) && text.length) parsed = JSON.parse(text);
  return { status: res.status, headers: res.headers, body: parsed, text };
}

export const post = (app: App, path: string, json?: unknown, opts: SendOptions = {}) =>
  send(app, 'POST', path, json === undefined ? opts : { ...opts, json });
export const get = (app: App, path: string, opts: SendOptions = {}) => send(app, 'GET', path, opts);
export const del = (app: App, path: string, opts: SendOptions = {}) => send(app, 'DELETE', path, opts);

/** Nothing but the JSON text of an error or its fields: what a client may rely on. */
export interface ProblemExpectation {
  /** A validation error must name this field (exact string) or a field matching it. */
  field?: string | RegExp;
  /** The domain code, e.g. `InvalidTransition`, `LeaseLost`. */
  code?: string;
  /** Some `errors[].message` must contain this. */
  message?: string | RegExp;
}

/**
 * Assert an RFC 9457 problem: the status, Content-Type application/problem+json, and type, title,
 * status and detail all present; for 400 validation errors a non-empty `errors` list of
 * `{field, message}`, one of them naming `field` when given.
 */
export function expectProblem(res: ApiResponse, status: number, expected: ProblemExpectation = {}): Json {
  const context = `${res.status} ${res.text.slice(0, 500)}`;
  expect(res.status, context).toBe(status);
  expect(res.headers.get('content-type'), context).toBe('application/problem+json');
  const p = res.body;
  expect(p, context).toBeTypeOf('object');
  expect(p.type, context).toBeTypeOf('string');
  expect(p.type.length, context).toBeGreaterThan(0);
  expect(p.title, context).toBeTypeOf('string');
  expect(p.title.length, context).toBeGreaterThan(0);
  expect(p.status, context).toBe(status);
  expect(p.detail, context).toBeTypeOf('string');
  expect(p.detail.length, context).toBeGreaterThan(0);
  if (p.code === 'ValidationError' || expected.field !== undefined || expected.message !== undefined) {
    expect(Array.isArray(p.errors), context).toBe(true);
    expect(p.errors.length, context).toBeGreaterThan(0);
    for (const e of p.errors) {
      expect(e.field, context).toBeTypeOf('string');
      expect(e.field.length, context).toBeGreaterThan(0);
      expect(e.message, context).toBeTypeOf('string');
      expect(e.message.length, context).toBeGreaterThan(0);
    }
  }
  if (expected.field !== undefined) {
    const f = expected.field;
    const fields: string[] = p.errors.map((e: { field: string }) => e.field);
    expect(
      fields.some((x) => (typeof f === 'string' ? x === f : f.test(x))),
      `expected a validation error naming ${String(f)}; got ${JSON.stringify(p.errors)}`,
    ).toBe(true);
  }
  if (expected.message !== undefined) {
    const m = expected.message;
    const messages: string[] = p.errors.map((e: { message: string }) => e.message);
    expect(
      messages.some((x) => (typeof m === 'string' ? x.includes(m) : m.test(x))),
      `expected a validation message matching ${String(m)}; got ${JSON.stringify(p.errors)}`,
    ).toBe(true);
  }
  if (expected.code !== undefined) expect(p.code, context).toBe(expected.code);
  return p;
}

/** Assert a successful JSON answer and return its body. */
export function expectJson(res: ApiResponse, status: number): Json {
  expect(res.status, `${res.status} ${res.text.slice(0, 500)}`).toBe(status);
  expect(res.headers.get('content-type') ?? '').toMatch(/^application\/json/);
  return res.body;
}

/** A small seeded PRNG (mulberry32): the same seed gives the same sequence, so failures reproduce. */
export function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
  const chance = (p: number) => next() < p;
  return { next, int, pick, chance };
}
export type Rng = ReturnType<typeof prng>;
