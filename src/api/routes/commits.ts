import type { Context, Hono } from 'hono';
import type { Database } from '../../db/client.ts';
import type { Executor } from '../../db/executor.ts';
import { ValidationError } from '../../errors.ts';
import { cleanupCommits, DEFAULT_MAX_ATTEMPTS, DEFAULT_STALE_SECONDS, markCommits } from '../../tracking/commits.ts';
import { InvalidRecords, importCommits } from '../../tracking/commits-import.ts';
import { commitStats, exportCommits, getConfig, listConfigs, queryCommits } from '../../tracking/commits-read.ts';
import { determineCommits } from '../../tracking/determine.ts';
import { RepoAllowList } from '../../tracking/repos.ts';
import { requeueFailedPair } from '../../tracking/requeue.ts';
import type { AppEnv } from '../auth.ts';
import {
  cleanupBody,
  cleanupOut,
  commitExportQuery,
  commitListQuery,
  commitPageOut,
  commitStatsOut,
  commitStatsQuery,
  configListOut,
  configOut,
  determineBody,
  determineOut,
  exportOut,
  importBody,
  importOut,
  markBody,
  markOut,
  requeueBody,
  requeueOptions,
  requeueOut,
} from '../commit-schemas.ts';
import { route } from '../route.ts';

const CONFIG_404 = { 404: 'No config with that id' };

export interface CommitRoutesDeps {
  database: Database;
  /** Local repositories determine and mark may run git in (EVENTIX_REPOS); none by default. */
  repos?: readonly string[] | undefined;
  maxAttempts?: number | undefined;
  staleSeconds?: number | undefined;
}

/** The config a body names: inline, by id (404 if unknown), or none. */
async function configOf(ex: Executor, b: { config?: unknown; config_id?: number | undefined }): Promise<unknown> {
  if (b.config_id !== undefined) return (await getConfig(ex, { id: b.config_id })).config;
  return b.config;
}

/** A config id in the path: a positive integer. */
const CONFIG_ID = {
  id: {
    parse: (c: Context, name: string): number => {
      const raw = c.req.param(name) ?? '';
      const id = /^[1-9]\d{0,15}$/.test(raw) ? Number(raw) : Number.NaN;
      if (!Number.isSafeInteger(id)) throw new ValidationError([{ field: 'id', message: 'must be a positive integer' }]);
      return id;
    },
  },
};

