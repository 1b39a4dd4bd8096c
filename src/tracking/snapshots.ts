import type pg from 'pg';
import { type Executor, run } from '../db/executor.ts';
import { SERIES_KEY_SQL } from '../db/schema/baselines.ts';
import { withTransaction } from '../db/transaction.ts';
import { BenchmarkRunsNotFound, ValidationError } from '../errors.ts';
import { type SamplesQuery, type SeriesSamples, samplesAt, seriesId } from './baseline-samples.ts';
import { resolveDirection } from './changes/direction.ts';
import { type SampleSummary, summarize } from './compare-stats.ts';
import type { Direction } from './formats/normalized.ts';

/**
 * Versioned snapshots of series values, as the seed's benchmark_snapshots kept them: each write
 * of a series adds version max + 1; a plain snapshot becomes the series' one `is_current` row, a
 * baseline's snapshot is flagged `is_baseline` with the baseline's name.
 *
 * Concurrency: versions are read and written under a per-series transaction-scoped advisory
 * lock, taken for all the series of a write in one sorted order (so two multi-series writers
 * never deadlock). In READ COMMITTED each statement after the lock sees every earlier writer's
 * commit, so `max(version) + 1` is never read twice and never skips; the partial unique
 * indexes (one current per series, one per series and baseline name, one row per version) are
 * the backstop that turns any bug here into an error instead of a second current row.
 */

/** Namespace of the advisory locks (first key of pg_advisory_xact_lock(int, int)): "EVXS". */
const SNAPSHOT_LOCK_NAMESPACE = 0x45565853;

export interface StoredSnapshot extends SampleSummary {
  id: number;
  repo: string;
  metric: string;
  config: { id: number; hash: string | null } | null;
  architecture: string | null;
  tags: Record<string, unknown>;
  tagsHash: string;
  seriesKey: string;
  sha: string;
  runUid: string | null;
  runs: number;
  unit: string | null;
  direction: Direction | null;
  version: number;
  isCurrent: boolean;
  isBaseline: boolean;
  baselineName: string | null;
  createdAt: Date;
  createdBy: string | null;
}

/** One series' values to snapshot. */
export interface SnapshotValues {
  series: SeriesSamples;
  /** Set when the values are those of one run. */
  runUid: string | null;
  direction: Direction | null;
}

export interface WriteOptions {
  repo: string;
  /** A plain snapshot: becomes the series' current one. */
  current: boolean;
  baseline?: { id: number; name: string } | undefined;
  createdBy?: string | null | undefined;
}

const LOCK_SQL = `
select count(*)::int as locked from (
  select pg_advisory_xact_lock($1::int, h) from (
    select distinct hashtext(k) as h from unnest($2::text[]) k order by 1
  ) ordered
) taken
`;

const INPUT = `jsonb_to_recordset($1::jsonb) as x(
  ord int, repo text, metric text, config_id bigint, architecture text, tags jsonb, sha text, run_uid uuid,
  runs int, n int, mean float8, median float8, stddev float8, min float8, max float8, unit text, direction text)`;

const FLIP_CURRENT_SQL = `
update benchmark_snapshots set is_current = false
where is_current and series_key in (select ${SERIES_KEY_SQL} from ${INPUT})
`;

const INSERT_SQL = `
with keyed as (select x.*, ${SERIES_KEY_SQL} as series_key from ${INPUT})
insert into benchmark_snapshots (repo, metric, config_id, architecture, tags, sha, run_uid, runs, n, mean, median, stddev, min, max,
  unit, direction, version, is_current, is_baseline, baseline_id, baseline_name, created_by)
select k.repo, k.metric, k.config_id, k.architecture, k.tags, k.sha, k.run_uid, k.runs, k.n, k.mean, k.median, k.stddev, k.min, k.max,
  k.unit, k.direction,
  coalesce((select max(s.version) from benchmark_snapshots s where s.series_key = k.series_key), 0) + 1,
  $2::boolean, $3::bigint is not null, $3::bigint, $4::text, $5::text
from keyed k
order by k.ord
returning id
`;

const SELECT_SQL = `
select s.*, c.hash as config_hash from benchmark_snapshots s left join benchmark_configs c on c.id = s.config_id
`;

interface SnapshotRaw {
  id: number;
  repo: string;
  metric: string;
  config_id: number | null;
  config_hash: string | null;
  architecture: string;
  tags: Record<string, unknown>;
  tags_hash: string;
  series_key: string;
  sha: string;
  run_uid: string | null;
  runs: number;
  n: number;
  mean: number;
  median: number;
  stddev: number | null;
  min: number;
  max: number;
  unit: string | null;
  direction: Direction | null;
  version: number;
  is_current: boolean;
  is_baseline: boolean;
  baseline_name: string | null;
  created_at: Date;
  created_by: string | null;
}

function toSnapshot(r: SnapshotRaw): StoredSnapshot {
  return {
    id: r.id,
    repo: r.repo,
    metric: r.metric,
    config: r.config_id === null ? null : { id: r.config_id, hash: r.config_hash },
    architecture: r.architecture || null,
    tags: r.tags,
    tagsHash: r.tags_hash,
    seriesKey: r.series_key,
    sha: r.sha,
    runUid: r.run_uid,
    runs: r.runs,
    n: r.n,
    mean: r.mean,
    median: r.median,
    stddev: r.stddev,
    min: r.min,
    max: r.max,
    unit: r.unit,
    direction: r.direction,
    version: r.version,
    isCurrent: r.is_current,
    isBaseline: r.is_baseline,
    baselineName: r.baseline_name,
    createdAt: r.created_at,
    createdBy: r.created_by,
  };
}

