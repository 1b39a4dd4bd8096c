import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createDatabase, type Database } from '../../src/db/client.ts';
import { claim } from '../../src/queue/claim.ts';
import { complete } from '../../src/queue/complete.ts';
import { fireTimesBetween } from '../../src/scheduler/cron.ts';
import { createSchedule, getSchedule, pauseSchedule, resumeSchedule, updateSchedule, upsertSchedule } from '../../src/scheduler/manage.ts';
import { runSchedule } from '../../src/scheduler/run-now.ts';
import type { ScheduleInput } from '../../src/scheduler/schedule-input.ts';
import { Scheduler, type SchedulerEvents, type SchedulerOptions } from '../../src/scheduler/scheduler.ts';
import { prng } from '../helpers/api.ts';
import { useTestDatabase } from '../helpers/db.ts';
import { nextEvent } from '../helpers/wait.ts';

/** A clock the test moves by hand: every scheduler reads the same one. */
function manualClock(start: string) {
  let t = Date.parse(start);
  return {
    now: () => new Date(t),
    set: (iso: string) => {
      t = Date.parse(iso);
    },
    advance: (ms: number) => {
      t += ms;
    },
    get ms() {
      return t;
    },
  };
}

describe('Scheduler against PostgreSQL', () => {
  const db = useTestDatabase();
  // Three "processes": three schedulers, each with its own connection pool.
  const pools: Database[] = [];
  beforeAll(() => {
    for (let i = 0; i < 3; i++) pools.push(createDatabase({ url: db().url, max: 3, applicationName: `scheduler-${i}` }));
  });
  afterAll(async () => {
    await Promise.all(pools.map((p) => p.close()));
  });
  // Each test moves its clock years ahead: schedules left by an earlier one would fire in it.
  beforeEach(async () => {
    await db().pool.query('truncate schedules, schedule_fires, tasks');
  });

  function schedulers(clock: () => Date, extra: Partial<SchedulerOptions> = {}) {
    return pools.map((p) => new Scheduler({ pool: p.pool, clock, batchSize: 1, ...extra }));
  }
  const tickAll = (all: Scheduler[]) => Promise.all(all.map((s) => s.tick()));

  async function firedTimes(name: string): Promise<string[]> {
    const { rows } = await db().pool.query<{ t: Date }>(
      'select schedule_fire_at as t from tasks where schedule_name = $1 order by schedule_fire_at',
      [name],
    );
    return rows.map((r) => r.t.toISOString());
  }

  const create = (input: Omit<ScheduleInput, 'task'> & { task?: string }, now: Date) =>
    createSchedule(db().pool, { ...input, task: input.task ?? 'bench.sweep' }, { now });

  it('three schedulers, one clock, 1,000+ fire times of four schedules: exactly one task per (schedule, fire time)', async () => {
    const clock = manualClock('2030-01-01T00:00:00.250Z');
    const start = clock.now();
    const defs: ScheduleInput[] = [
      { name: 'grid.every-second', cron: '* * * * * *', task: 'sweep', misfire: 'skip', kwargs: { grid: 'a' } },
      { name: 'grid.every-3s', cron: '*/3 * * * * *', task: 'sweep', misfire: 'all', priority: 5, options: { maxRetries: 2 } },
      { name: 'grid.every-7s-kolkata', cron: '*/7 * * * * *', task: 'sweep', timezone: 'Asia/Kolkata', misfire: 'none' },
      { name: 'grid.every-minute-ny', cron: '* * * * *', task: 'sweep', timezone: 'America/New_York', args: [1, 'x'] },
    ];
    for (const d of defs) await create(d, start);

    const all = schedulers(clock.now);
    const firedBy = all.map(() => 0);
    for (const [i, s] of all.entries()) {
      s.on('schedule:fired', () => {
        firedBy[i] = (firedBy[i] ?? 0) + 1;
      });
    }
    const errors: SchedulerEvents['scheduler:error'][0][] = [];
    for (const s of all) s.on('scheduler:error', (e) => errors.push(e));

    // Uneven steps, each shorter than the grace: every fire time is seen on time by some scheduler.
    const rng = prng(20300101);
    const end = start.getTime() + 20 * 60_000;
    while (clock.ms < end) {
      clock.advance(rng.int(200, 4000));
      await tickAll(all);
    }
    expect(errors).toEqual([]);

    const dupes = await db().pool.query(
      `select schedule_name, schedule_fire_at, count(*)::int as n from tasks where schedule_name like 'grid.%'
       group by 1, 2 having count(*) > 1`,
    );
    expect(dupes.rows).toEqual([]);

    let total = 0;
    for (const d of defs) {
      const expected = fireTimesBetween(d.cron, d.timezone ?? 'UTC', start, clock.now()).map((t) => t.toISOString());
      expect(await firedTimes(d.name), d.name).toEqual(expected);
      total += expected.length;
    }
    expect(total).toBeGreaterThanOrEqual(1000);
    // Every scheduler took part; together they fired each time once.
    expect(
      firedBy.every((n) => n > 0),
      JSON.stringify(firedBy),
    ).toBe(true);
    expect(firedBy.reduce((a, b) => a + b, 0)).toBe(total);

    // The ledger agrees with the tasks, and the tasks carry the template.
    const ledger = await db().pool.query<{ n: number; linked: number }>(
      `select count(*)::int as n, count(t.uid)::int as linked from schedule_fires f
       left join tasks t on t.uid = f.task_uid and t.schedule_name = f.schedule_name and t.schedule_fire_at = f.fire_at
       where f.schedule_name like 'grid.%' and f.outcome = 'submitted'`,
    );
    expect(ledger.rows[0]).toEqual({ n: total, linked: total });
    const sample = await db().pool.query(
      `select task, namespace, priority, max_retries, kwargs, args from tasks where schedule_name = $1 limit 1`,
      ['grid.every-3s'],
    );
    expect(sample.rows[0]).toMatchObject({ task: 'sweep', namespace: 'default', priority: 5, max_retries: 2 });
    const s = await getSchedule(db().pool, 'grid.every-second');
    expect(s.lastFiredAt?.getTime()).toBeLessThanOrEqual(clock.ms);
    expect(s.nextFireAt?.getTime()).toBeGreaterThan(clock.ms);
  }, 180_000);

  it('misfire policies: stopped across five fire times, skip fires the latest, all fires each, none fires none', async () => {
    const clock = manualClock('2031-01-01T00:00:00.100Z');
    for (const misfire of ['skip', 'all', 'none'] as const) {
      await create({ name: `misfire.${misfire}`, cron: '* * * * *', misfire }, clock.now());
    }
    const all = schedulers(clock.now);
    const missed: SchedulerEvents['schedule:missed'][0][] = [];
    for (const s of all) s.on('schedule:missed', (m) => missed.push(m));

    clock.set('2031-01-01T00:01:00.100Z');
    await tickAll(all);
    // Nothing runs from 00:01:00.1 to 00:06:30: 00:02 … 00:06 are missed.
    clock.set('2031-01-01T00:06:30.000Z');
    await tickAll(all);
    clock.set('2031-01-01T00:07:00.050Z');
    await tickAll(all);

    const times = (mins: number[]) => mins.map((m) => `2031-01-01T00:0${m}:00.000Z`);
    expect(await firedTimes('misfire.skip')).toEqual(times([1, 6, 7]));
    expect(await firedTimes('misfire.all')).toEqual(times([1, 2, 3, 4, 5, 6, 7]));
    expect(await firedTimes('misfire.none')).toEqual(times([1, 7]));
    expect(missed.map((m) => [m.schedule, m.first.toISOString(), m.last.toISOString()]).sort()).toEqual([
      ['misfire.none', ...times([2, 6])],
      ['misfire.skip', ...times([2, 5])],
    ]);
  });

  it('misfire all: the backlog cap keeps the latest fire times', async () => {
    const clock = manualClock('2032-01-01T00:00:00.100Z');
    await create({ name: 'misfire.capped', cron: '* * * * *', misfire: 'all' }, clock.now());
    const all = schedulers(clock.now, { misfireAllMax: 3, maxFiresPerRun: 2 });
    clock.set('2032-01-01T00:08:30.000Z'); // 00:01 … 00:08 due: the latest three fire
    await tickAll(all);
    expect(await firedTimes('misfire.capped')).toEqual(['06', '07', '08'].map((m) => `2032-01-01T00:${m}:00.000Z`));
    expect((await getSchedule(db().pool, 'misfire.capped')).nextFireAt?.toISOString()).toBe('2032-01-01T00:09:00.000Z');
  });

  it('overlap: false skips fires while the previous task waits or runs, and fires again once it is done', async () => {
    const clock = manualClock('2033-01-01T00:00:00.100Z');
    await create({ name: 'no-overlap', cron: '* * * * *', task: 'long.job', overlap: false }, clock.now());
    const all = schedulers(clock.now);
    const step = async (minute: number) => {
      clock.set(`2033-01-01T00:0${minute}:00.100Z`);
      await tickAll(all);
    };

    await step(1); // submits
    await step(2); // previous task waiting: skipped
    const [running] = await claim(db().pool, { workerId: 'w1', namespaces: ['default'], tasks: ['long.job'], limit: 1, leaseSeconds: 60 });
    expect(running?.scheduleFireAt?.toISOString()).toBe('2033-01-01T00:01:00.000Z');
    await step(3); // previous task running: skipped
    await complete(db().pool, { uid: running!.uid, workerId: 'w1', fencingToken: running!.fencingToken });
    await step(4); // done: submits

    const { rows } = await db().pool.query<{ fire_at: Date; outcome: string; has_task: boolean }>(
      `select fire_at, outcome, task_uid is not null as has_task from schedule_fires where schedule_name = 'no-overlap' order by fire_at`,
    );
    expect(rows.map((r) => [r.fire_at.toISOString().slice(11, 16), r.outcome, r.has_task])).toEqual([
      ['00:01', 'submitted', true],
      ['00:02', 'skipped_overlap', false],
      ['00:03', 'skipped_overlap', false],
      ['00:04', 'submitted', true],
    ]);
    expect(await firedTimes('no-overlap')).toEqual(['2033-01-01T00:01:00.000Z', '2033-01-01T00:04:00.000Z']);
    const s = await getSchedule(db().pool, 'no-overlap');
    expect(s.lastFiredAt?.toISOString()).toBe('2033-01-01T00:04:00.000Z');
    expect(s.nextFireAt?.toISOString()).toBe('2033-01-01T00:05:00.000Z');
  });

  it('pause stops fires; resume starts from now and does not fire what passed while paused, even with misfire all', async () => {
    const clock = manualClock('2034-01-01T00:00:00.100Z');
    await create({ name: 'pausable', cron: '* * * * *', misfire: 'all' }, clock.now());
    const all = schedulers(clock.now);
    clock.set('2034-01-01T00:01:00.100Z');
    await tickAll(all);
    const paused = await pauseSchedule(db().pool, 'pausable');
    expect(paused.enabled).toBe(false);
    expect(paused.nextFireAt).toBeNull();
    expect((await pauseSchedule(db().pool, 'pausable')).revision).toBe(paused.revision); // idempotent
    for (const m of [2, 3, 4]) {
      clock.set(`2034-01-01T00:0${m}:00.100Z`);
      await tickAll(all);
    }
    clock.set('2034-01-01T00:04:30.000Z');
    const resumed = await resumeSchedule(db().pool, 'pausable', { now: clock.now() });
    expect(resumed.enabled).toBe(true);
    expect(resumed.nextFireAt?.toISOString()).toBe('2034-01-01T00:05:00.000Z');
    clock.set('2034-01-01T00:05:00.100Z');
    await tickAll(all);
    expect(await firedTimes('pausable')).toEqual(['2034-01-01T00:01:00.000Z', '2034-01-01T00:05:00.000Z']);
  });

  it('run now: one manual fire, even when paused, without moving next_fire_at or taking a scheduled fire time', async () => {
    const clock = manualClock('2035-01-01T00:00:00.100Z');
    await create({ name: 'runnable', cron: '*/10 * * * *', overlap: false }, clock.now());
    const before = await getSchedule(db().pool, 'runnable');

    const fire = await runSchedule(db().pool, 'runnable', { now: new Date('2035-01-01T00:03:00.123Z') });
    expect(fire.fireAt.toISOString()).toBe('2035-01-01T00:03:00.123Z');
    expect(fire.task).toMatchObject({ task: 'bench.sweep', scheduleName: 'runnable', status: 'scheduled' });
    expect(fire.task.scheduleFireAt?.toISOString()).toBe('2035-01-01T00:03:00.123Z');
    const after = await getSchedule(db().pool, 'runnable');
    expect(after.nextFireAt).toEqual(before.nextFireAt);
    expect(after.lastFiredAt?.toISOString()).toBe('2035-01-01T00:03:00.123Z');

    // Paused, and the previous task still waiting (overlap: false): run ignores both.
    await pauseSchedule(db().pool, 'runnable');
    const again = await runSchedule(db().pool, 'runnable', { now: new Date('2035-01-01T00:04:00.500Z') });
    expect(again.task.uid).not.toBe(fire.task.uid);
    // Two runs in the same millisecond get distinct fire times.
    const same = new Date('2035-01-01T00:04:00.500Z');
    expect((await runSchedule(db().pool, 'runnable', { now: same })).fireAt.toISOString()).toBe('2035-01-01T00:04:00.501Z');

    // A run at exactly a fire time is recorded 1 ms later: the scheduled fire still gets its task.
    await resumeSchedule(db().pool, 'runnable', { now: new Date('2035-01-01T00:05:00.000Z') });
    await updateSchedule(db().pool, 'runnable', { overlap: true });
    const onTheDot = await runSchedule(db().pool, 'runnable', { now: new Date('2035-01-01T00:10:00.000Z') });
    expect(onTheDot.fireAt.toISOString()).toBe('2035-01-01T00:10:00.001Z');
    clock.set('2035-01-01T00:10:00.000Z');
    await tickAll(schedulers(clock.now));
    expect(await firedTimes('runnable')).toEqual([
      '2035-01-01T00:03:00.123Z',
      '2035-01-01T00:04:00.500Z',
      '2035-01-01T00:04:00.501Z',
      '2035-01-01T00:10:00.000Z',
      '2035-01-01T00:10:00.001Z',
    ]);
    const outcomes = await db().pool.query(
      `select outcome, count(*)::int as n from schedule_fires where schedule_name = 'runnable' group by 1 order by 1`,
    );
    expect(outcomes.rows).toEqual([
      { outcome: 'manual', n: 4 },
      { outcome: 'submitted', n: 1 },
    ]);
  });

  it('a schedule that fails to fire is rolled back and reported; the others still fire', async () => {
    const clock = manualClock('2036-01-01T00:00:00.100Z');
    await create({ name: 'broken', cron: '* * * * *' }, clock.now());
    await create({ name: 'healthy', cron: '* * * * *' }, clock.now());
    // A row no API would store: a cron cron-parser refuses.
    await db().pool.query(`update schedules set cron = 'not a cron' where name = 'broken'`);
    const [one] = schedulers(clock.now, { batchSize: 5 });
    const errors: SchedulerEvents['scheduler:error'][0][] = [];
    one!.on('scheduler:error', (e) => errors.push(e));
    clock.set('2036-01-01T00:01:00.100Z');
    const result = await one!.tick();
    expect(result).toMatchObject({ failed: 1 });
    expect(errors.map((e) => e.schedule)).toEqual(['broken']);
    expect(await firedTimes('healthy')).toEqual(['2036-01-01T00:01:00.000Z']);
    expect(await firedTimes('broken')).toEqual([]);
    expect((await getSchedule(db().pool, 'broken')).nextFireAt?.toISOString()).toBe('2036-01-01T00:01:00.000Z');
    await db().pool.query(`delete from schedules where name = 'broken'`);
  });

  it('start() ticks on its own until stop()', async () => {
    const clock = manualClock('2037-01-01T00:00:00.100Z');
    await create({ name: 'looped', cron: '* * * * *' }, clock.now());
    clock.set('2037-01-01T00:01:00.100Z');
    const s = new Scheduler({ pool: pools[0]!.pool, clock: clock.now, intervalMs: 20 });
    const fired = nextEvent<SchedulerEvents['schedule:fired'][0]>(s, 'schedule:fired');
    s.start();
    expect(s.status).toBe('running');
    expect((await fired).schedule).toBe('looped');
    await s.stop();
    expect(s.status).toBe('stopped');
    expect(await firedTimes('looped')).toEqual(['2037-01-01T00:01:00.000Z']);
  });

  it('upsert by name: created, unchanged on the same definition, updated on a change; a pause survives', async () => {
    const now = new Date('2038-01-01T00:00:00.000Z');
    const def: ScheduleInput = {
      name: 'from-file',
      cron: '0 3 * * *',
      task: 'nightly',
      timezone: 'Europe/Berlin',
      options: { timeoutSeconds: 600 },
    };
    const a = await upsertSchedule(db().pool, def, { now });
    expect(a.action).toBe('created');
    expect(a.schedule).toMatchObject({ source: 'file', revision: 1, nextFireAt: new Date('2038-01-01T02:00:00.000Z') });
    const b = await upsertSchedule(db().pool, def, { now: new Date('2038-01-05T00:00:00.000Z') });
    expect(b.action).toBe('unchanged');
    expect(b.schedule.nextFireAt).toEqual(a.schedule.nextFireAt);
    await pauseSchedule(db().pool, 'from-file');
    const c = await upsertSchedule(db().pool, { ...def, cron: '0 4 * * *' }, { now });
    expect(c.action).toBe('updated');
    expect(c.schedule).toMatchObject({ cron: '0 4 * * *', enabled: false, nextFireAt: null });
    const d = await upsertSchedule(db().pool, { ...def, cron: '0 4 * * *', enabled: true }, { now });
    expect(d.schedule).toMatchObject({ enabled: true, nextFireAt: new Date('2038-01-01T03:00:00.000Z') });
  });

  it('prunes old ledger rows but keeps each schedule’s newest', async () => {
    const now = new Date('2039-01-01T00:00:00.000Z');
    await create({ name: 'pruned', cron: '* * * * *' }, now);
    for (const m of [1, 2, 3]) await runSchedule(db().pool, 'pruned', { now: new Date(`2039-01-01T00:0${m}:30.000Z`) });
    await db().pool.query(`update schedule_fires set created_at = now() - interval '8 days' where schedule_name = 'pruned'`);
    await new Scheduler({ pool: db().pool }).pruneFires();
    const { rows } = await db().pool.query<{ fire_at: Date }>(`select fire_at from schedule_fires where schedule_name = 'pruned'`);
    expect(rows.map((r) => r.fire_at.toISOString())).toEqual(['2039-01-01T00:03:30.000Z']);
  });
});
