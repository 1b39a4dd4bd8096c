// kill-storm: worker processes on a steady load of chaos.work tasks, SIGKILLed one at a time and
// replaced, until the storm is over; then every task must be done exactly once, with re-runs only
// where a killed worker held the task.
import { createDatabase } from '../../src/db/client.ts';
import { submitMany } from '../../src/queue/submit.ts';
import { CREATE_COMPLETION_AUDIT } from './lib/audit.ts';
import { freeze } from './lib/freeze.ts';
import { CREATE_LEDGER, TASKS_MODULE } from './lib/ledger.ts';
import { startThrowawayPostgres } from './lib/postgres.ts';
import { type Managed, spawnEventix } from './lib/processes.ts';
import { pause, rng, type Scenario, until } from './lib/scenario.ts';

const WORKERS = 4;
const CONCURRENCY = 8;
const LEASE_SECONDS = 5;
/** Waiting tasks the feeder keeps in the queue: every slot always has a successor. */
const BACKLOG = 2 * WORKERS * CONCURRENCY;
const VICTIM_MIN_AGE_MS = 1000;

interface WorkerProcess {
  proc: Managed;
  /** Set once the worker printed its id: only such a worker is a victim (its tasks can be counted). */
  id?: string;
  readyAt?: number;
}

interface Attempt {
  uid: string;
  attempt: number;
  pid: number;
  started: number;
  finished: number | null;
}

