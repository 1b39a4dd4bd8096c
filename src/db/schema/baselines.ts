import { sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  boolean,
  check,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgTable,
  text,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { benchmarkConfigs } from './benchmarks.ts';
import { ts } from './columns.ts';

/**
 * Named baselines (`release-1.2`) and versioned snapshots of series values, after the seed's
 * benchmark_snapshots table (version, is_current, is_baseline). See src/tracking/baselines.ts.
 *
 * A series is one metric of one repository under one config and architecture, with one set of
 * tags (the identity the change-point detector and the series query use). Its identity is kept
 * as columns for filtering and, derived by the database so that no writer can get it wrong, as
 * `series_key`, the one column the uniqueness rules below and the writers' locks are keyed on.
 */

/**
 * A baseline pins a commit of a repository (every run of that sha, per series) or one run. The
 * run is named by uid with no foreign key: `eventix results prune` may delete old runs, and a
 * baseline must not stop it (the baseline's snapshots keep the statistics; compare falls back to
 * them). Deleting a baseline deletes no run and no snapshot row (see deleteBaseline).
 */
export const benchmarkBaselines = pgTable(
  'benchmark_baselines',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    repo: text('repo').notNull(),
    name: text('name').notNull(),
    /** The pinned commit; for a run pin, that run's commit. */
    sha: text('sha').notNull(),
    /** Set when the baseline pins one run rather than every run of `sha`. */
    runUid: uuid('run_uid'),
    description: text('description'),
    createdAt: ts('created_at').notNull().defaultNow(),
    /** The API token's name, or what the CLI was told (--created-by), else null. */
    createdBy: text('created_by'),
  },
  (t) => [
    uniqueIndex('benchmark_baselines_repo_name_key').on(t.repo, t.name),
    // One path segment of the API (/benchmarks/baselines/{name}) and one shell word.
    check('benchmark_baselines_name_valid', sql`${t.name} ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$'`),
    check('benchmark_baselines_sha_valid', sql`${t.sha} ~ '^([0-9a-f]{40}|[0-9a-f]{64})$'`),
  ],
);

/**
 * The series identity hash over a row's own columns: the generated column below, and the
 * writers' reading of the latest version (src/tracking/snapshots.ts), use this one text.
 */
export const SERIES_KEY_SQL =
  "md5(repo || chr(31) || metric || chr(31) || coalesce(config_id::text, '') || chr(31) || architecture || chr(31) || md5(tags::text))";

export const benchmarkSnapshots = pgTable(
  'benchmark_snapshots',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    repo: text('repo').notNull(),
    metric: text('metric').notNull(),
    configId: bigint('config_id', { mode: 'number' }).references(() => benchmarkConfigs.id),
    /** '' when absent, as in benchmark_runs. */
    architecture: text('architecture').notNull().default(''),
    tags: jsonb('tags').$type<Record<string, unknown>>().notNull().default(sql`'{}'::jsonb`),
    /** md5 of the tags' jsonb text (keys in jsonb's order): a short, stable form of the tag set. */
    tagsHash: text('tags_hash').notNull().generatedAlwaysAs(sql`md5(tags::text)`),
    /**
     * The series identity in one column. Unit separators (chr(31)) keep the parts apart, and only
     * immutable functions are used, as a generated column requires.
     */
    seriesKey: text('series_key').notNull().generatedAlwaysAs(sql.raw(SERIES_KEY_SQL)),
    /** The commit whose runs gave the values. */
    sha: text('sha').notNull(),
    /** Set when the values are those of one run. */
    runUid: uuid('run_uid'),
    /** Runs that contributed samples. */
    runs: integer('runs').notNull(),
    /** Samples (repeated runs, and repeated points of one run). */
    n: integer('n').notNull(),
    mean: doublePrecision('mean').notNull(),
    median: doublePrecision('median').notNull(),
    /** Sample standard deviation (n − 1); null with a single sample. */
    stddev: doublePrecision('stddev'),
    min: doublePrecision('min').notNull(),
    max: doublePrecision('max').notNull(),
    unit: text('unit'),
    /** Which way is better, by the direction rule (src/tracking/changes/direction.ts) when written; null when unknown. */
    direction: text('direction').$type<'higher' | 'lower'>(),
    /** 1, 2, 3, … per series, in the order snapshots were written: never a gap, never twice. */
    version: integer('version').notNull(),
    isCurrent: boolean('is_current').notNull().default(false),
    isBaseline: boolean('is_baseline').notNull().default(false),
    /** The baseline this snapshot was taken for; set null (and is_baseline false) when it is deleted. */
    baselineId: bigint('baseline_id', { mode: 'number' }).references(() => benchmarkBaselines.id, { onDelete: 'set null' }),
    /** Kept after the baseline is deleted, as history. */
    baselineName: text('baseline_name'),
    createdAt: ts('created_at').notNull().defaultNow(),
    createdBy: text('created_by'),
  },
  (t) => [
    uniqueIndex('benchmark_snapshots_series_version_key').on(t.seriesKey, t.version),
    uniqueIndex('benchmark_snapshots_one_current_key').on(t.seriesKey).where(sql`${t.isCurrent}`),
    uniqueIndex('benchmark_snapshots_one_baseline_key').on(t.seriesKey, t.baselineName).where(sql`${t.isBaseline}`),
    index('benchmark_snapshots_repo_metric_idx').on(t.repo, t.metric),
    index('benchmark_snapshots_baseline_idx').on(t.baselineId),
    check('benchmark_snapshots_version_positive', sql`${t.version} >= 1`),
    check('benchmark_snapshots_samples_positive', sql`${t.n} >= 1 and ${t.runs} >= 1`),
    check('benchmark_snapshots_stddev_valid', sql`${t.stddev} is null or ${t.stddev} >= 0`),
    check('benchmark_snapshots_direction_valid', sql`${t.direction} is null or ${t.direction} in ('higher', 'lower')`),
    check('benchmark_snapshots_sha_valid', sql`${t.sha} ~ '^([0-9a-f]{40}|[0-9a-f]{64})$'`),
    check(
      'benchmark_snapshots_baseline_named',
      sql`not ${t.isBaseline} or (${t.baselineId} is not null and ${t.baselineName} is not null)`,
    ),
  ],
);
