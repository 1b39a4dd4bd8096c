import { z } from 'zod';
import { jsonCursor } from '../../db/cursor.ts';
import { type Executor, run } from '../../db/executor.ts';
import { ALERT_STATUSES, type AlertStatus } from '../../db/schema/alerts.ts';
import { EventixError, ValidationError } from '../../errors.ts';
import type { Direction } from '../formats/normalized.ts';

export { ALERT_STATUSES, type AlertStatus };

export class AlertNotFound extends EventixError {
  declare readonly code: 'AlertNotFound';
  constructor(id: number) {
    super('AlertNotFound', `No benchmark alert with id ${id}`, { id });
  }
}

/** A PATCH that named the revision it read, and the alert has changed since. */
export class AlertConflict extends EventixError {
  declare readonly code: 'AlertConflict';
  constructor(id: number, expected: number, actual: number, status: AlertStatus) {
    super('AlertConflict', `Alert ${id} is at revision ${actual} (status ${status}), not ${expected}: it changed since it was read`, {
      id,
      revision: actual,
      alert_status: status,
    });
  }
}

export interface Alert {
  id: number;
  seriesHash: string;
  repo: string;
  metric: string;
  config: { id: number; hash: string } | null;
  architecture: string | null;
  tags: Record<string, unknown>;
  direction: Direction | null;
  unit: string | null;
  lastGoodSha: string;
  firstBadSha: string;
  culpritSha: string | null;
  bisection: Record<string, unknown> | null;
  before: { mean: number; median: number };
  after: { mean: number; median: number };
  relativeChange: number | null;
  pValue: number;
  kind: 'regression' | 'improvement' | 'change';
  status: AlertStatus;
  note: string | null;
  resolvedBySha: string | null;
  revision: number;
  createdAt: Date;
  updatedAt: Date;
  evaluatedAt: Date;
  acknowledgedAt: Date | null;
  resolvedAt: Date | null;
}

export interface AlertRow {
  id: number;
  series_hash: string;
  repo: string;
  metric: string;
  config_id: number | null;
  config_hash: string | null;
  architecture: string;
  tags: Record<string, unknown>;
  direction: Direction | null;
  unit: string | null;
  last_good_sha: string;
  first_bad_sha: string;
  culprit_sha: string | null;
  bisection: Record<string, unknown> | null;
  before_mean: number;
  before_median: number;
  after_mean: number;
  after_median: number;
  relative_change: number | null;
  p_value: number;
  kind: Alert['kind'];
  status: AlertStatus;
  note: string | null;
  resolved_by_sha: string | null;
  revision: number;
  created_at: Date;
  updated_at: Date;
  evaluated_at: Date;
  acknowledged_at: Date | null;
  resolved_at: Date | null;
}

export function toAlert(r: AlertRow): Alert {
  return {
    id: Number(r.id),
    seriesHash: r.series_hash,
    repo: r.repo,
    metric: r.metric,
    config: r.config_id === null ? null : { id: Number(r.config_id), hash: r.config_hash ?? '' },
    architecture: r.architecture || null,
    tags: r.tags,
    direction: r.direction,
    unit: r.unit,
    lastGoodSha: r.last_good_sha,
    firstBadSha: r.first_bad_sha,
    culpritSha: r.culprit_sha,
    bisection: r.bisection,
    before: { mean: r.before_mean, median: r.before_median },
    after: { mean: r.after_mean, median: r.after_median },
    relativeChange: r.relative_change,
    pValue: r.p_value,
    kind: r.kind,
    status: r.status,
    note: r.note,
    resolvedBySha: r.resolved_by_sha,
    revision: r.revision,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    evaluatedAt: r.evaluated_at,
    acknowledgedAt: r.acknowledged_at,
    resolvedAt: r.resolved_at,
  };
}

export async function getAlert(ex: Executor, id: number): Promise<Alert> {
  const [row] = await run<AlertRow>(ex, 'select * from benchmark_alerts where id = $1', [id]);
  if (!row) throw new AlertNotFound(id);
  return toAlert(row);
}

export interface AlertFilter {
  statuses?: readonly AlertStatus[] | undefined;
  repo?: string | undefined;
  metric?: string | undefined;
  seriesHash?: string | undefined;
  limit?: number | undefined;
  cursor?: string | undefined;
}

