import { EventEmitter } from 'node:events';
import type pg from 'pg';
import { run } from '../db/executor.ts';
import { withTransaction } from '../db/transaction.ts';
import { coerceError, type Logger, silentLogger } from '../logger.ts';
import { type FireOutcome, recordFires } from './fire.ts';
import { DEFAULT_MAX_FIRES_PER_RUN, DEFAULT_MISFIRE_ALL_MAX, planFires } from './plan.ts';
import { type MisfirePolicy, type ScheduleRowRaw, toSchedule } from './schedule-input.ts';

export interface SchedulerOptions {
  pool: pg.Pool;
  logger?: Logger;
  /** How often to look for due schedules. Sets the latency of a fire; 1 s suits second-level crons. */
  intervalMs?: number;
  /** The time the scheduler plans with. Injected by tests; the fire ledger makes clock skew between processes harmless. */
  clock?: () => Date;
  /** Schedules claimed per transaction. */
  batchSize?: number;
  /** A due fire seen within this long after its time is on time, not missed (see plan.ts). Default: 5 s, or two intervals if longer. */
  misfireGraceMs?: number;
  /** Most fires of one schedule handled in one transaction (the rest follow in the next). */
  maxFiresPerRun?: number;
  /** Backlog cap of misfire: 'all'. */
  misfireAllMax?: number;
  /** Ledger rows (schedule_fires) older than this are pruned, except each schedule's latest. Default 7 days. */
  fireRetentionSeconds?: number;
}

export interface TickResult {
  /** Schedules handled (due and claimed by this process). */
  schedules: number;
  /** Fires recorded, with or without a task. */
  fires: number;
  /** Schedules that failed and were left for the next tick. */
  failed: number;
}

export interface SchedulerEvents {
  'scheduler:started': [];
  'scheduler:stopped': [];
  'scheduler:tick': [TickResult & { now: Date }];
  'schedule:fired': [{ schedule: string; namespace: string; fireAt: Date; outcome: FireOutcome; taskUid: string | null }];
  'schedule:missed': [{ schedule: string; policy: MisfirePolicy; first: Date; last: Date }];
  'scheduler:error': [{ error: Error; schedule?: string }];
}

export type SchedulerState = 'created' | 'running' | 'stopping' | 'stopped';

/**
 * The claim. Any number of schedulers run this at once, with no leader:
 * - FOR UPDATE SKIP LOCKED hands each due schedule to one of them at a time; the others skip it
 *   (no waiting) and go on to other schedules. A schedule's fires are therefore planned by one
 *   process at a time, from the next_fire_at the previous holder committed.
 * - The row lock alone would not make fires exactly-once: next_fire_at can move backwards (an
 *   edit or resume computed on an API host whose clock lags ours) and a fire time come due twice.
 *   The ledger's unique (schedule_name, fire_at), inserted in the same transaction as the task,
 *   catches that: the second insert returns nothing and submits nothing.
 * - A scheduler that dies mid-transaction holds nothing: its transaction rolls back, the lock goes
 *   with the connection, and the next tick of any scheduler fires the same times.
 * A leader would add failover latency and a second source of truth; this adds one index probe.
 */
const DUE_SQL = `
select * from schedules
where enabled and next_fire_at <= $1 and id <> all($2::bigint[])
order by next_fire_at, id
limit $3
for update skip locked
`;

/**
 * The row lock makes this row ours until commit; the revision guard turns a broken assumption
 * (a writer that did not take the lock) into a rolled-back schedule instead of a silent overwrite.
 */
const ADVANCE_SQL = `
update schedules set
  next_fire_at = $2,
  last_fired_at = greatest(last_fired_at, $3::timestamptz),
  updated_at = now()
where id = $1 and revision = $4
returning id
`;

/** Old ledger rows, keeping each schedule's newest (the overlap check reads it). */
const PRUNE_FIRES_SQL = `
with old as (
  select f.id from schedule_fires f
  where f.created_at < now() - make_interval(secs => $1)
    and exists (select 1 from schedule_fires g where g.schedule_name = f.schedule_name and g.fire_at > f.fire_at)
  order by f.created_at
  limit $2
  for update skip locked
)
delete from schedule_fires f using old where f.id = old.id
`;

