import { z } from 'zod';
import { ValidationError } from '../errors.ts';

/**
 * Keyset-pagination cursors: the last row's sort key, base64url-encoded so it passes through a
 * query string untouched. Opaque to clients, but not trusted: decode validates the shape, so a
 * garbled, truncated or forged cursor is a 400 on `cursor`, never a database error or a wrong page.
 */
export interface CursorCodec<T> {
  encode(value: T): string;
  /** The value `encode` was given, or the `invalid()` error for text it did not produce. */
  decode(text: string): T;
  /** The error of a cursor this codec did not issue. */
  invalid(): ValidationError;
  /**
   * What to throw for `err`, the failure of a query given a decoded cursor: a data exception
   * (SQLSTATE class 22) can only be the cursor's (a forged date that JavaScript reads but
   * PostgreSQL does not), so it is `invalid()`; anything else is `err` itself.
   */
  queryError(err: unknown): unknown;
}

/** What most lists answer for a bad cursor. */
export const INVALID_CURSOR_MESSAGE = 'is not a cursor this API issued';

/** A timestamp as PostgreSQL's ::text renders it (the cursor keeps full microsecond precision). */
export const cursorTimestamp = z.string().refine((s) => !Number.isNaN(Date.parse(s)));

/** An ordering timestamp that may be '-infinity' (rows without a date sort last in a descending list). */
export const cursorOrderAt = z.string().refine((s) => s === '-infinity' || !Number.isNaN(Date.parse(s)));

/** A cursor holding a small JSON object (or tuple), checked by `schema` when it comes back. */
export function jsonCursor<T>(schema: z.ZodType<T>, message = INVALID_CURSOR_MESSAGE): CursorCodec<T> {
  return codec(schema, message, JSON.stringify, JSON.parse);
}

/** A cursor holding one string as is (no JSON around it), checked by `schema` when it comes back. */
export function textCursor(schema: z.ZodType<string>, message = INVALID_CURSOR_MESSAGE): CursorCodec<string> {
  return codec(
    schema,
    message,
    (s) => s,
    (s) => s,
  );
}

function codec<T>(schema: z.ZodType<T>, message: string, serialize: (v: T) => string, deserialize: (s: string) => unknown): CursorCodec<T> {
  const invalid = () => new ValidationError([{ field: 'cursor', message }]);
  return {
    encode: (value) => Buffer.from(serialize(value)).toString('base64url'),
    decode(text) {
      let raw: unknown;
      try {
        raw = deserialize(Buffer.from(text, 'base64url').toString('utf8'));
      } catch {
        // Not JSON: the same answer as any other cursor we did not issue.
        throw invalid();
      }
      const parsed = schema.safeParse(raw);
      if (!parsed.success) throw invalid();
      return parsed.data;
    },
    invalid,
    queryError: (err) => (String((err as { code?: unknown } | null)?.code ?? '').startsWith('22') ? invalid() : err),
  };
}
