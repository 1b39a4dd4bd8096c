import { z } from 'zod';
import { type CursorCodec, cursorTimestamp, jsonCursor } from '../db/cursor.ts';
import { type Executor, run } from '../db/executor.ts';
import type { TaskStatus } from './states.ts';
import { type Task, type TaskRowRaw, toTask } from './task.ts';

export interface ListFilter {
  namespace?: string | undefined;
  statuses?: readonly TaskStatus[] | undefined;
  task?: string | undefined;
  uniqueKey?: string | undefined;
  createdAfter?: string | undefined;
  createdBefore?: string | undefined;
  updatedAfter?: string | undefined;
  updatedBefore?: string | undefined;
  limit?: number | undefined;
  cursor?: string | undefined;
}

/** Every filter of the list, shared by listTasks and countTasks so both always mean the same tasks. */
const FILTER_WHERE = `
($1::text is null or namespace = $1)
  and ($2::text[] is null or status = any($2::text[]))
  and ($3::text is null or task = $3)
  and ($4::text is null or unique_key = $4)
  and ($5::timestamptz is null or created_at > $5)
  and ($6::timestamptz is null or created_at < $6)
  and ($7::timestamptz is null or updated_at > $7)
  and ($8::timestamptz is null or updated_at < $8)`;

/**
 * Newest first, by id: the order tasks were submitted in, a stable total order, so keyset
 * pagination never skips or repeats a row while tasks are added, and the primary key serves it
 * without an index of its own (see the tasks schema). The cursor is the last id of a page.
 * Every filter is a bound parameter; an absent one is NULL and drops out of the WHERE. The
 * statement is planned with its values each time (never prepared), so that NULL folds away and
 * a status filter can use the partial indexes.
 */
const LIST_SQL = `
select * from tasks
where ${FILTER_WHERE}
  and ($9::bigint is null or id < $9)
order by id desc
limit $10
`;

/** The same WHERE as the list, counted per status: what a bulk action over a filter would touch. */
const COUNT_SQL = `select status, count(*)::int as n from tasks where ${FILTER_WHERE} group by status`;

export interface Cursor {
  c: string;
  i: number;
}

/** A cursor over rows ordered by (created_at, id) descending: events, runs, schedule fires. */
const createdCursor: CursorCodec<Cursor> = jsonCursor(z.object({ c: cursorTimestamp, i: z.int() }));

export function encodeCursor(createdAt: string, id: number): string {
  return createdCursor.encode({ c: createdAt, i: id });
}

export function decodeCursor(cursor: string): Cursor {
  return createdCursor.decode(cursor);
}

/** A task list's cursor: the id of the last task on the page, and nothing else. */
const taskCursor = jsonCursor(z.strictObject({ i: z.int().positive() }));

function filterParams(f: ListFilter): unknown[] {
  return [
    f.namespace ?? null,
    f.statuses?.length ? f.statuses : null,
    f.task ?? null,
    f.uniqueKey ?? null,
    f.createdAfter ?? null,
    f.createdBefore ?? null,
    f.updatedAfter ?? null,
    f.updatedBefore ?? null,
  ];
}

export async function listTasks(ex: Executor, f: ListFilter): Promise<{ tasks: Task[]; nextCursor: string | null }> {
  const limit = f.limit ?? 50;
  const after = f.cursor ? taskCursor.decode(f.cursor).i : null;
  const rows = await run<TaskRowRaw & { id: number }>(ex, LIST_SQL, [...filterParams(f), after, limit + 1]);
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return {
    tasks: page.map(toTask),
    nextCursor: rows.length > limit && last ? taskCursor.encode({ i: last.id }) : null,
  };
}

/** How many tasks match a list filter (ignoring its cursor and limit), per status; absent statuses have none. */
export async function countTasks(ex: Executor, f: ListFilter): Promise<Partial<Record<TaskStatus, number>>> {
  const rows = await run<{ status: TaskStatus; n: number }>(ex, COUNT_SQL, filterParams(f));
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}
