import { Hono } from 'hono';
import type { Child } from 'hono/jsx';
import { z } from 'zod';
import { alertId, alertsFilter, alertsQuery, changesFilter, changesQuery } from '../../api/alert-schemas.ts';
import { ValidationError } from '../../errors.ts';
import { listAlerts, updateAlert } from '../../tracking/alerts/store.ts';
import { findBaseline, listBaselines } from '../../tracking/baselines.ts';
import { resolveCommitRef } from '../../tracking/commit-ref.ts';
import { listConfigs } from '../../tracking/commits-read.ts';
import { compare } from '../../tracking/compare.ts';
import { repo as repoSchema } from '../../tracking/formats/index.ts';
import { RepoAllowList } from '../../tracking/repos.ts';
import { UUID_PATTERN } from '../../validation/names.ts';
import { field, flashOf, uiAction } from '../actions.tsx';
import { Empty } from '../components.tsx';
import type { UiDeps, UiEnv } from '../context.ts';
import { Layout } from '../layout.tsx';
import { alertCounts, benchFacets, metricTrends, recentCommits, seriesGroups } from '../queries/benchmarks.ts';
import { AlertCounts, AlertFilters, AlertTable } from './benchmark-alerts.tsx';
import { BaselineSummary, CompareForm, CompareResultView, NoBaselines } from './benchmark-compare.tsx';
import { BenchNav, readUiQuery } from './benchmark-shared.tsx';
import { NoResults, SeriesIndex, TrendCard, TrendFilters } from './benchmark-trends.tsx';
import { uiPage } from './input-errors.tsx';

/**
 * /ui/benchmarks: trend charts per metric (series, change points and alerts as GET
 * /benchmarks/changes and /benchmarks/alerts compute them), the alert list with its status
 * buttons (PATCH /benchmarks/alerts/{id}), and the baseline comparison (POST /benchmarks/compare).
 */

/** Charts drawn per page: a metric with hundreds of tag sets pages through them. */
const SERIES_PER_PAGE = 8;

/** GET /benchmarks/changes' query, with repo and metric optional (without them: the index) and the page's cursor. */
const trendsQuery = changesQuery.partial({ repo: true, metric: true }).extend({
  cursor: z
    .string()
    .regex(/^\d{1,6}$/, { error: 'is not a cursor this page issued' })
    .optional(),
});

const compareQuery = z.strictObject({
  baseline: z.string().max(100).optional(),
  repo: repoSchema.optional(),
  commit: z.string().min(1).max(250).optional(),
  run: z.string().regex(UUID_PATTERN, { error: 'must be a run uid (a UUID)' }).optional(),
  threshold: z.coerce.number({ error: 'must be a number (percent)' }).min(0).max(1000).optional(),
});

