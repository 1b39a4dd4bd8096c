import { z } from 'zod';
import type { BaselineRecord } from '../tracking/baselines.ts';
import type { CompareResult, MetricComparison, MissingSeries, SideStats } from '../tracking/compare.ts';
import { VERDICTS } from '../tracking/compare-stats.ts';
import { architecture, metricName, repo } from '../tracking/formats/index.ts';
import type { StoredSnapshot } from '../tracking/snapshots.ts';
import { text } from '../validation/zod.ts';
import { EXAMPLE, example, OUT, OUT_NULLABLE, wholeExample } from './examples.ts';
import { uidSchema } from './schemas.ts';

/**
 * The wire format of baselines, snapshots and compare (snake_case, like the rest of the API).
 * `eventix results baseline|snapshot|compare --json` print the same objects.
 */

const baselineName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, { error: 'must be 1-100 letters, digits, . _ - (starting with a letter or digit)' })
  .describe('The baseline name, e.g. release-1.2.');

/** A commit: a full sha, or a ref (HEAD, a tag, a branch) resolved by git in a repository of EVENTIX_REPOS. */
const commitRef = example(z.string().min(1).max(256), EXAMPLE.sha).describe(
  'A full sha; or a ref (HEAD, v1.2.0, main~1) that git resolves in the repository: `repo` when it is one of EVENTIX_REPOS, else `git_repo`.',
);
const gitRepo = example(z.string().min(1).max(4096), EXAMPLE.repo).describe(
  'A repository of EVENTIX_REPOS to resolve `commit` in, when `repo` is not a local path.',
);

/** 0.05 or "5%": a relative threshold, as a fraction or a percentage string. */
const fraction = z
  .union([z.number(), z.string().regex(/^\d+(?:\.\d+)?%$/, { error: 'must be a number (0.05) or a percentage ("5%")' })])
  .transform((v) => (typeof v === 'number' ? v : Number(v.slice(0, -1)) / 100));

const configRef = z
  .string()
  .regex(/^(?:\d{1,15}|[0-9a-fA-F]{64})$/, { error: 'must be a config id or its 64-hex-digit hash' })
  .describe('A config id, or the sha256 of its canonical JSON.');

// Text PostgreSQL can hold: a NUL in a filter would fail the query, not match nothing.
const tagValue = z.union([text(1000), z.number(), z.boolean()]);
const tagFilter = example(z.record(text(200), z.union([tagValue, z.array(tagValue).min(1).max(100)])), {
  io_threads: 4,
  pipeline: [1, 16],
}).describe('tag → accepted value(s): a series matches when each named tag has one of them (compared as text: 16 matches "16").');

export const baselineCreateBody = wholeExample(
  z
    .strictObject({
      repo: example(repo, EXAMPLE.repo).describe("The results' repository, as the runs were stored under."),
      name: baselineName,
      commit: commitRef.optional().describe('The commit to pin (every run of it, per series). Give this or run_uid.'),
      run_uid: uidSchema.optional().describe('Pin one run instead; its commit becomes the baseline’s sha.'),
      git_repo: gitRepo.optional(),
      description: example(text(2000), 'Valkey 8.1.0 as released').optional(),
      created_by: example(text(200), EXAMPLE.operator)
        .optional()
        .describe('Recorded as the creator unless the request is authenticated (then the token’s name).'),
    })
    .meta({ id: 'BenchmarkBaselineCreate' }),
  {
    repo: EXAMPLE.repo,
    name: EXAMPLE.baseline,
    commit: EXAMPLE.previousSha,
    description: 'Valkey 8.1.0 as released',
  },
);

export const baselineListQuery = z.strictObject({ repo: example(repo, EXAMPLE.repo).optional() });
export const baselineGetQuery = z.strictObject({
  repo: example(repo, EXAMPLE.repo).optional().describe('The repository; needed only when several have a baseline of this name.'),
});

