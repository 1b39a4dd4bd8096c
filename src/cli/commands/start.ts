import type { Command } from 'commander';
import { loadRuntime } from '../runtime.ts';

/**
 * The server (the API, the dashboard, every page module) loads only when start or api runs: the
 * other commands, which tests spawn by the hundred, then start 0.25 s sooner each.
 */
const loadServer = () => import('../serve.ts');

interface ServerFlags {
  host?: string;
  port?: string;
  allowUnauthenticatedBind?: boolean;
  tasks?: string;
  scheduler?: boolean;
  schedulesFile?: string;
  sweepsFile?: string;
}

const flags = (opts: ServerFlags) => ({
  EVENTIX_HOST: opts.host,
  EVENTIX_PORT: opts.port,
  EVENTIX_ALLOW_UNAUTHENTICATED_BIND: opts.allowUnauthenticatedBind ? 'true' : undefined,
  EVENTIX_TASKS: opts.tasks,
  EVENTIX_SCHEDULER: opts.scheduler === false ? 'false' : undefined,
  EVENTIX_SCHEDULES_FILE: opts.schedulesFile,
  EVENTIX_SWEEPS_FILE: opts.sweepsFile,
});

export function registerStart(program: Command): void {
  program
    .command('start')
    .description('run the API, maintenance, a worker when --tasks is given, and sweep workers for the served namespaces, until Ctrl-C')
    .option('--host <host>', 'address to bind (EVENTIX_HOST)')
    .option('--port <port>', 'port to listen on, 0 for any (EVENTIX_PORT)')
    .option('--allow-unauthenticated-bind', 'allow binding a non-loopback address without API tokens')
    .option('--no-scheduler', 'do not run the scheduler in this process (EVENTIX_SCHEDULER=false)')
    .option('--schedules-file <path>', 'JSON file of schedule definitions to upsert by name at start (EVENTIX_SCHEDULES_FILE)')
    .option('--sweeps-file <path>', 'JSON file of benchmark sweeps (EVENTIX_SWEEPS_FILE)')
    .option('--tasks <module>', 'also run a worker for the task definitions this module exports (EVENTIX_TASKS)')
    .action(async (opts: ServerFlags) => {
      const { config, logger } = loadRuntime(flags(opts));
      await (await loadServer()).runServer(config, logger, { worker: true });
    });

  program
    .command('api')
    .description('run only the API (with maintenance and the scheduler), for deployments with separate worker processes')
    .option('--host <host>', 'address to bind (EVENTIX_HOST)')
    .option('--port <port>', 'port to listen on, 0 for any (EVENTIX_PORT)')
    .option('--allow-unauthenticated-bind', 'allow binding a non-loopback address without API tokens')
    .option('--no-scheduler', 'do not run the scheduler in this process (EVENTIX_SCHEDULER=false)')
    .option('--schedules-file <path>', 'JSON file of schedule definitions to upsert by name at start (EVENTIX_SCHEDULES_FILE)')
    .option('--sweeps-file <path>', 'JSON file of benchmark sweeps (EVENTIX_SWEEPS_FILE)')
    .action(async (opts: ServerFlags) => {
      const { config, logger } = loadRuntime(flags(opts));
      await (await loadServer()).runServer(config, logger, { worker: false });
    });
}
