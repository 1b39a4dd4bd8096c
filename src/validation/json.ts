import { z } from 'zod';
import type { FieldIssue } from '../errors.ts';
import { isStorableText, NOT_STORABLE_TEXT } from './storable.ts';

/**
 * JSON a jsonb column can store, checked before it reaches the database: two validators with one
 * rule. `jsonValue` is the zod schema the API's request schemas (and the OpenAPI document) use;
 * `jsonArray`, `jsonObject` and `jsonFieldIssue` are one allocation-free walk, for the values of
 * every submitted task and every reported result.
 */

const NOT_STORABLE = `strings ${NOT_STORABLE_TEXT}`;
const NOT_JSON = 'must be JSON: finite numbers, strings, booleans, null, arrays and plain objects';

/** Every string and key inside a value that z.json() accepted is storable text. */
function storable(value: unknown): boolean {
  if (typeof value === 'string') return isStorableText(value);
  if (Array.isArray(value)) return value.every(storable);
  if (value && typeof value === 'object') return Object.entries(value).every(([k, v]) => isStorableText(k) && storable(v));
  return true;
}
export const jsonValue = z.json().refine(storable, { error: NOT_STORABLE }).meta({ id: 'JsonValue', description: 'Any JSON value' });

/**
 * The first value inside `value` that is not JSON a jsonb column can store, with its path. One
 * walk with no allocation on success, for the args and kwargs of every submitted task: zod's
 * JSON union per element was half the cost of a bulk submit's validation. It accepts what
 * `z.json()` with `storable` accepts (plain objects only, no undefined, no non-finite number).
 */
function jsonIssue(value: unknown): { path: PropertyKey[]; message: string } | undefined {
  switch (typeof value) {
    case 'string':
      return isStorableText(value) ? undefined : { path: [], message: NOT_STORABLE };
    case 'number':
      return Number.isFinite(value) ? undefined : { path: [], message: NOT_JSON };
    case 'boolean':
      return undefined;
    case 'object': {
      if (value === null) return undefined;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          const issue = jsonIssue(value[i]);
          if (issue) return within(i, issue);
        }
        return undefined;
      }
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) return { path: [], message: NOT_JSON };
      for (const key in value) {
        if (!isStorableText(key)) return { path: [key], message: NOT_STORABLE };
        const issue = jsonIssue((value as Record<string, unknown>)[key]);
        if (issue) return within(key, issue);
      }
      return undefined;
    }
    default:
      return { path: [], message: NOT_JSON };
  }
}

/** The path is built on the way out, so a valid value allocates nothing. */
function within(key: PropertyKey, issue: { path: PropertyKey[]; message: string }) {
  issue.path.unshift(key);
  return issue;
}

function describeValue(value: unknown): string {
  if (value === null || value === undefined || typeof value === 'number') return String(value);
  if (typeof value !== 'object') return `a ${typeof value}`;
  const proto = Object.getPrototypeOf(value) as { constructor?: { name?: string } } | null;
  return `a ${proto?.constructor?.name || 'object'}`;
}

/**
 * Why `value` is not JSON a jsonb column can store, as one issue naming the field
 * (`result.rows.0.at`) and what was found there (`a Date`), or undefined if it is storable. The
 * same walk as args and kwargs get: cheap enough for every result a worker reports.
 */
export function jsonFieldIssue(value: unknown, field: string): FieldIssue | undefined {
  const issue = jsonIssue(value);
  if (!issue) return undefined;
  let found: unknown = value;
  for (const key of issue.path) found = (found as Record<PropertyKey, unknown>)[key];
  return {
    field: [field, ...issue.path.map(String)].join('.'),
    message: issue.message === NOT_JSON ? `${NOT_JSON}; found ${describeValue(found)}` : issue.message,
  };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

const storableJson =
  <T>() =>
  (value: T, ctx: z.RefinementCtx) => {
    const issue = jsonIssue(value);
    if (issue) ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path });
  };
/** A JSON array a jsonb column can store, checked in one walk (see jsonIssue). */
export const jsonArray = z.custom<unknown[]>(Array.isArray, { error: 'must be a JSON array' }).superRefine(storableJson<unknown[]>());
/** A plain JSON object a jsonb column can store, checked in one walk (see jsonIssue). */
export const jsonObject = z
  .custom<Record<string, unknown>>(isPlainObject, { error: 'must be a JSON object' })
  .superRefine(storableJson<Record<string, unknown>>());
