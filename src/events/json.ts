import { z } from 'zod';
import { isStorableText as storable } from '../validation/storable.ts';
import { storable as storableSchema } from '../validation/zod.ts';

/** Deep equality of JSON values: objects by their keys (in any order), arrays item by item. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => jsonEqual(x, b[i]));
  }
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => Object.hasOwn(b, k) && jsonEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/** A string PostgreSQL can store: no NUL characters, no lone surrogates. */
export const storableString = () => storableSchema(z.string());

/**
 * Check a raw JSON document before a recursive schema sees it, iteratively (so depth itself cannot
 * overflow the stack): nesting beyond `maxDepth`, and strings or keys jsonb cannot store (NUL,
 * lone surrogates), which would otherwise surface as a database error instead of a 400.
 */
export function checkDocument(value: unknown, maxDepth: number, ctx: z.core.$RefinementCtx): void {
  const push = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message, input: value });
  const stack: [unknown, (string | number)[]][] = [[value, []]];
  while (stack.length) {
    const [v, path] = stack.pop() as [unknown, (string | number)[]];
    if (typeof v === 'string') {
      if (!storable(v)) {
        push(path, 'strings must not contain NUL characters or lone surrogates');
        return;
      }
    } else if (v !== null && typeof v === 'object') {
      if (path.length >= maxDepth) {
        push([], `is nested more than ${maxDepth} levels deep`);
        return;
      }
      for (const [k, x] of Object.entries(v)) {
        const key = Array.isArray(v) ? Number(k) : k;
        if (!storable(k)) {
          push([...path, key], 'keys must not contain NUL characters or lone surrogates');
          return;
        }
        stack.push([x, [...path, key]]);
      }
    }
  }
}
