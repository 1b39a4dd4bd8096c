import { describe, expect, it } from 'vitest';
import {
  fireTimesBetween,
  isKnownTimeZone,
  lastFiresBetween,
  nextFireAfter,
  utcOffsetMinutes,
  validateSchedule,
} from '../../src/scheduler/cron.ts';

/** Successive fire times after `after`, as ISO strings. */
function chain(cron: string, tz: string, after: string, count: number): string[] {
  const out: string[] = [];
  let t: Date | null = new Date(after);
  for (let i = 0; i < count && t; i++) {
    t = nextFireAfter(cron, tz, t);
    if (t) out.push(t.toISOString());
  }
  return out;
}

describe('nextFireAfter', () => {
  // [why, cron, time zone, after, the next fire times]. Instants are UTC; comments give local time.
  const table: [string, string, string, string, string[]][] = [
    // Seconds and steps
    [
      'six fields: the first is seconds; a fractional start rounds up',
      '*/15 * * * * *',
      'UTC',
      '2024-03-01T00:00:07.500Z',
      ['2024-03-01T00:00:15.000Z', '2024-03-01T00:00:30.000Z', '2024-03-01T00:00:45.000Z'],
    ],
    [
      'strictly after: a fire time itself is not returned',
      '30 * * * * *',
      'UTC',
      '2024-03-01T00:00:30.000Z',
      ['2024-03-01T00:01:30.000Z', '2024-03-01T00:02:30.000Z'],
    ],
    [
      'every N minutes, five fields fire at second 0',
      '*/10 * * * *',
      'UTC',
      '2024-03-01T00:05:00Z',
      ['2024-03-01T00:10:00.000Z', '2024-03-01T00:20:00.000Z', '2024-03-01T00:30:00.000Z'],
    ],
    ['a seconds field between minutes', '0 30 8 * * *', 'UTC', '2024-03-01T08:30:00.001Z', ['2024-03-02T08:30:00.000Z']],
    // Time zones
    [
      'weekdays 09:00 New York (EST, UTC-5): Friday afternoon → Monday',
      '0 9 * * 1-5',
      'America/New_York',
      '2024-03-01T15:00:00Z',
      ['2024-03-04T14:00:00.000Z', '2024-03-05T14:00:00.000Z', '2024-03-06T14:00:00.000Z'],
    ],
    [
      'midnight in Kolkata (UTC+5:30)',
      '0 0 * * *',
      'Asia/Kolkata',
      '2024-03-01T00:00:00Z',
      ['2024-03-01T18:30:00.000Z', '2024-03-02T18:30:00.000Z'],
    ],
    ['noon on Lord Howe in summer (UTC+11)', '0 12 * * *', 'Australia/Lord_Howe', '2024-01-15T00:00:00Z', ['2024-01-15T01:00:00.000Z']],
    ['noon on Lord Howe in winter (UTC+10:30)', '0 12 * * *', 'Australia/Lord_Howe', '2024-07-15T00:00:00Z', ['2024-07-15T01:30:00.000Z']],
    ['@daily in Berlin (CET): 23:00 UTC the day before', '@daily', 'Europe/Berlin', '2024-03-01T00:00:00Z', ['2024-03-01T23:00:00.000Z']],
    ['New Year on Kiritimati (UTC+14)', '0 0 1 1 *', 'Pacific/Kiritimati', '2024-06-01T00:00:00Z', ['2024-12-31T10:00:00.000Z']],
    ['UTC aliases are zones too', '0 0 * * *', 'Etc/UTC', '2024-03-01T12:00:00Z', ['2024-03-02T00:00:00.000Z']],
    // DST: spring forward (a gap)
    [
      'New York gap, 10 Mar 2024 02:00→03:00: a 02:30 daily job fires at 03:30 EDT that day',
      '30 2 * * *',
      'America/New_York',
      '2024-03-09T12:00:00Z',
      ['2024-03-10T07:30:00.000Z', '2024-03-11T06:30:00.000Z', '2024-03-12T06:30:00.000Z'],
    ],
    [
      'London gap, 31 Mar 2024: 08:30 keeps its wall-clock time, an hour earlier in UTC',
      '0 30 8 * * *',
      'Europe/London',
      '2024-03-30T00:00:00Z',
      ['2024-03-30T08:30:00.000Z', '2024-03-31T07:30:00.000Z'],
    ],
    [
      'Lord Howe 30-minute gap, 6 Oct 2024 02:00→02:30: 02:30 exists and fires',
      '30 2 * * *',
      'Australia/Lord_Howe',
      '2024-10-05T00:00:00Z',
      ['2024-10-05T15:30:00.000Z', '2024-10-06T15:30:00.000Z', '2024-10-07T15:30:00.000Z'],
    ],
    [
      'Lord Howe 30-minute gap: 02:00 falls in it and cron-parser skips that day (it compensates whole-hour gaps only)',
      '0 2 * * *',
      'Australia/Lord_Howe',
      '2024-10-05T00:00:00Z',
      ['2024-10-06T15:00:00.000Z', '2024-10-07T15:00:00.000Z'],
    ],
    // DST: fall back (an overlap)
    [
      'New York overlap, 3 Nov 2024 01:00-02:00 twice: a 01:30 daily job fires once (EDT)',
      '30 1 * * *',
      'America/New_York',
      '2024-11-02T12:00:00Z',
      ['2024-11-03T05:30:00.000Z', '2024-11-04T06:30:00.000Z'],
    ],
    [
      'New York overlap: an hourly job fires in both passes of 01:00 (EDT, then EST)',
      '0 * * * *',
      'America/New_York',
      '2024-11-03T04:00:00Z',
      ['2024-11-03T05:00:00.000Z', '2024-11-03T06:00:00.000Z', '2024-11-03T07:00:00.000Z'],
    ],
    [
      'New York overlap: with the hour fixed, the repeated hour runs once',
      '*/30 1 * * *',
      'America/New_York',
      '2024-11-03T04:00:00Z',
      ['2024-11-03T05:00:00.000Z', '2024-11-03T05:30:00.000Z', '2024-11-04T06:00:00.000Z'],
    ],
    [
      'Lord Howe 30-minute overlap, 7 Apr 2024 02:00→01:30: 03:00 daily moves from 16:00 to 16:30 UTC (cron-parser loops out here; we scan)',
      '0 3 * * *',
      'Australia/Lord_Howe',
      '2024-04-05T00:00:00Z',
      ['2024-04-05T16:00:00.000Z', '2024-04-06T16:30:00.000Z', '2024-04-07T16:30:00.000Z'],
    ],
    [
      'Lord Howe overlap: 01:45 happens twice on 7 Apr and fires once, the first time (+11)',
      '45 1 * * *',
      'Australia/Lord_Howe',
      '2024-04-05T00:00:00Z',
      ['2024-04-05T14:45:00.000Z', '2024-04-06T14:45:00.000Z', '2024-04-07T15:15:00.000Z'],
    ],
    [
      'Lord Howe overlap: hourly through the transition, second-pass 01:00 not repeated',
      '0 * * * *',
      'Australia/Lord_Howe',
      '2024-04-06T12:30:00Z',
      ['2024-04-06T13:00:00.000Z', '2024-04-06T14:00:00.000Z', '2024-04-06T15:30:00.000Z', '2024-04-06T16:30:00.000Z'],
    ],
    // Month ends and leap years
    [
      'the 31st skips months without one',
      '0 0 31 * *',
      'UTC',
      '2024-01-31T12:00:00Z',
      ['2024-03-31T00:00:00.000Z', '2024-05-31T00:00:00.000Z', '2024-07-31T00:00:00.000Z'],
    ],
    [
      'L is the last day of each month (non-leap February)',
      '0 0 L * *',
      'UTC',
      '2023-01-15T00:00:00Z',
      ['2023-01-31T00:00:00.000Z', '2023-02-28T00:00:00.000Z', '2023-03-31T00:00:00.000Z'],
    ],
    ['L in a leap year', '0 0 L * *', 'UTC', '2024-01-31T00:00:00Z', ['2024-02-29T00:00:00.000Z', '2024-03-31T00:00:00.000Z']],
    [
      '29 February only in leap years',
      '0 0 29 2 *',
      'UTC',
      '2024-03-01T00:00:00Z',
      ['2028-02-29T00:00:00.000Z', '2032-02-29T00:00:00.000Z'],
    ],
    [
      '5L: the last Friday of the month',
      '0 0 * * 5L',
      'UTC',
      '2024-03-01T00:00:00Z',
      ['2024-03-29T00:00:00.000Z', '2024-04-26T00:00:00.000Z'],
    ],
    [
      '1#1: the first Monday of the month',
      '0 0 * * 1#1',
      'UTC',
      '2024-03-01T00:00:00Z',
      ['2024-03-04T00:00:00.000Z', '2024-04-01T00:00:00.000Z'],
    ],
    ['year end in New York', '59 23 31 12 *', 'America/New_York', '2024-06-01T00:00:00Z', ['2025-01-01T04:59:00.000Z']],
  ];

  it.each(table)('%s', (_why, cron, tz, after, expected) => {
    expect(chain(cron, tz, after, expected.length)).toEqual(expected);
  });

  it('is a pure function of its inputs (the same answer from a cold start and mid-chain)', () => {
    const [, , third] = chain('0 3 * * *', 'Australia/Lord_Howe', '2024-04-05T00:00:00Z', 3);
    expect(nextFireAfter('0 3 * * *', 'Australia/Lord_Howe', new Date('2024-04-06T16:30:00.000Z'))?.toISOString()).toBe(third);
  });
});

