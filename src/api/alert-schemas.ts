import { z } from 'zod';
import { ValidationError } from '../errors.ts';
import type { SeriesEvaluation } from '../tracking/alerts/evaluate.ts';
import type { AlertSettings } from '../tracking/alerts/settings.ts';
import { ALERT_STATUSES, type Alert, type AlertFilter } from '../tracking/alerts/store.ts';
import type { ChangePoint } from '../tracking/changes/detect.ts';
import { architecture, branch, metricName, repo } from '../tracking/formats/index.ts';
import type { SeriesFilter } from '../tracking/series-samples.ts';
import { text } from '../validation/zod.ts';
import { configFilter, tagFilter } from './benchmark-schemas.ts';
import { EXAMPLE, example, OUT, OUT_NULLABLE } from './examples.ts';

/**
 * The wire format of change points and alerts (snake_case, like the rest of the API): request
 * schemas that validate and document, and the serializers behind the answers, which the CLI's
 * `--json` prints too. A webhook delivery carries alertToJson's output.
 */

const configRef = z
  .string()
  .regex(/^(?:\d{1,15}|[0-9a-fA-F]{64})$/, { error: 'must be a config id or its 64-hex-digit hash' })
  .describe('A config id, or the sha256 of its canonical JSON.');

const csv = <T extends z.ZodType<unknown, string>>(item: T) =>
  z
    .union([z.string(), z.array(z.string())])
    .transform((v) => (Array.isArray(v) ? v : [v]).flatMap((s) => s.split(',')).filter(Boolean))
    .pipe(z.array(item));

export const changesQuery = z.strictObject({
  repo: example(repo, EXAMPLE.repo),
  metric: example(metricName, EXAMPLE.metric),
  config: configRef.optional(),
  architecture: example(architecture, EXAMPLE.architecture).optional().describe('Empty: runs without an architecture.'),
  branch: example(branch, EXAMPLE.branch)
    .optional()
    .describe('Only runs of this branch; its first-parent history orders the commits (EVENTIX_REPOS).'),
  tags: tagFilter
    .optional()
    .describe(
      'Sent as tags[<name>]=<value>, repeated for any of several values; every tag named must match. Each tag set is its own series.',
    ),
  min_effect: z.coerce
    .number({ error: 'must be a number' })
    .min(0.001, { error: 'must be at least 0.001' })
    .max(1, { error: 'must be at most 1' })
    .optional()
    .describe('Minimum relative change of the medians (default: the server’s, 0.02).'),
  direction: z
    .enum(['higher', 'lower', 'unknown'], { error: 'must be one of higher, lower, unknown' })
    .optional()
    .describe('Overrides which way is better for this request; unknown labels every change point `change`.'),
});
export type ChangesQueryWire = z.infer<typeof changesQuery>;

/** GET /benchmarks/changes' series filter as loadSeries takes it; the dashboard's trend charts read the same series. */
export function changesFilter(q: Omit<ChangesQueryWire, 'min_effect' | 'direction'>): SeriesFilter {
  const cfg = configFilter(q.config);
  return {
    repo: q.repo,
    metric: q.metric,
    config: cfg.configId !== undefined ? { id: cfg.configId } : cfg.configHash !== undefined ? { hash: cfg.configHash } : undefined,
    architecture: q.architecture,
    branch: q.branch,
    tags: q.tags,
  };
}

/** The server's direction overrides, with the request's own `direction` for its metric on top (unknown: none). */
export function directionsWith(
  directions: AlertSettings['directions'],
  metric: string,
  direction: ChangesQueryWire['direction'],
): AlertSettings['directions'] {
  return direction ? { ...directions, [metric]: direction === 'unknown' ? null : direction } : directions;
}

const side = z.object({ commits: z.number().int(), samples: z.number().int(), mean: z.number(), median: z.number() });
const direction = z.enum(['higher', 'lower']).nullable();
const configOut = z.object({ id: z.number().int(), hash: OUT.configHash }).nullable();

export const changePointOut = z
  .object({
    sha: OUT.sha.describe('The first measured commit of the new level.'),
    previous_sha: OUT.previousSha.describe('The last measured commit before it.'),
    before: side,
    after: side,
    relative_change: z.number().nullable().describe('(after.median − before.median) / |before.median|; null when before.median is 0.'),
    p_value: z.number().describe('The detector’s corrected p-value (the confidence; smaller is surer).'),
    kind: z.enum(['regression', 'improvement', 'change']).describe('`change` when the direction is unknown.'),
    direction,
    unit: OUT_NULLABLE.unit,
  })
  .meta({ id: 'BenchmarkChangePoint' });

export const changesOut = z
  .object({
    repo: OUT.repo,
    metric: OUT.metric,
    series: z.array(
      z.object({
        series_hash: OUT.seriesHash,
        config: configOut,
        architecture: OUT_NULLABLE.architecture,
        tags: z.record(z.string(), z.unknown()),
        unit: OUT_NULLABLE.unit,
        direction,
        direction_source: z
          .enum(['override', 'stored', 'name', 'unit'])
          .nullable()
          .describe('Which rule gave the direction: an override, the stored metric, the metric’s name, its unit; null when unknown.'),
        order: z.object({
          by: z.enum(['git-first-parent', 'committer-time']),
          ref: OUT_NULLABLE.branch,
          note: z.string().nullable().describe('Why git order was not used for a repository in EVENTIX_REPOS.'),
        }),
        commits: z.number().int().describe('Measured commits in the series.'),
        samples: z.number().int(),
        excluded_commits: z.number().int().describe('Measured commits not on the first-parent history, left out (git order only).'),
        change_points: z.array(changePointOut),
      }),
    ),
    truncated: z.boolean().describe('More points matched than are read at once: the oldest were left out.'),
  })
  .meta({ id: 'BenchmarkChanges' });

