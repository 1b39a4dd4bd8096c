import { startThrowawayPostgres } from './lib/postgres.ts';
import { pause, type Scenario, until } from './lib/scenario.ts';
import { checkAlive, drainAndCheck, readyWithin, startLoad, startStack } from './lib/stack.ts';

/**
 * pg_terminate_backend on every connection Eventix holds, again and again: the pools of the API,
 * workers and scheduler, the workers' and the API's LISTEN connections. This is what a failover, a
 * PgBouncer restart or an idle-connection killer does. Every process must live, nothing acknowledged
 * may be lost, and the LISTEN connections must come back (a task submitted afterwards starts at
 * NOTIFY speed, well inside one poll interval).
 */
export const scenario: Scenario = {
  name: 'terminate-storm',
  summary: 'pg_terminate_backend storms on every kind of connection, LISTEN included: all alive, nothing lost, LISTEN back',
  async run(ctx) {
    const db = await startThrowawayPostgres();
    ctx.defer(() => db.stop());
    const stack = await startStack(ctx, db, { workers: 2 });
    const load = startLoad(stack, { intervalMs: 5, workMs: () => 20 + Math.floor(Math.random() * 300) });
    ctx.defer(() => load.stop());
    await until(
      async () => ((await db.query<{ n: number }>("select count(*)::int as n from tasks where status = 'done'"))[0]?.n ?? 0) > 20,
      {
        timeoutMs: 60_000,
        message: 'tasks completing before the first storm',
      },
    );

    const rounds = ctx.short ? 5 : 40;
    const byApplication: Record<string, number> = {};
    let terminated = 0;
    for (let i = 0; i < rounds && !ctx.signal.aborted; i++) {
      const r = await db.terminate('eventix%');
      terminated += r.terminated;
      for (const [app, n] of Object.entries(r.byApplication)) byApplication[app] = (byApplication[app] ?? 0) + n;
      // Pacing only: connections are re-opened between storms, and the next storm kills those.
      await pause(200 + Math.floor(Math.random() * 600));
    }
    ctx.figure('storms', rounds);
    ctx.figure('backends terminated', terminated);
    ctx.figure(
      'by application_name',
      Object.entries(byApplication)
        .map(([a, n]) => `${a}=${n}`)
        .join(' '),
    );
    ctx.check((byApplication['eventix-listener'] ?? 0) >= 3, 'the storms never hit the LISTEN connections of the three processes');
    ctx.check((byApplication.eventix ?? 0) > 0, 'the storms never hit a pooled connection');
    checkAlive(ctx, stack, 'after the storms');
    ctx.figure('/readyz after the last storm (ms)', await readyWithin(stack, 10_000).catch(() => Number.POSITIVE_INFINITY));

    // Every LISTEN connection is back: each process holds one again.
    const listeners = await until(
      async () => {
        const [row] = await db.query<{ n: number }>(
          "select count(*)::int as n from pg_stat_activity where datname = 'eventix' and application_name = 'eventix-listener'",
        );
        // Exactly one per process: every worker and the API in a process share its LISTEN connection.
        return row?.n === 3 ? row.n : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 100, message: 'the three LISTEN connections are back' },
    ).catch(() => 0);
    ctx.figure('LISTEN connections after the storms', listeners);
    ctx.check(listeners === 3, `the LISTEN connections did not settle at one per process (3) within 60 s`);
    await load.stop();

    // Idle workers now wake on NOTIFY, not on their 1 s poll: submit-to-start well under the poll interval.
    await drainAndCheck(ctx, db, load, 90_000);
    const latencies: number[] = [];
    for (let i = 0; i < 10; i++) {
      const at = Date.now();
      const r = await stack.request('POST', '/tasks', { task: 'chaos.work', args: [1] });
      const uid = (r.json as { task?: { uid: string } }).task?.uid;
      if (!uid) continue;
      await until(async () => (await db.query('select 1 from chaos_runs where uid = $1', [uid])).length > 0, {
        timeoutMs: 10_000,
        intervalMs: 5,
        message: 'probe started',
      });
      latencies.push(Date.now() - at);
    }
    latencies.sort((a, b) => a - b);
    const median = latencies[Math.floor(latencies.length / 2)] ?? Number.POSITIVE_INFINITY;
    ctx.figure('idle submit-to-start after the storms, median of 10 (ms)', median);
    ctx.check(median < 500, `idle submit-to-start ${median} ms: the workers poll instead of listening`);
    checkAlive(ctx, stack, 'at the end');
  },
};
