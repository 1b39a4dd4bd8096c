// frozen-worker: a worker stopped (SIGSTOP) past its lease, as a long GC pause, a stalled VM or a
// suspended laptop would: its task is rescued and re-run by a second worker; thawed (SIGCONT), the
// frozen worker's late completion must be refused by fencing, and the worker must carry on. Once
// over SQL (`eventix worker`), once over HTTP (a RemoteWorker against `eventix api`).
import { fileURLToPath } from 'node:url';
import { createDatabase } from '../../src/db/client.ts';
import { submitMany } from '../../src/queue/submit.ts';
import { CREATE_COMPLETION_AUDIT } from './lib/audit.ts';
import { freeze, thaw } from './lib/freeze.ts';
import { CREATE_LEDGER } from './lib/ledger.ts';
import { startThrowawayPostgres } from './lib/postgres.ts';
import { Managed, spawnEventix } from './lib/processes.ts';
import type { Scenario, ScenarioContext } from './lib/scenario.ts';
import { until } from './lib/scenario.ts';

const TASKS = 'test/chaos/fixtures/frozen-tasks.ts';
const REMOTE_WORKER = fileURLToPath(new URL('./fixtures/remote-worker.ts', import.meta.url));
const LEASE_SECONDS = 5;
/**
 * The first attempt's sleep. The worker claims the task as soon as it starts, and its first
 * heartbeat is due a third of the lease after that; this is shorter, so when the frozen worker
 * thaws, its sleep's timer is the older one and fires first: the completion is sent before the
 * heartbeat can find the lease gone (see fixtures/frozen-tasks.ts). It is also long enough for
 * the SIGSTOP to land while the attempt still runs.
 */
const FIRST_MS = 800;
/** The rescued attempt's sleep: long enough that the thawed worker's late completion arrives while it runs. */
const LATER_MS = 3000;
/** The reason the library worker gives when a heartbeat (not a completion) found the lease lost. */
const HEARTBEAT_LOSS = 'the task is no longer held by this worker';

interface Started {
  proc: Managed;
  id: string;
}

interface Driver {
  label: string;
  start(name: string): Promise<Started>;
  /** Resolves with a description of the frozen worker's refused late completion of `uid`. */
  refusal(w: Started, uid: string): Promise<string>;
  /** Refused writes (completions, heartbeats) the frozen worker reported so far. */
  refusedWrites(w: Started): number;
}

type Pool = ReturnType<typeof createDatabase>['pool'];

async function submitFrozenTask(pool: Pool, first: number, later: number): Promise<string> {
  const [r] = await submitMany(pool, [{ task: 'chaos.frozen', args: [first, later], maxRetries: null, errorEtaInc: 1, errorEtaMax: 1 }]);
  if (!r) throw new Error('submit returned nothing');
  return r.task.uid;
}

async function taskRow(pool: Pool, uid: string) {
  const { rows } = await pool.query<{
    status: string;
    worker_id: string | null;
    attempts: number;
    lease_expires_at: Date | null;
    result: { pid?: number; attempt?: number } | null;
  }>('select status, worker_id, attempts, lease_expires_at, result from tasks where uid = $1', [uid]);
  if (!rows[0]) throw new Error(`task ${uid} is gone`);
  return rows[0];
}

/** The writes that left the task done, each with the pid in its result: the process that wrote it (the row's worker_id is its last claimer's). */
async function completions(pool: Pool, uid: string) {
  const { rows } = await pool.query<{ pid: number | null }>(
    `select (result ->> 'pid')::int as pid from chaos_completions where uid = $1 order by id`,
    [uid],
  );
  return rows.map((r) => r.pid);
}

