import { ValidationError } from '../errors.ts';
import { type Executor, run } from './executor.ts';
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

/**
 * Newest first, by (created_at, id): a stable total order, so keyset pagination never skips or
 * repeats a row while tasks are added. The cursor carries created_at as PostgreSQL text, because
 * a JS Date would drop the microseconds and make the comparison skip rows.
 * Every filter is a bound parameter; an absent one is NULL and drops out of the WHERE.
 */
const LIST_SQL = `
select *, created_at::text as created_at_text from tasks
where ($1::text is null or namespace = $1)
  and ($2::text[] is null or status = any($2::text[]))
  and ($3::text is null or task = $3)
  and ($4::text is null or unique_key = $4)
  and ($5::timestamptz is null or created_at > $5)
  and ($6::timestamptz is null or created_at < $6)
  and ($7::timestamptz is null or updated_at > $7)
  and ($8::timestamptz is null or updated_at < $8)
  and ($9::timestamptz is null or (created_at, id) < ($9::timestamptz, $10::bigint))
order by created_at desc, id desc
limit $11
`;

export interface Cursor {
  c: string;
  i: number;
}

export function encodeCursor(createdAt: string, id: number): string {
  return Buffer.from(JSON.stringify({ c: createdAt, i: id } satisfies Cursor)).toString('base64url');
}

export function decodeCursor(cursor: string): Cursor {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Cursor;
    if (typeof parsed.c === 'string' && !Number.isNaN(Date.parse(parsed.c)) && Number.isSafeInteger(parsed.i)) return parsed;
  } catch {
    // fall through
  }
  throw invalidCursor();
}

function invalidCursor(): ValidationError {
  return new ValidationError([{ field: 'cursor', message: 'is not a cursor this API issued' }]);
}

export async function listTasks(ex: Executor, f: ListFilter): Promise<{ tasks: Task[]; nextCursor: string | null }> {
  const limit = f.limit ?? 50;
  const cursor = f.cursor ? decodeCursor(f.cursor) : undefined;
  const rows = await run<TaskRowRaw & { id: number; created_at_text: string }>(ex, LIST_SQL, [
    f.namespace ?? null,
    f.statuses?.length ? f.statuses : null,
    f.task ?? null,
    f.uniqueKey ?? null,
    f.createdAfter ?? null,
    f.createdBefore ?? null,
    f.updatedAfter ?? null,
    f.updatedBefore ?? null,
    cursor?.c ?? null,
    cursor?.i ?? null,
    limit + 1,
  ]).catch((err: unknown) => {
    // JavaScript parses dates PostgreSQL does not ('1', '2024-02-30 …'): a forged cursor then fails
    // the cast with a data exception (SQLSTATE class 22), the caller's mistake rather than ours.
    const e = err as { code?: unknown; cause?: { code?: unknown } };
    if (cursor && String(e.code ?? e.cause?.code ?? '').startsWith('22')) throw invalidCursor();
    throw err;
  });
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return {
    tasks: page.map(toTask),
    nextCursor: rows.length > limit && last ? encodeCursor(last.created_at_text, last.id) : null,
  };
}
