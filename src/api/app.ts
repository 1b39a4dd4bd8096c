import type { EventEmitter } from 'node:events';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { ApiToken } from '../config.ts';
import type { Database } from '../db/client.ts';
import type { TriggerDefinition } from '../events/define.ts';
import type { Logger } from '../logger.ts';
import { countSubmitted, createEventixMetrics, type EventixMetrics } from '../metrics/eventix.ts';
import { httpMetrics } from '../metrics/http.ts';
import { createServerRegistry } from '../metrics/server-registry.ts';
import type { SubmitResult } from '../queue/submit.ts';
import type { Sweeps } from '../sweeps/config.ts';
import type { AlertSettings } from '../tracking/alerts/settings.ts';
import { uiRoutes } from '../ui/routes.tsx';
import { type AppEnv, authenticate } from './auth.ts';
import { compatProblem } from './compat/errors.ts';
import { COMPAT_PREFIX, type CompatMount, compatRoutes } from './compat/routes.ts';
import { HttpProblem, problemFromError } from './errors.ts';
import { declaredOperations, publicPathsOf } from './route.ts';
import { baselineRoutes } from './routes/baselines.ts';
import { benchmarkAlertRoutes } from './routes/benchmark-alerts.ts';
import { benchmarkRoutes } from './routes/benchmarks.ts';
import { type CommitRoutesDeps, commitRoutes } from './routes/commits.ts';
import { docsRoutes } from './routes/docs.ts';
import { eventRoutes } from './routes/events.ts';
import { nearestRoutes } from './routes/nearest.ts';
import { opsRoutes } from './routes/ops.ts';
import { probeRoutes } from './routes/probes.ts';
import { scheduleRoutes } from './routes/schedules.ts';
import { sweepRoutes } from './routes/sweeps.ts';
import { taskRoutes } from './routes/tasks.ts';
import { triggerRoutes } from './routes/triggers.ts';
import { claimRoutes, leaseRoutes } from './routes/workers.ts';
import { httpTracing } from './tracing.ts';
import { unreadBody } from './unread-body.ts';

export interface AppDeps {
  database: Database;
  logger: Logger;
  /** Configured API tokens; empty means the API is unauthenticated (loopback only, by default). */
  apiTokens?: readonly ApiToken[];
  /** Largest accepted request body, in bytes. */
  maxBodyBytes?: number;
  /** 'notify' events (namespace) from a LISTEN connection: remote workers' long-polls wake at once. */
  notifications?: EventEmitter;
  longPollIntervalMs?: number;
  /** Metrics to count into and serve at /metrics; created (reading queue gauges from `database`) when absent. */
  metrics?: EventixMetrics;
  /** Triggers defined in code (defineTrigger) that events received by this app fire, besides the stored ones. */
  codeTriggers?: readonly TriggerDefinition[];
  /** Commit-status tracking: the repositories determine and mark may use (EVENTIX_REPOS), retry and staleness limits. */
  commits?: Omit<CommitRoutesDeps, 'database'>;
  /** Benchmark sweeps from EVENTIX_SWEEPS_FILE, for /sweeps; absent means none. */
  sweeps?: Sweeps;
  /** Change points and alerts: git order (repos), direction overrides, the minimum effect. */
  alerts?: AlertSettings;
  /**
   * The Python-Eventix compatible API, always at /compat/eventix/v4; `root` (EVENTIX_COMPAT_ROOT)
   * serves it at / too, for Python clients that cannot be given a path prefix.
   */
  compat?: { root: boolean };
}

export const DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024;

/**
 * The HTTP application, built from injected dependencies. `eventix start` serves it and the tests
 * call `app.request()` on the very same object, so no socket is needed to test a route.
 */
