import type { Context, Hono } from 'hono';
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
import type { AppEnv } from '../auth.ts';
import { readTaggedQuery } from '../body.ts';
import { route } from '../route.ts';

const ALERT_404 = { 404: 'No alert with this id (code AlertNotFound)' };

export interface BenchmarkAlertRoutesDeps {
  database: Database;
  settings?: AlertSettings | undefined;
}

const ALERT_ID = { id: { parse: (c: Context, name: string) => alertId(c.req.param(name)) } };

export function benchmarkAlertRoutes(app: Hono<AppEnv>, deps: BenchmarkAlertRoutesDeps): void {
  const pool = deps.database.pool;
  const settings = deps.settings ?? {};
  route(
    app,
    {
      method: 'get',
      path: '/benchmarks/changes',
      summary:
        'Change points of the series matching the filters (one per tag set), computed now from the stored samples in commit order; nothing is stored',
      scope: 'read',
      query: changesQuery,
      queryReader: readTaggedQuery<typeof changesQuery>,
      ok: { status: 200, schema: changesOut },
      errors: [400],
    },
    async (c, { query: q }) => {
      const directions = directionsWith(settings.directions, q.metric, q.direction);
      const loaded = await loadSeries(pool, changesFilter(q), { repos: settings.repos, directions });
      const evaluations = changesOf(loaded.series, { ...settings, minEffect: q.min_effect ?? settings.minEffect });
      return c.json(changesToJson(q, evaluations, loaded.truncated));
    },
  );

  route(
    app,
    {
      method: 'get',
      path: '/benchmarks/alerts',
      summary: 'Regression alerts, newest first, with keyset pagination',
      scope: 'read',
      query: alertsQuery,
      ok: { status: 200, schema: alertPageOut },
      errors: [400],
    },
    async (c, { query }) => {
      const page = await listAlerts(pool, alertsFilter(query));
      return c.json({ alerts: page.alerts.map(alertToJson), next_cursor: page.nextCursor });
    },
  );

  route(
    app,
    {
      method: 'get',
      path: '/benchmarks/alerts/{id}',
      summary: 'One regression alert',
      scope: 'read',
      params: ALERT_ID,
      ok: { status: 200, schema: alertOut },
      errors: [400, 404],
      errorText: ALERT_404,
    },
    async (c, { params }) => c.json(alertToJson(await getAlert(pool, params.id))),
  );

  route(
    app,
    {
      method: 'patch',
      path: '/benchmarks/alerts/{id}',
      summary:
        'Set an alert’s status (acknowledged, false_positive, open, resolved) and note; re-evaluation never overwrites acknowledged or false_positive',
      scope: 'submit',
      params: ALERT_ID,
      body: alertPatchBody,
      ok: { status: 200, schema: alertOut },
      errors: [400, 404, 409, 415],
      errorText: {
        ...ALERT_404,
        409: 'The alert changed since `revision` (code AlertConflict; `revision` and `alert_status` are current)',
      },
    },
    async (c, { params, body: b }) =>
      c.json(alertToJson(await updateAlert(pool, params.id, { status: b.status, note: b.note, revision: b.revision }))),
  );
}
