import { sql } from 'drizzle-orm';
import { bigint, bigserial, check, doublePrecision, index, integer, jsonb, pgTable, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { ts } from './columns.ts';

/**
 * Benchmark configurations, identified by their canonical JSON (keys sorted at every level,
 * stable number formatting): the same config written in another key order is the same row.
 */
export const benchmarkConfigs = pgTable(
  'benchmark_configs',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    /** sha256 of `canonical`, hex: the identity, short enough for a unique btree key. */
    hash: text('hash').notNull(),
    canonical: text('canonical').notNull(),
    config: jsonb('config').notNull(),
    name: text('name'),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [uniqueIndex('benchmark_configs_hash_key').on(t.hash)],
);

/**
 * Status of each (repo, sha, config, architecture). Architecture absent is stored as '' so that
 * absence is one value for the unique key, not many NULLs.
 */
export const commitStatus = pgTable(
  'commit_status',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    repo: text('repo').notNull(),
    sha: text('sha').notNull(),
    configId: bigint('config_id', { mode: 'number' })
      .notNull()
      .references(() => benchmarkConfigs.id),
    architecture: text('architecture').notNull().default(''),
    /** The commit's committer timestamp (`git show -s --format=%cI`). */
    committedAt: ts('committed_at'),
    status: text('status').$type<'in_progress' | 'benchmark_complete' | 'complete' | 'failed'>().notNull(),
    error: text('error'),
    attempts: integer('attempts').notNull().default(0),
    /** The task that owns an in_progress pair; cleanup frees pairs whose owner is no longer waiting or running. */
    taskUid: uuid('task_uid'),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('commit_status_pair_key').on(t.repo, t.sha, t.configId, t.architecture),
    check('commit_status_status_valid', sql`${t.status} in ('in_progress', 'benchmark_complete', 'complete', 'failed')`),
    index('commit_status_config_status_idx').on(t.configId, t.status),
    index('commit_status_in_progress_idx').on(t.updatedAt).where(sql`${t.status} = 'in_progress'`),
  ],
);

/**
 * Append-only log of benchmark runs: the database refuses updates and deletes (trigger in the
 * custom migration), except inside the documented retention command.
 */
export const benchmarkRuns = pgTable(
  'benchmark_runs',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    uid: uuid('uid').notNull().defaultRandom(),
    repo: text('repo').notNull(),
    sha: text('sha').notNull(),
    branch: text('branch'),
    configId: bigint('config_id', { mode: 'number' }).references(() => benchmarkConfigs.id),
    architecture: text('architecture').notNull().default(''),
    taskUid: uuid('task_uid'),
    repeatIndex: integer('repeat_index').notNull().default(0),
    startedAt: ts('started_at'),
    finishedAt: ts('finished_at'),
    /** Facts about the machine: kernel, cpu_model, cores, hostname. */
    environment: jsonb('environment').$type<Record<string, unknown>>().notNull().default(sql`'{}'::jsonb`),
    /** The ingested format: eventix, valkey, github-action-benchmark. */
    format: text('format').notNull(),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('benchmark_runs_uid_key').on(t.uid),
    index('benchmark_runs_lookup_idx').on(t.repo, t.configId, t.sha),
    index('benchmark_runs_created_idx').on(t.createdAt),
  ],
);

export const benchmarkMetrics = pgTable(
  'benchmark_metrics',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    runId: bigint('run_id', { mode: 'number' })
      .notNull()
      .references(() => benchmarkRuns.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    value: doublePrecision('value').notNull(),
    unit: text('unit'),
    /** Which way is better; null when unknown. */
    direction: text('direction').$type<'higher' | 'lower'>(),
    tags: jsonb('tags').$type<Record<string, unknown>>().notNull().default(sql`'{}'::jsonb`),
  },
  (t) => [
    check('benchmark_metrics_direction_valid', sql`${t.direction} is null or ${t.direction} in ('higher', 'lower')`),
    index('benchmark_metrics_run_idx').on(t.runId),
    index('benchmark_metrics_name_idx').on(t.name, t.runId),
  ],
);
