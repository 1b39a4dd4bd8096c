import { type FieldIssue, ValidationError } from '../../errors.ts';
import { BASELINE_NAME } from '../../tracking/baselines.ts';
import { canonicalJson } from '../../tracking/canonical.ts';
import type { Direction } from '../../tracking/formats/normalized.ts';
import { type PreparedRun, prepareResults } from '../../tracking/ingest.ts';
import { type BaselineState, baselineKey } from '../targets/benchmark-baselines.ts';
import { runStateOf } from '../targets/benchmark-runs.ts';
import { type SnapshotPoint, type SnapshotState, snapshotKey, sortedPoints } from '../targets/benchmark-snapshots.ts';
import type { SourceItem } from '../types.ts';
import { derivedUid } from './python-eventix-records.ts';
import { instantOf, jsonOf } from './values.ts';

/**
 * Mapping medbilldozer's rows (seed 001) to what an import writes: a benchmark_transactions row to
 * a run, active benchmark_snapshots rows to snapshots and baselines. Reading the rows, from the
 * database or from JSON exports, is medbilldozer.ts's; the schema assumed is described there.
 */
const CONFIG = ['model_version', 'dataset_version', 'prompt_version', 'environment'] as const;
/** Columns kept as the run's environment facts (as they are, under their legacy names). */
const FACTS = [
  'model_provider',
  'dataset_size',
  'run_id',
  'triggered_by',
  'duration_seconds',
  'error_count',
  'success_count',
  'tags',
  'notes',
] as const;
const NUMERIC_FACTS = new Set(['dataset_size', 'duration_seconds', 'error_count', 'success_count']);
const CREATED_BY = 'eventix import medbilldozer';

/** The run a legacy transaction becomes: the same uid from the database and from its export. */
export const transactionRunUid = (id: string) => derivedUid('medbilldozer', `benchmark_transactions/${id}`);

/**
 * Which way is better, by the metric's last name segment. medbilldozer's scores and rates are
 * higher-is-better, which no name rule of the results store knows; latency and cost are lower.
 * Counts (true_positives, total_documents, …) and indices without a better side get none.
 */
const HIGHER =
  /(?:^|_)(?:precision|recall|f1|f1_score|accuracy|specificity|sensitivity|auc|detection_rate|capture_rate|roi_ratio|savings|gain)$/;
const LOWER = /latency|(?:^|_)cost(?:_|$)|_ms$/;

export function metricMeaning(name: string): { unit?: string; direction?: Direction } {
  const leaf = name.slice(name.lastIndexOf('.') + 1);
  const out: { unit?: string; direction?: Direction } = {};
  if (HIGHER.test(leaf)) out.direction = 'higher';
  else if (LOWER.test(leaf)) out.direction = 'lower';
  if (/_ms$/.test(leaf)) out.unit = 'ms';
  else if (/_seconds$/.test(leaf)) out.unit = 's';
  else if (/(?:^|_)cost(?:_|$)|_usd$/.test(leaf)) out.unit = 'USD';
  return out;
}

/** `{"f1": 0.4, "by_category": {"upcoding": {"recall": 0.5}}}` → f1, by_category.upcoding.recall; null is absent. */
export function flatMetrics(value: Record<string, unknown>, prefix = ''): { name: string; value: unknown }[] {
  const out: { name: string; value: unknown }[] = [];
  for (const [k, v] of Object.entries(value)) {
    const name = prefix ? `${prefix}.${k}` : k;
    if (v === null || v === undefined) continue;
    if (typeof v === 'object' && !Array.isArray(v)) out.push(...flatMetrics(v as Record<string, unknown>, name));
    else out.push({ name, value: v });
  }
  return out;
}