export const scenario: Scenario = {
  name: 'kill-storm',
  summary: `${WORKERS} workers × ${CONCURRENCY} slots on a steady load; SIGKILL one at a time and replace it; nothing lost, re-runs only where a victim held the task`,
  async run(ctx) {
    const kills = ctx.short ? 10 : 100;
    const seed = Number(process.env.CHAOS_SEED ?? Date.now() % 1_000_000);
    const random = rng(seed);
    const durations = rng(seed + 1);
    ctx.figure('seed', seed);

    const db = await startThrowawayPostgres();
    ctx.defer(() => db.stop());
    await db.query(CREATE_LEDGER);
    await db.query(CREATE_COMPLETION_AUDIT);
    const database = createDatabase({ url: db.url, max: 3, applicationName: 'chaos-driver' });
    ctx.defer(() => database.close());
    const pool = database.pool;

    const env = {
      DATABASE_URL: db.url,
      EVENTIX_MIGRATE: 'false',
      // Rescue soon after a lease expires, so the storm's victims' tasks come back quickly.
      EVENTIX_MAINTENANCE_INTERVAL_MS: '500',
      EVENTIX_DB_POOL_MAX: '4',
    };
    const workers = new Set<WorkerProcess>();
    let spawned = 0;
    const startWorker = () => {
      const name = `worker-${++spawned}`;
      const proc = ctx.track(
        spawnEventix(
          name,
          [
            'worker',
            '--tasks',
            TASKS_MODULE,
            '--concurrency',
            String(CONCURRENCY),
            '--lease-seconds',
            String(LEASE_SECONDS),
            '--poll-interval-ms',
            '250',
          ],
          env,
        ),
      );
      const w: WorkerProcess = { proc };
      workers.add(w);
      proc.waitForLine(/^Eventix worker (\S+) running/, 60_000).then(
        (m) => {
          w.id = m[1];
          w.readyAt = Date.now();
        },
        // One that exited first is reported by reapUnexpected (or was stopped by the clean-up).
        (err: Error) => {
          if (proc.alive) ctx.check(false, `${name} did not start: ${err.message}`);
        },
      );
      return w;
    };
    for (let i = 0; i < WORKERS; i++) startWorker();

    // The feeder keeps BACKLOG tasks waiting; each runs 100-600 ms. A rescued task is due again
    // after 1 s (errorEtaInc), and retries are unlimited: a task may be hit by many kills.
    let submitted = 0;
    let feeding = true;
    const feeder = (async () => {
      while (feeding && !ctx.signal.aborted) {
        const [row] = (await pool.query<{ n: number }>(`select count(*)::int as n from tasks where status in ('scheduled', 'retry')`)).rows;
        const missing = BACKLOG - (row?.n ?? 0);
        if (missing > 0) {
          await submitMany(
            pool,
            Array.from({ length: missing }, () => ({
              task: 'chaos.work',
              args: [100 + Math.floor(durations() * 500)],
              maxRetries: null,
              errorEtaInc: 1,
              errorEtaMax: 1,
            })),
          );
          submitted += missing;
        }
        await pause(100);
      }
    })();
    ctx.defer(async () => {
      feeding = false;
      await feeder.catch(() => {});
    });

    await until(() => [...workers].filter((w) => w.id).length === WORKERS, { timeoutMs: 60_000, message: 'the first workers to start' });
    const stormStarted = Date.now();
    /** pid → when it was seen stopped (SIGSTOP, just before its SIGKILL): its attempts ended then. */
    const stoppedAt = new Map<number, number>();
    let bound = 0;
    let inFlightMax = 0;
    let diedOnTheirOwn = 0;
    /** A worker must die only of our SIGKILL: one that exited otherwise is reported, and replaced. */
    const reapUnexpected = () => {
      for (const w of workers) {
        if (w.proc.alive) continue;
        diedOnTheirOwn++;
        ctx.check(false, `${w.proc.name} exited on its own (${JSON.stringify(w.proc.exitInfo)}):\n${w.proc.output(20)}`);
        workers.delete(w);
        startWorker();
      }
    };
    for (let k = 0; k < kills && !ctx.signal.aborted; k++) {
      await pause(200 + random() * 500);
      reapUnexpected();
      // A victim has worked a while: one killed the moment it started would hold nothing.
      const ready = await until(
        () => {
          const r = [...workers].filter((w) => w.id && w.proc.alive && Date.now() - (w.readyAt ?? 0) >= VICTIM_MIN_AGE_MS);
          return r.length ? r : undefined;
        },
        { timeoutMs: 60_000, message: 'a started worker to kill' },
      );
      const victim = ready[Math.floor(random() * ready.length)] as WorkerProcess;
      // Stopped first, it can claim nothing more: the count below is everything it can have
      // started (a claim still in flight commits, but its tasks never reach a handler).
      stoppedAt.set(victim.proc.pid, await freeze(victim.proc));
      const [row] = (
        await pool.query<{ n: number }>(`select count(*)::int as n from tasks where status = 'processing' and worker_id = $1`, [victim.id])
      ).rows;
      const inFlight = row?.n ?? 0;
      bound += inFlight;
      inFlightMax = Math.max(inFlightMax, inFlight);
      victim.proc.signal('SIGKILL');
      await victim.proc.exited;
      workers.delete(victim);
      startWorker();
    }
    const stormSeconds = (Date.now() - stormStarted) / 1000;
    feeding = false;
    await feeder;
    // Ctrl-C: no drain, no verdict; the clean-up stops everything.
    if (ctx.signal.aborted) return;

    // Every victim's tasks wait for their lease to run out, then for a rescue and a retry.
    const settled = await until(
      async () => {
        const [r] = (await pool.query<{ n: number }>(`select count(*)::int as n from tasks where status <> 'done'`)).rows;
        return r?.n === 0;
      },
      { timeoutMs: 60_000, intervalMs: 200, message: 'every task to be done' },
    ).catch((err: Error) => {
      ctx.log(err.message);
      return false;
    });
    const totalSeconds = (Date.now() - stormStarted) / 1000;
    reapUnexpected();
    // The survivors stop gracefully on SIGTERM.
    const exits = await Promise.all([...workers].map((w) => w.proc.stop(10_000)));

    const byStatus = Object.fromEntries(
      (await pool.query<{ status: string; n: number }>('select status, count(*)::int as n from tasks group by status')).rows.map((r) => [
        r.status,
        r.n,
      ]),
    ) as Record<string, number>;
    const done = byStatus.done ?? 0;
    const stuck = (byStatus.processing ?? 0) + (byStatus.retry ?? 0) + (byStatus.scheduled ?? 0);
    const lost = submitted - done;

    const attempts = (
      await pool.query<{ uid: string; attempt: number; pid: number; started: number; finished: number | null }>(
        `select uid, attempt, pid, extract(epoch from started_at) * 1000 as started, extract(epoch from finished_at) * 1000 as finished
           from chaos_runs order by uid, started_at, id`,
      )
    ).rows.map((r): Attempt => ({ ...r, started: Number(r.started), finished: r.finished === null ? null : Number(r.finished) }));
    const ran = new Set(attempts.map((a) => a.uid)).size;
    const reruns = attempts.length - ran;

    // Consecutive attempts of one task: the later one must start after the earlier one ended. A
    // killed worker's unfinished attempt ended when the worker was stopped; a live worker's
    // unfinished attempt never ended, and so overlaps whatever follows it.
    let overlaps = 0;
    let overlapsOfVictims = 0;
    const examples: string[] = [];
    for (let i = 1; i < attempts.length; i++) {
      const a = attempts[i - 1] as Attempt;
      const b = attempts[i] as Attempt;
      if (a.uid !== b.uid) continue;
      const stopped = stoppedAt.get(a.pid);
      const end = a.finished ?? stopped ?? Number.POSITIVE_INFINITY;
      if (b.started < end) {
        overlaps++;
        if (stopped !== undefined) overlapsOfVictims++;
        if (examples.length < 5)
          examples.push(
            `${a.uid}: attempt ${a.attempt} (pid ${a.pid}${stopped ? ', killed' : ''}) and attempt ${b.attempt} (pid ${b.pid})`,
          );
      }
    }

    const [completions] = (
      await pool.query<{ doubled: number; foreign: number }>(
        `select count(*) filter (where n > 1)::int as doubled, count(*) filter (where not finished)::int as foreign
           from (select c.uid, count(*) as n,
                        bool_and(exists (select 1 from chaos_runs r where r.uid = c.uid and r.finished_at is not null
                                           and r.pid = (t.result ->> 'pid')::int)) as finished
                   from chaos_completions c join tasks t on t.uid = c.uid group by c.uid) x`,
      )
    ).rows;

    ctx.figure('kills', stoppedAt.size);
    ctx.figure('workers started', spawned);
    ctx.figure('tasks', submitted);
    ctx.figure('done', done);
    ctx.figure('lost', lost);
    ctx.figure('stuck', stuck);
    ctx.figure('attempts', attempts.length);
    ctx.figure('reruns', reruns);
    ctx.figure('bound (in flight at kills)', bound);
    ctx.figure('mean in flight at a kill', Number((bound / Math.max(1, stoppedAt.size)).toFixed(1)));
    ctx.figure('max in flight at a kill', inFlightMax);
    ctx.figure('overlaps', overlaps);
    ctx.figure('double completions', completions?.doubled ?? 0);
    ctx.figure('storm s', Number(stormSeconds.toFixed(1)));
    ctx.figure('wall s (storm + drain)', Number(totalSeconds.toFixed(1)));
    ctx.figure('throughput tasks/s', Number((done / totalSeconds).toFixed(1)));

    ctx.check(stoppedAt.size === kills || ctx.signal.aborted, `${stoppedAt.size} kills instead of ${kills}`);
    ctx.check(diedOnTheirOwn === 0, `${diedOnTheirOwn} workers died without being killed`);
    ctx.check(
      exits.every((e) => e.code === 0),
      `workers did not stop cleanly on SIGTERM: ${JSON.stringify(exits)}`,
    );
    ctx.check(settled === true, `tasks not done after the storm: ${JSON.stringify(byStatus)}`);
    ctx.check(lost === 0, `${lost} of ${submitted} submitted tasks are not done (${JSON.stringify(byStatus)})`);
    ctx.check(stuck === 0, `${stuck} tasks stuck in processing/retry/scheduled`);
    ctx.check(done === submitted, `${done} done tasks, but ${submitted} were submitted`);
    ctx.check(ran === submitted, `${ran} tasks left a ledger row, but ${submitted} were submitted`);
    ctx.check(reruns <= bound, `${reruns} re-runs, more than the ${bound} tasks the victims held when they were killed`);
    ctx.check(overlaps === 0, `${overlaps} overlapping attempts (${overlapsOfVictims} after a victim's): ${examples.join('; ')}`);
    ctx.check((completions?.doubled ?? 0) === 0, `${completions?.doubled} tasks were completed more than once`);
    ctx.check((completions?.foreign ?? 0) === 0, `${completions?.foreign} tasks hold a result from an attempt that never finished`);
    ctx.check(
      attempts.every((a) => a.finished !== null || stoppedAt.has(a.pid)),
      'a live worker left an attempt unfinished',
    );
  },
};
