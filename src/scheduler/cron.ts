import { type CronExpression, CronExpressionParser } from 'cron-parser';
import type { FieldIssue } from '../errors.ts';
import { coerceError } from '../logger.ts';

/**
 * Fire times of a cron expression in an IANA time zone: pure functions over cron-parser, which
 * defines the semantics (five fields fire on the minute, six on the second; a time skipped by a
 * DST spring-forward fires at the same minute of the hour the clock lands in; a time repeated by
 * a fall-back fires once, except that hour-wide patterns such as `0 * * * *` fire in both passes of
 * the repeated hour). Every scheduler process computes the same instants from the same inputs:
 * that, not a leader, is what lets any number of them share the schedules table.
 */

/** cron-parser gives up with this after 10,000 steps without a match. */
const LOOP_LIMIT = /loop limit exceeded/i;

/** How far the fallback scan looks before handing back to cron-parser (see `scanAfter`). */
const SCAN_WINDOW_MS = 2 * 86_400_000;
const MINUTE = 60_000;

/** `H` (a hashed "random" value) would give each process its own fire times; refused. */
const HASHED = /(^|[\s,])H($|[\s(/#,])/;

const compiled = new Map<string, CronExpression>();

/** Parse once per (expression, zone); every query then starts from a fresh date via reset(). */
function compile(cron: string, timezone: string): CronExpression {
  const key = `${timezone}\u0000${cron}`;
  let expr = compiled.get(key);
  if (!expr) {
    expr = CronExpressionParser.parse(cron, { tz: timezone, currentDate: new Date(0) });
    if (compiled.size >= 1000) compiled.clear();
    compiled.set(key, expr);
  }
  return expr;
}

/** True for a name the runtime's time zone database knows (`Europe/Berlin`, `UTC`, `US/Eastern`). */
export function isKnownTimeZone(timezone: string): boolean {
  if (!timezone || timezone.length > 100) return false;
  // IANA names only. Node 22's ICU also accepts offsets such as "+05:30", which Node 20 refuses and
  // which have no DST rules; refusing them keeps the same schedule valid on every runtime.
  if (!/^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/.test(timezone)) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
    return true;
  } catch {
    return false;
  }
}

/** Six fields: the first is seconds. Five fields fire at second 0 of the minute. */
export function hasSecondsField(cron: string): boolean {
  return cron.trim().split(/\s+/).length === 6;
}

/**
 * What is wrong with a schedule's timing, as field issues (empty when it is fine): an expression
 * cron-parser refuses, one that can never fire (`0 0 30 2 *`), or an unknown time zone.
 * `now` only matters for the never-fires check.
 */
export function validateSchedule(cron: string, timezone: string, now: Date = new Date()): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const zoneOk = isKnownTimeZone(timezone);
  if (!zoneOk) {
    issues.push({
      field: 'timezone',
      message: `unknown time zone ${JSON.stringify(timezone)}: use an IANA name such as Europe/Berlin or UTC`,
    });
  }
  const expr = cron.trim();
  const fields = expr.split(/\s+/).length;
  if (!expr) issues.push({ field: 'cron', message: 'must not be empty' });
  else if (!expr.startsWith('@') && fields !== 5 && fields !== 6) {
    issues.push({ field: 'cron', message: `expected 5 fields (minute precision) or 6 (the first is seconds), got ${fields}` });
  } else if (HASHED.test(expr)) {
    issues.push({ field: 'cron', message: 'H (hashed) values are not supported: every scheduler must compute the same fire times' });
  } else {
    try {
      compile(expr, zoneOk ? timezone : 'UTC');
      if (nextFireAfter(expr, zoneOk ? timezone : 'UTC', now) === null) issues.push({ field: 'cron', message: 'never fires' });
    } catch (err) {
      const message = coerceError(err).message;
      issues.push({
        field: 'cron',
        message: /explicit day of month/i.test(message)
          ? 'never fires: that day of the month does not occur in the months given'
          : `invalid cron expression: ${message}`,
      });
    }
  }
  return issues;
}

/**
 * The first fire time strictly after `after`, or null if there is none. Assumes a valid expression
 * and zone (see validateSchedule); throws otherwise.
 */
export function nextFireAfter(cron: string, timezone: string, after: Date): Date | null {
  const expr = compile(cron.trim(), timezone);
  try {
    expr.reset(after);
    return expr.next().toDate();
  } catch (err) {
    if (!LOOP_LIMIT.test(coerceError(err).message)) throw err;
  }
  return scanAfter(expr, timezone, after);
}

/**
 * cron-parser 5.10 loops out (and throws) on some expressions near a fall-back that is not a
 * whole hour: Australia/Lord_Howe's 30-minute one, e.g. `0 3 * * *` from 5 April 2024. A schedule
 * must not stall there, so we scan minute by minute with the expression's own `includesDate`,
 * firing a repeated wall-clock time once (its first occurrence, as cron-parser does elsewhere),
 * for two days; then we try cron-parser again from past the transition. Two windows without a
 * match: null (the expression never fires).
 */
function scanAfter(expr: CronExpression, timezone: string, after: Date): Date | null {
  const seconds = [...expr.fields.second.values].map(Number).sort((a, b) => a - b);
  const first = seconds[0] ?? 0;
  let start = after.getTime();
  for (let window = 0; window < 2; window++) {
    const end = start + SCAN_WINDOW_MS;
    for (let minute = Math.floor(start / MINUTE) * MINUTE; minute <= end; minute += MINUTE) {
      // Minute, hour, day and month do not depend on the second: one probe tells whether this minute matches.
      if (!expr.includesDate(new Date(minute + first * 1000))) continue;
      if (isSecondPass(minute, timezone)) continue;
      for (const s of seconds) {
        const t = minute + s * 1000;
        if (t > after.getTime()) return new Date(t);
      }
    }
    try {
      expr.reset(new Date(end));
      return expr.next().toDate();
    } catch (err) {
      if (!LOOP_LIMIT.test(coerceError(err).message)) throw err;
      start = end;
    }
  }
  return null;
}

const offsetFormats = new Map<string, Intl.DateTimeFormat>();

/** The zone's UTC offset at `t`, in minutes east of UTC. */
export function utcOffsetMinutes(t: number, timezone: string): number {
  let f = offsetFormats.get(timezone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: timezone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    offsetFormats.set(timezone, f);
  }
  const p = Object.fromEntries(f.formatToParts(new Date(t)).map((x) => [x.type, Number(x.value)]));
  const wall = Date.UTC(p.year ?? 0, (p.month ?? 1) - 1, p.day ?? 1, p.hour ?? 0, p.minute ?? 0, p.second ?? 0);
  return Math.round((wall - Math.floor(t / 1000) * 1000) / MINUTE);
}

/** True when the wall-clock time at `t` already occurred earlier (the second pass of a fall-back). */
function isSecondPass(t: number, timezone: string): boolean {
  const now = utcOffsetMinutes(t, timezone);
  const before = utcOffsetMinutes(t - 3 * 3_600_000, timezone);
  if (before <= now) return false;
  const shift = (before - now) * MINUTE;
  return utcOffsetMinutes(t - shift, timezone) === before;
}

/** Fire times in (fromExclusive, toInclusive], ascending, at most `cap` of them. */
export function fireTimesBetween(
  cron: string,
  timezone: string,
  fromExclusive: Date,
  toInclusive: Date,
  cap = Number.POSITIVE_INFINITY,
): Date[] {
  const out: Date[] = [];
  let t: Date | null = fromExclusive;
  while (out.length < cap) {
    t = nextFireAfter(cron, timezone, t);
    if (t === null || t > toInclusive) break;
    out.push(t);
  }
  return out;
}

/**
 * The last `count` fire times in (fromExclusive, toInclusive], ascending. Walks forward from a
 * window before `toInclusive` that grows until it holds `count` fires or reaches `fromExclusive`,
 * so a schedule missed for a month costs about as much as the fires it keeps, not the month.
 */
export function lastFiresBetween(cron: string, timezone: string, fromExclusive: Date, toInclusive: Date, count: number): Date[] {
  if (count <= 0 || toInclusive <= fromExclusive) return [];
  for (let window = 3_600_000; ; window *= 8) {
    const start = new Date(Math.max(fromExclusive.getTime(), toInclusive.getTime() - window));
    const kept: Date[] = [];
    let t: Date | null = start;
    for (;;) {
      t = nextFireAfter(cron, timezone, t);
      if (t === null || t > toInclusive) break;
      kept.push(t);
      if (kept.length > count) kept.shift();
    }
    if (kept.length >= count || start.getTime() === fromExclusive.getTime()) return kept;
  }
}
