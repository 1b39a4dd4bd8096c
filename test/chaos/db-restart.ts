import { type ShutdownMode, startThrowawayPostgres } from './lib/postgres.ts';
import type { Scenario } from './lib/scenario.ts';
import { until } from './lib/scenario.ts';
import { checkAlive, drainAndCheck, readyWithin, startLoad, startStack } from './lib/stack.ts';

/**
 * PostgreSQL restarts (`pg_ctl restart -m fast`, and `-m immediate`, a crash) while workers run
 * tasks, the API takes submissions and the scheduler fires every second. Every process must live
 * through it, /readyz must be back within 10 s, and nothing acknowledged may be lost.
 */
export const scenario: Scenario = {
  name: 'db-restart',
  summary: 'pg_ctl restart -m fast / -m immediate under load: every process alive, /readyz back within 10 s, nothing lost',
  async run(ctx) {
    const db = await startThrowawayPostgres();
    ctx.defer(() => db.stop());
    const stack = await startStack(ctx, db, { workers: 2 });
    const created = await stack.request('POST', '/schedules', {
      name: 'chaos-every-second',
      cron: '* * * * * *',
      task: 'chaos.work',
      args: [5],
      misfire: 'all',
      options: { max_retries: null, error_eta_inc: 1, error_eta_max: 2 },
    });
    ctx.check(created.status === 201, `creating the schedule answered ${created.status}: ${JSON.stringify(created.json)}`);

    const load = startLoad(stack, { intervalMs: 5, workMs: () => 20 + Math.floor(Math.random() * 400) });
    ctx.defer(() => load.stop());
    // Warm up: the load and the schedule are really running before the first fault.
    await until(
      async () => ((await db.query<{ n: number }>("select count(*)::int as n from tasks where status = 'done'"))[0]?.n ?? 0) > 20,
      {
        timeoutMs: 60_000,
        message: 'tasks completing before the first restart',
      },
    );

    const plan: { mode: ShutdownMode; downMs?: number }[] = ctx.short
      ? [{ mode: 'immediate' }]
      : [
          { mode: 'fast' },
          { mode: 'immediate' },
          { mode: 'fast', downMs: 1500 },
          { mode: 'immediate', downMs: 1500 },
          { mode: 'immediate' },
        ];
    const readyMs: number[] = [];
    const startMs: number[] = [];
    for (const [i, step] of plan.entries()) {
      if (ctx.signal.aborted) break;
      // Let the load run between restarts, so each restart hits running tasks.
      await until(async () => (await db.query<{ n: number }>("select count(*)::int as n from tasks where status = 'processing'"))[0]?.n, {
        timeoutMs: 30_000,
        message: 'tasks running before the restart',
      });
      const { downMs } = await db.restart(step.mode, step.downMs ? { downMs: step.downMs } : {});
      const label = `restart ${i + 1} (-m ${step.mode}${step.downMs ? `, down ${step.downMs} ms` : ''})`;
      ctx.log(`${label}: pg_ctl took ${downMs} ms`);
      let ready: number;
      try {
        ready = await readyWithin(stack, 10_000);
      } catch {
        ready = Number.POSITIVE_INFINITY;
      }
      readyMs.push(ready);
      ctx.check(ready <= 10_000, `${label}: /readyz not 200 within 10 s of the server being back`);
      // A task submitted now must start promptly: the workers' loops and wake-ups are back.
      const probeAt = Date.now();
      const probe = await stack.request('POST', '/tasks', { task: 'chaos.work', args: [1], priority: 100 });
      const uid = (probe.json as { task?: { uid: string } }).task?.uid;
      ctx.check(probe.status === 201 && uid !== undefined, `${label}: a submission after the restart answered ${probe.status}`);
      if (uid) {
        load.acknowledged.add(uid);
        try {
          await until(async () => (await db.query('select 1 from chaos_runs where uid = $1', [uid])).length > 0, {
            timeoutMs: 15_000,
            intervalMs: 20,
            message: 'the probe task started',
          });
          startMs.push(Date.now() - probeAt);
        } catch {
          ctx.check(false, `${label}: a task submitted after the restart did not start within 15 s`);
        }
      }
      checkAlive(ctx, stack, `after ${label}`);
    }
    await load.stop();
    ctx.figure('restarts', plan.length);
    ctx.figure('/readyz back after restart (ms)', readyMs.join(', '));
    ctx.figure('submit-to-start after restart (ms)', startMs.join(', '));
    ctx.figure('POST /tasks answers', [...load.statuses].map(([s, n]) => `${s}×${n}`).join(' '));
    ctx.check(![...load.statuses.keys()].some((s) => s >= 500 && s !== 503), 'a submission answered a 5xx other than 503');
    ctx.check(load.retryAfterMissing === 0, `${load.retryAfterMissing} 503 answers without Retry-After`);
    ctx.check(load.socketErrors === 0, `${load.socketErrors} submissions lost their connection`);
    ctx.figure('socket errors', load.socketErrors);

    await drainAndCheck(ctx, db, load, 90_000);
    const [fires] = await db.query<{ fires: number; tasks: number; doubled: number }>(
      `select (select count(*)::int from schedule_fires where schedule_name = 'chaos-every-second') as fires,
              (select count(*)::int from tasks where schedule_name = 'chaos-every-second') as tasks,
              (select count(*)::int from (select schedule_fire_at from tasks where schedule_name = 'chaos-every-second'
                                          group by schedule_fire_at having count(*) > 1) d) as doubled`,
    );
    ctx.figure('schedule fires', fires?.fires ?? 0);
    ctx.check((fires?.fires ?? 0) > 0 && fires?.fires === fires?.tasks, `schedule fires ${fires?.fires} against tasks ${fires?.tasks}`);
    ctx.check(fires?.doubled === 0, `${fires?.doubled} fire times got more than one task`);
    checkAlive(ctx, stack, 'at the end');
  },
};
