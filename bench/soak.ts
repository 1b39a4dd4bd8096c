/**
 * `npm run bench -- --soak`: Eventix steady at a million-task backlog.
 *
 * 1. Claim latency with 10,000 tasks waiting, then with --soak-n (default 1,000,000) waiting:
 *    the median of rolled-back claims of 16 (BEGIN; claim; ROLLBACK), so a probe changes nothing.
 * 2. One worker (concurrency --concurrency, default prefetch) drains while a producer keeps the
 *    backlog at --soak-n by submitting batches of 5,000: --soak-n tasks go through with the table
 *    at its largest. Every 100,000 finished: processed/s over that stretch, tasks waiting, a claim
 *    probe, and the tasks table's n_dead_tup / live rows and its autovacuum count.
 *
 * Verdicts, from issue 14: the last stretch runs within 20 % of the first; claim latency at the
 * full backlog is within 1.5× of that at 10,000; dead tuples stay bounded (at most a fifth of the
 * live rows, where autovacuum's default scale factor would let them reach). Exit 1 if one fails.
 */
import { performance } from 'node:perf_hooks';
import type pg from 'pg';
import { createDatabase, type Database } from '../src/db/client.ts';
import { migrate } from '../src/db/migrate.ts';
import { claim } from '../src/queue/claim.ts';
import { submitMany } from '../src/queue/index.ts';
import { defineTask } from '../src/worker/registry.ts';
import { Worker } from '../src/worker/worker.ts';
import { withDatabase } from './databases.ts';
import { cleanup, freshDatabase, live, openServer } from './lifecycle.ts';
import type { Options } from './options.ts';
import { progress } from './progress.ts';
import { summarize } from './stats.ts';

const TASK = 'bench_soak';
const BATCH = 5000;
const STRETCH = 100_000;

interface Stretch {
  finished: number;
  seconds: number;
  perSecond: number;
  waiting: number;
  claimMs: number;
  deadTuples: number;
  liveTuples: number;
  autovacuums: number;
}

/** Median ms of `samples` claims of 16, each rolled back: the backlog is the same after as before. */
async function probeClaim(pool: pg.Pool, samples: number): Promise<number> {
  const client = await pool.connect();
  const times: number[] = [];
  try {
    for (let i = 0; i < samples; i++) {
      await client.query('begin');
      const t0 = performance.now();
      await claim(client, { workerId: 'soak-probe', namespaces: ['default'], tasks: [TASK], limit: 16, leaseSeconds: 30 });
      times.push(performance.now() - t0);
      await client.query('rollback');
    }
  } finally {
    client.release();
  }
  return summarize(times).p50;
}

async function tableStats(pool: pg.Pool) {
  const { rows } = await pool.query<{ dead: string; live: string; autovacuums: string }>(
    `select n_dead_tup as dead, n_live_tup as live, autovacuum_count as autovacuums from pg_stat_user_tables where relname = 'tasks'`,
  );
  const r = rows[0];
  return { dead: Number(r?.dead ?? 0), live: Number(r?.live ?? 0), autovacuums: Number(r?.autovacuums ?? 0) };
}

