import type { Hono } from 'hono';
import type { Database } from '../../db/client.ts';
import { ValidationError } from '../../errors.ts';
import { createBaseline, deleteBaseline, findBaseline, getBaseline, listBaselines } from '../../tracking/baselines.ts';
import { resolveCommitRef } from '../../tracking/commit-ref.ts';
import { compare } from '../../tracking/compare.ts';
import { RepoAllowList } from '../../tracking/repos.ts';
import { listSnapshots, recordSnapshots } from '../../tracking/snapshots.ts';
import { type AppEnv, operatorOf } from '../auth.ts';
import {
  baselineCreateBody,
  baselineDeletedOut,
  baselineDetailOut,
  baselineGetQuery,
  baselineListOut,
  baselineListQuery,
  baselineToJson,
  compareBody,
  compareOut,
  compareToJson,
  snapshotListOut,
  snapshotListQuery,
  snapshotRecordBody,
  snapshotRecordOut,
  snapshotToJson,
  tagTexts,
} from '../baseline-schemas.ts';
import { configFilter } from '../benchmark-schemas.ts';
import { route } from '../route.ts';

const BASELINE_404 = 'No baseline of that name (in that repository); code BaselineNotFound';
const AMBIGUOUS = 'Invalid input; `errors` names each field (`repo` when several repositories have a baseline of that name)';

export interface BaselineRoutesDeps {
  database: Database;
  /** Local repositories refs may be resolved in (EVENTIX_REPOS); none by default. */
  repos?: readonly string[] | undefined;
}

function oneCandidate(b: { commit?: string | undefined; run_uid?: string | undefined }): void {
  if ((b.commit === undefined) === (b.run_uid === undefined)) {
    throw new ValidationError([{ field: 'commit', message: 'give exactly one of commit and run_uid' }]);
  }
}

