// scheduler-storm: three `eventix scheduler` processes on one database fire per-second schedules
// while a random one is SIGKILLed every 1-2 s and restarted (never the last one running). Every
// fire time of the covered window must have exactly one task: none twice, none missing.
import { createDatabase } from '../../src/db/client.ts';
import { createSchedule } from '../../src/scheduler/manage.ts';
import { startThrowawayPostgres } from './lib/postgres.ts';
import { type Managed, spawnEventix } from './lib/processes.ts';
import { pause, rng, type Scenario, until } from './lib/scenario.ts';

const SCHEDULERS = 3;
const INTERVAL_MS = 500;
/**
 * misfire 'all' fires every due time whatever happened; 'skip' fires every on-time one, and a fire
 * time is on time while a scheduler sees it within 5 s: with one always running, neither may miss one.
 */
const SCHEDULES = [
  { name: 'chaos-every-second-all', misfire: 'all' as const },
  { name: 'chaos-every-second-skip', misfire: 'skip' as const },
];

interface SchedulerProcess {
  proc: Managed;
  ready: boolean;
}

export const scenario: Scenario = {
  name: 'scheduler-storm',
  summary: `${SCHEDULERS} schedulers fire per-second schedules; SIGKILL and restart a random one every 1-2 s; one task per fire time, none missing`,
  async run(ctx) {
    const kills = ctx.short ? 5 : 30;
    const seed = Number(process.env.CHAOS_SEED ?? Date.now() % 1_000_000);
    const random = rng(seed);
    ctx.figure('seed', seed);

    const db = await startThrowawayPostgres();
    ctx.defer(() => db.stop());
    const database = createDatabase({ url: db.url, max: 2, applicationName: 'chaos-driver' });
    ctx.defer(() => database.close());
    const pool = database.pool;

    const first = new Map<string, number>();
    for (const s of SCHEDULES) {
      const created = await createSchedule(pool, { name: s.name, cron: '* * * * * *', task: 'chaos.tick', misfire: s.misfire });
      first.set(s.name, created.nextFireAt?.getTime() ?? Number.NaN);
    }

    const env = { DATABASE_URL: db.url, EVENTIX_MIGRATE: 'false' };
    const schedulers = new Set<SchedulerProcess>();
    let spawned = 0;
    const startScheduler = () => {
      const name = `scheduler-${++spawned}`;
      const proc = ctx.track(spawnEventix(name, ['scheduler', '--interval-ms', String(INTERVAL_MS)], env));
      const s: SchedulerProcess = { proc, ready: false };
      schedulers.add(s);
      proc.waitForLine(/^Eventix scheduler running/, 60_000).then(
        () => {
          s.ready = true;
        },
        // One killed while it started is one of the storm's faults, not a failure to start; one
        // that exited on its own is reported by reapUnexpected (or was stopped by the clean-up).
        (err: Error) => {
          if (proc.alive) ctx.check(false, `${name} did not start: ${err.message}`);
        },
      );
    };
    for (let i = 0; i < SCHEDULERS; i++) startScheduler();
    await until(() => [...schedulers].every((s) => s.ready), { timeoutMs: 60_000, message: 'the schedulers to start' });
    const stormStarted = Date.now();

    // Half the kills land just after an interval boundary, when every scheduler ticks (the loop
    // sleeps to the boundary + 5 ms): the victim is then likely inside its transaction, holding a
    // schedule's row lock and maybe a fire already inserted but not committed.
    let inTickWindow = 0;
    let killed = 0;
    let diedOnTheirOwn = 0;
    /** A scheduler must die only of our SIGKILL: one that exited otherwise is reported, and replaced. */
    const reapUnexpected = () => {
      for (const s of schedulers) {
        if (s.proc.alive) continue;
        diedOnTheirOwn++;
        ctx.check(false, `${s.proc.name} exited on its own (${JSON.stringify(s.proc.exitInfo)}):\n${s.proc.output(20)}`);
        schedulers.delete(s);
        startScheduler();
      }
    };
    for (let k = 0; k < kills && !ctx.signal.aborted; k++) {
      await pause(1000 + random() * 1000);
      reapUnexpected();
      if (random() < 0.5) {
        inTickWindow++;
        const now = Date.now();
        await pause(INTERVAL_MS - (now % INTERVAL_MS) + 5 + random() * 20);
      }
      // Never the last one running: another must have started before this one goes.
      const alive = await until(
        () => {
          const running = [...schedulers].filter((s) => s.proc.alive);
          return running.filter((s) => s.ready).length >= 2 ? running : undefined;
        },
        { timeoutMs: 60_000, message: 'two running schedulers' },
      );
      const victim = alive[Math.floor(random() * alive.length)] as SchedulerProcess;
      victim.proc.signal('SIGKILL');
      killed++;
      await victim.proc.exited;
      schedulers.delete(victim);
      startScheduler();
    }

    // Ctrl-C: no verdict; the clean-up stops everything.
    if (ctx.signal.aborted) return;
    // The covered window: from each schedule's first fire time to the last whole second of the
    // storm, once every scheduler has had the time to fire it.
    const last = Math.floor(Date.now() / 1000) * 1000;
    await until(
      async () => {
        const { rows } = await pool.query<{ n: number }>(
          'select count(distinct schedule_name)::int as n from tasks where schedule_fire_at >= $1',
          [new Date(last)],
        );
        return rows[0]?.n === SCHEDULES.length;
      },
      { timeoutMs: 30_000, intervalMs: 100, message: 'the fire time that ends the storm' },
    ).catch((err: Error) => ctx.check(false, err.message));
    reapUnexpected();
    const alive = [...schedulers].filter((s) => s.proc.alive).length;
    // The last restarted ones must be up before SIGTERM, or they die of it before installing their handler.
    await until(() => [...schedulers].every((s) => s.ready || !s.proc.alive), {
      timeoutMs: 60_000,
      message: 'the restarted schedulers to start',
    });
    const exits = await Promise.all([...schedulers].map((s) => s.proc.stop(10_000)));

    ctx.figure('kills', killed);
    ctx.figure('kills just after a tick', inTickWindow);
    ctx.figure('schedulers started', spawned);
    for (const s of SCHEDULES) {
      const from = first.get(s.name) as number;
      const expected = Math.round((last - from) / 1000) + 1;
      const [row] = (
        await pool.query<{ tasks: number; times: number; early: number; lag_ms: number; late: number }>(
          `select count(*)::int as tasks, count(distinct schedule_fire_at)::int as times,
                  count(*) filter (where schedule_fire_at < $2 or extract(milliseconds from schedule_fire_at)::int % 1000 <> 0)::int as early,
                  coalesce(max(extract(epoch from created_at - schedule_fire_at) * 1000)
                             filter (where schedule_fire_at >= $4), 0)::int as lag_ms,
                  count(*) filter (where schedule_fire_at >= $4 and created_at - schedule_fire_at > $5 * interval '1 millisecond')::int as late
             from tasks where schedule_name = $1 and schedule_fire_at <= $3`,
          [s.name, new Date(from), new Date(last), new Date(stormStarted), INTERVAL_MS / 2],
        )
      ).rows;
      const [ledger] = (
        await pool.query<{ rows: number; unmatched: number }>(
          `select count(*)::int as rows,
                  count(*) filter (where f.outcome <> 'submitted' or t.uid is null or t.schedule_fire_at <> f.fire_at
                                     or t.schedule_name <> f.schedule_name)::int as unmatched
             from schedule_fires f left join tasks t on t.uid = f.task_uid
            where f.schedule_name = $1 and f.fire_at <= $2`,
          [s.name, new Date(last)],
        )
      ).rows;
      const tasks = row?.tasks ?? 0;
      const times = row?.times ?? 0;
      const duplicates = tasks - times;
      const gaps = expected - times;
      ctx.figure(`${s.misfire}: fire times`, expected);
      ctx.figure(`${s.misfire}: tasks`, tasks);
      ctx.figure(`${s.misfire}: duplicates`, duplicates);
      ctx.figure(`${s.misfire}: gaps`, gaps);
      ctx.figure(`${s.misfire}: max fire lag ms (during the storm)`, row?.lag_ms ?? 0);
      // A fire a tick late: its schedule was locked by a scheduler killed inside its transaction.
      ctx.figure(`${s.misfire}: fires more than half a tick late`, row?.late ?? 0);
      ctx.check(duplicates === 0, `${s.name}: ${duplicates} fire times submitted more than one task`);
      ctx.check(
        gaps === 0,
        `${s.name}: ${gaps} of ${expected} fire times from ${new Date(from).toISOString()} to ${new Date(last).toISOString()} have no task`,
      );
      ctx.check((row?.early ?? 0) === 0, `${s.name}: ${row?.early} tasks carry a fire time outside the schedule's`);
      ctx.check(
        ledger?.rows === tasks && ledger?.unmatched === 0,
        `${s.name}: the fire ledger (${JSON.stringify(ledger)}) does not match the ${tasks} tasks`,
      );
    }
    ctx.check(killed === kills || ctx.signal.aborted, `${killed} kills instead of ${kills}`);
    ctx.check(alive >= 1, 'no scheduler was running at the end');
    ctx.check(diedOnTheirOwn === 0, `${diedOnTheirOwn} schedulers died without being killed`);
    ctx.check(
      exits.every((e) => e.code === 0),
      `schedulers did not stop cleanly: ${JSON.stringify(exits)}`,
    );
  },
};