describe('fireTimesBetween and lastFiresBetween', () => {
  it('lists the fire times in (from, to], ascending, up to a cap', () => {
    const from = new Date('2024-03-01T00:00:00Z');
    const to = new Date('2024-03-01T00:00:05Z');
    expect(fireTimesBetween('* * * * * *', 'UTC', from, to).map((d) => d.toISOString())).toEqual([
      '2024-03-01T00:00:01.000Z',
      '2024-03-01T00:00:02.000Z',
      '2024-03-01T00:00:03.000Z',
      '2024-03-01T00:00:04.000Z',
      '2024-03-01T00:00:05.000Z',
    ]);
    expect(fireTimesBetween('* * * * * *', 'UTC', from, to, 2)).toHaveLength(2);
    expect(fireTimesBetween('0 0 1 1 *', 'UTC', from, to)).toEqual([]);
  });

  it('finds the latest fire times of a long range without walking all of it', () => {
    const from = new Date('2020-01-01T00:00:00Z');
    const to = new Date('2024-02-01T00:00:00Z');
    const started = performance.now();
    expect(lastFiresBetween('* * * * * *', 'UTC', from, to, 3).map((d) => d.toISOString())).toEqual([
      '2024-01-31T23:59:58.000Z',
      '2024-01-31T23:59:59.000Z',
      '2024-02-01T00:00:00.000Z',
    ]);
    expect(performance.now() - started).toBeLessThan(2000);
    expect(lastFiresBetween('0 0 1 * *', 'UTC', from, new Date('2024-02-15T00:00:00Z'), 2).map((d) => d.toISOString())).toEqual([
      '2024-01-01T00:00:00.000Z',
      '2024-02-01T00:00:00.000Z',
    ]);
    // Fewer than asked for in the whole range: all of them.
    expect(lastFiresBetween('0 0 1 1 *', 'UTC', new Date('2023-06-01T00:00:00Z'), to, 5).map((d) => d.toISOString())).toEqual([
      '2024-01-01T00:00:00.000Z',
    ]);
    expect(lastFiresBetween('* * * * *', 'UTC', to, from, 5)).toEqual([]);
  });
});