export const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** A row id as text: a UUID (Supabase's default) in one case, whichever case the export wrote it in; a serial as its digits. */
function idText(v: unknown): string | undefined {
  if (typeof v === 'string' && v.trim()) return UUID.test(v.trim()) ? v.trim().toLowerCase() : v.trim();
  if ((typeof v === 'number' && Number.isSafeInteger(v)) || typeof v === 'bigint') return String(v);
  return undefined;
}
/** numeric columns arrive as text from PostgreSQL, as numbers from JSON. */
const numberOf = (v: unknown) =>
  typeof v === 'number' ? v : typeof v === 'string' && /^-?\d+(?:\.\d+)?(?:e[+-]?\d+)?$/i.test(v.trim()) ? Number(v) : Number.NaN;

export interface Row {
  path: string;
  raw: Record<string, unknown> | undefined;
  /** Why the row could not be read at all (an export element that is not an object). */
  error?: string;
}

interface Mapped {
  issues: FieldIssue[];
  run: PreparedRun | undefined;
}

/**
 * The legacy row through the results store's own validation (format `eventix`), so every field
 * is checked as `eventix results push` checks it; its issues are named by the legacy column.
 */
function prepared(
  o: { path: string; repo: string },
  run: { sha: unknown; branch?: string; started_at?: string; finished_at?: string; environment?: Record<string, unknown> },
  metrics: { name: string; value: unknown }[],
  tags: Record<string, unknown>,
): Mapped {
  const doc = {
    format: 'eventix',
    runs: [
      {
        ...run,
        metrics: metrics.map((m) => ({ name: m.name, value: m.value, ...metricMeaning(m.name), tags })),
      },
    ],
  };
  try {
    const p = prepareResults({ data: doc, format: 'eventix', repo: o.repo });
    return { issues: [], run: p.runs[0] };
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    const named = (f: string): string => {
      // A run without a sha is the request's `sha`: here it is the row's commit_sha.
      if (f === 'sha') return `${o.path}.commit_sha`;
      const m = /^runs\.0(?:\.(.+))?$/.exec(f);
      const rest = m?.[1];
      if (!m) return `${o.path}.${f}`;
      if (rest === undefined) return o.path;
      const metric = /^metrics\.(\d+)(?:\.|$)/.exec(rest);
      if (metric) return `${o.path}.metrics.${metrics[Number(metric[1])]?.name ?? metric[1]}`;
      if (rest === 'sha') return `${o.path}.commit_sha`;
      if (rest === 'branch') return `${o.path}.branch_name`;
      if (rest === 'started_at' || rest === 'finished_at') return `${o.path}.created_at`;
      if (rest.startsWith('environment.')) return `${o.path}.${rest.slice('environment.'.length)}`;
      return `${o.path}.${rest}`;
    };
    return { issues: err.issues.map((i) => ({ field: named(i.field), message: i.message })), run: undefined };
  }
}

/** The row's configuration, the legacy's snapshot key: the tags of every metric it gives. */
function configOf(raw: Record<string, unknown>, bad: (field: string, message: string) => void): Record<string, unknown> {
  const tags: Record<string, unknown> = {};
  for (const c of CONFIG) {
    const v = raw[c];
    if (typeof v !== 'string' || !v.trim())
      bad(c, v === null || v === undefined ? 'is required' : `must be non-empty text, not ${JSON.stringify(v)}`);
    else tags[c] = v;
  }
  // Added by the benchmark_type migration (standard, patient_cross_document); absent before it.
  if (raw.benchmark_type !== null && raw.benchmark_type !== undefined) {
    if (typeof raw.benchmark_type === 'string' && raw.benchmark_type.trim()) tags.benchmark_type = raw.benchmark_type;
    else bad('benchmark_type', `must be non-empty text, not ${JSON.stringify(raw.benchmark_type)}`);
  }
  return tags;
}

function metricsOf(
  raw: Record<string, unknown>,
  bad: (field: string, message: string) => void,
): { name: string; value: unknown }[] | undefined {
  const m = jsonOf(raw.metrics);
  if (!isObject(m)) {
    bad('metrics', m === null || m === undefined ? 'is required' : 'must be a JSON object of metric values');
    return undefined;
  }
  return flatMetrics(m);
}

/** One benchmark_transactions row → a benchmark run, or a refusal naming each bad column. */
export function mapTransaction(row: Row, o: { repo: string; timezone: string | undefined }): SourceItem {
  const { path, raw } = row;
  if (!raw) return { kind: 'benchmark_run', path, refused: [{ field: path, message: row.error ?? 'unreadable' }] };
  const issues: FieldIssue[] = [];
  const bad = (field: string, message: string) => issues.push({ field: `${path}.${field}`, message });
  const id = idText(raw.id);
  if (id === undefined) bad('id', 'is required: the run is named after it');
  const tags = configOf(raw, bad);
  const created = instantOf(raw.created_at, o.timezone);
  if (!created.ok) bad('created_at', created.message);
  else if (created.value === null) bad('created_at', 'is required: it is when the result was stored');
  let duration: number | undefined;
  if (raw.duration_seconds !== null && raw.duration_seconds !== undefined) {
    duration = numberOf(raw.duration_seconds);
    if (!Number.isFinite(duration) || duration < 0)
      bad('duration_seconds', `must be a number of seconds ≥ 0, not ${JSON.stringify(raw.duration_seconds)}`);
  }
  if (raw.commit_sha === null || raw.commit_sha === undefined || raw.commit_sha === '')
    bad('commit_sha', 'is required: the commit the result was measured on');
  const metrics = metricsOf(raw, bad);

  const environment: Record<string, unknown> = { transaction_id: id ?? null };
  for (const f of FACTS) {
    const v = raw[f];
    if (v === null || v === undefined) continue;
    environment[f] = NUMERIC_FACTS.has(f) && Number.isFinite(numberOf(v)) ? numberOf(v) : v;
  }
  const finished = created.ok && created.value ? created.value : undefined;
  const started =
    finished && duration !== undefined && Number.isFinite(duration) && duration >= 0
      ? new Date(Date.parse(finished) - Math.round(duration * 1000)).toISOString()
      : finished;
  const branch =
    typeof raw.branch_name === 'string' && raw.branch_name.trim() ? raw.branch_name.trim().replace(/^refs\/heads\//, '') : undefined;
  const p = prepared(
    { path, repo: o.repo },
    { sha: raw.commit_sha ?? undefined, branch, started_at: started, finished_at: finished, environment },
    metrics ?? [{ name: 'placeholder', value: 0 }],
    tags,
  );
  // Issues already named (a missing sha, a metrics column that is no object) are not named twice.
  for (const i of p.issues) if (!issues.some((x) => x.field === i.field)) issues.push(i);
  if (issues.length || !p.run || id === undefined) return { kind: 'benchmark_run', path, refused: issues };
  return { kind: 'benchmark_run', path, key: transactionRunUid(id), state: runStateOf(p.run) };
}

interface SnapshotMapped {
  item: SourceItem;
  /** Set when the snapshot maps: what its baseline (if it is one) records. */
  state?: SnapshotState;
}

/** One active benchmark_snapshots row → the snapshots of its run's metrics, or a refusal. */
export function mapSnapshot(row: Row, o: { repo: string; timezone: string | undefined; current: boolean }): SnapshotMapped {
  const { path, raw } = row;
  if (!raw) return { item: { kind: 'benchmark_snapshot', path, refused: [{ field: path, message: row.error ?? 'unreadable' }] } };
  const issues: FieldIssue[] = [];
  const bad = (field: string, message: string) => issues.push({ field: `${path}.${field}`, message });
  const transaction = idText(raw.transaction_id);
  if (transaction === undefined) bad('transaction_id', 'is required: it names the run the snapshot is of');
  const version = numberOf(raw.snapshot_version);
  if (!Number.isInteger(version) || version < 1)
    bad('snapshot_version', `must be a whole number ≥ 1, not ${JSON.stringify(raw.snapshot_version)}`);
  const tags = configOf(raw, bad);
  const created = instantOf(raw.created_at, o.timezone);
  if (!created.ok) bad('created_at', created.message);
  else if (created.value === null) bad('created_at', 'is required: it is when the snapshot was taken');
  if (raw.commit_sha === null || raw.commit_sha === undefined || raw.commit_sha === '')
    bad('commit_sha', 'is required: the commit the snapshot is of');
  const metrics = metricsOf(raw, bad);
  const p = prepared({ path, repo: o.repo }, { sha: raw.commit_sha ?? undefined }, metrics ?? [{ name: 'placeholder', value: 0 }], tags);
  for (const i of p.issues) if (!issues.some((x) => x.field === i.field)) issues.push(i);
  if (issues.length || !p.run || transaction === undefined || !created.ok || !created.value) {
    return { item: { kind: 'benchmark_snapshot', path, refused: issues } };
  }
  const runUid = transactionRunUid(transaction);
  const run = p.run;
  const points: SnapshotPoint[] = run.metrics.map((m) => ({
    metric: m.name,
    tags: m.tags,
    sha: run.run.sha,
    value: m.value,
    unit: m.unit,
    direction: m.direction,
    is_current: o.current,
    created_at: created.value as string,
    created_by: CREATED_BY,
  }));
  const state: SnapshotState = { repo: o.repo, run_uid: runUid, points: sortedPoints(points) };
  return { item: { kind: 'benchmark_snapshot', path, key: snapshotKey(o.repo, runUid), state }, state };
}

export const text = (v: unknown) => (typeof v === 'string' ? v : v === null || v === undefined ? '' : String(v));
export const active = (raw: Record<string, unknown>) => raw.is_active !== false && raw.is_active !== 'false';
export const flag = (v: unknown) => v === true || v === 'true' || v === 't';
/**
 * The legacy configuration of a row, as one string, for grouping (valid or not): what its
 * versions and its one current snapshot are per. benchmark_type is not part of it (the legacy's
 * unique key and upsert never got it), though Eventix tags it, so that a patient result is a
 * series of its own.
 */
const configKey = (raw: Record<string, unknown>) => canonicalJson(CONFIG.map((c) => text(raw[c])));
const versionOf = (raw: Record<string, unknown>) => {
  const v = numberOf(raw.snapshot_version);
  return Number.isFinite(v) ? v : Number.POSITIVE_INFINITY;
};
const createdText = (raw: Record<string, unknown>) =>
  raw.created_at instanceof Date ? raw.created_at.toISOString() : text(raw.created_at);

/** `medbilldozer-<model_version>`, with what a baseline name cannot hold turned into '-'. */
export const baselineNameOf = (modelVersion: string) => `medbilldozer-${modelVersion.replace(/[^A-Za-z0-9._-]/g, '-')}`;

/**
 * The snapshot items in legacy order (per configuration, by snapshot_version), then the baseline
 * items. In each configuration one snapshot is current: the legacy's, or, where the legacy marks
 * several (which its own fix_duplicate_current script repaired), the highest version of them.
 */
export function snapshotItems(
  rows: readonly Row[],
  o: { repo: string; timezone: string | undefined },
): { snapshots: SourceItem[]; baselines: SourceItem[] } {
  const order = rows.map((r, i) => ({ r, i }));
  order.sort((a, b) => {
    if (!a.r.raw || !b.r.raw) return a.r.raw ? 1 : b.r.raw ? -1 : a.i - b.i;
    const ka = configKey(a.r.raw);
    const kb = configKey(b.r.raw);
    if (ka !== kb) return ka < kb ? -1 : 1;
    const va = versionOf(a.r.raw);
    const vb = versionOf(b.r.raw);
    if (va !== vb) return va - vb;
    const ca = createdText(a.r.raw);
    const cb = createdText(b.r.raw);
    return ca !== cb ? (ca < cb ? -1 : 1) : a.i - b.i;
  });
  const currentOf = new Map<string, Row>();
  for (const { r } of order) if (r.raw && active(r.raw) && flag(r.raw.is_current)) currentOf.set(configKey(r.raw), r);

  const snapshots: SourceItem[] = [];
  const marked: { row: Row; mapped: SnapshotMapped }[] = [];
  for (const { r } of order) {
    if (r.raw && !active(r.raw)) {
      snapshots.push({
        kind: 'benchmark_snapshot',
        path: r.path,
        skipped: 'soft-deleted in medbilldozer (is_active = false): not imported',
      });
      continue;
    }
    const mapped = mapSnapshot(r, { ...o, current: r.raw !== undefined && currentOf.get(configKey(r.raw)) === r });
    snapshots.push(mapped.item);
    if (r.raw && flag(r.raw.is_baseline)) marked.push({ row: r, mapped });
  }

  // One baseline per model_version: the newest marked snapshot (by created_at, then version).
  const byName = new Map<string, { row: Row; mapped: SnapshotMapped }[]>();
  for (const m of marked) {
    const name = baselineNameOf(text(m.row.raw?.model_version));
    const list = byName.get(name) ?? [];
    if (!list.length) byName.set(name, list);
    list.push(m);
  }
  const baselines: SourceItem[] = [];
  for (const [name, list] of byName) {
    const newest = [...list].sort((a, b) => {
      const ca = createdText(a.row.raw ?? {});
      const cb = createdText(b.row.raw ?? {});
      return ca !== cb ? (ca < cb ? 1 : -1) : versionOf(b.row.raw ?? {}) - versionOf(a.row.raw ?? {});
    });
    const [winner, ...others] = newest;
    if (!winner) continue;
    const path = `${winner.row.path}.is_baseline`;
    const raw = winner.row.raw ?? {};
    const state = winner.mapped.state;
    if (!BASELINE_NAME.test(name)) {
      baselines.push({
        kind: 'benchmark_baseline',
        path,
        refused: [
          {
            field: `${winner.row.path}.model_version`,
            message: `makes the baseline name ${name}, longer than the 100 characters a name may have`,
          },
        ],
      });
    } else if (!state) {
      baselines.push({
        kind: 'benchmark_baseline',
        path,
        refused: [{ field: path, message: `baseline ${name} not created: the snapshot it marks is refused` }],
      });
    } else {
      const first = state.points[0];
      const baseline: BaselineState = {
        repo: o.repo,
        name,
        sha: first?.sha ?? '',
        run_uid: state.run_uid,
        description: `medbilldozer is_baseline: snapshot_version ${text(raw.snapshot_version)} of ${CONFIG.map((c) => text(raw[c])).join(' / ')}${raw.id === undefined ? '' : ` (benchmark_snapshots ${text(raw.id)})`}`,
        created_by: CREATED_BY,
        points: state.points.map(({ is_current: _c, created_at: _t, created_by: _b, ...p }) => p),
      };
      baselines.push({ kind: 'benchmark_baseline', path, key: baselineKey(o.repo, name), state: baseline });
    }
    for (const other of others) {
      baselines.push({
        kind: 'benchmark_baseline',
        path: `${other.row.path}.is_baseline`,
        skipped: `${name} is made from the newer ${winner.row.path}: Eventix has one baseline per name, and medbilldozer looked a model's baseline up by model_version alone`,
      });
    }
  }
  return { snapshots, baselines };
}