const PRUNE_EVERY_MS = 3_600_000;

/**
 * The cron service: fires stored schedules (see plan.ts for the misfire rules). `eventix start`
 * runs one and `eventix scheduler` runs one alone; any number may share a database. States:
 * created → running → stopping → stopped. tick() is also callable directly (tests drive it with an
 * injected clock).
 */
export class Scheduler extends EventEmitter<SchedulerEvents> {
  private state: SchedulerState = 'created';
  private readonly pool: pg.Pool;
  private readonly logger: Logger;
  private readonly clock: () => Date;
  readonly intervalMs: number;
  private readonly batchSize: number;
  readonly misfireGraceMs: number;
  private readonly maxFiresPerRun: number;
  private readonly misfireAllMax: number;
  private readonly fireRetentionSeconds: number;
  private loopDone: Promise<void> | undefined;
  private readonly sleeper = new AbortController();
  private lastPrune = Number.NEGATIVE_INFINITY;

  constructor(opts: SchedulerOptions) {
    super();
    this.pool = opts.pool;
    this.logger = (opts.logger ?? silentLogger).child({ component: 'scheduler' });
    this.clock = opts.clock ?? (() => new Date());
    this.intervalMs = opts.intervalMs ?? 1000;
    this.batchSize = opts.batchSize ?? 20;
    this.misfireGraceMs = opts.misfireGraceMs ?? Math.max(5000, 2 * this.intervalMs);
    this.maxFiresPerRun = opts.maxFiresPerRun ?? DEFAULT_MAX_FIRES_PER_RUN;
    this.misfireAllMax = opts.misfireAllMax ?? DEFAULT_MISFIRE_ALL_MAX;
    this.fireRetentionSeconds = opts.fireRetentionSeconds ?? 7 * 86400;
    if (this.intervalMs < 1) throw new TypeError('intervalMs must be positive');
    if (this.batchSize < 1 || this.maxFiresPerRun < 1 || this.misfireAllMax < 1)
      throw new TypeError('batch sizes and caps must be at least 1');
  }

  get status(): SchedulerState {
    return this.state;
  }

  start(): void {
    if (this.state !== 'created') throw new Error(`cannot start a scheduler that is ${this.state}`);
    this.state = 'running';
    this.loopDone = this.loop();
    this.safeEmit('scheduler:started');
  }

  async stop(): Promise<void> {
    if (this.state === 'created') {
      this.state = 'stopped';
      return;
    }
    if (this.state !== 'running') return this.loopDone;
    this.state = 'stopping';
    this.sleeper.abort();
    await this.loopDone;
    this.state = 'stopped';
    this.safeEmit('scheduler:stopped');
  }