/** One freeze: returns once the frozen worker has been shown to carry on. */
async function freezeCase(ctx: ScenarioContext, pool: Pool, d: Driver): Promise<void> {
  const p = (name: string) => `${d.label} ${name}`;
  const uid = await submitFrozenTask(pool, FIRST_MS, LATER_MS);
  // Started after the submit, the worker claims the task at once (see FIRST_MS).
  const a = await d.start(`${d.label}-frozen`);
  // A thawed process exits on the clean-up's SIGTERM; a stopped one would only take SIGKILL.
  ctx.defer(() => a.proc.signal('SIGCONT'));
  await a.proc.waitForLine(new RegExp(`^chaos\\.frozen started ${uid} attempt 1$`), 30_000);
  const frozenAt = await freeze(a.proc);
  const held = await taskRow(pool, uid);
  if (held.status !== 'processing' || held.worker_id !== a.id || !held.lease_expires_at) {
    throw new Error(
      `${d.label}: the first attempt was no longer running when the worker stopped (${JSON.stringify(held)}): too slow a machine?`,
    );
  }
  const leaseExpiry = held.lease_expires_at.getTime();

  // The rescuer: the frozen worker's lease runs out, maintenance rescues the task, this one re-runs it.
  const b = await d.start(`${d.label}-rescuer`);
  await b.proc.waitForLine(new RegExp(`^chaos\\.frozen started ${uid} attempt 2$`), LEASE_SECONDS * 1000 + 30_000);
  const [second] = (
    await pool.query<{ started: Date }>('select started_at as started from chaos_runs where uid = $1 and attempt = 2', [uid])
  ).rows;
  const rescuedAt = second?.started.getTime() ?? Number.NaN;
  ctx.figure(p('frozen s'), Number(((Date.now() - frozenAt) / 1000).toFixed(1)));
  ctx.figure(p('rescue latency ms (lease expiry → re-run)'), Math.round(rescuedAt - leaseExpiry));
  ctx.figure(p('freeze → re-run ms'), Math.round(rescuedAt - frozenAt));

  // Thawed while the rescuer still runs the task: the late completion meets another worker's lease.
  await thaw(a.proc);
  const refusal = await d.refusal(a, uid).catch((err: Error) => {
    ctx.check(false, `${d.label}: no refused late completion from the thawed worker: ${err.message}`);
    return undefined;
  });
  await until(async () => (await taskRow(pool, uid)).status === 'done', {
    timeoutMs: LATER_MS + 30_000,
    message: `${d.label}: the re-run to finish`,
  });
  const final = await taskRow(pool, uid);
  const written = await completions(pool, uid);
  ctx.figure(p('refused late writes'), d.refusedWrites(a));
  if (refusal) ctx.figure(p('refusal'), refusal);
  ctx.figure(p('completions recorded'), written.length);

  ctx.check(
    final.result?.pid === b.proc.pid && final.result?.attempt === 2,
    `${d.label}: the result is not the re-run's: ${JSON.stringify(final.result)}`,
  );
  ctx.check(
    written.length === 1 && written[0] === b.proc.pid,
    `${d.label}: ${written.length} completions recorded (by pids ${written.join(', ')}), expected one by the rescuer (pid ${b.proc.pid}; frozen: ${a.proc.pid})`,
  );
  ctx.check(a.proc.alive, `${d.label}: the thawed worker died (${JSON.stringify(a.proc.exitInfo)})\n${a.proc.output()}`);

  // It carries on: with the rescuer gone, the next task is the thawed worker's.
  await b.proc.stop(10_000);
  const next = await submitFrozenTask(pool, 200, 200);
  await until(async () => (await taskRow(pool, next)).status === 'done', {
    timeoutMs: 30_000,
    message: `${d.label}: the thawed worker to run the next task`,
  });
  const nextWritten = await completions(pool, next);
  ctx.check(
    nextWritten.length === 1 && nextWritten[0] === a.proc.pid,
    `${d.label}: the next task was completed by pids [${nextWritten.join(', ')}], not once by the thawed worker (pid ${a.proc.pid})`,
  );
  ctx.check(a.proc.alive, `${d.label}: the thawed worker died after its next task\n${a.proc.output()}`);
  const exit = await a.proc.stop(10_000);
  ctx.check(exit.code === 0, `${d.label}: the thawed worker did not stop cleanly: ${JSON.stringify(exit)}\n${a.proc.output()}`);
}

