import { z } from 'zod';
import { SUBMIT_DEFAULTS } from '../db/schema/tasks.ts';
import { ValidationError } from '../errors.ts';
import { issuesOf } from '../validation/zod.ts';
import { compileRecord, literal, read } from './compile-record.ts';
import type { Task } from './task.ts';
import {
  emptyOf,
  isDateField,
  isJsonField,
  isSubmitted,
  type SnakeCase,
  type SubmittedKey,
  snakeCase,
  submitDefaultOf,
  submitShape,
  TASK_KEYS,
  WIRE_KEYS,
  type WireSubmitShape,
} from './task-fields.ts';

/**
 * A task submission: the library's input schema and the one function that resolves a validated
 * submission into what the submit statement stores. Both are derived from the field table
 * (task-fields.ts); the HTTP body (src/api/schemas.ts) is the same fields in snake_case.
 */

export { PRIORITY_MAX, PRIORITY_MIN } from './task-fields.ts';
export { SUBMIT_DEFAULTS };

export const submitSchema = z.strictObject(submitShape());
export type SubmitInput = z.input<typeof submitSchema>;

/** A submission that passed submitSchema: what normalizeParsed reads. */
export type ParsedSubmit = z.output<typeof submitSchema>;
/** A body that passed the HTTP schema (src/api/schemas.ts): what normalizeWire reads. */
export type ParsedWireSubmit = z.output<z.ZodObject<WireSubmitShape>>;

/** A fully resolved submission, in the snake_case shape the submit statement reads: columns, with timestamps as ISO text. */
export type NormalizedSubmit = { uid: string } & {
  [K in SubmittedKey as SnakeCase<K>]: Date extends Task[K] ? string | null : Task[K];
};

/**
 * One compiled resolver per naming (see compile-record.ts: built per task of a bulk submit, it
 * must cost what a hand-written literal costs). A field left out gets its default: submit's own
 * (SUBMIT_DEFAULTS), a JSON column's empty value, or null. Timestamps become ISO text. A field
 * the given naming does not carry (provenance, over HTTP) is null.
 */
function compileNormalizer<V>(nameOf: (key: SubmittedKey) => string | undefined): (v: V, uid: string) => NormalizedSubmit {
  const entries = TASK_KEYS.filter((k) => k === 'uid' || isSubmitted(k)).map((key) => {
    const column = snakeCase(key);
    if (key === 'uid') return [column, 'uid'] as const;
    const name = nameOf(key as SubmittedKey);
    if (name === undefined) return [column, 'null'] as const;
    const value = read('v', name);
    const fallback = submitDefaultOf(key) ?? { value: (isJsonField(key) ? emptyOf(key) : undefined) ?? null };
    const given = isDateField(key) ? `new Date(${value}).toISOString()` : value;
    return [column, `${value} === undefined ? ${literal(fallback.value)} : ${given}`] as const;
  });
  return compileRecord(['v', 'uid'], entries);
}
const fromInput = compileNormalizer<ParsedSubmit>((k) => k);
const wireNames = new Set<string>(WIRE_KEYS);
const fromWire = compileNormalizer<ParsedWireSubmit>((k) => (wireNames.has(k) ? snakeCase(k) : undefined));

/** errorEtaMax left out is the larger of its default and errorEtaInc: a longer first backoff raises the cap with it. */
function backoffCap(n: NormalizedSubmit, given: number | undefined): NormalizedSubmit {
  if (given === undefined) n.error_eta_max = Math.max(SUBMIT_DEFAULTS.errorEtaMax, n.error_eta_inc);
  return n;
}

/** A submission submitSchema accepted, resolved. The cross-field rule is checked here, after the schema. */
export function normalizeParsed(v: ParsedSubmit, uid: string, prefix = ''): NormalizedSubmit {
  const n = backoffCap(fromInput(v, uid), v.errorEtaMax);
  if (n.error_eta_max < n.error_eta_inc) {
    throw new ValidationError([{ field: [prefix, 'errorEtaMax'].filter(Boolean).join('.'), message: 'must be at least errorEtaInc' }]);
  }
  return n;
}

/** An HTTP body the API's schema accepted (its cross-field rule included), resolved without validating it again. */
export function normalizeWire(v: ParsedWireSubmit, uid: string): NormalizedSubmit {
  return backoffCap(fromWire(v, uid), v.error_eta_max);
}

export function normalizeSubmit(input: unknown, uid: string, prefix = ''): NormalizedSubmit {
  const parsed = submitSchema.safeParse(input);
  if (!parsed.success) throw new ValidationError(issuesOf(parsed.error, prefix));
  return normalizeParsed(parsed.data, uid, prefix);
}
