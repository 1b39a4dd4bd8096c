import { z } from 'zod';
import type { FieldIssue } from '../errors.ts';
import { isStorableText, NOT_STORABLE_TEXT } from './storable.ts';

/** zod issues as Eventix names them: `prefix.path.to.field` (or `root` for the whole value), unknown keys listed. */
export function issuesOf(error: z.ZodError, prefix = '', root = '(body)'): FieldIssue[] {
  return error.issues.map((i) => ({
    field: [prefix, ...i.path.map(String)].filter(Boolean).join('.') || root,
    message: i.code === 'unrecognized_keys' ? `unknown field(s): ${i.keys.join(', ')}` : i.message,
  }));
}

/** A string schema that also refuses what PostgreSQL cannot store (see isStorableText). */
export const storable = (s: z.ZodString) => s.refine(isStorableText, { error: NOT_STORABLE_TEXT });

/** Non-empty text PostgreSQL can store, at most `max` characters. */
export const text = (max: number) => storable(z.string().min(1).max(max));

/**
 * A date PostgreSQL and JavaScript agree on: a valid instant in years 1 to 9999, in UTC.
 * PostgreSQL refuses year 0, and a later year prints in a form it cannot read back.
 */
const inRange = (d: Date) => !Number.isNaN(d.getTime()) && d.getUTCFullYear() >= 1 && d.getUTCFullYear() <= 9999;
const ISO_MESSAGE = 'must be an ISO 8601 date-time with a time zone';

/** An instant as the library takes it: a Date, or an ISO 8601 string with an offset. */
export const instant = z.union([
  z.date().refine(inRange, { error: 'must be a valid date in years 1-9999' }),
  z.iso.datetime({ offset: true, error: ISO_MESSAGE }).refine((v) => inRange(new Date(v)), { error: 'must be a date in years 1-9999' }),
]);

/**
 * An instant as JSON text carries it (the HTTP API): an ISO 8601 string with an offset. Its own
 * range message is the one 400 answers have always given.
 */
export const isoDateTime = z.iso.datetime({ offset: true, error: ISO_MESSAGE }).refine((v) => inRange(new Date(v)), {
  error: 'must be between the years 1 and 9999',
});
