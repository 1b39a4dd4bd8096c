import { readFile } from 'node:fs/promises';
import { schedulesFile, toScheduleInput } from '../api/schedule-schemas.ts';
import type { Executor } from '../db/executor.ts';
import { coerceError } from '../logger.ts';
import { upsertSchedule } from '../scheduler/manage.ts';
import type { ScheduleInput } from '../scheduler/schedule-input.ts';

/**
 * EVENTIX_SCHEDULES_FILE: schedules declared in a JSON file, `{"schedules": [...]}`, each entry in
 * the API's ScheduleCreate format. Read and validated completely before anything is written (a bad
 * file stops start, naming the file and the field); then upserted by name. Schedules that left
 * the file are not deleted: remove them with `eventix schedules delete`.
 */
export class SchedulesFileError extends Error {
  constructor(
    readonly path: string,
    detail: string,
  ) {
    super(`EVENTIX_SCHEDULES_FILE ${path}: ${detail}`);
    this.name = 'SchedulesFileError';
  }
}

export async function loadSchedulesFile(path: string): Promise<ScheduleInput[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new SchedulesFileError(path, `cannot read it (${coerceError(err).message})`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new SchedulesFileError(path, `malformed JSON: ${coerceError(err).message}`);
  }
  const parsed = schedulesFile.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => {
      const field =
        i.path
          .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
          .join('')
          .replace(/^\./, '') || '(file)';
      const index = typeof i.path[1] === 'number' ? i.path[1] : undefined;
      const entry = index === undefined ? undefined : (raw as { schedules?: { name?: unknown }[] }).schedules?.[index]?.name;
      const which = typeof entry === 'string' ? ` (schedule ${JSON.stringify(entry)})` : '';
      const message = i.code === 'unrecognized_keys' ? `unknown field(s): ${i.keys.join(', ')}` : i.message;
      return `${field}${which}: ${message}`;
    });
    throw new SchedulesFileError(path, lines.join('; '));
  }
  return parsed.data.schedules.map(toScheduleInput);
}

export interface AppliedFile {
  created: string[];
  updated: string[];
  unchanged: string[];
}

export async function applySchedules(ex: Executor, definitions: readonly ScheduleInput[], now?: Date): Promise<AppliedFile> {
  const out: AppliedFile = { created: [], updated: [], unchanged: [] };
  for (const d of definitions) {
    const { schedule, action } = await upsertSchedule(ex, d, { now, source: 'file' });
    out[action].push(schedule.name);
  }
  return out;
}