  private async loop(): Promise<void> {
    while (this.state === 'running') {
      try {
        await this.tick();
      } catch (err) {
        this.report(err);
      }
      // Sleep to just past the next interval boundary: second-level fires go out a few ms after
      // their second instead of drifting by each tick's duration.
      const at = this.clock().getTime();
      await this.sleep(this.intervalMs - (at % this.intervalMs) + 5);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.sleeper.signal.aborted) return resolve();
      const done = () => {
        clearTimeout(timer);
        this.sleeper.signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.sleeper.signal.addEventListener('abort', done, { once: true });
    });
  }

  /**
   * Fire everything due at the clock's current time: claim due schedules a batch at a time, each
   * batch one transaction, until none is left that another process does not hold. A schedule that
   * fails is rolled back to its savepoint, reported, and left for the next tick.
   */
  async tick(): Promise<TickResult> {
    const now = this.clock();
    const failed: number[] = [];
    const result: TickResult = { schedules: 0, fires: 0, failed: 0 };
    for (;;) {
      const { claimed, events } = await this.runBatch(now, failed, result);
      for (const emit of events) emit();
      if (claimed < this.batchSize) break;
    }
    result.failed = failed.length;
    if (now.getTime() - this.lastPrune >= PRUNE_EVERY_MS) {
      this.lastPrune = now.getTime();
      await this.pruneFires();
    }
    this.safeEmit('scheduler:tick', { ...result, now });
    return result;
  }

  private async runBatch(now: Date, failed: number[], result: TickResult): Promise<{ claimed: number; events: (() => void)[] }> {
    return withTransaction(this.pool, async (client) => {
      const events: (() => void)[] = [];
      const rows = await run<ScheduleRowRaw>(client, DUE_SQL, [now, failed, this.batchSize]);
      for (const row of rows) {
        await client.query('savepoint schedule');
        try {
          events.push(...(await this.fireOne(client, row, now, result)));
          await client.query('release savepoint schedule');
        } catch (err) {
          await client.query('rollback to savepoint schedule');
          failed.push(row.id);
          events.push(() => this.report(err, row.name));
        }
      }
      return { claimed: rows.length, events };
    });
  }

  private async fireOne(client: pg.PoolClient, row: ScheduleRowRaw, now: Date, result: TickResult): Promise<(() => void)[]> {
    const schedule = toSchedule(row);
    const due = row.next_fire_at as Date;
    const plan = planFires({
      cron: schedule.cron,
      timezone: schedule.timezone,
      misfire: schedule.misfire,
      nextFireAt: due,
      now,
      graceMs: this.misfireGraceMs,
      maxPerRun: this.maxFiresPerRun,
      backlogMax: this.misfireAllMax,
    });
    const fires = await recordFires(client, schedule, plan.fire, 'scheduled');
    const lastFired = fires.filter((f) => f.task).at(-1)?.fireAt ?? null;
    const advanced = await run(client, ADVANCE_SQL, [row.id, plan.nextFireAt, lastFired, row.revision]);
    if (advanced.length !== 1) throw new Error(`schedule '${schedule.name}' changed under its row lock`);
    result.schedules++;
    result.fires += fires.length;
    const events: (() => void)[] = [];
    if (plan.dropped) {
      const { first, last } = plan.dropped;
      events.push(() => {
        this.logger.warn(
          { schedule: schedule.name, policy: schedule.misfire, first, last },
          'missed fire times dropped by the misfire policy',
        );
        this.safeEmit('schedule:missed', { schedule: schedule.name, policy: schedule.misfire, first, last });
      });
    }
    for (const f of fires) {
      events.push(() => {
        this.logger.debug({ schedule: schedule.name, fireAt: f.fireAt, outcome: f.outcome, taskUid: f.task?.uid }, 'schedule fired');
        this.safeEmit('schedule:fired', {
          schedule: schedule.name,
          namespace: schedule.namespace,
          fireAt: f.fireAt,
          outcome: f.outcome,
          taskUid: f.task?.uid ?? null,
        });
      });
    }
    return events;
  }

  /** Delete old ledger rows in bounded batches; a failure is reported and retried an hour later. */
  async pruneFires(): Promise<number> {
    let total = 0;
    try {
      for (;;) {
        const rows = await this.pool.query(PRUNE_FIRES_SQL, [this.fireRetentionSeconds, 5000]);
        total += rows.rowCount ?? 0;
        if ((rows.rowCount ?? 0) < 5000) break;
      }
    } catch (err) {
      this.report(err);
    }
    return total;
  }

  private report(err: unknown, schedule?: string): void {
    const error = coerceError(err);
    this.logger.error({ err: error, schedule }, schedule ? 'schedule could not fire; retrying next tick' : 'scheduler tick failed');
    this.safeEmit('scheduler:error', schedule === undefined ? { error } : { error, schedule });
  }

  private safeEmit<K extends keyof SchedulerEvents>(event: K, ...args: SchedulerEvents[K]): void {
    try {
      (this.emit as (e: K, ...a: SchedulerEvents[K]) => boolean)(event, ...args);
    } catch (err) {
      this.logger.error({ err: coerceError(err), event }, 'event listener threw');
    }
  }
}
