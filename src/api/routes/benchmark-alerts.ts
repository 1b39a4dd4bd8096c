import { Hono } from 'hono';
import type { Database } from '../../db/client.ts';
import { changesOf } from '../../tracking/alerts/evaluate.ts';
import type { AlertSettings } from '../../tracking/alerts/settings.ts';
import { getAlert, listAlerts, updateAlert } from '../../tracking/alerts/store.ts';
import { loadSeries } from '../../tracking/series-samples.ts';
import {
  alertId,
  alertOut,
  alertPageOut,
  alertPatchBody,
  alertsFilter,
  alertsQuery,
  alertToJson,
  changesFilter,
  changesOut,
  changesQuery,
  changesToJson,
  directionsWith,
} from '../alert-schemas.ts';
import { type AppEnv, requireScope } from '../auth.ts';
import { readJson, readQuery, readTaggedQuery } from '../body.ts';
import { registerOperations } from '../openapi.ts';

const ALERT_404 = { 404: 'No alert with this id (code AlertNotFound)' };

registerOperations([
  {
    method: 'get',
    path: '/benchmarks/changes',
    summary:
      'Change points of the series matching the filters (one per tag set), computed now from the stored samples in commit order; nothing is stored',
    scope: 'read',
    query: changesQuery,
    ok: { status: 200, schema: changesOut },
    errors: [400],
  },
  {
    method: 'get',
    path: '/benchmarks/alerts',
    summary: 'Regression alerts, newest first, with keyset pagination',
    scope: 'read',
    query: alertsQuery,
    ok: { status: 200, schema: alertPageOut },
    errors: [400],
  },
  {
    method: 'get',
    path: '/benchmarks/alerts/{id}',
    summary: 'One regression alert',
    scope: 'read',
    ok: { status: 200, schema: alertOut },
    errors: [400, 404],
    errorText: ALERT_404,
  },
  {
    method: 'patch',
    path: '/benchmarks/alerts/{id}',
    summary:
      'Set an alert’s status (acknowledged, false_positive, open, resolved) and note; re-evaluation never overwrites acknowledged or false_positive',
    scope: 'submit',
    body: alertPatchBody,
    ok: { status: 200, schema: alertOut },
    errors: [400, 404, 409, 415],
    errorText: { ...ALERT_404, 409: 'The alert changed since `revision` (code AlertConflict; `revision` and `alert_status` are current)' },
  },
]);

export interface BenchmarkAlertRoutesDeps {
  database: Database;
  settings?: AlertSettings | undefined;
}

export function benchmarkAlertRoutes(deps: BenchmarkAlertRoutesDeps) {
  const pool = deps.database.pool;
  const settings = deps.settings ?? {};
  return new Hono<AppEnv>()
    .get('/changes', requireScope('read'), async (c) => {
      const q = readTaggedQuery(c, changesQuery);
      const directions = directionsWith(settings.directions, q.metric, q.direction);
      const loaded = await loadSeries(pool, changesFilter(q), { repos: settings.repos, directions });
      const evaluations = changesOf(loaded.series, { ...settings, minEffect: q.min_effect ?? settings.minEffect });
      return c.json(changesToJson(q, evaluations, loaded.truncated));
    })
    .get('/alerts', requireScope('read'), async (c) => {
      const q = readQuery(c, alertsQuery);
      const page = await listAlerts(pool, alertsFilter(q));
      return c.json({ alerts: page.alerts.map(alertToJson), next_cursor: page.nextCursor });
    })
    .get('/alerts/:id', requireScope('read'), async (c) => c.json(alertToJson(await getAlert(pool, alertId(c.req.param('id'))))))
    .patch('/alerts/:id', requireScope('submit'), async (c) => {
      const id = alertId(c.req.param('id'));
      const b = await readJson(c, alertPatchBody);
      return c.json(alertToJson(await updateAlert(pool, id, { status: b.status, note: b.note, revision: b.revision })));
    });
}
