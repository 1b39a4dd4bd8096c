import type pg from 'pg';
import { SERIES_KEY_SQL } from '../../db/schema/baselines.ts';
import type { SeriesSamples } from '../../tracking/baseline-samples.ts';
import { canonicalJson } from '../../tracking/canonical.ts';
import type { Direction } from '../../tracking/formats/normalized.ts';
import { writeSnapshots } from '../../tracking/snapshots.ts';
import { tsSql } from '../state.ts';
import type { RowState, Target } from '../types.ts';

/**
 * Imported snapshots (benchmark_snapshots rows that are not a baseline's), one item per legacy
 * snapshot of one run: a row per metric of that run, all with `run_uid` set to the run the values
 * are from (the run the importer derived from the legacy record, whether or not it is stored).
 * The key is `<repo>|<run uid>`; the rows of a key are the plain snapshots (baseline_name null)
 * of that run in that repository.
 *
 * Written by the results store's own writeSnapshots, one legacy snapshot at a time in the order
 * the importer gives them: versions are max + 1 per series, so a series Eventix had no snapshot
 * of gets versions 1..n in the legacy order. A current snapshot retires the series' current row,
 * as `eventix results snapshot record` does; that row must be one this import also writes (a
 * legacy snapshot that is no longer current), else the record is refused (`conflicts`), so an
 * import never changes a snapshot it does not record. The legacy creation time is kept.
 *
 * Updatable in `is_current` only, the one thing the legacy changes on a snapshot (a newer
 * result, or a checkout of an old version): any other difference is refused, since snapshots are
 * history. Rollback deletes the rows (benchmark_snapshots has no append-only trigger) and puts
 * `is_current` back on the rows an import retired.
 */
export interface SnapshotPoint {
  metric: string;
  tags: Record<string, unknown>;
  sha: string;
  value: number;
  unit: string | null;
  direction: Direction | null;
  is_current: boolean;
  created_at: string;
  created_by: string | null;
}

export interface SnapshotState extends RowState {
  repo: string;
  run_uid: string;
  points: SnapshotPoint[];
}

export const snapshotKey = (repo: string, runUid: string) => `${repo}|${runUid}`;
const UUID_LENGTH = 36;
const splitKey = (key: string) => ({ repo: key.slice(0, -(UUID_LENGTH + 1)), runUid: key.slice(-UUID_LENGTH) });

const pointOrder = (p: { metric: string; tags: Record<string, unknown> }) => `${p.metric}\u0000${canonicalJson(p.tags)}`;
/** Points in one order, whichever order the source and the database give them in. */
export function sortedPoints<T extends { metric: string; tags: Record<string, unknown> }>(points: readonly T[]): T[] {
  return [...points].sort((a, b) => (pointOrder(a) < pointOrder(b) ? -1 : pointOrder(a) > pointOrder(b) ? 1 : 0));
}

/** One point as the one-sample series writeSnapshots summarizes: n = 1, mean = median = min = max. */
export function oneSample(p: Pick<SnapshotPoint, 'metric' | 'tags' | 'sha' | 'value' | 'unit' | 'direction'>): SeriesSamples {
  return {
    metric: p.metric,
    configId: null,
    configHash: null,
    architecture: '',
    tags: p.tags,
    unit: p.unit,
    direction: p.direction,
    runs: 1,
    sha: p.sha,
    samples: [p.value],
  };
}

interface RowRaw {
  repo: string;
  run_uid: string;
  metric: string;
  tags: Record<string, unknown>;
  sha: string;
  value: number;
  unit: string | null;
  direction: Direction | null;
  is_current: boolean;
  created_at: string;
  created_by: string | null;
  version: number;
}

const CURRENT_SQL = `
select s.repo, s.run_uid::text as run_uid, s.metric, s.tags, s.sha, s.mean as value, s.unit, s.direction, s.is_current,
  ${tsSql('s.created_at')} as created_at, s.created_by, s.version
from benchmark_snapshots s
join jsonb_to_recordset($1::jsonb) as k(repo text, run_uid uuid) on s.repo = k.repo and s.run_uid = k.run_uid
where s.baseline_name is null and s.config_id is null and s.architecture = ''
order by s.id
for update of s`;

async function rowsOf(client: pg.ClientBase, keys: readonly string[]): Promise<Map<string, RowRaw[]>> {
  const out = new Map<string, RowRaw[]>();
  if (!keys.length) return out;
  const { rows } = await client.query<RowRaw>(CURRENT_SQL, [
    JSON.stringify(keys.map((k) => ({ repo: splitKey(k).repo, run_uid: splitKey(k).runUid }))),
  ]);
  for (const r of rows) {
    const key = snapshotKey(r.repo, r.run_uid);
    const list = out.get(key) ?? [];
    if (!list.length) out.set(key, list);
    list.push(r);
  }
  return out;
}

const stateOf = (key: string, rows: readonly RowRaw[]): SnapshotState => ({
  repo: splitKey(key).repo,
  run_uid: splitKey(key).runUid,
  points: sortedPoints(
    rows.map((r) => ({
      metric: r.metric,
      tags: r.tags,
      sha: r.sha,
      value: Number(r.value),
      unit: r.unit,
      direction: r.direction,
      is_current: r.is_current,
      created_at: r.created_at,
      created_by: r.created_by,
    })),
  ),
});

/** What a point is apart from `is_current`: the part an import never changes. */
const fixedPart = (s: SnapshotState) => canonicalJson(s.points.map(({ is_current: _, ...rest }) => rest));

