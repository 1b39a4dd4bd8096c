import { Hono } from 'hono';
import type { Database } from '../../db/client.ts';
import { pushResults } from '../../tracking/ingest.ts';
import { listRuns } from '../../tracking/runs.ts';
import { metricSeries } from '../../tracking/series.ts';
import { type AppEnv, requireScope } from '../auth.ts';
import {
  configFilter,
  pushResultOut,
  pushResultToJson,
  resultsPushBody,
  runPageOut,
  runsQuery,
  runToJson,
  seriesOut,
  seriesPointToJson,
  seriesQuery,
} from '../benchmark-schemas.ts';
import { readJson, readQuery, readTaggedQuery } from '../body.ts';
import { registerOperations } from '../openapi.ts';

registerOperations([
  {
    method: 'post',
    path: '/benchmarks/results',
    summary:
      'Store benchmark results (eventix, valkey metrics.json, github-action-benchmark or llm-profile): every run and point, or nothing',
    scope: 'submit',
    body: resultsPushBody,
    ok: { status: 201, schema: pushResultOut, description: 'Stored; `runs` lists the new runs’ uids' },
    errors: [400, 413, 415],
    errorText: {
      400: 'Invalid request or document; `errors` names each offending field (`data.runs.0.metrics.3.value`). Nothing was stored',
    },
  },
  {
    method: 'get',
    path: '/benchmarks/runs',
    summary: 'Benchmark runs with their metric points, newest first, with keyset pagination',
    scope: 'read',
    query: runsQuery,
    ok: { status: 200, schema: runPageOut },
    errors: [400],
  },
  {
    method: 'get',
    path: '/benchmarks/series',
    summary: 'One metric over commits in commit order (commit_status committer time, else first run start), for plotting',
    scope: 'read',
    query: seriesQuery,
    ok: { status: 200, schema: seriesOut },
    errors: [400],
  },
]);

export function benchmarkRoutes(deps: { database: Database }) {
  const pool = deps.database.pool;
  return new Hono<AppEnv>()
    .post('/results', requireScope('submit'), async (c) => {
      const b = await readJson(c, resultsPushBody);
      const result = await pushResults(
        pool,
        {
          data: b.data,
          format: b.format,
          direction: b.direction,
          repo: b.repo,
          sha: b.sha,
          branch: b.branch,
          config: b.config,
          architecture: b.architecture,
          environment: b.environment,
        },
        { prefix: 'data' },
      );
      return c.json(pushResultToJson(result), 201);
    })
    .get('/runs', requireScope('read'), async (c) => {
      const q = readQuery(c, runsQuery);
      const page = await listRuns(pool, { ...q, ...configFilter(q.config) });
      return c.json({ runs: page.runs.map(runToJson), next_cursor: page.nextCursor });
    })
    .get('/series', requireScope('read'), async (c) => {
      const q = readTaggedQuery(c, seriesQuery);
      const series = await metricSeries(pool, { ...q, ...configFilter(q.config) });
      return c.json({ metric: q.metric, repo: q.repo, points: series.points.map(seriesPointToJson), truncated: series.truncated });
    });
}
