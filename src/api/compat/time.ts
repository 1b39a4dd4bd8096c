/**
 * Python datetimes on the wire. The Python client writes `datetime.isoformat()`: microseconds, and
 * an offset only when the datetime is aware (`+00:00`), none when it is naive. A naive one is read
 * as UTC, as the Python Eventix meant its `utcnow()` values. `str(datetime)` (a space instead of
 * the `T`), `Z`, `+0000` and `+00` are accepted too. Digits past milliseconds are dropped: our
 * timestamps are JavaScript Dates on the way through.
 */
const PY_TIME = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/** The instant a Python datetime string names, or undefined when it is not one (or outside years 1-9999). */
export function parsePythonTime(value: string): Date | undefined {
  const m = PY_TIME.exec(value.trim());
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac, zone] = m as unknown as string[];
  const offset = zoneOffset(zone);
  if (offset === undefined) return undefined;
  const ms = Number(`${frac ?? ''}000`.slice(0, 3));
  const fields = [Number(y), Number(mo), Number(d), Number(h), Number(mi), Number(s ?? '0')] as const;
  const [year, month, day, hour, minute, second] = fields;
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59 || year < 1) return undefined;
  const utc = new Date(0);
  utc.setUTCFullYear(year, month - 1, day);
  utc.setUTCHours(hour, minute, second, ms);
  // setUTCFullYear rolls 2025-02-30 over into March: such a date does not exist.
  if (utc.getUTCMonth() !== month - 1 || utc.getUTCDate() !== day) return undefined;
  const at = new Date(utc.getTime() - offset * 60_000);
  const atYear = at.getUTCFullYear();
  return atYear >= 1 && atYear <= 9999 ? at : undefined;
}

/** Minutes east of UTC, or undefined for an impossible offset. */
function zoneOffset(zone: string | undefined): number | undefined {
  if (!zone || zone.toUpperCase() === 'Z') return 0;
  const sign = zone.startsWith('-') ? -1 : 1;
  const digits = zone.slice(1).replace(':', '');
  const hours = Number(digits.slice(0, 2));
  const minutes = digits.length > 2 ? Number(digits.slice(2)) : 0;
  if (hours > 23 || minutes > 59) return undefined;
  return sign * (hours * 60 + minutes);
}

export const isPythonTime = (value: string) => parsePythonTime(value) !== undefined;

/** parsePythonTime for a value the schema validated already: ISO 8601 in UTC, or null. */
export function pythonTimeToIso(value: string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  const at = parsePythonTime(value);
  if (!at) throw new Error(`not a validated Python datetime: ${value}`);
  return at.toISOString();
}
