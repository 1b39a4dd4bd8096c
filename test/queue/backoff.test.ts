import { describe, expect, it } from 'vitest';
import { useTestDatabase } from '../helpers/db.ts';

/**
 * eventix_backoff_seconds(inc, cap, attempts): inc doubling per attempt, capped, with ±10% jitter
 * that never pushes the delay past the cap. It is random, so every case draws many samples from
 * the database and checks all of them against the bounds.
 */
const SAMPLES = 200;
const YEAR = 366 * 86400;

describe('eventix_backoff_seconds', () => {
  const db = useTestDatabase({ poolMax: 4 });

  /** SAMPLES independent calls: the function is VOLATILE, so it runs once per generated row. */
  async function sample(inc: number, cap: number, attempts: number): Promise<number[]> {
    const { rows } = await db().pool.query<{ s: number }>(
      'select eventix_backoff_seconds($1, $2, $3) as s from generate_series(1, $4::int)',
      [inc, cap, attempts, SAMPLES],
    );
    return rows.map((r) => r.s);
  }

  it('returns a double precision number of seconds', async () => {
    const { rows } = await db().pool.query<{ t: string; s: unknown }>(
      'select pg_typeof(eventix_backoff_seconds(15, 300, 1))::text as t, eventix_backoff_seconds(15, 300, 1) as s',
    );
    expect(rows[0]?.t).toBe('double precision');
    expect(typeof rows[0]?.s).toBe('number');
  });

  it.each([
    // [inc, cap, attempts, min, max]
    [15, 300, 1, 13.5, 16.5],
    [15, 300, 2, 27, 33],
    [15, 300, 3, 54, 66],
    [15, 300, 4, 108, 132],
    [15, 300, 5, 216, 264],
    [10, 25, 1, 9, 11],
    [10, 25, 2, 18, 22],
    [10, 1000, 7, 576, 704],
  ])('inc %i, cap %i, attempts %i: every sample in [%d, %d], with real jitter', async (inc, cap, attempts, min, max) => {
    const s = await sample(inc, cap, attempts);
    expect(s).toHaveLength(SAMPLES);
    for (const v of s) {
      expect(v).toBeGreaterThanOrEqual(min);
      expect(v).toBeLessThanOrEqual(max);
    }
    // Jitter really spreads the delays (uniform ±10%: 200 samples cover far more than half the band).
    const nominal = (min + max) / 2;
    expect(Math.max(...s) - Math.min(...s)).toBeGreaterThan(nominal * 0.1);
    expect(new Set(s).size).toBeGreaterThan(SAMPLES / 2);
  });

  it.each([6, 7, 8, 10, 20, 30, 31, 32, 100])('inc 15, cap 300, attempts %i: capped, in [270, 300]', async (attempts) => {
    const s = await sample(15, 300, attempts);
    for (const v of s) {
      expect(v).toBeGreaterThanOrEqual(270);
      expect(v).toBeLessThanOrEqual(300);
    }
    // Jitter still applies below the cap, so capped tasks do not retry in lock-step either.
    expect(Math.min(...s)).toBeLessThan(300);
  });

  it('a cap reached mid-sequence (inc 10, cap 25, attempts 3) never exceeds the cap', async () => {
    const s = await sample(10, 25, 3);
    for (const v of s) {
      expect(v).toBeGreaterThanOrEqual(22.5);
      expect(v).toBeLessThanOrEqual(25);
    }
  });

  it.each([
    [15, 300, 1000],
    [15, 300, 2_147_483_647],
    [1, 2_147_483_647, 1000],
    [YEAR, YEAR, 1000],
    [YEAR, YEAR, 2_147_483_647],
  ])('inc %i, cap %i, attempts %i: no overflow, finite and at most the cap', async (inc, cap, attempts) => {
    const s = await sample(inc, cap, attempts);
    for (const v of s) {
      expect(Number.isFinite(v)).toBe(true);
      expect(v).toBeLessThanOrEqual(cap);
      // The exponent stops growing at 2^30, so the delay is near min(cap, inc * 2^30).
      expect(v).toBeGreaterThanOrEqual(Math.min(cap, inc * 2 ** 30) * 0.9);
    }
  });

  it('works as an interval, as fail and rescue use it (huge attempts)', async () => {
    const { rows } = await db().pool.query<{ ok: boolean }>(
      `select now() + make_interval(secs => eventix_backoff_seconds(15, 300, 1000)) <= now() + interval '300 seconds' as ok`,
    );
    expect(rows[0]?.ok).toBe(true);
  });

  it.each([0, -1, -2_147_483_648])('attempts %i is treated as 1', async (attempts) => {
    const s = await sample(15, 300, attempts);
    for (const v of s) {
      expect(v).toBeGreaterThanOrEqual(13.5);
      expect(v).toBeLessThanOrEqual(16.5);
    }
  });
});
