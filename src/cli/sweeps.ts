import type { Config } from '../config.ts';
import type { Database } from '../db/client.ts';
import type { Executor } from '../db/executor.ts';
import { coerceError, type Logger } from '../logger.ts';
import { applySweeps } from '../sweeps/apply.ts';
import { loadSweepsFile, type Sweeps } from '../sweeps/config.ts';
import { SweepRuntime } from '../sweeps/runtime.ts';
import type { Notifier } from '../worker/notifier.ts';
import { EXIT } from './runtime.ts';

/** Read and check EVENTIX_SWEEPS_FILE before connecting; a bad file exits 2 naming the file and the field. */
export function readSweepsFileOrExit(config: Config): Sweeps | undefined {
  if (!config.sweeps.file) return undefined;
  try {
    return loadSweepsFile(config.sweeps.file);
  } catch (err) {
    process.stderr.write(`eventix: ${coerceError(err).message}\n`);
    process.exit(EXIT.config);
  }
}

/** Store what fires each sweep (schedules and triggers `sweep:<name>`), and say what changed. */
export async function applySweepsFile(ex: Executor, sweeps: Sweeps | undefined, logger: Logger): Promise<void> {
  if (!sweeps) return;
  const r = await applySweeps(ex, sweeps);
  logger.info({ file: sweeps.file, ...r }, 'sweeps file applied');
  process.stdout.write(
    `Sweeps file ${sweeps.file}: ${sweeps.sweeps.length} sweeps; schedules ${r.schedules.created.length} created, ` +
      `${r.schedules.updated.length} updated, ${r.schedules.removed.length} removed; triggers ${r.triggers.put.length} stored, ` +
      `${r.triggers.removed.length} removed\n`,
  );
}

/** The sweep workers for the namespaces this process serves (EVENTIX_NAMESPACES / --namespace). */
export function sweepRuntimeFromConfig(
  config: Config,
  database: Database,
  sweeps: Sweeps,
  logger: Logger,
  opts: { maintenance: boolean; notifier?: Notifier | undefined },
): SweepRuntime {
  const w = config.worker;
  return new SweepRuntime({
    pool: database.pool,
    sweeps,
    namespaces: w.namespaces,
    logger,
    leaseSeconds: w.leaseSeconds,
    pollIntervalMs: w.pollIntervalMs,
    listen: w.listen,
    notifier: opts.notifier,
    shutdownGraceMs: w.shutdownGraceMs,
    maintenance: opts.maintenance,
    maintenanceIntervalMs: w.maintenanceIntervalMs,
    eventRetentionSeconds: config.events.retentionDays * 86400,
    staleSeconds: config.commits.staleSeconds,
  });
}

export function describeRuntime(runtime: SweepRuntime, sweeps: Sweeps): string {
  const served = runtime.namespaces;
  const names = sweeps.sweeps.filter((s) => served.includes(s.namespace)).map((s) => s.name);
  return `Sweep workers on ${served.join(', ')} for ${names.join(', ')} (benchmark.run, eventix.sweep, benchmarks.bisect-step)\n`;
}