export function commitRoutes(app: Hono<AppEnv>, deps: CommitRoutesDeps): void {
  const pool = deps.database.pool;
  const allowed = new RepoAllowList(deps.repos ?? []);
  const maxAttempts = deps.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  const staleSeconds = deps.staleSeconds ?? DEFAULT_STALE_SECONDS;

  route(
    app,
    {
      method: 'get',
      path: '/commits',
      summary: 'Commit status by repo, sha (or prefix), config, status and architecture; newest commit first, keyset pagination',
      scope: 'read',
      query: commitListQuery,
      ok: { status: 200, schema: commitPageOut },
      errors: [400],
    },
    async (c, { query: q }) => {
      const page = await queryCommits(pool, {
        repo: allowed.keyOf(q.repo),
        sha: q.sha,
        configId: q.config_id,
        configHash: q.config_hash,
        statuses: q.status,
        architecture: q.architecture,
        limit: q.limit,
        cursor: q.cursor,
      });
      return c.json({ commits: page.commits, next_cursor: page.nextCursor });
    },
  );

  route(
    app,
    {
      method: 'post',
      path: '/commits/determine',
      summary: 'The commits of a branch that still need a benchmark with a config, newest first',
      scope: 'submit',
      body: determineBody,
      ok: { status: 200, schema: determineOut },
      errors: [400, 404, 413, 415],
      errorText: CONFIG_404,
    },
    async (c, { body: b }) => {
      const repo = allowed.resolve(b.repo);
      const r = await determineCommits(pool, {
        repo,
        branch: b.branch,
        config: await configOf(pool, b),
        maxCommits: b.max_commits ?? 3,
        subsetDetection: b.subset_detection,
        firstParent: b.first_parent,
        since: b.since === undefined ? undefined : new Date(b.since),
        strategy: b.strategy,
        architecture: b.architecture,
        maxAttempts,
        staleSeconds,
      });
      return c.json({
        shas: r.shas,
        walked: r.walked,
        eligible: r.eligible,
        subset_skipped: r.subsetSkipped,
        superset_config_ids: r.supersetConfigIds,
      });
    },
  );

  route(
    app,
    {
      method: 'post',
      path: '/commits/mark',
      summary: 'Set the status of commits (refs resolve to shas) for a config; or claim them for a task',
      scope: 'submit',
      body: markBody,
      ok: { status: 200, schema: markOut },
      errors: [400, 404, 413, 415],
      errorText: CONFIG_404,
    },
    async (c, { body: b }) => {
      const repo = allowed.resolve(b.repo);
      const r = await markCommits(pool, {
        repo,
        refs: b.shas,
        config: await configOf(pool, b),
        configName: b.config_name,
        status: b.status,
        taskUid: b.task_uid,
        error: b.error,
        architecture: b.architecture,
        claim: b.claim,
        maxAttempts,
      });
      return c.json(r);
    },
  );

  route(
    app,
    {
      method: 'post',
      path: '/commits/requeue',
      summary: 'Re-queue a failed pair: delete its row (attempts with it) so determine and sweeps offer it again',
      scope: 'submit',
      body: requeueBody,
      ok: { status: 200, schema: requeueOut, description: 'Re-queued: the removed row’s attempts and error' },
      errors: [400, 404, 409, 413, 415],
      errorText: {
        ...CONFIG_404,
        409: 'The pair is not failed (running, complete, or waiting already); code PairNotFailed; nothing changed',
      },
    },
    async (c, { body }) => c.json(await requeueFailedPair(pool, requeueOptions(body, allowed))),
  );

  route(
    app,
    {
      method: 'post',
      path: '/commits/cleanup',
      summary: 'Return stale in_progress and benchmark_complete pairs (owner task gone, or ownerless and old) to waiting',
      scope: 'submit',
      body: cleanupBody,
      bodyOptional: true,
      ok: { status: 200, schema: cleanupOut },
      errors: [400, 404, 415],
      errorText: CONFIG_404,
    },
    async (c, { body }) => {
      const b = body ?? {};
      const config = await configOf(pool, b);
      return c.json(
        await cleanupCommits(pool, {
          olderThanSeconds: b.older_than_seconds ?? staleSeconds,
          repo: allowed.keyOf(b.repo),
          config,
          architecture: b.architecture,
        }),
      );
    },
  );

  route(
    app,
    {
      method: 'get',
      path: '/commits/stats',
      summary: 'Totals, unique commits, unique configs and counts by status',
      scope: 'read',
      query: commitStatsQuery,
      ok: { status: 200, schema: commitStatsOut },
      errors: [400],
    },
    async (c, { query }) => c.json(await commitStats(pool, { repo: allowed.keyOf(query.repo) })),
  );

  route(
    app,
    {
      method: 'get',
      path: '/commits/export',
      summary: 'Commit status as a JSON array of {sha, timestamp, status, config}, newest first (the seed’s export format)',
      scope: 'read',
      query: commitExportQuery,
      ok: { status: 200, schema: exportOut },
      errors: [400],
    },
    async (c, { query: q }) =>
      c.json(
        await exportCommits(pool, {
          repo: allowed.keyOf(q.repo),
          sha: q.sha,
          configId: q.config_id,
          configHash: q.config_hash,
          statuses: q.status,
          architecture: q.architecture,
        }),
      ),
  );

  route(
    app,
    {
      method: 'post',
      path: '/commits/import',
      summary: 'Import the export format or a legacy completed_commits.json; all or nothing, never overwriting',
      scope: 'submit',
      body: importBody,
      ok: { status: 200, schema: importOut, description: 'Imported (or, with dry_run, counted)' },
      errors: [400, 413, 415, 422],
      errorText: {
        422: 'Some records are invalid: `errors` names each (records.<index>.<field>), `report` has the counts; nothing was imported',
      },
    },
    async (c, { body: b }) => {
      const report = await importCommits(pool, b.records, {
        config: b.config,
        repo: allowed.keyOf(b.repo),
        architecture: b.architecture,
        dryRun: b.dry_run,
        skipInvalid: b.skip_invalid,
      });
      if (report.invalid > 0 && !b.skip_invalid) throw new InvalidRecords(report);
      return c.json(report);
    },
  );

  route(
    app,
    {
      method: 'get',
      path: '/configs',
      summary: 'Every benchmark config, oldest first, with its pair count (the seed’s --list-configs)',
      scope: 'read',
      ok: { status: 200, schema: configListOut },
    },
    async (c) => c.json({ configs: await listConfigs(pool) }),
  );

  route(
    app,
    {
      method: 'get',
      path: '/configs/{id}',
      summary: 'One benchmark config',
      scope: 'read',
      params: CONFIG_ID,
      ok: { status: 200, schema: configOut },
      errors: [400, 404],
      errorText: CONFIG_404,
    },
    async (c, { params }) => c.json(await getConfig(pool, { id: params.id })),
  );
}
