import type pg from 'pg';
import { createSchedule, removeSchedule, updateSchedule } from '../../scheduler/manage.ts';
import {
  type NormalizedSchedule,
  normalizeSchedule,
  optionsFromColumn,
  optionsToColumn,
  type ScheduleInput,
  type ScheduleRowRaw,
  toSchedule,
} from '../../scheduler/schedule-input.ts';
import type { RowState, Target } from '../types.ts';

/**
 * Imported schedules, keyed by name, written through the scheduler's own functions so that
 * next_fire_at is computed as for any other schedule. The state is the definition, not the fire
 * bookkeeping: a schedule that has fired since its import still holds what the import wrote.
 */
export function scheduleState(s: Omit<NormalizedSchedule, 'name'>): RowState {
  return {
    namespace: s.namespace,
    cron: s.cron,
    timezone: s.timezone,
    task: s.task,
    args: s.args,
    kwargs: s.kwargs,
    priority: s.priority,
    options: optionsToColumn(s.options),
    enabled: s.enabled,
    misfire: s.misfire,
    overlap: s.overlap,
  };
}

/** A definition (validated, throwing ValidationError) as the state an import compares. */
export const scheduleStateOf = (input: unknown, now = new Date()) => scheduleState(normalizeSchedule(input, now));

const inputOf = (s: RowState): Omit<ScheduleInput, 'name'> =>
  ({ ...s, options: optionsFromColumn(s.options as Record<string, unknown>) }) as Omit<ScheduleInput, 'name'>;

export const scheduleTarget: Target = {
  kind: 'schedule',
  updatable: true,
  async current(client, keys) {
    if (!keys.length) return new Map();
    const { rows } = await client.query<ScheduleRowRaw>('select * from schedules where name = any($1::text[]) for update', [keys]);
    return new Map(rows.map((r) => [r.name, scheduleState(toSchedule(r))]));
  },
  async insert(client: pg.ClientBase, rows) {
    for (const r of rows) await createSchedule(client, { name: r.key, ...inputOf(r.state) });
  },
  async update(client, rows) {
    for (const r of rows) await updateSchedule(client, r.key, inputOf(r.state));
  },
  async remove(client, keys) {
    for (const k of keys) await removeSchedule(client, k);
  },
};