export async function runSoak(opts: Options): Promise<number> {
  const n = opts.soakN;
  const { url, description, admin, settings } = await openServer();
  progress(`soak: ${n.toLocaleString('en-US')} tasks on PostgreSQL ${settings.server_version} (${description})`);
  const dbName = 'bench_soak';
  await freshDatabase(admin, dbName);
  const dbUrl = withDatabase(url, dbName);
  const producer: Database = createDatabase({ url: dbUrl, applicationName: 'eventix-soak-producer' });
  let worker: Worker | undefined;
  let workerDb: Database | undefined;
  live.stops.add(async () => {
    await worker?.stop();
    await workerDb?.close();
    await producer.close();
  });
  await migrate(producer.pool);

  let submitted = 0;
  const submit = async (count: number) => {
    const first = submitted;
    submitted += count;
    await submitMany(
      producer.pool,
      Array.from({ length: count }, (_, i) => ({ task: TASK, args: [first + i] })),
    );
  };
  const fill = async (upTo: number) => {
    let last = 0;
    while (submitted < upTo) {
      await submit(Math.min(BATCH, upTo - submitted));
      if (performance.now() - last > 2000) {
        last = performance.now();
        progress(`soak: ${submitted.toLocaleString('en-US')} waiting`);
      }
    }
  };

  await fill(Math.min(10_000, n));
  const claimAt10k = await probeClaim(producer.pool, 50);
  progress(`soak: claim of 16 with 10,000 waiting: ${claimAt10k.toFixed(2)} ms (median of 50)`);
  await fill(n);
  const claimAtN = await probeClaim(producer.pool, 50);
  progress(`soak: claim of 16 with ${n.toLocaleString('en-US')} waiting: ${claimAtN.toFixed(2)} ms (median of 50)`);

  // Every task id must start once: ids are dense, so a byte per id is the whole record.
  const starts = new Uint8Array(2 * n + BATCH);
  let duplicates = 0;
  let finished = 0;
  // Both loops below wait for the next BATCH of completions.
  let waiters: (() => void)[] = [];
  const progressed = () => new Promise<void>((r) => waiters.push(r));
  const wakeAll = () => {
    const w = waiters;
    waiters = [];
    for (const r of w) r();
  };
  workerDb = createDatabase({ url: dbUrl, applicationName: 'eventix-soak-worker' });
  worker = new Worker({
    pool: workerDb.pool,
    concurrency: opts.concurrency,
    tasks: [
      defineTask(TASK, (args) => {
        const id = args[0] as number;
        if (starts[id]) duplicates++;
        starts[id] = 1;
      }),
    ],
  });
  worker.on('worker:error', ({ error, during }) => progress(`soak: worker error during ${during}: ${error.message}`));
  worker.on('task:completed', () => {
    finished++;
    if (finished % BATCH === 0 || finished === n) wakeAll();
  });

  const stretches: Stretch[] = [];
  const t0 = performance.now();
  let mark = t0;
  let markFinished = 0;
  await worker.start();
  // The producer keeps the backlog at n while the first n tasks go through.
  const topUp = (async () => {
    while (finished < n) {
      if (submitted - finished < n) await submit(BATCH);
      else await progressed();
    }
  })();
  while (finished < n) {
    await progressed();
    if (finished - markFinished < STRETCH && finished < n) continue;
    const now = performance.now();
    const [stats, claimMs] = [await tableStats(producer.pool), await probeClaim(producer.pool, 10)];
    const s: Stretch = {
      finished,
      seconds: (now - mark) / 1000,
      perSecond: (finished - markFinished) / ((now - mark) / 1000),
      waiting: submitted - finished,
      claimMs,
      deadTuples: stats.dead,
      liveTuples: stats.live,
      autovacuums: stats.autovacuums,
    };
    stretches.push(s);
    progress(
      `soak: ${s.finished.toLocaleString('en-US')} done, ${Math.round(s.perSecond)}/s, ${s.waiting.toLocaleString('en-US')} waiting, claim ${s.claimMs.toFixed(2)} ms, n_dead_tup ${s.deadTuples.toLocaleString('en-US')} of ${s.liveTuples.toLocaleString('en-US')} live, ${s.autovacuums} autovacuums`,
    );
    mark = performance.now();
    markFinished = finished;
  }
  wakeAll();
  await topUp;
  const seconds = (performance.now() - t0) / 1000;
  await worker.stop();
  await cleanup();

  // The stretch ending at n may be short of 100,000: "the last 100,000" is the last full one.
  const full = stretches.filter((s, i) => i === 0 || s.finished - (stretches[i - 1] as Stretch).finished >= STRETCH);
  const first = full[0];
  const last = full[full.length - 1];
  const steady = first && last ? last.perSecond / first.perSecond : Number.NaN;
  const claimRatio = claimAtN / claimAt10k;
  const worstDead = Math.max(...stretches.map((s) => s.deadTuples / Math.max(1, s.liveTuples)));
  const verdicts = [
    [`last 100k at ${(steady * 100).toFixed(0)} % of the first (bound: ≥ 80 %)`, steady >= 0.8],
    [`claim at ${n.toLocaleString('en-US')} waiting ${claimRatio.toFixed(2)}× that at 10,000 (bound: ≤ 1.5×)`, claimRatio <= 1.5],
    [`n_dead_tup at most ${(worstDead * 100).toFixed(1)} % of live rows (bound: ≤ 20 %)`, worstDead <= 0.2],
    [`every task started once (${duplicates} started twice)`, duplicates === 0],
  ] as const;
  console.log(
    `\nEventix soak — ${n.toLocaleString('en-US')} tasks through a ${n.toLocaleString('en-US')}-task backlog, concurrency ${opts.concurrency}, PostgreSQL ${settings.server_version}, ${seconds.toFixed(0)} s`,
  );
  console.log('finished    processed/s  waiting     claim ms  n_dead_tup  live rows   autovacuums');
  for (const s of stretches) {
    console.log(
      `${s.finished.toLocaleString('en-US').padEnd(10)}  ${Math.round(s.perSecond).toLocaleString('en-US').padStart(11)}  ${s.waiting.toLocaleString('en-US').padEnd(10)}  ${s.claimMs.toFixed(2).padStart(8)}  ${s.deadTuples.toLocaleString('en-US').padStart(10)}  ${s.liveTuples.toLocaleString('en-US').padEnd(10)}  ${String(s.autovacuums).padStart(11)}`,
    );
  }
  console.log(`claim of 16: ${claimAt10k.toFixed(2)} ms at 10,000 waiting, ${claimAtN.toFixed(2)} ms at ${n.toLocaleString('en-US')}`);
  for (const [what, ok] of verdicts) console.log(`${ok ? 'ok  ' : 'FAIL'}  ${what}`);
  return verdicts.every(([, ok]) => ok) ? 0 : 1;
}