describe('validateSchedule', () => {
  it.each([
    ['0 3 * * *', 'UTC'],
    ['*/5 * * * * *', 'Asia/Kolkata'],
    ['0 0 L * *', 'Australia/Lord_Howe'],
    ['0 9 * * MON-FRI', 'America/New_York'],
    ['0 0 * * THU', 'UTC'],
    ['@hourly', 'Europe/Berlin'],
    ['0 0 29 2 *', 'UTC'],
    ['  0 3 * * *  ', 'US/Eastern'],
  ])('accepts %j in %s', (cron, tz) => {
    expect(validateSchedule(cron, tz)).toEqual([]);
  });

  it.each([
    ['', 'cron', /must not be empty/],
    ['* * *', 'cron', /expected 5 fields/],
    ['* * * * * * *', 'cron', /got 7/],
    ['61 * * * *', 'cron', /invalid cron expression.*61/],
    ['0 25 * * *', 'cron', /invalid cron expression/],
    ['nonsense here x y z', 'cron', /invalid cron expression/],
    ['0 0 * 13 *', 'cron', /invalid cron expression/],
    ['0 0 30 2 *', 'cron', /never fires/],
    ['0 0 31 4,6 *', 'cron', /never fires/],
    ['H * * * *', 'cron', /H \(hashed\)/],
    ['@reboot', 'cron', /invalid cron expression/],
  ])('refuses %j naming %s', (cron, field, message) => {
    const issues = validateSchedule(cron, 'UTC');
    expect(issues.map((i) => i.field)).toEqual([field]);
    expect(issues[0]?.message).toMatch(message);
  });

  it.each(['Mars/Olympus_Mons', 'UTC+3', '+05:30', 'America/NewYork', ''])('refuses the time zone %j naming timezone', (tz) => {
    const issues = validateSchedule('0 0 * * *', tz);
    expect(issues.map((i) => i.field)).toEqual(['timezone']);
    expect(isKnownTimeZone(tz)).toBe(false);
  });

  it('reports a bad expression and a bad zone together', () => {
    expect(validateSchedule('0 0 30 2 *', 'Nowhere/Land').map((i) => i.field)).toEqual(['timezone', 'cron']);
  });
});

describe('utcOffsetMinutes', () => {
  it.each([
    ['2024-01-15T00:00:00Z', 'Australia/Lord_Howe', 660],
    ['2024-07-15T00:00:00Z', 'Australia/Lord_Howe', 630],
    ['2024-07-15T00:00:00Z', 'Asia/Kolkata', 330],
    ['2024-07-15T00:00:00Z', 'America/New_York', -240],
    ['2024-01-15T00:00:00Z', 'America/New_York', -300],
  ])('at %s in %s is %i', (at, tz, minutes) => {
    expect(utcOffsetMinutes(Date.parse(at), tz)).toBe(minutes);
  });
});
