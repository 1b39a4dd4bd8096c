import type { Command } from 'commander';
import { connect } from '../../db/connect.ts';
import type { SweepRuntime } from '../../sweeps/runtime.ts';
import { type BenchmarkRuntime, benchmarkRuntimeFromConfig } from '../../tracking/alerts/runtime.ts';
import { workerFromConfig } from '../../worker/from-config.ts';
import { loadTaskModule, type TaskDefinition } from '../../worker/registry.ts';
import type { Worker } from '../../worker/worker.ts';
import { startProcessNotifier } from '../process-notifier.ts';
import { EXIT, fail, loadRuntime, waitForShutdownSignal } from '../runtime.ts';
import { describeRuntime, readSweepsFileOrExit, sweepRuntimeFromConfig } from '../sweeps.ts';

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description(
      'run a worker for the task definitions exported by a module, and for the sweeps of the served namespaces, until SIGINT/SIGTERM',
    )
    .option('--tasks <module>', 'module (.js, .mjs or .ts) exporting defineTask() results (EVENTIX_TASKS)')
    .option('--sweeps-file <path>', 'JSON file of benchmark sweeps: run those of the served namespaces (EVENTIX_SWEEPS_FILE)')
    .option('--concurrency <n>', 'handlers run at once (EVENTIX_CONCURRENCY)')
    .option('--namespace <names>', 'comma-separated namespaces to serve (EVENTIX_NAMESPACES)')
    .option('--lease-seconds <n>', 'lease length, renewed by heartbeats (EVENTIX_LEASE_SECONDS)')
    .option('--prefetch <n>', 'tasks claimed ahead of free slots, 0 for none (EVENTIX_PREFETCH)')
    .option('--poll-interval-ms <n>', 'backstop poll interval (EVENTIX_POLL_INTERVAL_MS)')
    .option('--no-listen', 'poll only, no LISTEN/NOTIFY (for PgBouncer transaction pooling)')
    .option('--shutdown-grace-ms <n>', 'time running tasks get to finish on shutdown (EVENTIX_SHUTDOWN_GRACE_MS)')
    .action(
      async (opts: {
        tasks?: string;
        concurrency?: string;
        namespace?: string;
        leaseSeconds?: string;
        prefetch?: string;
        pollIntervalMs?: string;
        listen?: boolean;
        shutdownGraceMs?: string;
        sweepsFile?: string;
      }) => {
        const { config, logger } = loadRuntime({
          EVENTIX_TASKS: opts.tasks,
          EVENTIX_CONCURRENCY: opts.concurrency,
          EVENTIX_NAMESPACES: opts.namespace,
          EVENTIX_LEASE_SECONDS: opts.leaseSeconds,
          EVENTIX_PREFETCH: opts.prefetch,
          EVENTIX_POLL_INTERVAL_MS: opts.pollIntervalMs,
          EVENTIX_LISTEN: opts.listen === false ? 'false' : undefined,
          EVENTIX_SHUTDOWN_GRACE_MS: opts.shutdownGraceMs,
          EVENTIX_SWEEPS_FILE: opts.sweepsFile,
        });
        const sweeps = readSweepsFileOrExit(config);
        const sweepNamespaces = new Set(sweeps?.sweeps.map((s) => s.namespace));
        const servesSweeps = config.worker.namespaces.some((n) => sweepNamespaces.has(n));
        if (!config.worker.tasksModule && !servesSweeps) {
          process.stderr.write(
            sweeps
              ? `eventix: no sweep of ${sweeps.file} runs in namespace(s) ${config.worker.namespaces.join(', ')}; ` +
                  `pass --namespace ${[...sweepNamespaces].join(',') || '<name>'} or --tasks <module>\n`
              : 'eventix: worker needs --tasks <module> (or EVENTIX_TASKS), or --sweeps-file (EVENTIX_SWEEPS_FILE)\n',
          );
          process.exit(EXIT.config);
        }
        const shutdown = waitForShutdownSignal(logger);
        let tasks: TaskDefinition[] = [];
        try {
          if (config.worker.tasksModule) tasks = await loadTaskModule(config.worker.tasksModule);
        } catch (err) {
          fail(err);
        }
        let conn: Awaited<ReturnType<typeof connect>>;
        try {
          conn = await connect(config, logger);
        } catch (err) {
          fail(err);
        }
        // One LISTEN connection for every worker of the process.
        const notifier = await startProcessNotifier(config, conn.database, logger);
        let worker: Worker | undefined;
        if (tasks.length) {
          worker = workerFromConfig(config, conn.database, tasks, logger, { notifier });
          await worker.start();
          process.stdout.write(
            `Eventix worker ${worker.workerId} running ${tasks.map((t) => t.name).join(', ')} ` +
              `on ${config.worker.namespaces.join(', ')} (concurrency ${config.worker.concurrency}); database: ${conn.describe}\n`,
          );
        }
        let sweepRuntime: SweepRuntime | undefined;
        if (sweeps && servesSweeps) {
          // Rescue and prune run in the task worker when there is one, else in the sweep workers.
          sweepRuntime = sweepRuntimeFromConfig(config, conn.database, sweeps, logger, { maintenance: !worker, notifier });
          await sweepRuntime.start();
          process.stdout.write(`Eventix ${describeRuntime(sweepRuntime, sweeps)}`);
          if (!worker) process.stdout.write(`Database: ${conn.describe}\n`);
        }
        // The built-in benchmark tasks (namespace eventix.benchmarks), unless EVENTIX_BENCHMARK_WORKER=false.
        const benchmarkRuntime: BenchmarkRuntime | undefined = benchmarkRuntimeFromConfig(config, conn.database.pool, logger, { notifier });
        await benchmarkRuntime?.start();
        await shutdown;
        await worker?.stop();
        await sweepRuntime?.stop();
        await benchmarkRuntime?.stop();
        await notifier?.stop();
        await conn.close();
        process.stdout.write('Eventix worker stopped\n');
        process.exit(EXIT.ok);
      },
    );
}