export function baselineRoutes(app: Hono<AppEnv>, deps: BaselineRoutesDeps): void {
  const pool = deps.database.pool;
  const allowed = new RepoAllowList(deps.repos ?? []);
  const commitOf = (b: { commit?: string | undefined; git_repo?: string | undefined }, repo: string) =>
    b.commit === undefined ? undefined : resolveCommitRef({ ref: b.commit, repo, gitRepo: b.git_repo, allowed, field: 'commit' });

  route(
    app,
    {
      method: 'get',
      path: '/benchmarks/baselines',
      summary: 'Named baselines (release-1.2), by repository and name',
      scope: 'read',
      query: baselineListQuery,
      ok: { status: 200, schema: baselineListOut },
      errors: [400],
    },
    async (c, { query }) => c.json({ baselines: (await listBaselines(pool, { repo: allowed.keyOf(query.repo) })).map(baselineToJson) }),
  );

  route(
    app,
    {
      method: 'post',
      path: '/benchmarks/baselines',
      summary: 'Create a baseline pinning a commit (every run of it, per series) or one run; snapshots each series with runs there',
      scope: 'submit',
      body: baselineCreateBody,
      ok: { status: 201, schema: baselineDetailOut, description: 'Created, with the snapshots it recorded (is_baseline)' },
      errors: [400, 404, 409, 413, 415],
      errorText: {
        400: 'Invalid input; `errors` names each field (`commit` for a ref that is not a commit, or that cannot be resolved here)',
        404: 'The commit or run has no stored results (code BenchmarkRunsNotFound); nothing was created',
        409: 'A baseline of that name exists in the repository (code BaselineExists); delete it first to move it',
      },
    },
    async (c, { body: b }) => {
      oneCandidate(b);
      const repo = allowed.keyOf(b.repo) as string;
      const r = await createBaseline(pool, {
        repo,
        name: b.name,
        sha: await commitOf(b, repo),
        runUid: b.run_uid,
        description: b.description,
        createdBy: operatorOf(c, b.created_by),
      });
      return c.json({ baseline: baselineToJson(r.baseline), snapshots: r.snapshots.map(snapshotToJson) }, 201);
    },
  );

  route(
    app,
    {
      method: 'get',
      path: '/benchmarks/baselines/{name}',
      summary: 'One baseline with its snapshots',
      scope: 'read',
      query: baselineGetQuery,
      ok: { status: 200, schema: baselineDetailOut },
      errors: [400, 404],
      errorText: { 400: AMBIGUOUS, 404: BASELINE_404 },
    },
    async (c, { params, query }) => {
      const r = await getBaseline(pool, { name: params.name, repo: allowed.keyOf(query.repo) });
      return c.json({ baseline: baselineToJson(r.baseline), snapshots: r.snapshots.map(snapshotToJson) });
    },
  );

  route(
    app,
    {
      method: 'delete',
      path: '/benchmarks/baselines/{name}',
      summary: 'Delete a baseline; its snapshots stay (unflagged) and no run is deleted',
      scope: 'admin',
      query: baselineGetQuery,
      ok: { status: 200, schema: baselineDeletedOut },
      errors: [400, 404],
      errorText: { 400: AMBIGUOUS, 404: BASELINE_404 },
    },
    async (c, { params, query }) => {
      const deleted = await deleteBaseline(pool, { name: params.name, repo: allowed.keyOf(query.repo) });
      return c.json({ deleted: baselineToJson(deleted) });
    },
  );

  route(
    app,
    {
      method: 'post',
      path: '/benchmarks/compare',
      summary:
        'Compare a commit or run against a baseline: per series the two sides, the relative change with its confidence interval, and a verdict',
      // Reads only: a CI gate needs no more than a read token.
      scope: 'read',
      body: compareBody,
      ok: { status: 200, schema: compareOut },
      errors: [400, 404, 413, 415],
      errorText: {
        400: 'Invalid input; `errors` names each field (`threshold`, `confidence`, `commit`, `repo` when the baseline name is ambiguous)',
        404: 'No such baseline (BaselineNotFound), or the candidate commit or run has no stored results (BenchmarkRunsNotFound)',
      },
    },
    async (c, { body: b }) => {
      oneCandidate(b);
      // The baseline first: it names the repository a ref is resolved in.
      const baseline = await findBaseline(pool, { name: b.baseline, repo: allowed.keyOf(b.repo) }, { name: 'baseline' });
      const result = await compare(pool, {
        repo: baseline.repo,
        baseline: baseline.name,
        sha: await commitOf(b, baseline.repo),
        runUid: b.run_uid,
        threshold: b.threshold,
        thresholds: b.thresholds,
        confidence: b.confidence,
        metrics: b.metrics,
        tags: tagTexts(b.tags),
        ...configFilter(b.config),
        architecture: b.architecture,
        directions: b.directions,
      });
      return c.json(compareToJson(result));
    },
  );

  route(
    app,
    {
      method: 'get',
      path: '/benchmarks/snapshots',
      summary: 'Versioned snapshots of series values, newest first; current=true gives each series’ current one',
      scope: 'read',
      query: snapshotListQuery,
      ok: { status: 200, schema: snapshotListOut },
      errors: [400],
    },
    async (c, { query: q }) => {
      const page = await listSnapshots(pool, {
        repo: allowed.keyOf(q.repo),
        metric: q.metric,
        current: q.current,
        baseline: q.baseline,
        sha: q.sha,
        seriesKey: q.series_key,
        limit: q.limit,
        cursor: q.cursor,
      });
      return c.json({ snapshots: page.snapshots.map(snapshotToJson), next_cursor: page.nextCursor });
    },
  );

  route(
    app,
    {
      method: 'post',
      path: '/benchmarks/snapshots',
      summary:
        'Snapshot the values of every series with runs at a commit (or in a run): each becomes its series’ current snapshot, one version up',
      scope: 'submit',
      body: snapshotRecordBody,
      ok: { status: 201, schema: snapshotRecordOut },
      errors: [400, 404, 413, 415],
      errorText: { 404: 'The commit or run has no stored results that match (code BenchmarkRunsNotFound); nothing was written' },
    },
    async (c, { body: b }) => {
      oneCandidate(b);
      const repo = allowed.keyOf(b.repo) as string;
      const snapshots = await recordSnapshots(pool, {
        repo,
        sha: await commitOf(b, repo),
        runUid: b.run_uid,
        metrics: b.metrics,
        tags: tagTexts(b.tags),
        ...configFilter(b.config),
        architecture: b.architecture,
        createdBy: operatorOf(c, b.created_by),
      });
      return c.json({ snapshots: snapshots.map(snapshotToJson) }, 201);
    },
  );
}
