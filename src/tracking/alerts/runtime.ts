import type pg from 'pg';
import { z } from 'zod';
import type { Config } from '../../config.ts';
import { NonRetryableError } from '../../errors.ts';
import { type Logger, silentLogger } from '../../logger.ts';
import type { Notifier } from '../../worker/notifier.ts';
import { defineTask, type TaskDefinition } from '../../worker/registry.ts';
import { Worker } from '../../worker/worker.ts';
import { evaluateGroup } from './evaluate.ts';
import { ALERTS_NAMESPACE, type AlertSettings, EVALUATE_TASK, WEBHOOK_TASK } from './settings.ts';
import { deliverAlert } from './webhook.ts';

/** Everything evaluation and delivery read from the configuration, parsed once at start. */
export function alertSettingsFromConfig(config: Config): AlertSettings {
  const a = config.alerts;
  return {
    repos: config.commits.repos,
    directions: a.directions,
    minEffect: a.minEffect,
    webhook: a.webhookUrl ? { url: a.webhookUrl, timeoutMs: a.webhookTimeoutMs } : undefined,
  };
}

const groupKwargs = z.object({
  repo: z.string().min(1),
  metric: z.string().min(1),
  config_id: z.number().int().nullable(),
  architecture: z.string(),
});
const webhookKwargs = z.object({ alert_id: z.number().int().positive() });

/** The two built-in task definitions, bound to a pool and the settings. */
export function benchmarkTasks(pool: pg.Pool, settings: AlertSettings): { evaluate: TaskDefinition; webhook: TaskDefinition } {
  const evaluate = defineTask<[], Record<string, unknown>>(EVALUATE_TASK, async (_args, kwargs) => {
    const k = groupKwargs.safeParse(kwargs);
    if (!k.success) throw new NonRetryableError(`invalid ${EVALUATE_TASK} kwargs: ${k.error.message}`);
    const r = await evaluateGroup(
      pool,
      {
        repo: k.data.repo,
        metric: k.data.metric,
        configId: k.data.config_id,
        architecture: k.data.architecture,
      },
      settings,
    );
    return {
      series: r.series,
      change_points: r.changePoints,
      regressions: r.regressions,
      opened: r.opened,
      opened_resolved: r.openedResolved,
      resolved: r.resolved,
      refreshed: r.refreshed,
      truncated: r.truncated,
    };
  });
  const webhook = defineTask<[], Record<string, unknown>>(WEBHOOK_TASK, async (_args, kwargs, ctx) => {
    const k = webhookKwargs.safeParse(kwargs);
    if (!k.success) throw new NonRetryableError(`invalid ${WEBHOOK_TASK} kwargs: ${k.error.message}`);
    if (!settings.webhook) throw new NonRetryableError('EVENTIX_ALERT_WEBHOOK_URL is not set in the worker that claimed this delivery');
    return deliverAlert(pool, k.data.alert_id, settings.webhook, { signal: ctx.signal });
  });
  return { evaluate, webhook };
}

export interface BenchmarkRuntimeOptions {
  pool: pg.Pool;
  settings: AlertSettings;
  logger?: Logger;
  leaseSeconds?: number;
  pollIntervalMs?: number;
  listen?: boolean;
  /** The process's shared LISTEN connection (see WorkerOptions.notifier). */
  notifier?: Notifier | undefined;
  shutdownGraceMs?: number;
}

/**
 * The workers of the built-in benchmark tasks, namespace `eventix.benchmarks`: one for
 * `benchmarks.evaluate` (concurrency 2) and one for `benchmarks.alert-webhook` (concurrency 2),
 * so a receiver that hangs until its timeout never holds up evaluations. Neither runs
 * maintenance: the process they live in already does (a task worker, the sweeps' or start's own).
 */
export class BenchmarkRuntime {
  readonly workers: Worker[];

  constructor(opts: BenchmarkRuntimeOptions) {
    const { evaluate, webhook } = benchmarkTasks(opts.pool, opts.settings);
    const worker = (task: TaskDefinition) =>
      new Worker({
        pool: opts.pool,
        tasks: [task],
        namespaces: [ALERTS_NAMESPACE],
        concurrency: 2,
        leaseSeconds: opts.leaseSeconds,
        pollIntervalMs: opts.pollIntervalMs,
        listen: opts.listen,
        notifier: opts.notifier,
        shutdownGraceMs: opts.shutdownGraceMs,
        maintenance: false,
        logger: (opts.logger ?? silentLogger).child({ component: 'benchmark-alerts' }),
      });
    this.workers = [worker(evaluate), worker(webhook)];
  }

  async start(): Promise<void> {
    for (const w of this.workers) await w.start();
  }

  async stop(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.stop()));
  }
}

/**
 * The built-in workers of `eventix start` and `eventix worker`, unless EVENTIX_BENCHMARK_WORKER is
 * false. `notifier`: the process's shared LISTEN connection.
 */
export function benchmarkRuntimeFromConfig(
  config: Config,
  pool: pg.Pool,
  logger: Logger,
  opts: { notifier?: Notifier | undefined } = {},
): BenchmarkRuntime | undefined {
  if (!config.alerts.worker) return undefined;
  const w = config.worker;
  return new BenchmarkRuntime({
    pool,
    settings: alertSettingsFromConfig(config),
    logger,
    leaseSeconds: w.leaseSeconds,
    pollIntervalMs: w.pollIntervalMs,
    listen: w.listen,
    notifier: opts.notifier,
    shutdownGraceMs: w.shutdownGraceMs,
  });
}