export function createApp(deps: AppDeps) {
  const maxBody = deps.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const metrics =
    deps.metrics ??
    createEventixMetrics(createServerRegistry(), {
      executor: deps.database.pool,
      onCollectError: (err) => deps.logger.warn({ err }, 'metrics scrape could not read the queue'),
    });
  const app = new Hono<AppEnv>();

  app.use(httpMetrics(metrics.httpRequestDuration));
  app.use(httpTracing());
  // Before anything that may answer without reading the body (auth, the body limit, 404, readJson's
  // 415): such answers must not leave the keep-alive connection unusable.
  app.use(unreadBody());
  // The public paths come from the route declarations, read at the first request: the routes are declared below.
  let publicPaths: ReadonlySet<string> | undefined;
  const isPublic = (path: string) => {
    publicPaths ??= publicPathsOf(declaredOperations(app));
    return publicPaths.has(path);
  };
  app.use(authenticate({ tokens: deps.apiTokens ?? [], isPublic }));
  app.use(
    bodyLimit({
      maxSize: maxBody,
      // Thrown, not answered here: app.onError builds every problem answer.
      onError: () => {
        throw new HttpProblem('PayloadTooLarge', `request bodies are limited to ${maxBody} bytes`);
      },
    }),
  );

  // Mounted in the order /openapi.json lists their operations (docs, which builds it, last).
  probeRoutes(app, { database: deps.database, logger: deps.logger });

  const workerDeps = {
    database: deps.database,
    notifications: deps.notifications,
    longPollIntervalMs: deps.longPollIntervalMs,
    onClaimed: (tasks: { namespace: string }[]) => {
      for (const t of tasks) metrics.tasksClaimed.inc({ namespace: t.namespace });
    },
    onFinished: (namespace: string, outcome: 'done' | 'retry' | 'error' | 'cancelled') => {
      if (outcome === 'done') metrics.tasksCompleted.inc({ namespace });
      else metrics.tasksFailed.inc({ namespace, outcome });
    },
  };
  const onSubmitted = (results: readonly SubmitResult[]) => countSubmitted(metrics, results);
  const compatDeps = {
    database: deps.database,
    codeTriggers: deps.codeTriggers,
    onSubmitted,
    onClaimed: workerDeps.onClaimed,
    onFinished: workerDeps.onFinished,
  };
  const compatMounts: CompatMount[] = [];
  // At the root, before our task routes: GET /tasks/{uid} would otherwise take
  // /tasks/next_scheduled for a uid (and answer 400), as the first route registered wins.
  if (deps.compat?.root) compatMounts.push(compatRoutes(app, { ...compatDeps, prefix: '' }));
  taskRoutes(app, { database: deps.database, onSubmitted });
  claimRoutes(app, workerDeps);
  leaseRoutes(app, workerDeps);
  baselineRoutes(app, { database: deps.database, repos: deps.commits?.repos });
  benchmarkAlertRoutes(app, { database: deps.database, settings: { repos: deps.commits?.repos, ...deps.alerts } });
  benchmarkRoutes(app, { database: deps.database });
  commitRoutes(app, { ...deps.commits, database: deps.database });
  eventRoutes(app, { database: deps.database, codeTriggers: deps.codeTriggers, onSubmitted });
  nearestRoutes(app, { database: deps.database, logger: deps.logger });
  opsRoutes(app, { database: deps.database, metrics });
  scheduleRoutes(app, { database: deps.database, onSubmitted });
  sweepRoutes(app, { database: deps.database, sweeps: deps.sweeps, onSubmitted });
  triggerRoutes(app, { database: deps.database, codeTriggers: deps.codeTriggers });
  compatMounts.push(compatRoutes(app, { ...compatDeps, prefix: COMPAT_PREFIX }));
  docsRoutes(app, { authenticated: (deps.apiTokens ?? []).length > 0 });

  app.route(
    '/ui',
    uiRoutes({
      database: deps.database,
      logger: deps.logger,
      apiTokens: deps.apiTokens ?? [],
      repos: deps.commits?.repos,
      alerts: { repos: deps.commits?.repos, ...deps.alerts },
      codeTriggers: deps.codeTriggers,
      onSubmitted,
    }),
  );
  // A browser opening the server's address lands on the dashboard.
  app.get('/', (c) => c.redirect('/ui', 302));

  // Converted rather than thrown: a throw here would skip the after-work of the middleware that
  // called next() (the dashboard's security headers on an unknown /ui path).
  app.notFound((c) =>
    problemFromError(c, new HttpProblem('NotFound', `No route for ${c.req.method} ${c.req.path}`, { plain: true }), deps.logger),
  );
  // The compatible API answers its own errors in the Python shape (src/api/compat/errors.ts).
  app.onError((err, c) =>
    compatMounts.some((m) => m.handles(c.req.method, c.req.path))
      ? compatProblem(c, err, deps.logger)
      : problemFromError(c, err, deps.logger),
  );

  return app;
}

export type App = ReturnType<typeof createApp>;