/** Newest first by id: ids only grow, so the keyset (id < last) neither skips nor repeats while alerts open. */
const LIST_SQL = `
select * from benchmark_alerts
where ($1::text[] is null or status = any($1))
  and ($2::text is null or repo = $2)
  and ($3::text is null or metric = $3)
  and ($4::text is null or series_hash = $4)
  and ($5::bigint is null or id < $5)
order by id desc
limit $6
`;

/** Ordered by id descending: the last id of the page. */
const alertCursor = jsonCursor(z.object({ a: z.int().positive() }));

export async function listAlerts(ex: Executor, f: AlertFilter = {}): Promise<{ alerts: Alert[]; nextCursor: string | null }> {
  const limit = f.limit ?? 50;
  const rows = await run<AlertRow>(ex, LIST_SQL, [
    f.statuses?.length ? [...f.statuses] : null,
    f.repo ?? null,
    f.metric ?? null,
    f.seriesHash?.toLowerCase() ?? null,
    f.cursor ? alertCursor.decode(f.cursor).a : null,
    limit + 1,
  ]);
  const page = rows.slice(0, limit).map(toAlert);
  const last = page.at(-1);
  return { alerts: page, nextCursor: rows.length > limit && last ? alertCursor.encode({ a: last.id }) : null };
}

export interface AlertChange {
  status: AlertStatus;
  /** Replaces the note; null clears it; absent keeps it. */
  note?: string | null | undefined;
  /** The revision the caller read: refused with AlertConflict (409) when the alert changed since. */
  revision?: number | undefined;
}

/**
 * A person sets an alert's status. Any status may follow any other (an acknowledged alert can be
 * reopened, a false positive taken back); `acknowledged_at` and `resolved_at` record when the
 * alert last entered those statuses, and `resolved_at` is cleared when it leaves `resolved`. The
 * same status again changes only the note. One statement, so a concurrent evaluation either sees
 * the new status or wrote before it; its own updates are guarded by status, so it never undoes this.
 */
const PATCH_SQL = `
with cur as (select id, status, revision from benchmark_alerts where id = $1 for update),
upd as (
  update benchmark_alerts a set
    status = $2,
    note = case when $3::boolean then $4 else a.note end,
    revision = a.revision + 1,
    updated_at = now(),
    acknowledged_at = case when $2 = 'acknowledged' and a.status <> 'acknowledged' then now() else a.acknowledged_at end,
    resolved_at = case when $2 = 'resolved' then coalesce(case when a.status = 'resolved' then a.resolved_at end, now()) else null end,
    resolved_by_sha = case when $2 = 'resolved' then a.resolved_by_sha else null end
  from cur
  where a.id = cur.id and ($5::int is null or cur.revision = $5)
  returning a.*
)
select (select row_to_json(upd.*) from upd) as updated, cur.status, cur.revision from cur
`;

export async function updateAlert(ex: Executor, id: number, change: AlertChange): Promise<Alert> {
  if (!(ALERT_STATUSES as readonly string[]).includes(change.status)) {
    throw new ValidationError([{ field: 'status', message: `must be one of ${ALERT_STATUSES.join(', ')}` }]);
  }
  const [row] = await run<{ updated: Record<string, unknown> | null; status: AlertStatus; revision: number }>(ex, PATCH_SQL, [
    id,
    change.status,
    change.note !== undefined,
    change.note ?? null,
    change.revision ?? null,
  ]);
  if (!row) throw new AlertNotFound(id);
  if (!row.updated) throw new AlertConflict(id, change.revision ?? 0, row.revision, row.status);
  return toAlert(fromJsonRow(row.updated));
}

/** row_to_json gives timestamps as text; the rest is already in shape. */
function fromJsonRow(j: Record<string, unknown>): AlertRow {
  const date = (v: unknown) => (v === null || v === undefined ? null : new Date(String(v)));
  return {
    ...(j as unknown as AlertRow),
    created_at: date(j.created_at) as Date,
    updated_at: date(j.updated_at) as Date,
    evaluated_at: date(j.evaluated_at) as Date,
    acknowledged_at: date(j.acknowledged_at),
    resolved_at: date(j.resolved_at),
  };
}
