import { Hono } from 'hono';
import { commitListQuery, requeueBody, requeueOptions } from '../../api/commit-schemas.ts';
import { ValidationError } from '../../errors.ts';
import { commitStats, listConfigs } from '../../tracking/commits-read.ts';
import { RepoAllowList } from '../../tracking/repos.ts';
import { requeueFailedPair } from '../../tracking/requeue.ts';
import { issuesOf } from '../../validation/zod.ts';
import { field, flashOf, uiAction } from '../actions.tsx';
import { Card, Count, Empty, Kpi, NextPage, NoMatch } from '../components.tsx';
import type { UiDeps, UiEnv } from '../context.ts';
import { Layout } from '../layout.tsx';
import { commitFacets, commitInfo, commitMatrix } from '../queries/commits.ts';
import { readUiQuery, shortSha } from './benchmark-shared.tsx';
import { commitDetailPage } from './commit-detail.tsx';
import { columnsOf, FailedPairs, Filters, Matrix } from './commit-matrix.tsx';
import { pageErrors } from './input-errors.tsx';

/**
 * /ui/commits: the commit × config matrix of commit status, as a CI matrix shows jobs: a row per
 * commit (newest first), a column per config (and architecture), a status badge per pair. Failed
 * pairs show their error and can be re-queued; /ui/commits/<sha> shows one commit in full.
 */

/** The API's own filter of GET /commits, less what the matrix cannot use (a config hash). */
const matrixQuery = commitListQuery.omit({ config_hash: true });

export function commitPages(deps: UiDeps) {
  const pool = deps.database.pool;
  const app = new Hono<UiEnv>();
  app.onError(pageErrors('commits', { href: '/ui/commits', label: 'Start again without filters' }));

  app.get('/', async (c) => {
    const viewer = c.get('viewer');
    const q = readUiQuery(c, matrixQuery);
    const [page, configs, facets, stats] = await Promise.all([
      commitMatrix(pool, {
        repo: q.repo,
        sha: q.sha,
        configId: q.config_id,
        statuses: q.status,
        architecture: q.architecture,
        cursor: q.cursor,
        limit: q.limit ?? 50,
      }),
      listConfigs(pool),
      commitFacets(pool),
      commitStats(pool, { repo: q.repo }),
    ]);
    const byId = new Map(configs.map((cfg) => [cfg.id, cfg]));
    const subjects = new Map<string, string>();
    for (const repo of new Set(page.rows.map((r) => r.repo))) {
      const known = await commitInfo(
        repo,
        deps.repos,
        page.rows.filter((r) => r.repo === repo).map((r) => r.sha),
      );
      for (const [sha, info] of known) subjects.set(`${repo}\u0000${sha}`, info.subject);
    }
    const filtered = Object.keys(q).some((k) => k !== 'cursor' && k !== 'limit');
    return c.html(
      <Layout title="Commits" section="commits" viewer={viewer} {...flashOf(c)}>
        <div class="kpis compact">
          <Kpi label="commits tracked" value={<Count n={stats.unique_commits} />} />
          <Kpi label="configs" value={<Count n={stats.unique_configs} />} />
          <Kpi label="pairs complete" value={<Count n={stats.by_status.complete} />} />
          <Kpi label="pairs running" value={<Count n={stats.by_status.in_progress + stats.by_status.benchmark_complete} />} />
          <Kpi label="pairs failed" value={<Count n={stats.by_status.failed} />} href="/ui/commits?status=failed" />
        </div>
        <Filters q={q} repos={facets.repos} architectures={facets.architectures} configs={configs} />
        <Card title="Status by commit and config">
          {page.rows.length ? (
            <Matrix
              rows={page.rows}
              columns={columnsOf(page.rows, byId)}
              subjects={subjects}
              showRepo={!q.repo && facets.repos.length > 1}
            />
          ) : filtered ? (
            <NoMatch what="commits" href="/ui/commits" />
          ) : (
            <Empty title="No commit status yet">
              A sweep fills this as it benchmarks commits. By hand or from CI:{' '}
              <code>eventix commits mark --repo ../valkey --status complete --config-file config.json HEAD</code>, or{' '}
              <code>POST /commits/mark</code> with <code>{'{"repo", "shas", "status", "config"}'}</code>.
            </Empty>
          )}
          <NextPage viewer={viewer} cursor={page.nextCursor} />
          <p class="hint">
            Times in UTC. A dash is a pair still waiting (never tried, or returned to waiting). Hover a failed pair for its error; ×n is its
            attempts.
          </p>
        </Card>
        <FailedPairs viewer={viewer} rows={page.rows} configs={byId} />
      </Layout>,
    );
  });

  // POST /commits/requeue's schema, scope and library call: the same rules as the API.
  const allowed = new RepoAllowList(deps.repos ?? []);
  app.post(
    '/requeue',
    uiAction('submit', async (_c, form) => {
      const id = field(form, 'config_id');
      const parsed = requeueBody.safeParse({
        repo: field(form, 'repo') ?? '',
        sha: field(form, 'sha') ?? '',
        config_id: id !== undefined && /^\d{1,16}$/.test(id) ? Number(id) : id,
        architecture: field(form, 'architecture') ?? '',
      });
      if (!parsed.success) throw new ValidationError(issuesOf(parsed.error));
      const was = await requeueFailedPair(pool, requeueOptions(parsed.data, allowed));
      return `Re-queued ${shortSha(was.sha)} under config #${was.config_id} (it had failed ${was.attempts}×): it is waiting again, and the next sweep fire or determine offers it.`;
    }),
  );

  app.get('/:sha', commitDetailPage(deps));
  return app;
}
