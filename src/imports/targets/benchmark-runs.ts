import type pg from 'pg';
import { canonicalize } from '../../tracking/canonical.ts';
import type { Direction, Format } from '../../tracking/formats/normalized.ts';
import { type PreparedResults, type PreparedRun, storeResults } from '../../tracking/ingest.ts';
import { readStates, tsSql } from '../state.ts';
import type { RowState, Target } from '../types.ts';

/**
 * Imported benchmark runs with their metric points, keyed by the run's uid, which the importer
 * derives from the source record (derivedUid), so a re-import finds the run it wrote. Runs are
 * append-only: one whose source record changed is refused, never rewritten. Written by the
 * results store's own storeResults (configs upserted, alerts re-evaluated as after any push).
 * Rollback deletes the runs under the retention setting the append-only trigger allows
 * (drizzle/0004); the configs they named stay, as configs are shared by every run and pair.
 */
export interface RunState extends RowState {
  repo: string;
  sha: string;
  branch: string | null;
  config: unknown;
  architecture: string;
  repeat_index: number;
  started_at: string | null;
  finished_at: string | null;
  environment: Record<string, unknown>;
  format: Format;
  metrics: { name: string; value: number; unit: string | null; direction: Direction | null; tags: Record<string, unknown> }[];
}

/** Metrics in one order, whichever order the source and the database give them in. */
export function sortedMetrics(m: RunState['metrics']): RunState['metrics'] {
  const key = (x: RunState['metrics'][number]) => `${x.name}\u0000${JSON.stringify(Object.entries(x.tags).sort())}\u0000${x.value}`;
  return [...m].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

/** A run prepared by the results store (prepareResults) as the state an import compares. */
export function runStateOf(p: PreparedRun): RunState {
  return {
    repo: p.run.repo,
    sha: p.run.sha,
    branch: p.run.branch,
    config: p.config ? p.config.value : null,
    architecture: p.run.architecture,
    repeat_index: p.run.repeat_index,
    started_at: p.run.started_at === null ? null : new Date(p.run.started_at).toISOString(),
    finished_at: p.run.finished_at === null ? null : new Date(p.run.finished_at).toISOString(),
    environment: p.run.environment,
    format: p.run.format,
    metrics: sortedMetrics(p.metrics),
  };
}

const CURRENT_SQL = `
select r.uid::text as key, jsonb_build_object(
  'repo', r.repo, 'sha', r.sha, 'branch', r.branch, 'config', c.config, 'architecture', r.architecture,
  'repeat_index', r.repeat_index, 'started_at', ${tsSql('r.started_at')}, 'finished_at', ${tsSql('r.finished_at')},
  'environment', r.environment, 'format', r.format,
  'metrics', coalesce((select jsonb_agg(jsonb_build_object('name', m.name, 'value', m.value, 'unit', m.unit, 'direction', m.direction, 'tags', m.tags))
                       from benchmark_metrics m where m.run_id = r.id), '[]'::jsonb)) as state
from benchmark_runs r left join benchmark_configs c on c.id = r.config_id
where r.uid = any($1::uuid[])
for update of r`;

export const benchmarkRunTarget: Target = {
  kind: 'benchmark_run',
  updatable: false,
  current: (client, keys) => readStates<RunState>(client, CURRENT_SQL, keys, (s) => ({ ...s, metrics: sortedMetrics(s.metrics) })),
  async insert(client: pg.ClientBase, rows) {
    const prepared: PreparedResults = {
      format: 'eventix',
      configName: undefined,
      skipped: [],
      runs: rows.map(({ key, state }) => {
        const s = state as RunState;
        const cfg = s.config === null ? undefined : canonicalize(s.config);
        return {
          run: {
            uid: key,
            repo: s.repo,
            sha: s.sha,
            branch: s.branch,
            architecture: s.architecture,
            task_uid: null,
            repeat_index: s.repeat_index,
            started_at: s.started_at,
            finished_at: s.finished_at,
            environment: s.environment,
            format: s.format,
          },
          config: cfg && { ...cfg, field: 'config' },
          metrics: s.metrics,
        };
      }),
    };
    await storeResults(client, prepared);
  },
  async update() {
    throw new Error('benchmark runs are append-only');
  },
  async remove(client, keys) {
    // Transaction-local: the append-only trigger lets this transaction's deletes through, and no other.
    await client.query(`select set_config('eventix.benchmark_retention', 'on', true)`);
    await client.query('delete from benchmark_runs where uid = any($1::uuid[])', [keys]);
    await client.query(`select set_config('eventix.benchmark_retention', 'off', true)`);
  },
};
