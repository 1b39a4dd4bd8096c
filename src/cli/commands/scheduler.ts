import type { Command } from 'commander';
import type { Config } from '../../config.ts';
import type { Database } from '../../db/client.ts';
import { connect } from '../../db/connect.ts';
import type { Executor } from '../../db/executor.ts';
import { coerceError, type Logger } from '../../logger.ts';
import type { ScheduleInput } from '../../scheduler/schedule-input.ts';
import { Scheduler } from '../../scheduler/scheduler.ts';
import { EXIT, fail, loadRuntime, waitForShutdownSignal } from '../runtime.ts';
import { applySchedules, loadSchedulesFile } from '../schedules-file.ts';

/** Read and check EVENTIX_SCHEDULES_FILE before connecting; a bad file exits 2 naming the file and field. */
export async function readSchedulesFileOrExit(config: Config): Promise<ScheduleInput[] | undefined> {
  if (!config.scheduler.schedulesFile) return undefined;
  try {
    return await loadSchedulesFile(config.scheduler.schedulesFile);
  } catch (err) {
    process.stderr.write(`eventix: ${coerceError(err).message}\n`);
    process.exit(EXIT.config);
  }
}

/** Upsert the file's schedules and say what changed. */
export async function applySchedulesFile(ex: Executor, config: Config, definitions: ScheduleInput[] | undefined, logger: Logger) {
  if (!definitions) return;
  const r = await applySchedules(ex, definitions);
  logger.info({ file: config.scheduler.schedulesFile, ...r }, 'schedules file applied');
  process.stdout.write(
    `Schedules file ${config.scheduler.schedulesFile}: ${r.created.length} created, ${r.updated.length} updated, ${r.unchanged.length} unchanged\n`,
  );
}

/** The scheduler `eventix start` and `eventix scheduler` run, configured from the parsed Config. */
export function schedulerFromConfig(config: Config, database: Database, logger: Logger): Scheduler {
  return new Scheduler({ pool: database.pool, logger, intervalMs: config.scheduler.intervalMs });
}

export function registerScheduler(program: Command): void {
  program
    .command('scheduler')
    .description('run only the scheduler: fire stored schedules until SIGINT/SIGTERM (any number may run at once)')
    .option('--interval-ms <n>', 'how often to look for due schedules (EVENTIX_SCHEDULER_INTERVAL_MS)')
    .option('--schedules-file <path>', 'JSON file of schedule definitions to upsert by name at start (EVENTIX_SCHEDULES_FILE)')
    .action(async (opts: { intervalMs?: string; schedulesFile?: string }) => {
      const { config, logger } = loadRuntime({
        EVENTIX_SCHEDULER_INTERVAL_MS: opts.intervalMs,
        EVENTIX_SCHEDULES_FILE: opts.schedulesFile,
      });
      const shutdown = waitForShutdownSignal(logger);
      const definitions = await readSchedulesFileOrExit(config);
      let conn: Awaited<ReturnType<typeof connect>>;
      try {
        conn = await connect(config, logger);
        await applySchedulesFile(conn.database.pool, config, definitions, logger);
      } catch (err) {
        fail(err);
      }
      const scheduler = schedulerFromConfig(config, conn.database, logger);
      scheduler.start();
      process.stdout.write(`Eventix scheduler running (every ${scheduler.intervalMs} ms); database: ${conn.describe}\n`);
      await shutdown;
      await scheduler.stop();
      await conn.close();
      process.stdout.write('Eventix scheduler stopped\n');
      process.exit(EXIT.ok);
    });
}
