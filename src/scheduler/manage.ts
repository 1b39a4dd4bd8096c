import { z } from 'zod';
import { textCursor } from '../db/cursor.ts';
import { type Executor, run } from '../db/executor.ts';
import { ScheduleExists, ScheduleNotFound, ValidationError } from '../errors.ts';
import { nextFireAfter } from './cron.ts';
import {
  type NormalizedSchedule,
  normalizeSchedule,
  optionsToColumn,
  SCHEDULE_NAME_PATTERN,
  type Schedule,
  type ScheduleInput,
  type SchedulePatch,
  type ScheduleRowRaw,
  toSchedule,
} from './schedule-input.ts';

/**
 * Creating, changing and removing schedules: one statement each, on any executor (a pool, or a
 * client or drizzle transaction of the caller's). next_fire_at is computed here, from `now`
 * (default: this process's clock), whenever the timing changes: on create, on a change of cron or
 * timezone, and on resume. Changes that read before they write (update, resume, upsert) are
 * guarded by the row's revision and retried if another change landed in between; fires do not
 * change the revision, so a busy scheduler never makes an edit retry.
 */

export interface Clock {
  now?: Date;
}

const INSERT_SQL = `
insert into schedules (name, namespace, cron, timezone, task, args, kwargs, priority, options, enabled, misfire, overlap, next_fire_at, source)
values ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb, $8, $9::jsonb, $10, $11, $12, $13, $14)
on conflict (name) do nothing
returning *
`;

const UPDATE_SQL = `
update schedules set
  namespace = $3, cron = $4, timezone = $5, task = $6, args = $7::jsonb, kwargs = $8::jsonb, priority = $9,
  options = $10::jsonb, enabled = $11, misfire = $12, overlap = $13,
  next_fire_at = case when $14::boolean then $15::timestamptz else next_fire_at end,
  source = coalesce($16, source),
  revision = revision + 1,
  updated_at = now()
where name = $1 and revision = $2
returning *
`;

/** Pausing an already paused schedule changes nothing (not even the revision). */
const PAUSE_SQL = `
update schedules set
  enabled = false,
  next_fire_at = null,
  revision = revision + case when enabled then 1 else 0 end,
  updated_at = case when enabled then now() else updated_at end
where name = $1
returning *
`;

const RESUME_SQL = `
update schedules set enabled = true, next_fire_at = $3, revision = revision + 1, updated_at = now()
where name = $1 and revision = $2
returning *
`;

/** The ledger goes with the schedule: a new schedule of the same name starts with a clean history. */
const DELETE_SQL = `
with gone as (delete from schedules where name = $1 returning name),
fires as (delete from schedule_fires where schedule_name in (select name from gone))
select name from gone
`;

const LIST_SQL = `
select * from schedules
where ($1::text is null or namespace = $1)
  and ($2::boolean is null or enabled = $2)
  and ($3::text is null or name > $3)
order by name
limit $4
`;

const RETRIES = 10;

function nextFor(s: NormalizedSchedule, now: Date): Date | null {
  return s.enabled ? nextFireAfter(s.cron, s.timezone, now) : null;
}

const definitionParams = (s: NormalizedSchedule) => [
  s.namespace,
  s.cron,
  s.timezone,
  s.task,
  JSON.stringify(s.args),
  JSON.stringify(s.kwargs),
  s.priority,
  JSON.stringify(optionsToColumn(s.options)),
  s.enabled,
  s.misfire,
  s.overlap,
];

export async function createSchedule(
  ex: Executor,
  input: ScheduleInput,
  opts: Clock & { source?: 'api' | 'file' } = {},
): Promise<Schedule> {
  const now = opts.now ?? new Date();
  const s = normalizeSchedule(input, now);
  const [row] = await run<ScheduleRowRaw>(ex, INSERT_SQL, [s.name, ...definitionParams(s), nextFor(s, now), opts.source ?? 'api']);
  if (!row) throw new ScheduleExists(s.name);
  return toSchedule(row);
}

export async function getSchedule(ex: Executor, name: string): Promise<Schedule> {
  const [row] = await run<ScheduleRowRaw>(ex, 'select * from schedules where name = $1', [name]);
  if (!row) throw new ScheduleNotFound(name);
  return toSchedule(row);
}

export interface ScheduleFilter {
  namespace?: string | undefined;
  enabled?: boolean | undefined;
  limit?: number | undefined;
  cursor?: string | undefined;
}

/** By name, with keyset pagination: the cursor is the last name of the previous page. */
export async function listSchedules(ex: Executor, f: ScheduleFilter = {}): Promise<{ schedules: Schedule[]; nextCursor: string | null }> {
  const limit = f.limit ?? 100;
  const after = f.cursor === undefined ? null : nameCursor.decode(f.cursor);
  const rows = await run<ScheduleRowRaw>(ex, LIST_SQL, [f.namespace ?? null, f.enabled ?? null, after, limit + 1]);
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return {
    schedules: page.map(toSchedule),
    nextCursor: rows.length > limit && last ? nameCursor.encode(last.name) : null,
  };
}

/** The schedule list's cursor: the last name of the page, as is (names are plain ASCII). */
const nameCursor = textCursor(z.string().regex(SCHEDULE_NAME_PATTERN));