export function benchmarkPages(deps: UiDeps) {
  const pool = deps.database.pool;
  const settings = deps.alerts ?? {};
  const allowed = new RepoAllowList(deps.repos ?? []);
  const app = new Hono<UiEnv>();

  app.get(
    '/',
    uiPage('benchmarks', '/ui/benchmarks', async (c) => {
      const viewer = c.get('viewer');
      const q = readUiQuery(c, trendsQuery);
      const [facets, configs] = await Promise.all([benchFacets(pool, q.repo), listConfigs(pool)]);
      // One repository with results: it is the one meant.
      const repo = q.repo ?? (facets.repos.length === 1 ? facets.repos[0] : undefined);
      const offset = Number(q.cursor ?? 0);
      let body: Child;
      if (facets.repos.length === 0) {
        body = <NoResults />;
      } else if (!repo || !q.metric) {
        const groups = await seriesGroups(pool, { repo, metric: q.metric });
        body = groups.length ? (
          <SeriesIndex groups={groups} />
        ) : (
          <Empty title="Nothing matches">
            No results for {q.metric ? `metric ${q.metric}` : 'these filters'}. <a href="/ui/benchmarks">Show every series</a>
          </Empty>
        );
      } else {
        const trends = await metricTrends(
          pool,
          changesFilter({ ...q, repo, metric: q.metric }),
          { settings, repos: deps.repos, minEffect: q.min_effect, direction: q.direction },
          { offset, limit: SERIES_PER_PAGE },
        );
        const next = offset + SERIES_PER_PAGE < trends.total ? String(offset + SERIES_PER_PAGE) : null;
        const url = new URL(viewer.here, 'http://x');
        if (next) url.searchParams.set('cursor', next);
        body = trends.total ? (
          <>
            <p class="meta">
              {trends.total} series (one per tag set) · showing {offset + 1}–{offset + trends.shown.length}
              {trends.truncated ? ' · only the newest 200,000 points were read' : ''} · times in UTC
            </p>
            {trends.shown.map((t, i) => (
              <TrendCard viewer={viewer} t={t} index={offset + i} repo={repo} />
            ))}
            {next ? (
              <nav class="pager" aria-label="Pagination">
                <a href={url.pathname + url.search} rel="next">
                  Next series →
                </a>
              </nav>
            ) : null}
          </>
        ) : (
          <Empty title={`No points of ${q.metric} in ${repo} match`}>
            Check the config, architecture, branch and tag filters, or{' '}
            <a href={`/ui/benchmarks?repo=${encodeURIComponent(repo)}`}>list this repository’s series</a>.
          </Empty>
        );
      }
      return c.html(
        <Layout title="Benchmarks" section="benchmarks" viewer={viewer} charts {...flashOf(c)}>
          <BenchNav current="trends" />
          <TrendFilters q={{ ...q, repo }} repos={facets.repos} metrics={facets.metrics} configs={configs} />
          {body}
        </Layout>,
      );
    }),
  );

  app.get(
    '/alerts',
    uiPage('benchmarks', '/ui/benchmarks/alerts', async (c) => {
      const viewer = c.get('viewer');
      const q = readUiQuery(c, alertsQuery);
      const [page, counts, facets] = await Promise.all([
        listAlerts(pool, alertsFilter(q)),
        alertCounts(pool, { repo: q.repo, metric: q.metric }),
        benchFacets(pool, undefined),
      ]);
      const filtered = Object.keys(q).some((k) => k !== 'cursor' && k !== 'limit');
      return c.html(
        <Layout title="Benchmark alerts" section="benchmarks" viewer={viewer} {...flashOf(c)}>
          <BenchNav current="alerts" />
          <AlertCounts q={q} counts={counts} />
          <AlertFilters q={q} repos={facets.repos} />
          <AlertTable viewer={viewer} alerts={page.alerts} nextCursor={page.nextCursor} filtered={filtered} />
        </Layout>,
      );
    }),
  );

  // The same change and scope as PATCH /benchmarks/alerts/{id}.
  app.post(
    '/alerts/:id',
    uiAction('submit', async (c, form) => {
      const id = alertId(c.req.param('id'));
      const revision = field(form, 'revision');
      if (revision !== undefined && !/^[1-9]\d{0,9}$/.test(revision)) {
        throw new ValidationError([{ field: 'revision', message: 'must be a positive integer' }]);
      }
      const status = field(form, 'status') ?? '';
      const a = await updateAlert(pool, id, {
        status: status as Parameters<typeof updateAlert>[2]['status'],
        revision: revision === undefined ? undefined : Number(revision),
      });
      return `Alert #${a.id} (${a.metric}) is now ${a.status.replace('_', ' ')}.`;
    }),
  );

  app.get(
    '/compare',
    uiPage('benchmarks', '/ui/benchmarks/compare', async (c) => {
      const viewer = c.get('viewer');
      const q = readUiQuery(c, compareQuery);
      const baselines = await listBaselines(pool, { repo: allowed.keyOf(q.repo) });
      let body: Child = null;
      if (baselines.length === 0 && !q.baseline) {
        body = <NoBaselines />;
      } else if (q.baseline) {
        // As POST /benchmarks/compare: the baseline first, for it names the repository a ref resolves in.
        const baseline = await findBaseline(pool, { name: q.baseline, repo: allowed.keyOf(q.repo) }, { name: 'baseline' });
        if (q.commit === undefined && q.run === undefined) {
          body = <BaselineSummary b={baseline} recent={await recentCommits(pool, baseline.repo)} />;
        } else {
          if (q.commit !== undefined && q.run !== undefined) {
            throw new ValidationError([{ field: 'commit', message: 'give exactly one of commit and run' }]);
          }
          const sha =
            q.commit === undefined ? undefined : await resolveCommitRef({ ref: q.commit, repo: baseline.repo, allowed, field: 'commit' });
          const result = await compare(pool, {
            repo: baseline.repo,
            baseline: baseline.name,
            sha,
            runUid: q.run,
            threshold: q.threshold === undefined ? undefined : q.threshold / 100,
          });
          body = <CompareResultView r={result} />;
        }
      }
      return c.html(
        <Layout title="Compare with a baseline" section="benchmarks" viewer={viewer}>
          <BenchNav current="compare" />
          {baselines.length || q.baseline ? <CompareForm q={q} baselines={baselines} /> : null}
          {body ?? <p class="hint">Choose a baseline, then a candidate commit or run: each series is judged against the threshold.</p>}
        </Layout>,
      );
    }),
  );

  return app;
}
