import { z } from 'zod';
import { jsonValue } from '../validation/json.ts';
import { checkDocument, jsonEqual } from './json.ts';
import { POINTER_MESSAGE, POINTER_PATTERN, resolvePointer } from './pointer.ts';

/**
 * A trigger's filter: conditions on the event's payload, stored as JSON and evaluated by the pure
 * function below. It is data, never code: nothing here is ever evaluated as JavaScript.
 *
 *   {"field": "/branch", "eq": "main"}            the value at the pointer equals (deep JSON equality)
 *   {"field": "/repo", "in": ["a", "b"]}          … equals one of the listed values
 *   {"field": "/ref", "prefix": "refs/tags/"}     … is a string that starts with the prefix
 *   {"field": "/pr", "exists": true}              the pointer names a value (null counts); false: it does not
 *   {"all": [f, …]}  every filter holds    {"any": [f, …]}  one at least holds    {"not": f}  f does not hold
 *
 * `field` is a JSON pointer (RFC 6901) into the payload. A condition on a missing field is false
 * (so `{"not": {"field": "/x", "eq": 1}}` holds when /x is absent). No filter matches every event.
 */
export type Filter =
  | { all: Filter[] }
  | { any: Filter[] }
  | { not: Filter }
  | { field: string; eq: unknown }
  | { field: string; in: unknown[] }
  | { field: string; prefix: string }
  | { field: string; exists: boolean };

/** JSON nesting allowed in a filter document; far beyond any real filter, well short of the stack. */
export const MAX_FILTER_DEPTH = 64;
const MAX_BRANCHES = 100;
const COMBINATORS = ['all', 'any', 'not'] as const;
const OPERATORS = ['eq', 'in', 'prefix', 'exists'] as const;

const pointer = z.string().max(1000).regex(POINTER_PATTERN, { error: POINTER_MESSAGE });

const filterNode: z.ZodType<Filter> = z
  .strictObject(
    {
      get all() {
        return z
          .array(filterNode, { error: 'must be an array of filters' })
          .min(1, { error: 'must list at least one filter' })
          .max(MAX_BRANCHES, { error: `must list at most ${MAX_BRANCHES} filters` })
          .optional();
      },
      get any() {
        return z
          .array(filterNode, { error: 'must be an array of filters' })
          .min(1, { error: 'must list at least one filter' })
          .max(MAX_BRANCHES, { error: `must list at most ${MAX_BRANCHES} filters` })
          .optional();
      },
      get not() {
        return filterNode.optional();
      },
      field: pointer.optional().describe('JSON pointer (RFC 6901) into the payload, e.g. /commit/branch'),
      eq: jsonValue.optional(),
      in: z.array(jsonValue, { error: 'must be an array of values' }).min(1).max(1000).optional(),
      prefix: z.string({ error: 'must be a string' }).max(1000).optional(),
      exists: z.boolean({ error: 'must be true or false' }).optional(),
    },
    { error: (iss) => (iss.code === 'invalid_type' ? 'must be a filter: {field, eq|in|prefix|exists}, {all}, {any} or {not}' : undefined) },
  )
  .superRefine((v, ctx) => {
    const used = COMBINATORS.filter((k) => v[k] !== undefined);
    const ops = OPERATORS.filter((k) => v[k] !== undefined);
    if (v.field !== undefined) used.push('field' as never);
    if (used.length === 0) {
      ctx.addIssue({ code: 'custom', message: 'needs one of all, any, not, or field with eq, in, prefix or exists' });
    } else if (used.length > 1) {
      ctx.addIssue({ code: 'custom', message: `has ${used.join(' and ')}: use one per object and combine them with all` });
    }
    if (v.field !== undefined && ops.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        path: ['field'],
        message: ops.length ? `takes one operator, got ${ops.join(' and ')}` : 'needs one operator: eq, in, prefix or exists',
      });
    }
    if (v.field === undefined) {
      for (const op of ops) ctx.addIssue({ code: 'custom', path: [op], message: 'needs field: the JSON pointer it tests' });
    }
  })
  .meta({
    id: 'TriggerFilter',
    description:
      'Conditions on the payload: {field, eq|in|prefix|exists} with field a JSON pointer, combined with {all: [...]}, {any: [...]}, {not: ...}.',
  }) as unknown as z.ZodType<Filter>;

/**
 * The schema that validates stored and submitted filters. Every issue names its exact path
 * (`filter.all.1.in`). The document check runs first because the recursive parse would otherwise
 * exhaust the stack on a filter nested a million levels deep.
 */
export const filterSchema: z.ZodType<Filter> = z.preprocess((value, ctx) => {
  checkDocument(value, MAX_FILTER_DEPTH, ctx);
  return value;
}, filterNode) as unknown as z.ZodType<Filter>;

/** Whether `payload` passes `filter`. Pure; an absent filter matches everything. Validate filters first. */
export function matchesFilter(filter: Filter | null | undefined, payload: unknown): boolean {
  if (filter === null || filter === undefined) return true;
  if ('all' in filter) return filter.all.every((f) => matchesFilter(f, payload));
  if ('any' in filter) return filter.any.some((f) => matchesFilter(f, payload));
  if ('not' in filter) return !matchesFilter(filter.not, payload);
  const at = resolvePointer(payload, filter.field);
  if ('exists' in filter) return at.found === filter.exists;
  if (!at.found) return false;
  if ('eq' in filter) return jsonEqual(at.value, filter.eq);
  if ('in' in filter) return filter.in.some((v) => jsonEqual(at.value, v));
  return typeof at.value === 'string' && at.value.startsWith(filter.prefix);
}
