import type { Hono } from 'hono';
import type { Database } from '../../db/client.ts';
import { pushResults } from '../../tracking/ingest.ts';
import { listRuns } from '../../tracking/runs.ts';
import { metricSeries } from '../../tracking/series.ts';
import type { AppEnv } from '../auth.ts';
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
import { readTaggedQuery } from '../body.ts';
import { route } from '../route.ts';

export function benchmarkRoutes(app: Hono<AppEnv>, deps: { database: Database }): void {
  const pool = deps.database.pool;
  route(
    app,
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
    async (c, { body: b }) => {
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
    },
  );

  route(
    app,
    {
      method: 'get',
      path: '/benchmarks/runs',
      summary: 'Benchmark runs with their metric points, newest first, with keyset pagination',
      scope: 'read',
      query: runsQuery,
      ok: { status: 200, schema: runPageOut },
      errors: [400],
    },
    async (c, { query: q }) => {
      const page = await listRuns(pool, { ...q, ...configFilter(q.config) });
      return c.json({ runs: page.runs.map(runToJson), next_cursor: page.nextCursor });
    },
  );

  route(
    app,
    {
      method: 'get',
      path: '/benchmarks/series',
      summary: 'One metric over commits in commit order (commit_status committer time, else first run start), for plotting',
      scope: 'read',
      query: seriesQuery,
      queryReader: readTaggedQuery<typeof seriesQuery>,
      ok: { status: 200, schema: seriesOut },
      errors: [400],
    },
    async (c, { query: q }) => {
      const series = await metricSeries(pool, { ...q, ...configFilter(q.config) });
      return c.json({ metric: q.metric, repo: q.repo, points: series.points.map(seriesPointToJson), truncated: series.truncated });
    },
  );
}