export const alertStatus = z.enum(ALERT_STATUSES, { error: `must be one of ${ALERT_STATUSES.join(', ')}` });

export const alertsQuery = z.strictObject({
  status: csv(alertStatus).optional(),
  repo: example(repo, EXAMPLE.repo).optional(),
  metric: example(metricName, EXAMPLE.metric).optional(),
  series_hash: z
    .string()
    .regex(/^[0-9a-fA-F]{64}$/, { error: 'must be 64 hex digits' })
    .optional(),
  limit: z.coerce.number({ error: 'must be a number' }).int().min(1).max(500).optional(),
  cursor: z.string().min(1).max(200).optional(),
});

/** GET /benchmarks/alerts' query as listAlerts takes it; the dashboard's alert list filters the same way. */
export function alertsFilter(q: z.infer<typeof alertsQuery>): AlertFilter {
  return { statuses: q.status, repo: q.repo, metric: q.metric, seriesHash: q.series_hash, limit: q.limit, cursor: q.cursor };
}

/** The {id} of /benchmarks/alerts/{id}, for the API route and the dashboard's alert buttons alike. */
export function alertId(raw: string | undefined): number {
  if (!raw || !/^[1-9]\d{0,14}$/.test(raw))
    throw new ValidationError([{ field: 'id', message: 'must be a positive integer (an alert id)' }]);
  return Number(raw);
}

export const alertPatchBody = z
  .strictObject({
    status: alertStatus,
    note: example(text(2000), 'Expected: io-threads default changed in this commit.')
      .nullable()
      .optional()
      .describe('Replaces the note; null clears it; absent keeps it.'),
    revision: z
      .number()
      .int()
      .min(1)
      // The column is an integer: a larger value must be refused here, not by PostgreSQL (a 500).
      .max(2_147_483_647)
      .optional()
      .describe('The revision you read: answered 409 AlertConflict when the alert has changed since.'),
  })
  .meta({ id: 'BenchmarkAlertPatch' });

const mm = z.object({ mean: z.number(), median: z.number() });

export const alertOut = z
  .object({
    id: z.number().int(),
    series: z.object({
      hash: OUT.seriesHash,
      repo: OUT.repo,
      metric: OUT.metric,
      config: configOut,
      architecture: OUT_NULLABLE.architecture,
      tags: z.record(z.string(), z.unknown()),
    }),
    direction,
    unit: OUT_NULLABLE.unit,
    last_good_sha: OUT.previousSha,
    first_bad_sha: OUT.sha,
    culprit_sha: OUT_NULLABLE.sha.describe('Filled by a bisection; null until one ran.'),
    bisection: z.record(z.string(), z.unknown()).nullable(),
    before: mm,
    after: mm,
    relative_change: z.number().nullable(),
    p_value: z.number(),
    kind: z.enum(['regression', 'improvement', 'change']),
    status: alertStatus,
    note: z.string().nullable(),
    resolved_by_sha: OUT_NULLABLE.sha.describe('The later change point that restored the level, when evaluation resolved it.'),
    revision: z.number().int(),
    created_at: OUT.at,
    updated_at: OUT.at,
    evaluated_at: OUT.at,
    acknowledged_at: OUT_NULLABLE.at,
    resolved_at: OUT_NULLABLE.at,
  })
  .meta({ id: 'BenchmarkAlert' });

export const alertPageOut = z.object({ alerts: z.array(alertOut), next_cursor: z.string().nullable() }).meta({ id: 'BenchmarkAlertPage' });

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function alertToJson(a: Alert): z.infer<typeof alertOut> {
  return {
    id: a.id,
    series: { hash: a.seriesHash, repo: a.repo, metric: a.metric, config: a.config, architecture: a.architecture, tags: a.tags },
    direction: a.direction,
    unit: a.unit,
    last_good_sha: a.lastGoodSha,
    first_bad_sha: a.firstBadSha,
    culprit_sha: a.culpritSha,
    bisection: a.bisection,
    before: a.before,
    after: a.after,
    relative_change: a.relativeChange,
    p_value: a.pValue,
    kind: a.kind,
    status: a.status,
    note: a.note,
    resolved_by_sha: a.resolvedBySha,
    revision: a.revision,
    created_at: a.createdAt.toISOString(),
    updated_at: a.updatedAt.toISOString(),
    evaluated_at: a.evaluatedAt.toISOString(),
    acknowledged_at: iso(a.acknowledgedAt),
    resolved_at: iso(a.resolvedAt),
  };
}

export function changePointToJson(cp: ChangePoint, s: SeriesEvaluation['series']): z.infer<typeof changePointOut> {
  return {
    sha: cp.sha,
    previous_sha: cp.previousSha,
    before: cp.before,
    after: cp.after,
    relative_change: cp.relativeChange,
    p_value: cp.pValue,
    kind: cp.kind,
    direction: s.direction,
    unit: s.unit,
  };
}

export function changesToJson(
  q: { repo: string; metric: string },
  evaluations: readonly SeriesEvaluation[],
  truncated: boolean,
): z.infer<typeof changesOut> {
  return {
    repo: q.repo,
    metric: q.metric,
    series: evaluations.map(({ series: s, changePoints }) => ({
      series_hash: s.hash,
      config: s.key.config,
      architecture: s.key.architecture || null,
      tags: s.key.tags,
      unit: s.unit,
      direction: s.direction,
      direction_source: s.directionSource,
      order: s.order,
      commits: s.commits.length,
      samples: s.samples,
      excluded_commits: s.excludedCommits,
      change_points: changePoints.map((cp) => changePointToJson(cp, s)),
    })),
    truncated,
  };
}