export const compareBody = wholeExample(
  z
    .strictObject({
      repo: example(repo, EXAMPLE.repo)
        .optional()
        .describe('The baseline’s repository; needed only when several have a baseline of this name.'),
      baseline: baselineName,
      commit: commitRef.optional().describe('The candidate: every run of this commit. Give this or run_uid.'),
      run_uid: uidSchema.optional().describe('The candidate: this one run.'),
      git_repo: gitRepo.optional(),
      threshold: fraction.optional().describe('The relative change that matters: 0.05 or "5%" (default 5 %).'),
      thresholds: z.record(metricName, fraction).optional().describe('Per-metric thresholds (exact metric names), overriding `threshold`.'),
      confidence: z.number().optional().describe('Confidence level of the intervals, 0.5 to 0.9999 (default 0.95).'),
      metrics: example(z.array(metricName).min(1).max(1000), [EXAMPLE.metric]).optional().describe('Only these metrics.'),
      tags: tagFilter.optional(),
      config: configRef.optional(),
      architecture: example(architecture, EXAMPLE.architecture).optional().describe('Only this architecture; empty: runs without one.'),
      directions: z
        .record(metricName, z.enum(['higher', 'lower']).nullable())
        .optional()
        .describe('Which way is better per metric, overriding the stored direction and the name rule; null: unknown (verdict change).'),
    })
    .meta({ id: 'BenchmarkCompareRequest' }),
  {
    baseline: EXAMPLE.baseline,
    repo: EXAMPLE.repo,
    commit: EXAMPLE.sha,
    threshold: '5%',
    metrics: [EXAMPLE.metric],
    architecture: EXAMPLE.architecture,
  },
);
export type CompareBodyWire = z.infer<typeof compareBody>;

export const snapshotRecordBody = z
  .strictObject({
    repo: example(repo, EXAMPLE.repo),
    commit: commitRef.optional().describe('Snapshot every series with runs of this commit. Give this or run_uid.'),
    run_uid: uidSchema.optional().describe('Snapshot the series of this one run.'),
    git_repo: gitRepo.optional(),
    metrics: example(z.array(metricName).min(1).max(1000), [EXAMPLE.metric]).optional(),
    tags: tagFilter.optional(),
    config: configRef.optional(),
    architecture: example(architecture, EXAMPLE.architecture).optional(),
    created_by: example(text(200), EXAMPLE.operator).optional(),
  })
  .meta({ id: 'BenchmarkSnapshotRecord' });

const bool = z.enum(['true', 'false']).transform((v) => v === 'true');

export const snapshotListQuery = z.strictObject({
  repo: example(repo, EXAMPLE.repo).optional(),
  metric: example(metricName, EXAMPLE.metric).optional(),
  current: bool.optional().describe('true: only current snapshots (one per series); false: only the others (superseded, baselines’).'),
  baseline: baselineName.optional().describe('Only the snapshots of this baseline.'),
  sha: z
    .string()
    .regex(/^(?:[0-9a-fA-F]{40}|[0-9a-fA-F]{64})$/, { error: 'must be a full commit sha (40 or 64 hex digits)' })
    .optional(),
  series_key: z
    .string()
    .regex(/^[0-9a-f]{32}$/, { error: 'must be a series_key (32 hex digits)' })
    .optional()
    .describe('One series: every version of it.'),
  limit: z.coerce.number().int().min(1).max(1000).optional().describe('Page size (default 100).'),
  cursor: z.string().min(1).max(20).optional(),
});

// ── answers ─────────────────────────────────────────────────────────────────────────────────

const configOut = z.object({ id: z.number().int(), hash: OUT_NULLABLE.configHash }).nullable();

export const baselineOut = z
  .object({
    repo: OUT.repo,
    name: OUT.baseline,
    sha: OUT.sha,
    run_uid: OUT_NULLABLE.uid,
    description: z.string().nullable(),
    created_at: OUT.at,
    created_by: OUT_NULLABLE.operator,
    series: z.number().int().describe('Series the baseline recorded a snapshot of.'),
  })
  .meta({ id: 'BenchmarkBaseline' });

