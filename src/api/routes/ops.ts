import { Hono } from 'hono';
import type { Database } from '../../db/client.ts';
import type { EventixMetrics } from '../../metrics/eventix.ts';
import { metricsHandler } from '../../metrics/http.ts';
import { namespaceCounts, queueStats } from '../../queue/stats.ts';
import { type AppEnv, requireScope } from '../auth.ts';
import { registerOperations } from '../openapi.ts';
import { namespacesOut, statsOut } from '../schemas.ts';

registerOperations([
  {
    method: 'get',
    path: '/namespaces',
    summary: 'Namespaces with task counts per status',
    scope: 'read',
    ok: { status: 200, schema: namespacesOut },
  },
  {
    method: 'get',
    path: '/stats',
    summary: 'Counts by namespace, task and status; oldest waiting age; completed and failed in the last minute and hour',
    scope: 'read',
    ok: { status: 200, schema: statsOut },
  },
  {
    method: 'get',
    path: '/metrics',
    summary: 'Prometheus metrics (text exposition format)',
    scope: 'read',
    ok: { status: 200, description: 'Prometheus text format 0.0.4', contentType: 'text/plain' },
  },
]);

export function opsRoutes(deps: { database: Database; metrics: EventixMetrics }) {
  const pool = deps.database.pool;
  return new Hono<AppEnv>()
    .get('/namespaces', requireScope('read'), async (c) => c.json({ namespaces: await namespaceCounts(pool) }))
    .get('/stats', requireScope('read'), async (c) => {
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
    })
    .get('/metrics', requireScope('read'), metricsHandler(deps.metrics.registry));
}