/**
 * Write one snapshot per series, inside the caller's transaction (`client` after BEGIN, READ
 * COMMITTED): lock the series, retire their current rows when `current`, insert version max + 1.
 */
export async function writeSnapshots(
  client: pg.ClientBase,
  values: readonly SnapshotValues[],
  opts: WriteOptions,
): Promise<StoredSnapshot[]> {
  if (values.length === 0) return [];
  const lockKeys = values.map((v) => `${opts.repo}\u001f${seriesId(v.series)}`);
  await run(client, LOCK_SQL, [SNAPSHOT_LOCK_NAMESPACE, lockKeys]);
  const input = JSON.stringify(
    values.map((v, ord) => {
      const s = summarize(v.series.samples);
      return {
        ord,
        repo: opts.repo,
        metric: v.series.metric,
        config_id: v.series.configId,
        architecture: v.series.architecture,
        tags: v.series.tags,
        sha: v.series.sha,
        run_uid: v.runUid,
        runs: v.series.runs,
        n: s.n,
        mean: s.mean,
        median: s.median,
        stddev: s.stddev,
        min: s.min,
        max: s.max,
        unit: v.series.unit,
        direction: v.direction,
      };
    }),
  );
  // A separate statement: a unique index is checked row by row, so the old current row must be
  // retired before the new one goes in, and one statement's CTEs run in no promised order.
  if (opts.current) await run(client, FLIP_CURRENT_SQL, [input]);
  const ids = await run<{ id: number }>(client, INSERT_SQL, [
    input,
    opts.current,
    opts.baseline?.id ?? null,
    opts.baseline?.name ?? null,
    opts.createdBy ?? null,
  ]);
  const rows = await run<SnapshotRaw>(client, `${SELECT_SQL} where s.id = any ($1::bigint[]) order by s.id`, [ids.map((r) => r.id)]);
  return rows.map(toSnapshot);
}

/** The direction a snapshot records: the stored one, else the fallback rule (name, then unit). */
export function directionOf(s: SeriesSamples, overrides?: Readonly<Record<string, Direction | null>>): Direction | null {
  return resolveDirection({ metric: s.metric, unit: s.unit, stored: s.direction, overrides });
}

export interface RecordSnapshotsInput extends SamplesQuery {
  createdBy?: string | null | undefined;
}

/**
 * Snapshot the current values of every series with runs at a commit (or in one run): each
 * becomes its series' current snapshot, one version up. Nothing to snapshot is a
 * BenchmarkRunsNotFound; the whole write is one transaction.
 */
export async function recordSnapshots(pool: pg.Pool, q: RecordSnapshotsInput): Promise<StoredSnapshot[]> {
  return withTransaction(pool, async (client) => {
    const series = await samplesAt(client, q);
    if (series.length === 0) throw new BenchmarkRunsNotFound(q.repo, { sha: q.sha, runUid: q.runUid });
    return writeSnapshots(
      client,
      series.map((s) => ({ series: s, runUid: q.runUid ?? null, direction: directionOf(s) })),
      { repo: q.repo, current: true, createdBy: q.createdBy },
    );
  });
}

export interface SnapshotFilter {
  repo?: string | undefined;
  metric?: string | undefined;
  /** true: only current snapshots; false: only those that are not. */
  current?: boolean | undefined;
  /** Only the snapshots of this baseline (by name; still flagged is_baseline). */
  baseline?: string | undefined;
  sha?: string | undefined;
  seriesKey?: string | undefined;
  limit?: number | undefined;
  /** The id of the last snapshot of the previous page (next_cursor). */
  cursor?: string | undefined;
}

const LIST_SQL = `${SELECT_SQL}
where ($1::text is null or s.repo = $1)
  and ($2::text is null or s.metric = $2)
  and ($3::boolean is null or s.is_current = $3)
  and ($4::text is null or (s.is_baseline and s.baseline_name = $4))
  and ($5::text is null or s.sha = $5)
  and ($6::text is null or s.series_key = $6)
  and ($7::bigint is null or s.id < $7)
order by s.id desc
limit $8
`;

/** Snapshots, newest first (by id), with keyset pagination. */
export async function listSnapshots(ex: Executor, f: SnapshotFilter): Promise<{ snapshots: StoredSnapshot[]; nextCursor: string | null }> {
  const limit = f.limit ?? 100;
  let before: number | null = null;
  if (f.cursor !== undefined) {
    if (!/^[1-9]\d{0,15}$/.test(f.cursor)) throw new ValidationError([{ field: 'cursor', message: 'is not a cursor this API issued' }]);
    before = Number(f.cursor);
  }
  const rows = await run<SnapshotRaw>(ex, LIST_SQL, [
    f.repo ?? null,
    f.metric ?? null,
    f.current ?? null,
    f.baseline ?? null,
    f.sha?.toLowerCase() ?? null,
    f.seriesKey ?? null,
    before,
    limit + 1,
  ]);
  const page = rows.slice(0, limit).map(toSnapshot);
  const last = page.at(-1);
  return { snapshots: page, nextCursor: rows.length > limit && last ? String(last.id) : null };
}

/** The snapshots a baseline recorded (still flagged), in series order. */
export async function baselineSnapshots(ex: Executor, baselineId: number): Promise<StoredSnapshot[]> {
  const rows = await run<SnapshotRaw>(
    ex,
    `${SELECT_SQL} where s.baseline_id = $1 and s.is_baseline order by s.metric, c.hash nulls first, s.architecture, s.tags::text`,
    [baselineId],
  );
  return rows.map(toSnapshot);
}