export const snapshotOut = z
  .object({
    id: z.number().int(),
    repo: OUT.repo,
    metric: OUT.metric,
    config: configOut,
    architecture: OUT_NULLABLE.architecture,
    tags: z.record(z.string(), z.unknown()),
    tags_hash: OUT.tagsHash,
    series_key: OUT.seriesKey.describe('The series identity (repo, metric, config, architecture, tags) as one hash.'),
    sha: OUT.sha,
    run_uid: OUT_NULLABLE.uid,
    runs: z.number().int(),
    n: z.number().int(),
    mean: z.number(),
    median: z.number(),
    stddev: z.number().nullable(),
    min: z.number(),
    max: z.number(),
    unit: OUT_NULLABLE.unit,
    direction: z.enum(['higher', 'lower']).nullable(),
    version: z.number().int().describe('1, 2, 3, … per series, without gaps.'),
    is_current: z.boolean(),
    is_baseline: z.boolean(),
    baseline_name: OUT_NULLABLE.baseline,
    created_at: OUT.at,
    created_by: OUT_NULLABLE.operator,
  })
  .meta({ id: 'BenchmarkSnapshot' });

export const baselineDetailOut = z
  .object({ baseline: baselineOut, snapshots: z.array(snapshotOut) })
  .meta({ id: 'BenchmarkBaselineDetail' });
export const baselineListOut = z.object({ baselines: z.array(baselineOut) }).meta({ id: 'BenchmarkBaselineList' });
export const baselineDeletedOut = z
  .object({ deleted: baselineOut })
  .meta({ id: 'BenchmarkBaselineDeleted', description: 'The baseline deleted. Its snapshots stay (unflagged); no run was deleted.' });
export const snapshotListOut = z
  .object({ snapshots: z.array(snapshotOut), next_cursor: z.string().nullable() })
  .meta({ id: 'BenchmarkSnapshotPage' });
export const snapshotRecordOut = z.object({ snapshots: z.array(snapshotOut) }).meta({ id: 'BenchmarkSnapshotsRecorded' });

const sideOut = z.object({
  n: z.number().int(),
  runs: z.number().int(),
  mean: z.number(),
  median: z.number(),
  stddev: z.number().nullable(),
  min: z.number(),
  max: z.number(),
  sha: OUT.sha,
  source: z
    .enum(['runs', 'snapshot'])
    .describe('runs: from the stored runs; snapshot: from the baseline’s snapshot (the runs were pruned).'),
});

const seriesFields = {
  metric: OUT.metric,
  config: configOut,
  architecture: OUT_NULLABLE.architecture,
  tags: z.record(z.string(), z.unknown()),
  unit: OUT_NULLABLE.unit,
};

const verdict = z.enum(VERDICTS);

export const compareOut = z
  .object({
    repo: OUT.repo,
    baseline: z.object({ name: OUT.baseline, sha: OUT.previousSha, run_uid: OUT_NULLABLE.uid }),
    candidate: z.object({ sha: OUT.sha, run_uid: OUT_NULLABLE.uid }),
    threshold: z.number(),
    confidence: z.number(),
    method: z.literal('fieller-welch').describe("The interval: Fieller's interval of the ratio of means, Welch–Satterthwaite df."),
    verdict: verdict.describe('regression if any series regressed; else inconclusive, change, improvement, no_change, in that order.'),
    counts: z.object({
      regression: z.number().int(),
      improvement: z.number().int(),
      no_change: z.number().int(),
      inconclusive: z.number().int(),
      change: z.number().int(),
      missing_baseline: z.number().int(),
      missing_candidate: z.number().int(),
    }),
    metrics: z.array(
      z.object({
        ...seriesFields,
        direction: z.enum(['higher', 'lower']).nullable(),
        threshold: z.number(),
        baseline: sideOut,
        candidate: sideOut,
        delta: z.object({
          absolute: z.number().nullable().describe('mean_c − mean_b; null only when it overflows a double.'),
          relative: z.number().nullable().describe('(mean_c − mean_b) / |mean_b|.'),
          relative_median: z.number().nullable(),
        }),
        ci: z
          .object({ low: z.number(), high: z.number(), level: z.number(), df: z.number().nullable().describe('null: infinite.') })
          .nullable()
          .describe('Confidence interval of delta.relative; null when there is none (see reason).'),
        p_value: z.number().nullable(),
        verdict,
        reason: z.string().nullable(),
      }),
    ),
    missing: z
      .array(z.object({ ...seriesFields, missing: z.enum(['baseline', 'candidate']), present: sideOut }))
      .describe('Series with data on one side only.'),
  })
  .meta({ id: 'BenchmarkComparison' });