function asInput(s: Schedule): ScheduleInput {
  return {
    name: s.name,
    namespace: s.namespace,
    cron: s.cron,
    timezone: s.timezone,
    task: s.task,
    // Stored values came through the same validation: JSON by construction.
    args: s.args as ScheduleInput['args'],
    kwargs: s.kwargs as ScheduleInput['kwargs'],
    priority: s.priority,
    options: s.options,
    enabled: s.enabled,
    misfire: s.misfire,
    overlap: s.overlap,
  };
}

/**
 * Change some fields; the rest stay. next_fire_at is recomputed from `now` when cron or timezone
 * change or the schedule is enabled again, cleared when it is disabled, and kept otherwise.
 */
export async function updateSchedule(ex: Executor, name: string, patch: SchedulePatch, opts: Clock = {}): Promise<Schedule> {
  if ('name' in patch) throw new ValidationError([{ field: 'name', message: 'a schedule cannot be renamed' }]);
  const now = opts.now ?? new Date();
  const changes = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined));
  for (let attempt = 0; attempt < RETRIES; attempt++) {
    const current = await getSchedule(ex, name);
    const next = normalizeSchedule({ ...asInput(current), ...changes }, now);
    const row = await write(ex, current, next, now, null);
    if (row) return row;
  }
  throw new Error(`schedule '${name}' kept changing while being updated`);
}

async function write(ex: Executor, current: Schedule, next: NormalizedSchedule, now: Date, source: 'api' | 'file' | null) {
  const timing = next.cron !== current.cron || next.timezone !== current.timezone;
  const recompute = !next.enabled || timing || !current.enabled || current.nextFireAt === null;
  const [row] = await run<ScheduleRowRaw>(ex, UPDATE_SQL, [
    current.name,
    current.revision,
    ...definitionParams(next),
    recompute,
    recompute ? nextFor(next, now) : null,
    source,
  ]);
  return row ? toSchedule(row) : undefined;
}

export async function pauseSchedule(ex: Executor, name: string): Promise<Schedule> {
  const [row] = await run<ScheduleRowRaw>(ex, PAUSE_SQL, [name]);
  if (!row) throw new ScheduleNotFound(name);
  return toSchedule(row);
}

/**
 * Enable a paused schedule from `now` on. Fire times that passed while it was paused are not
 * fired, whatever its misfire policy: a pause is a decision, not an outage.
 */
export async function resumeSchedule(ex: Executor, name: string, opts: Clock = {}): Promise<Schedule> {
  const now = opts.now ?? new Date();
  for (let attempt = 0; attempt < RETRIES; attempt++) {
    const current = await getSchedule(ex, name);
    if (current.enabled && current.nextFireAt !== null) return current;
    const [row] = await run<ScheduleRowRaw>(ex, RESUME_SQL, [name, current.revision, nextFireAfter(current.cron, current.timezone, now)]);
    if (row) return toSchedule(row);
  }
  throw new Error(`schedule '${name}' kept changing while being resumed`);
}

export async function removeSchedule(ex: Executor, name: string): Promise<void> {
  const [row] = await run<{ name: string }>(ex, DELETE_SQL, [name]);
  if (!row) throw new ScheduleNotFound(name);
}

export interface UpsertResult {
  schedule: Schedule;
  /** 'created', 'updated', or 'unchanged' (the stored definition already matched). */
  action: 'created' | 'updated' | 'unchanged';
}

/**
 * Create or replace a schedule by name (the schedules file at start). The definition replaces
 * the stored one, fields left out taking their defaults, except `enabled`: left out, a pause made
 * through the API or CLI survives the next start. An identical definition changes nothing, so
 * restarts do not move next_fire_at. Safe to run from many processes at once.
 */
export async function upsertSchedule(
  ex: Executor,
  input: ScheduleInput,
  opts: Clock & { source?: 'api' | 'file' } = {},
): Promise<UpsertResult> {
  const now = opts.now ?? new Date();
  const source = opts.source ?? 'file';
  const wanted = normalizeSchedule(input, now);
  for (let attempt = 0; attempt < RETRIES; attempt++) {
    const [created] = await run<ScheduleRowRaw>(ex, INSERT_SQL, [wanted.name, ...definitionParams(wanted), nextFor(wanted, now), source]);
    if (created) return { schedule: toSchedule(created), action: 'created' };
    let current: Schedule;
    try {
      current = await getSchedule(ex, wanted.name);
    } catch (err) {
      if (err instanceof ScheduleNotFound) continue; // deleted in between: insert again
      throw err;
    }
    const next = { ...wanted, enabled: input.enabled === undefined ? current.enabled : wanted.enabled };
    if (current.source === source && canonical(normalizeSchedule(asInput(current), now)) === canonical(next)) {
      return { schedule: current, action: 'unchanged' };
    }
    const row = await write(ex, current, next, now, source);
    if (row) return { schedule: row, action: 'updated' };
  }
  throw new Error(`schedule '${wanted.name}' kept changing while being upserted`);
}

/** JSON with sorted keys: jsonb does not keep key order, so equal definitions must compare equal. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_, v) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1))) : v,
  );
}