/** The pino line a library worker logs when it discards an attempt whose lease was lost. */
function leaseLostLogs(w: Started): { taskUid?: string; reason?: string }[] {
  return w.proc
    .output(2000)
    .split('\n')
    .filter((l) => l.startsWith('! {') && l.includes('lease lost'))
    .map((l) => JSON.parse(l.slice(2)) as { taskUid?: string; reason?: string });
}

export const scenario: Scenario = {
  name: 'frozen-worker',
  summary:
    'SIGSTOP a worker past its lease, over SQL and over HTTP: the task is rescued, the late completion refused, the worker carries on',
  async run(ctx) {
    const db = await startThrowawayPostgres();
    ctx.defer(() => db.stop());
    await db.query(CREATE_LEDGER);
    await db.query(CREATE_COMPLETION_AUDIT);
    const database = createDatabase({ url: db.url, max: 2, applicationName: 'chaos-driver' });
    ctx.defer(() => database.close());
    const env = { DATABASE_URL: db.url, EVENTIX_MIGRATE: 'false', EVENTIX_MAINTENANCE_INTERVAL_MS: '200' };

    await freezeCase(ctx, database.pool, {
      label: 'sql',
      async start(name) {
        const proc = ctx.track(
          spawnEventix(
            name,
            ['worker', '--tasks', TASKS, '--concurrency', '1', '--lease-seconds', String(LEASE_SECONDS), '--poll-interval-ms', '100'],
            env,
          ),
        );
        const [, id] = await proc.waitForLine(/^Eventix worker (\S+) running/, 60_000);
        return { proc, id: id as string };
      },
      async refusal(w, uid) {
        const found = await until(() => leaseLostLogs(w).find((l) => l.taskUid === uid), {
          timeoutMs: 15_000,
          message: `${w.proc.name} to log the lost lease of ${uid}`,
        });
        if (found.reason === HEARTBEAT_LOSS) throw new Error('a heartbeat found the lease lost first: the late completion was never sent');
        return `completion refused: ${found.reason}`;
      },
      refusedWrites: (w) => leaseLostLogs(w).length,
    });

    if (ctx.signal.aborted) return;
    // Over HTTP: the API (with maintenance, which rescues) and remote workers with no database access
    // of their own (DATABASE_URL serves only the fixture's ledger).
    const api = ctx.track(
      spawnEventix('api', ['api', '--port', '0', '--no-scheduler'], { ...env, EVENTIX_HOST: '127.0.0.1', EVENTIX_API_TOKENS: undefined }),
    );
    const [, url] = await api.waitForLine(/^Eventix listening on (\S+)/, 60_000);
    const httpLines = (w: Started) => w.proc.output(2000).split('\n');
    await freezeCase(ctx, database.pool, {
      label: 'http',
      async start(name) {
        const proc = ctx.track(
          new Managed(name, process.execPath, ['--import', 'tsx', REMOTE_WORKER], {
            ...process.env,
            DATABASE_URL: db.url,
            EVENTIX_URL: url,
            CHAOS_LEASE_SECONDS: String(LEASE_SECONDS),
            CHAOS_CONCURRENCY: '1',
          }),
        );
        const [, id] = await proc.waitForLine(/^remote worker (\S+) ready$/, 60_000);
        return { proc, id: id as string };
      },
      async refusal(w, uid) {
        const [line] = await w.proc.waitForLine(new RegExp(`^http POST /tasks/${uid}/complete (\\d+).*$`), 15_000);
        if (!line.endsWith(' 409 LeaseLost')) throw new Error(`the late completion was answered: ${line}`);
        await w.proc.waitForLine(new RegExp(`^lease-lost ${uid} `), 5_000);
        return line.replace(/^http /, '');
      },
      refusedWrites: (w) => httpLines(w).filter((l) => /^http POST \S+ 409/.test(l)).length,
    });
    const errors = httpLines({ proc: api, id: '' }).filter((l) => l.startsWith('! {') && /"level":(50|60)/.test(l));
    ctx.check(errors.length === 0, `the API logged errors:\n${errors.slice(0, 5).join('\n')}`);
  },
};
