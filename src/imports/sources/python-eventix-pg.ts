import type pg from 'pg';
import { ValidationError } from '../../errors.ts';
import type { ImportSource, SourceItem } from '../types.ts';
import { keysetBatches, legacyKey, openLegacy, tablesPresent } from './postgres-source.ts';
import { mapPythonTask } from './python-eventix-model.ts';
import { mapPythonEvent, mapPythonSchedule, mapPythonTrigger } from './python-eventix-records.ts';
import { checkTimezone } from './values.ts';

/**
 * The Python Eventix 4.4 on PostgreSQL (SQLModel): tables eventix_task, eventix_event,
 * eventix_trigger and eventix_schedule, each with a serial `id` read in order. Only
 * eventix_task is required; a missing table of the others is read as empty.
 */
export const PYTHON_TABLES = {
  eventix_task: 'task',
  eventix_schedule: 'schedule',
  eventix_trigger: 'trigger',
  eventix_event: 'event',
} as const;

export async function pythonEventixPostgres(o: { from: string; timezone?: string | undefined }): Promise<ImportSource> {
  const timezone = checkTimezone(o.timezone);
  const sourceKey = legacyKey('python-eventix', o.from);
  const client: pg.Client = await openLegacy(o.from);
  let present: Map<string, Set<string>>;
  try {
    present = await tablesPresent(client, Object.keys(PYTHON_TABLES));
    if (!present.has('eventix_task')) {
      throw new ValidationError([{ field: 'from', message: 'has no table eventix_task: is it a Python Eventix 4.4 database?' }]);
    }
    for (const [table, cols] of present) {
      if (!cols.has('id'))
        throw new ValidationError([{ field: 'from', message: `table ${table} has no id column to read it in order by` }]);
    }
  } catch (err) {
    await client.end().catch(() => undefined);
    throw err;
  }
  return {
    name: 'python-eventix',
    sourceKey,
    options: { timezone: timezone ?? null, tables: [...present.keys()].sort() },
    async count() {
      let n = 0;
      for (const table of present.keys()) {
        const { rows } = await client.query<{ n: number }>(`select count(*)::int as n from ${client.escapeIdentifier(table)}`);
        n += rows[0]?.n ?? 0;
      }
      return n;
    },
    async *batches() {
      // Schedules and triggers first: few, and what an operator checks first in a dry run.
      for (const table of ['eventix_schedule', 'eventix_trigger', 'eventix_task', 'eventix_event'] as const) {
        if (!present.has(table)) continue;
        for await (const rows of keysetBatches(client, table, 'id')) {
          yield rows.map((raw): SourceItem => {
            const path = `${table}[id=${String(raw.id)}]`;
            switch (PYTHON_TABLES[table]) {
              case 'task':
                return mapPythonTask(raw, { path, timezone });
              case 'schedule':
                return mapPythonSchedule(raw, { path });
              case 'trigger':
                return mapPythonTrigger(raw, { path });
              default:
                return mapPythonEvent(raw, { path, sourceKey, recordId: `eventix_event:${String(raw.id)}`, timezone });
            }
          });
        }
      }
    },
    async close() {
      await client.end().catch(() => undefined);
    },
  };
}
