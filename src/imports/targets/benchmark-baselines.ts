import type pg from 'pg';
import { BaselineExists } from '../../errors.ts';
import { writeSnapshots } from '../../tracking/snapshots.ts';
import type { RowState, Target } from '../types.ts';
import { oneSample, type SnapshotPoint, sortedPoints } from './benchmark-snapshots.ts';

/**
 * Imported named baselines (benchmark_baselines) with the snapshots they record, keyed by
 * `<repo>|<name>`. A baseline pins one run (`run_uid`, with its commit as `sha`) or a commit
 * (`run_uid` null); its snapshots are flagged is_baseline and carry its name, written by the
 * results store's writeSnapshots as `eventix results baseline create` writes them, but with the
 * values the legacy store recorded rather than those of the runs now stored (the legacy
 * baseline's numbers are what it compared against).
 *
 * Baselines are never overwritten (to move one, Eventix deletes and re-creates it), so they are
 * not updatable: a differing source record is refused. Rollback deletes the baseline and the
 * snapshots it recorded, all of which the import created; `eventix results baseline delete`
 * instead keeps a baseline's snapshots as history, which is for baselines made in Eventix.
 */
export type BaselinePoint = Omit<SnapshotPoint, 'is_current' | 'created_at' | 'created_by'>;

export interface BaselineState extends RowState {
  repo: string;
  name: string;
  sha: string;
  run_uid: string | null;
  description: string | null;
  created_by: string | null;
  points: BaselinePoint[];
}

export const baselineKey = (repo: string, name: string) => `${repo}|${name}`;
// A baseline name has no '|' (BASELINE_NAME): the last one separates it from the repository.
const splitKey = (key: string) => ({ repo: key.slice(0, key.lastIndexOf('|')), name: key.slice(key.lastIndexOf('|') + 1) });
const keysJson = (keys: readonly string[]) => JSON.stringify(keys.map(splitKey));

interface BaselineRaw {
  id: number;
  repo: string;
  name: string;
  sha: string;
  run_uid: string | null;
  description: string | null;
  created_by: string | null;
}

interface PointRaw extends BaselinePoint {
  baseline_id: number;
}

async function baselinesOf(client: pg.ClientBase, keys: readonly string[]): Promise<BaselineRaw[]> {
  if (!keys.length) return [];
  const { rows } = await client.query<BaselineRaw>(
    `select b.id::int as id, b.repo, b.name, b.sha, b.run_uid::text as run_uid, b.description, b.created_by
     from benchmark_baselines b join jsonb_to_recordset($1::jsonb) as k(repo text, name text) on b.repo = k.repo and b.name = k.name
     for update of b`,
    [keysJson(keys)],
  );
  return rows;
}

export const benchmarkBaselineTarget: Target = {
  kind: 'benchmark_baseline',
  updatable: false,
  async current(client, keys) {
    const baselines = await baselinesOf(client, keys);
    if (!baselines.length) return new Map();
    const { rows: points } = await client.query<PointRaw>(
      `select s.baseline_id::int as baseline_id, s.metric, s.tags, s.sha, s.mean as value, s.unit, s.direction
       from benchmark_snapshots s where s.baseline_id = any($1::bigint[]) and s.is_baseline order by s.id for update of s`,
      [baselines.map((b) => b.id)],
    );
    return new Map(
      baselines.map((b): [string, BaselineState] => [
        baselineKey(b.repo, b.name),
        {
          repo: b.repo,
          name: b.name,
          sha: b.sha,
          run_uid: b.run_uid,
          description: b.description,
          created_by: b.created_by,
          points: sortedPoints(
            points.filter((p) => p.baseline_id === b.id).map(({ baseline_id: _, ...p }) => ({ ...p, value: Number(p.value) })),
          ),
        },
      ]),
    );
  },
  async insert(client, rows) {
    for (const { state } of rows) {
      const s = state as BaselineState;
      const { rows: inserted } = await client.query<{ id: number }>(
        `insert into benchmark_baselines (repo, name, sha, run_uid, description, created_by) values ($1, $2, $3, $4, $5, $6)
         on conflict (repo, name) do nothing returning id::int as id`,
        [s.repo, s.name, s.sha, s.run_uid, s.description, s.created_by],
      );
      const id = inserted[0]?.id;
      // Created meanwhile outside the import (current() found none): the whole import stops, nothing kept.
      if (id === undefined) throw new BaselineExists(s.name, s.repo);
      await writeSnapshots(
        client,
        s.points.map((p) => ({ series: oneSample(p), runUid: s.run_uid, direction: p.direction })),
        { repo: s.repo, current: false, baseline: { id, name: s.name }, createdBy: s.created_by },
      );
    }
  },
  async update() {
    throw new Error('baselines are never overwritten');
  },
  async remove(client, keys) {
    const baselines = await baselinesOf(client, keys);
    if (!baselines.length) return;
    const ids = baselines.map((b) => b.id);
    await client.query('delete from benchmark_snapshots where baseline_id = any($1::bigint[])', [ids]);
    await client.query('delete from benchmark_baselines where id = any($1::bigint[])', [ids]);
  },
};
