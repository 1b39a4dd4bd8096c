import { type Executor, run } from '../db/executor.ts';
import type { Direction, Format } from './formats/normalized.ts';

/** A run ready for the database: validated, defaults applied, config resolved to its row. */
export interface RunRow {
  uid: string;
  repo: string;
  sha: string;
  branch: string | null;
  config_id: number | null;
  /** '' when absent: one value for absence, as in commit_status. */
  architecture: string;
  task_uid: string | null;
  repeat_index: number;
  started_at: string | null;
  finished_at: string | null;
  environment: Record<string, unknown>;
  format: Format;
}

export interface MetricRow {
  run_uid: string;
  name: string;
  value: number;
  unit: string | null;
  direction: Direction | null;
  tags: Record<string, unknown>;
}

/**
 * Every run and every metric point of a push in one statement: both row sets travel as jsonb
 * parameters and expand server-side, so 10 runs or 100,000 points cost one round trip and one
 * plan. Run uids are made by the caller, which is how the metric rows find their run's id
 * (INSERT … RETURNING cannot return the input rows' other columns). The metrics' foreign key is
 * checked at the end of the statement, when the runs exist. One statement is atomic: the push is
 * stored whole or not at all, and the caller's transaction extends that to the config upserts.
 */
const INSERT_RESULTS_SQL = `
with run_input as (
  select * from jsonb_to_recordset($1::jsonb) as x(
    ord int, uid uuid, repo text, sha text, branch text, config_id bigint, architecture text, task_uid uuid,
    repeat_index int, started_at timestamptz, finished_at timestamptz, environment jsonb, format text)
), runs as (
  insert into benchmark_runs (uid, repo, sha, branch, config_id, architecture, task_uid, repeat_index, started_at, finished_at, environment, format)
  select uid, repo, sha, branch, config_id, architecture, task_uid, repeat_index, started_at, finished_at, environment, format
  from run_input order by ord
  returning id, uid, created_at
), metric_input as (
  select * from jsonb_to_recordset($2::jsonb) as y(
    ord int, run_uid uuid, name text, value double precision, unit text, direction text, tags jsonb)
), metrics as (
  insert into benchmark_metrics (run_id, name, value, unit, direction, tags)
  select runs.id, m.name, m.value, m.unit, m.direction, m.tags
  from metric_input m join runs on runs.uid = m.run_uid
  order by m.ord
  returning run_id
)
select runs.uid, runs.created_at, coalesce(n.metrics, 0) as metrics
from runs left join (select run_id, count(*)::int as metrics from metrics group by run_id) n on n.run_id = runs.id
`;

export interface InsertedRun {
  uid: string;
  createdAt: Date;
  metrics: number;
}

export async function insertResults(ex: Executor, runs: readonly RunRow[], metrics: readonly MetricRow[]): Promise<InsertedRun[]> {
  const rows = await run<{ uid: string; created_at: Date; metrics: number }>(ex, INSERT_RESULTS_SQL, [
    JSON.stringify(runs.map((r, ord) => ({ ord, ...r }))),
    JSON.stringify(metrics.map((m, ord) => ({ ord, ...m }))),
  ]);
  const byUid = new Map(rows.map((r) => [r.uid, r]));
  return runs.map((r) => {
    const row = byUid.get(r.uid);
    if (!row) throw new Error(`run ${r.uid} was not inserted`);
    return { uid: row.uid, createdAt: row.created_at, metrics: row.metrics };
  });
}