const iso = (d: Date) => d.toISOString();
const finite = (v: number) => (Number.isFinite(v) ? v : null);

export function baselineToJson(b: BaselineRecord): z.infer<typeof baselineOut> {
  return {
    repo: b.repo,
    name: b.name,
    sha: b.sha,
    run_uid: b.runUid,
    description: b.description,
    created_at: iso(b.createdAt),
    created_by: b.createdBy,
    series: b.series,
  };
}

export function snapshotToJson(s: StoredSnapshot): z.infer<typeof snapshotOut> {
  return {
    id: s.id,
    repo: s.repo,
    metric: s.metric,
    config: s.config,
    architecture: s.architecture,
    tags: s.tags,
    tags_hash: s.tagsHash,
    series_key: s.seriesKey,
    sha: s.sha,
    run_uid: s.runUid,
    runs: s.runs,
    n: s.n,
    mean: s.mean,
    median: s.median,
    stddev: s.stddev,
    min: s.min,
    max: s.max,
    unit: s.unit,
    direction: s.direction,
    version: s.version,
    is_current: s.isCurrent,
    is_baseline: s.isBaseline,
    baseline_name: s.baselineName,
    created_at: iso(s.createdAt),
    created_by: s.createdBy,
  };
}

const sideToJson = (s: SideStats) => ({
  n: s.n,
  runs: s.runs,
  mean: s.mean,
  median: s.median,
  stddev: s.stddev,
  min: s.min,
  max: s.max,
  sha: s.sha,
  source: s.source,
});

function comparisonToJson(m: MetricComparison) {
  return {
    metric: m.metric,
    config: m.config,
    architecture: m.architecture,
    tags: m.tags,
    unit: m.unit,
    direction: m.direction,
    threshold: m.threshold,
    baseline: sideToJson(m.baseline),
    candidate: sideToJson(m.candidate),
    delta: { absolute: finite(m.delta.absolute), relative: m.delta.relative, relative_median: m.delta.relativeMedian },
    ci: m.interval && { low: m.interval.low, high: m.interval.high, level: m.interval.level, df: finite(m.interval.df) },
    p_value: m.pValue,
    verdict: m.verdict,
    reason: m.reason,
  };
}

const missingToJson = (m: MissingSeries) => ({
  metric: m.metric,
  config: m.config,
  architecture: m.architecture,
  tags: m.tags,
  unit: m.unit,
  missing: m.missing,
  present: sideToJson(m.present),
});

export function compareToJson(r: CompareResult): z.infer<typeof compareOut> {
  const { missingBaseline, missingCandidate, ...verdicts } = r.counts;
  return {
    repo: r.repo,
    baseline: { name: r.baseline.name, sha: r.baseline.sha, run_uid: r.baseline.runUid },
    candidate: { sha: r.candidate.sha, run_uid: r.candidate.runUid },
    threshold: r.threshold,
    confidence: r.confidence,
    method: r.method,
    verdict: r.verdict,
    counts: { ...verdicts, missing_baseline: missingBaseline, missing_candidate: missingCandidate },
    metrics: r.comparisons.map(comparisonToJson),
    missing: r.missing.map(missingToJson),
  };
}

/** A tag filter of the wire (scalars or lists) → the library's tag → texts. */
export function tagTexts(tags: Record<string, unknown> | undefined): Record<string, string[]> | undefined {
  if (!tags) return undefined;
  return Object.fromEntries(Object.entries(tags).map(([k, v]) => [k, (Array.isArray(v) ? v : [v]).map(String)]));
}
