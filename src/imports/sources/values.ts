import { ValidationError } from '../../errors.ts';
import { utcOffsetMinutes } from '../../scheduler/cron.ts';
import { isKnownTimeZone } from '../../scheduler/index.ts';

/**
 * Reading values out of legacy stores, where a timestamp may come as a Date, as ISO text with or
 * without an offset, or as PostgreSQL's text of a `timestamp without time zone`. A time without a
 * zone is an instant only once someone says which zone it was written in: `--timezone`. Without
 * one it is refused, never guessed from this machine's zone.
 */

/** A PostgreSQL or ISO 8601 date-time with an explicit zone: `Z`, `+02`, `+02:00`, `-0530`. */
const HAS_OFFSET = /(?:[zZ]|[+-]\d{2}(?::?\d{2})?)$/;
const NAIVE = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?$/;

export type Instant = { ok: true; value: string | null } | { ok: false; message: string };

/** A value as an ISO 8601 UTC instant (milliseconds), or why not. null and undefined stay null. */
export function instantOf(value: unknown, timezone: string | undefined): Instant {
  if (value === null || value === undefined) return { ok: true, value: null };
  if (value instanceof Date) {
    return Number.isNaN(value.getTime()) ? { ok: false, message: 'is not a valid date' } : { ok: true, value: value.toISOString() };
  }
  if (typeof value !== 'string') return { ok: false, message: `must be a date-time, not ${JSON.stringify(value)}` };
  const text = value.trim();
  if (HAS_OFFSET.test(text)) {
    const t = new Date(text.replace(' ', 'T'));
    return Number.isNaN(t.getTime())
      ? { ok: false, message: `is not a date-time: ${JSON.stringify(value)}` }
      : { ok: true, value: t.toISOString() };
  }
  const m = NAIVE.exec(text);
  if (!m) return { ok: false, message: `is not a date-time: ${JSON.stringify(value)}` };
  if (timezone === undefined) {
    return { ok: false, message: `${JSON.stringify(value)} has no time zone: pass --timezone to say which zone it was written in` };
  }
  const [, y, mo, d, h, mi, s, frac] = m;
  const wall = Date.UTC(
    Number(y),
    Number(mo) - 1,
    Number(d),
    Number(h),
    Number(mi),
    Number(s ?? 0),
    Number((frac ?? '0').padEnd(3, '0').slice(0, 3)),
  );
  // The offset at the wall time read as UTC, then again at the instant that gives: right on both sides of a DST change.
  let t = wall - utcOffsetMinutes(wall, timezone) * 60_000;
  t = wall - utcOffsetMinutes(t, timezone) * 60_000;
  return { ok: true, value: new Date(t).toISOString() };
}

/** --timezone checked once, by the importer, before anything is read. */
export function checkTimezone(timezone: string | undefined): string | undefined {
  if (timezone !== undefined && !isKnownTimeZone(timezone)) {
    throw new ValidationError([{ field: 'timezone', message: `is not a known time zone: ${JSON.stringify(timezone)}` }]);
  }
  return timezone;
}

/** A JSON column that an old driver may have stored as text. */
export function jsonOf(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}
