import type { Server } from 'node:http';
import { serve } from '@hono/node-server';
import { createApp } from '../api/app.ts';
import { answerClientErrors } from '../api/client-errors.ts';
import type { Config } from '../config.ts';
import { connect } from '../db/connect.ts';
import type { Logger } from '../logger.ts';
import { createEventixMetrics, instrumentWorker } from '../metrics/eventix.ts';
import { createServerRegistry } from '../metrics/server-registry.ts';
import { TaskRollup } from '../queue/rollup.ts';
import type { Scheduler } from '../scheduler/scheduler.ts';
import type { SweepRuntime } from '../sweeps/runtime.ts';
import { alertSettingsFromConfig, type BenchmarkRuntime, benchmarkRuntimeFromConfig } from '../tracking/alerts/runtime.ts';
import { workerFromConfig } from '../worker/from-config.ts';
import { Maintenance } from '../worker/maintenance.ts';
import { loadTaskModule, type TaskDefinition } from '../worker/registry.ts';
import type { Worker } from '../worker/worker.ts';
import { applySchedulesFile, readSchedulesFileOrExit, schedulerFromConfig } from './commands/scheduler.ts';
import { startProcessNotifier } from './process-notifier.ts';
import { EXIT, fail, waitForShutdownSignal } from './runtime.ts';
import { applySweepsFile, describeRuntime, readSweepsFileOrExit, sweepRuntimeFromConfig } from './sweeps.ts';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

/**
 * `eventix start` (API + worker for configured tasks + maintenance) and `eventix api` (API +
 * maintenance): the same process shape, so one function serves both.
 */
export async function runServer(config: Config, logger: Logger, opts: { worker: boolean }): Promise<never> {
  const authenticated = config.http.apiTokens.length > 0;
  if (!authenticated && !LOOPBACK.has(config.http.host) && !config.http.allowUnauthenticatedBind) {
    process.stderr.write(
      `eventix: refusing to serve an unauthenticated API on ${config.http.host}. Set EVENTIX_API_TOKENS, bind 127.0.0.1, ` +
        'or pass --allow-unauthenticated-bind (EVENTIX_ALLOW_UNAUTHENTICATED_BIND=true).\n',
    );
    process.exit(EXIT.config);
  }
  const shutdown = waitForShutdownSignal(logger);
  let tasks: TaskDefinition[] = [];
  try {
    if (opts.worker && config.worker.tasksModule) tasks = await loadTaskModule(config.worker.tasksModule);
  } catch (err) {
    fail(err);
  }
  // A bad schedules file stops start before anything is connected or written.
  const scheduleDefinitions = await readSchedulesFileOrExit(config);
  const sweeps = readSweepsFileOrExit(config);
  let conn: Awaited<ReturnType<typeof connect>>;
  try {
    conn = await connect(config, logger);
    await applySchedulesFile(conn.database.pool, config, scheduleDefinitions, logger);
    await applySweepsFile(conn.database.pool, sweeps, logger);
  } catch (err) {
    fail(err);
  }
  if (!authenticated) logger.warn('the API is unauthenticated (EVENTIX_API_TOKENS is not set): anyone who can reach it can use it');

  // One LISTEN for the process: it lets remote workers' long-polls answer the moment a task is
  // submitted, and wakes every worker below.
  const notifier = await startProcessNotifier(config, conn.database, logger);
  const metrics = createEventixMetrics(createServerRegistry(), {
    executor: conn.database.pool,
    onCollectError: (err) => logger.warn({ err }, 'metrics scrape could not read the queue'),
  });
  const app = createApp({
    metrics,
    database: conn.database,
    logger,
    apiTokens: config.http.apiTokens,
    maxBodyBytes: config.http.maxBodyBytes,
    notifications: notifier,
    commits: config.commits,
    sweeps,
    alerts: alertSettingsFromConfig(config),
    compat: config.compat,
  });
  const server = serve({ fetch: app.fetch, hostname: config.http.host, port: config.http.port });
  answerClientErrors(server as Server);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  }).catch((err) => fail(err));
  const addr = server.address();
  const port = addr && typeof addr === 'object' ? addr.port : config.http.port;

  let worker: Worker | undefined;
  let maintenance: Maintenance | undefined;
  if (tasks.length) {
    worker = workerFromConfig(config, conn.database, tasks, logger, { notifier });
    instrumentWorker(metrics, worker);
    await worker.start();
  } else {
    // No worker here, but leases still expire and finished tasks still age out: a deployment
    // of API-only processes plus remote workers must rescue and prune somewhere.
    maintenance = new Maintenance({
      pool: conn.database.pool,
      logger,
      intervalMs: config.worker.maintenanceIntervalMs,
      eventRetentionSeconds: config.events.retentionDays * 86400,
    });
    maintenance.on('rescued', (rows) => metrics.tasksRescued.inc(rows.length));
    maintenance.start();
  }
  // Benchmark sweeps of the namespaces served here; rescue and prune already run above.
  let sweepRuntime: SweepRuntime | undefined;
  if (opts.worker && sweeps) {
    sweepRuntime = sweepRuntimeFromConfig(config, conn.database, sweeps, logger, { maintenance: false, notifier });
    for (const w of sweepRuntime.workers) instrumentWorker(metrics, w);
    await sweepRuntime.start();
  }
  // The built-in benchmark tasks (series re-evaluation, alert webhooks); `eventix api` has no workers.
  let benchmarkRuntime: BenchmarkRuntime | undefined;
  if (opts.worker) {
    benchmarkRuntime = benchmarkRuntimeFromConfig(config, conn.database.pool, logger, { notifier });
    for (const w of benchmarkRuntime?.workers ?? []) instrumentWorker(metrics, w);
    await benchmarkRuntime?.start();
  }
  // The dashboard's done counts and throughput chart; one pass per interval across all processes (see rollup.ts).
  const rollup = new TaskRollup({ pool: conn.database.pool, logger });
  rollup.start();
  // Any number of processes may run a scheduler on one database (see scheduler.ts): no opt-in needed.
  let scheduler: Scheduler | undefined;
  if (config.scheduler.enabled) {
    scheduler = schedulerFromConfig(config, conn.database, logger);
    scheduler.on('schedule:fired', (f) => {
      if (f.taskUid) metrics.tasksSubmitted.inc({ namespace: f.namespace });
    });
    scheduler.start();
  }
  process.stdout.write(
    `Eventix listening on http://${config.http.host}:${port}\n` +
      `Dashboard: http://${config.http.host}:${port}/ui · API docs: http://${config.http.host}:${port}/docs\n` +
      `Database: ${conn.describe}\n`,
  );
  if (scheduler) process.stdout.write(`Scheduler running (every ${scheduler.intervalMs} ms)\n`);
  if (worker) process.stdout.write(`Worker ${worker.workerId} running ${tasks.map((t) => t.name).join(', ')}\n`);
  if (sweepRuntime?.workers.length && sweeps) process.stdout.write(describeRuntime(sweepRuntime, sweeps));

  await shutdown;
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    // Long-polls and keep-alive sockets must not hold shutdown open.
    (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
  });
  await scheduler?.stop();
  await worker?.stop();
  await sweepRuntime?.stop();
  await benchmarkRuntime?.stop();
  await maintenance?.stop();
  await rollup.stop();
  await notifier?.stop();
  await conn.close();
  process.stdout.write('Eventix stopped\n');
  process.exit(EXIT.ok);
}
