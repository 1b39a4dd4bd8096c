import type { Context } from 'hono';
import type { z } from 'zod';
import { ValidationError } from '../errors.ts';
import { UUID_PATTERN } from '../validation/names.ts';
import { issuesOf } from '../validation/zod.ts';
import { HttpProblem } from './errors.ts';

/**
 * Read and validate a JSON body: 415 for another content type, 400 naming the problem for
 * malformed JSON or a body that fails the schema (unknown fields included). The size limit is
 * enforced before this by the bodyLimit middleware (413). Nothing is written before this passes.
 */
export async function readJson<S extends z.ZodType>(c: Context, schema: S): Promise<z.infer<S>> {
  const type = c.req.header('content-type') ?? '';
  if (!/^application\/([\w.+-]+\+)?json\b/i.test(type)) {
    throw new HttpProblem('UnsupportedMediaType', `expected Content-Type application/json, got ${type ? JSON.stringify(type) : 'none'}`);
  }
  const text = await c.req.text();
  let raw: unknown;
  try {
    raw = text.length ? JSON.parse(text) : undefined;
  } catch (err) {
    throw new ValidationError([{ field: '(body)', message: `malformed JSON: ${(err as Error).message}` }]);
  }
  if (raw === undefined) throw new ValidationError([{ field: '(body)', message: 'a JSON body is required' }]);
  const parsed = (() => {
    try {
      return schema.safeParse(raw);
    } catch (err) {
      // JSON.parse takes any depth, but validation recurses: thousands of nested arrays overflow the stack.
      if (err instanceof RangeError) throw new ValidationError([{ field: '(body)', message: 'is nested too deeply' }]);
      throw err;
    }
  })();
  if (!parsed.success) throw new ValidationError(issuesOf(parsed.error));
  return parsed.data;
}

/** Query parameters, repeated ones as arrays, validated like a body. */
export function readQuery<S extends z.ZodType>(c: Context, schema: S): z.infer<S> {
  const all = c.req.queries();
  const raw: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(all)) raw[k] = v.length === 1 ? (v[0] as string) : v;
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new ValidationError(issuesOf(parsed.error, '', '(query)'));
  return parsed.data;
}

const TAG_PARAM = /^tags\[(.+)\]$/;

/**
 * A query with a tag filter: `tags[name]=value` parameters (repeatable) gather into `tags`, the
 * rest validates like any query. Maps, then fromEntries: a parameter named __proto__ becomes a
 * field, never the object's prototype.
 */
export function readTaggedQuery<S extends z.ZodType>(c: Context, schema: S): z.infer<S> {
  const raw = new Map<string, unknown>();
  const tags = new Map<string, string[]>();
  for (const [key, values] of Object.entries(c.req.queries())) {
    const tag = TAG_PARAM.exec(key);
    if (tag) {
      const name = tag[1] as string;
      tags.set(name, [...(tags.get(name) ?? []), ...values]);
    } else {
      raw.set(key, values.length === 1 ? values[0] : values);
    }
  }
  if (tags.size) raw.set('tags', Object.fromEntries(tags));
  const parsed = schema.safeParse(Object.fromEntries(raw));
  if (!parsed.success) throw new ValidationError(issuesOf(parsed.error, '', '(query)'));
  return parsed.data;
}

export function readUid(c: Context, param = 'uid'): string {
  const uid = c.req.param(param) ?? '';
  if (!UUID_PATTERN.test(uid)) {
    throw new ValidationError([{ field: param, message: 'must be a UUID' }]);
  }
  // Canonical (lower-case) form: PostgreSQL compares uuids regardless of case, but the queue matches
  // the uids it returns against this one (an upper-case uid completed the task and answered 409).
  return uid.toLowerCase();
}
