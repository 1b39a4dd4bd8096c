import type { Hono } from 'hono';
import type { Database } from '../../db/client.ts';
import type { EventixMetrics } from '../../metrics/eventix.ts';
import { metricsHandler } from '../../metrics/http.ts';
import { namespaceCounts, queueStats } from '../../queue/stats.ts';
import type { AppEnv } from '../auth.ts';
import { route } from '../route.ts';
import { namespacesOut, statsOut } from '../schemas.ts';

export function opsRoutes(app: Hono<AppEnv>, deps: { database: Database; metrics: EventixMetrics }): void {
  const pool = deps.database.pool;
  route(
    app,
    {
      method: 'get',
      path: '/namespaces',
      summary: 'Namespaces with task counts per status',
      scope: 'read',
      ok: { status: 200, schema: namespacesOut },
    },
    async (c) => c.json({ namespaces: await namespaceCounts(pool) }),
  );

  route(
    app,
    {
      method: 'get',
      path: '/stats',
      summary: 'Counts by namespace, task and status; oldest waiting age; completed and failed in the last minute and hour',
      scope: 'read',
      ok: { status: 200, schema: statsOut },
    },
    async (c) => {
      const s = await queueStats(pool);
      return c.json({
        at: s.at.toISOString(),
        namespaces: s.namespaces.map((n) => ({
          namespace: n.namespace,
          counts: n.counts,
          tasks: n.tasks,
          oldest_waiting_age_seconds: n.oldestWaitingAgeSeconds,
          completed: { last_minute: n.completed.lastMinute, last_hour: n.completed.lastHour },
          failed: { last_minute: n.failed.lastMinute, last_hour: n.failed.lastHour },
        })),
      });
    },
  );

  const metrics = metricsHandler(deps.metrics.registry);
  route(
    app,
    {
      method: 'get',
      path: '/metrics',
      summary: 'Prometheus metrics (text exposition format)',
      scope: 'read',
      ok: { status: 200, description: 'Prometheus text format 0.0.4', contentType: 'text/plain' },
    },
    (c) => metrics(c),
  );
}
