import { sql } from 'drizzle-orm';
import { bigint, bigserial, check, doublePrecision, index, integer, jsonb, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { benchmarkConfigs } from './benchmarks.ts';
import { ts } from './columns.ts';

export const ALERT_STATUSES = ['open', 'acknowledged', 'resolved', 'false_positive'] as const;
export type AlertStatus = (typeof ALERT_STATUSES)[number];

/**
 * Regressions found by change-point detection (src/tracking/alerts/evaluate.ts), one row per
 * (series, change). The series identity is kept in full (repo, metric, config, architecture,
 * tags) besides its hash, so an alert stays readable when the runs it came from are pruned.
 *
 * `benchmark_alerts_change_key` (series_hash, first_bad_sha) is what makes re-evaluation
 * idempotent: the same change of the same series can only ever be one row, whichever process
 * evaluates it and however often. Evaluation writes `open` and `resolved`; `acknowledged` and
 * `false_positive` are set by people and never overwritten by it.
 */
export const benchmarkAlerts = pgTable(
  'benchmark_alerts',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    /** sha256 of the canonical series identity (src/tracking/series-samples.ts, seriesHash). */
    seriesHash: text('series_hash').notNull(),
    repo: text('repo').notNull(),
    metric: text('metric').notNull(),
    configId: bigint('config_id', { mode: 'number' }).references(() => benchmarkConfigs.id),
    configHash: text('config_hash'),
    /** '' when the runs named none, as in benchmark_runs. */
    architecture: text('architecture').notNull().default(''),
    /** The series' tags exactly as stored with its points. */
    tags: jsonb('tags').$type<Record<string, unknown>>().notNull().default(sql`'{}'::jsonb`),
    direction: text('direction').$type<'higher' | 'lower'>(),
    unit: text('unit'),
    /** The suspected range: the last measured commit before the change, and the first after it. */
    lastGoodSha: text('last_good_sha').notNull(),
    firstBadSha: text('first_bad_sha').notNull(),
    /** The commit a bisection between last_good and first_bad blamed; null until one ran. */
    culpritSha: text('culprit_sha'),
    /** A bisection's state and findings, for the bisection helper; null until one starts. */
    bisection: jsonb('bisection').$type<Record<string, unknown>>(),
    beforeMean: doublePrecision('before_mean').notNull(),
    beforeMedian: doublePrecision('before_median').notNull(),
    afterMean: doublePrecision('after_mean').notNull(),
    afterMedian: doublePrecision('after_median').notNull(),
    /** (after_median − before_median) / |before_median|; null when before_median is 0. */
    relativeChange: doublePrecision('relative_change'),
    /** The detector's corrected p-value: the confidence. */
    pValue: doublePrecision('p_value').notNull(),
    kind: text('kind').$type<'regression' | 'improvement' | 'change'>().notNull(),
    status: text('status').$type<AlertStatus>().notNull().default('open'),
    note: text('note'),
    /** The later change point that restored the level, when evaluation resolved the alert. */
    resolvedBySha: text('resolved_by_sha'),
    /** Counts changes of status or note, for PATCH's optimistic check; evaluation's refreshes do not count. */
    revision: integer('revision').notNull().default(1),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
    /** The last evaluation that saw this change (or at least looked at its series). */
    evaluatedAt: ts('evaluated_at').notNull().defaultNow(),
    acknowledgedAt: ts('acknowledged_at'),
    resolvedAt: ts('resolved_at'),
  },
  (t) => [
    uniqueIndex('benchmark_alerts_change_key').on(t.seriesHash, t.firstBadSha),
    check('benchmark_alerts_status_valid', sql`${t.status} in ('open', 'acknowledged', 'resolved', 'false_positive')`),
    check('benchmark_alerts_kind_valid', sql`${t.kind} in ('regression', 'improvement', 'change')`),
    check('benchmark_alerts_direction_valid', sql`${t.direction} is null or ${t.direction} in ('higher', 'lower')`),
    check('benchmark_alerts_tags_is_object', sql`jsonb_typeof(${t.tags}) = 'object'`),
    // GET /benchmarks/alerts: newest first by id, optionally of some statuses.
    index('benchmark_alerts_status_idx').on(t.status, t.id),
    index('benchmark_alerts_repo_metric_idx').on(t.repo, t.metric, t.id),
  ],
);