const CURRENT_IN_SERIES_SQL = `
with want as (
  select x.key, x.repo, x.metric, null::bigint as config_id, ''::text as architecture, x.tags
  from jsonb_to_recordset($1::jsonb) as x(key text, repo text, metric text, tags jsonb)
)
select w.key, w.metric, w.tags as want_tags, s.run_uid::text as run_uid, s.baseline_name, s.version
from (select want.*, ${SERIES_KEY_SQL} as series_key from want) w
join benchmark_snapshots s on s.series_key = w.series_key and s.is_current`;

const SET_CURRENT_SQL = `
update benchmark_snapshots s set is_current = x.is_current
from jsonb_to_recordset($1::jsonb) as x(repo text, run_uid uuid, metric text, tags jsonb, is_current boolean)
where s.repo = x.repo and s.run_uid = x.run_uid and s.metric = x.metric and s.tags = x.tags
  and s.baseline_name is null and s.config_id is null and s.architecture = ''`;

async function setCurrent(client: pg.ClientBase, rows: readonly { key: string; state: RowState }[]): Promise<void> {
  const flags = rows.flatMap(({ key, state }) =>
    (state as SnapshotState).points.map((p) => ({
      repo: splitKey(key).repo,
      run_uid: splitKey(key).runUid,
      metric: p.metric,
      tags: p.tags,
      is_current: p.is_current,
    })),
  );
  // Retire first, then promote: one current row per series is a unique index, checked row by row.
  const off = flags.filter((f) => !f.is_current);
  const on = flags.filter((f) => f.is_current);
  if (off.length) await client.query(SET_CURRENT_SQL, [JSON.stringify(off)]);
  if (on.length) await client.query(SET_CURRENT_SQL, [JSON.stringify(on)]);
}

export const benchmarkSnapshotTarget: Target = {
  kind: 'benchmark_snapshot',
  updatable: true,
  async current(client, keys) {
    const found = await rowsOf(client, keys);
    return new Map([...found].map(([key, rows]) => [key, stateOf(key, rows)]));
  },
  async conflicts(client, rows) {
    const out = new Map<string, string>();
    // An update may change is_current, nothing else.
    const existing = await rowsOf(
      client,
      rows.map((r) => r.key),
    );
    for (const r of rows) {
      const now = existing.get(r.key);
      if (now && fixedPart(stateOf(r.key, now)) !== fixedPart(r.state as SnapshotState)) {
        out.set(
          r.key,
          'its values differ from the snapshot an earlier import stored, and snapshots are history: roll that import back first',
        );
      }
    }
    // A current point retires its series' current row: only a row this batch also writes, as no longer current.
    const retiring = new Set<string>();
    for (const r of rows) {
      for (const p of (r.state as SnapshotState).points) if (!p.is_current) retiring.add(`${r.key}\u0000${pointOrder(p)}`);
    }
    const want = rows.flatMap((r) =>
      (r.state as SnapshotState).points
        .filter((p) => p.is_current)
        .map((p) => ({ key: r.key, repo: splitKey(r.key).repo, metric: p.metric, tags: p.tags })),
    );
    if (!want.length) return out;
    const { rows: held } = await client.query<{
      key: string;
      metric: string;
      want_tags: Record<string, unknown>;
      run_uid: string | null;
      baseline_name: string | null;
      version: number;
    }>(CURRENT_IN_SERIES_SQL, [JSON.stringify(want)]);
    for (const h of held) {
      if (out.has(h.key)) continue;
      const holder = h.run_uid === null || h.baseline_name !== null ? null : snapshotKey(splitKey(h.key).repo, h.run_uid);
      if (holder === h.key) continue;
      if (holder !== null && retiring.has(`${holder}\u0000${pointOrder({ metric: h.metric, tags: h.want_tags })}`)) continue;
      out.set(
        h.key,
        `would retire the current snapshot (version ${h.version}) of series ${h.metric} ${canonicalJson(h.want_tags)}, which this import did not write: ` +
          'import into a repository without snapshots of these series, or pass --skip-invalid to import the rest',
      );
    }
    return out;
  },
  async insert(client, rows) {
    for (const { key, state } of rows) {
      const s = state as SnapshotState;
      const { repo, runUid } = splitKey(key);
      // A legacy snapshot is current or not as a whole; written as one snapshot per series of its run.
      for (const current of [false, true]) {
        const points = s.points.filter((p) => p.is_current === current);
        if (!points.length) continue;
        const written = await writeSnapshots(
          client,
          points.map((p) => ({ series: oneSample(p), runUid, direction: p.direction })),
          { repo, current, createdBy: points[0]?.created_by ?? null },
        );
        // The legacy's creation time, not the import's: matched by series, whatever order the rows come back in.
        const when = new Map(points.map((p) => [pointOrder(p), p.created_at]));
        await client.query(
          `update benchmark_snapshots s set created_at = x.created_at
           from jsonb_to_recordset($1::jsonb) as x(id bigint, created_at timestamptz) where s.id = x.id`,
          [JSON.stringify(written.map((w) => ({ id: w.id, created_at: when.get(pointOrder(w)) })))],
        );
      }
    }
  },
  async update(client, rows) {
    await setCurrent(client, rows);
  },
  async remove(client, keys) {
    if (!keys.length) return;
    await client.query(
      `delete from benchmark_snapshots s using jsonb_to_recordset($1::jsonb) as k(repo text, run_uid uuid)
       where s.repo = k.repo and s.run_uid = k.run_uid and s.baseline_name is null and s.config_id is null and s.architecture = ''`,
      [JSON.stringify(keys.map((k) => ({ repo: splitKey(k).repo, run_uid: splitKey(k).runUid })))],
    );
  },
};
