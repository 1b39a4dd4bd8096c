import { z } from 'zod';
import { type Executor, run } from '../db/executor.ts';
import { ValidationError } from '../errors.ts';
import { decodeCursor, encodeCursor } from '../queue/list.ts';
import { PRIORITY_MAX, PRIORITY_MIN } from '../queue/submit-input.ts';
import { jsonValue } from '../validation/json.ts';
import { NAME_MESSAGE, NAME_PATTERN } from '../validation/names.ts';
import { issuesOf } from '../validation/zod.ts';
import { checkDocument, storableString } from './json.ts';

/** A JSON value, as payloads hold them (assignable to a task's args and kwargs). */
export type JsonValue = z.infer<typeof jsonValue>;

/** An event as stored: something that happened, which fired the triggers listening for its name. */
export interface EventRecord {
  uid: string;
  name: string;
  namespace: string;
  payload: Record<string, JsonValue>;
  priority: number;
  operator: string | null;
  createdAt: Date;
}

const name = z.string().regex(NAME_PATTERN, { error: NAME_MESSAGE });

/** Nesting allowed in a payload: checked before the recursive schema runs, so depth cannot overflow the stack. */
export const MAX_PAYLOAD_DEPTH = 256;

export const eventInputSchema = z.strictObject({
  name,
  /** Default 'default'; also the namespace of the tasks its triggers create, unless a template says otherwise. */
  namespace: name.optional(),
  payload: z
    .preprocess(
      (value, ctx) => {
        checkDocument(value, MAX_PAYLOAD_DEPTH, ctx);
        return value;
      },
      z.record(z.string(), jsonValue, { error: 'must be a JSON object' }),
    )
    .optional(),
  /** The priority of the tasks its triggers create, unless a template says otherwise. */
  priority: z.number().int({ error: 'must be an integer' }).min(PRIORITY_MIN).max(PRIORITY_MAX).optional(),
  operator: storableString().min(1).max(200).nullable().optional(),
});
export type EventInput = z.input<typeof eventInputSchema>;

export function parseEventInput(input: unknown): z.output<typeof eventInputSchema> {
  const parsed = eventInputSchema.safeParse(input);
  if (!parsed.success) throw new ValidationError(issuesOf(parsed.error));
  return parsed.data;
}

interface EventRow {
  id: number;
  uid: string;
  name: string;
  namespace: string;
  payload: Record<string, JsonValue>;
  priority: number;
  operator: string | null;
  created_at: Date;
  created_at_text: string;
}

const toEvent = (r: EventRow): EventRecord => ({
  uid: r.uid,
  name: r.name,
  namespace: r.namespace,
  payload: r.payload,
  priority: r.priority,
  operator: r.operator,
  createdAt: r.created_at,
});

const INSERT_SQL = `
insert into events (name, namespace, payload, priority, operator)
values ($1, $2, $3::jsonb, $4, $5)
returning *, created_at::text as created_at_text
`;

/** Store one event (validated). Pass the transaction that also submits its tasks. */
export async function insertEvent(ex: Executor, input: EventInput): Promise<EventRecord> {
  const e = parseEventInput(input);
  const [row] = await run<EventRow>(ex, INSERT_SQL, [
    e.name,
    e.namespace ?? 'default',
    JSON.stringify(e.payload ?? {}),
    e.priority ?? 0,
    e.operator ?? null,
  ]);
  return toEvent(row as EventRow);
}

export interface EventListFilter {
  name?: string | undefined;
  namespace?: string | undefined;
  /** Events created at or after this instant (ISO 8601). */
  since?: string | undefined;
  limit?: number | undefined;
  cursor?: string | undefined;
}

/**
 * Newest first by (created_at, id): created_at travels in the cursor as PostgreSQL text so no microsecond is lost between pages. With a name, the walk
 * follows events_name_created_idx.
 */
const LIST_SQL = `
select *, created_at::text as created_at_text from events
where ($1::text is null or name = $1)
  and ($2::text is null or namespace = $2)
  and ($3::timestamptz is null or created_at >= $3)
  and ($4::timestamptz is null or (created_at, id) < ($4::timestamptz, $5::bigint))
order by created_at desc, id desc
limit $6
`;

export async function listEvents(ex: Executor, f: EventListFilter = {}): Promise<{ events: EventRecord[]; nextCursor: string | null }> {
  const limit = f.limit ?? 50;
  const cursor = f.cursor ? decodeCursor(f.cursor) : undefined;
  const rows = await run<EventRow>(ex, LIST_SQL, [
    f.name ?? null,
    f.namespace ?? null,
    f.since ?? null,
    cursor?.c ?? null,
    cursor?.i ?? null,
    limit + 1,
  ]).catch((err: unknown) => {
    // A forged cursor (or a `since`) that JavaScript parses but PostgreSQL does not fails the cast
    // with a data exception (SQLSTATE class 22): the caller's mistake, not a server error.
    const code = String((err as { code?: unknown }).code ?? '');
    if (code.startsWith('22') && (cursor || f.since)) {
      throw new ValidationError([
        { field: cursor ? 'cursor' : 'since', message: cursor ? 'is not a cursor this API issued' : 'is not a valid date-time' },
      ]);
    }
    throw err;
  });
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return { events: page.map(toEvent), nextCursor: rows.length > limit && last ? encodeCursor(last.created_at_text, last.id) : null };
}

/** One event by uid; undefined when there is none (never stored, or deleted by retention). */
export async function findEvent(ex: Executor, uid: string): Promise<EventRecord | undefined> {
  const [row] = await run<EventRow>(ex, 'select *, created_at::text as created_at_text from events where uid = $1', [uid]);
  return row ? toEvent(row) : undefined;
}

/**
 * Retention: delete events older than `olderThanSeconds`, a bounded batch at a time (SKIP LOCKED,
 * like task pruning, so several maintenance loops never wait on each other). Tasks keep their
 * event_uid after the event is gone: it still says where they came from.
 */
const PRUNE_SQL = `
with doomed as (
  select id from events where created_at < now() - make_interval(secs => $1::double precision)
  order by created_at limit $2 for update skip locked
)
delete from events e using doomed where e.id = doomed.id
returning 1
`;

export async function pruneEvents(ex: Executor, olderThanSeconds: number, limit = 5000): Promise<number> {
  if (!(olderThanSeconds >= 0)) throw new RangeError('olderThanSeconds must be a non-negative number');
  return (await run<never>(ex, PRUNE_SQL, [olderThanSeconds, limit])).length;
}
