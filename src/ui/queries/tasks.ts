import { listQuery } from '../../api/schemas.ts';
import { type Executor, run } from '../../db/executor.ts';
import { type FieldIssue, ValidationError } from '../../errors.ts';
import type { ListFilter } from '../../queue/list.ts';
import { TASK_STATUSES, type TaskStatus } from '../../queue/states.ts';
import { issuesOf } from '../../validation/zod.ts';
import { formatUtc } from '../format.ts';

/**
 * The task list's filters as the dashboard's URLs carry them. They are the API's own (GET /tasks,
 * validated by the same zod schema, listQuery), with two allowances for HTML forms: an empty
 * field means "no filter", and a date may be what <input type=datetime-local> sends
 * (2026-01-31T14:00, no zone), which the dashboard reads as UTC and labels so.
 */
export interface TaskQuery {
  filter: TaskFilter;
  cursor: string | undefined;
  limit: number;
}

export interface TaskFilter {
  statuses: TaskStatus[];
  namespace?: string | undefined;
  task?: string | undefined;
  uniqueKey?: string | undefined;
  /** ISO 8601 instants (UTC). */
  createdAfter?: string | undefined;
  createdBefore?: string | undefined;
}

export const DEFAULT_PAGE = 50;
const FILTER_KEYS = ['status', 'namespace', 'task', 'unique_key', 'created_after', 'created_before'] as const;
const DATE_KEYS = new Set(['created_after', 'created_before']);
/** What datetime-local sends: minutes, optionally seconds and a fraction, and no zone. */
const LOCAL_DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?$/;

function asUtc(value: string): string {
  if (!LOCAL_DATETIME.test(value)) return value;
  return `${value.length === 16 ? `${value}:00` : value}Z`;
}

/**
 * Parse the list's query string. Throws ValidationError naming each bad field; other parameters
 * (the flash message, anything unknown) are ignored rather than refused, since a browser's URL
 * collects them.
 */
export function parseTaskQuery(params: URLSearchParams): TaskQuery {
  const raw: Record<string, string | string[]> = {};
  for (const key of [...FILTER_KEYS, 'cursor', 'limit']) {
    const values = params
      .getAll(key)
      .map((v) => v.trim())
      .filter(Boolean)
      .map((v) => (DATE_KEYS.has(key) ? asUtc(v) : v));
    if (values.length) raw[key] = key === 'status' ? values : (values.at(-1) as string);
  }
  const parsed = listQuery.safeParse(raw);
  if (!parsed.success) {
    throw new ValidationError(
      issuesOf(parsed.error, '', '(query)').map((i): FieldIssue => {
        const key = i.field.split('.')[0] ?? i.field;
        if (DATE_KEYS.has(key)) return { field: key, message: 'must be a date and time such as 2026-01-31T14:00 (read as UTC)' };
        if (key === 'status') return { field: key, message: `must be one of ${TASK_STATUSES.join(', ')}` };
        return { field: key, message: i.message };
      }),
    );
  }
  const q = parsed.data;
  return {
    filter: {
      statuses: [...new Set(q.status ?? [])],
      namespace: q.namespace,
      task: q.task,
      uniqueKey: q.unique_key,
      createdAfter: q.created_after && new Date(q.created_after).toISOString(),
      createdBefore: q.created_before && new Date(q.created_before).toISOString(),
    },
    cursor: q.cursor,
    limit: q.limit ?? DEFAULT_PAGE,
  };
}

/** The library's filter for a dashboard filter. */
export function toListFilter(f: TaskFilter): ListFilter {
  return {
    statuses: f.statuses.length ? f.statuses : undefined,
    namespace: f.namespace,
    task: f.task,
    uniqueKey: f.uniqueKey,
    createdAfter: f.createdAfter,
    createdBefore: f.createdBefore,
  };
}

/** A filter as a query string, in one canonical order: links, the pager and bulk forms all carry this. */
export function filterQuery(f: TaskFilter): URLSearchParams {
  const q = new URLSearchParams();
  for (const s of f.statuses) q.append('status', s);
  if (f.namespace) q.set('namespace', f.namespace);
  if (f.task) q.set('task', f.task);
  if (f.uniqueKey) q.set('unique_key', f.uniqueKey);
  if (f.createdAfter) q.set('created_after', toDatetimeLocal(f.createdAfter));
  if (f.createdBefore) q.set('created_before', toDatetimeLocal(f.createdBefore));
  return q;
}

export function listUrl(f: TaskFilter, extra: Record<string, string> = {}): string {
  const q = filterQuery(f);
  for (const [k, v] of Object.entries(extra)) q.set(k, v);
  const s = q.toString();
  return s ? `/ui/tasks?${s}` : '/ui/tasks';
}

export function isFiltered(f: TaskFilter): boolean {
  return Boolean(f.statuses.length || f.namespace || f.task || f.uniqueKey || f.createdAfter || f.createdBefore);
}

/** `status=scheduled,retry, namespace=emails, created after 2026-01-31 14:00:00 UTC`, or "all tasks". */
export function describeFilter(f: TaskFilter): string {
  const parts: string[] = [];
  if (f.statuses.length) parts.push(`status=${f.statuses.join(',')}`);
  if (f.namespace) parts.push(`namespace=${f.namespace}`);
  if (f.task) parts.push(`task=${f.task}`);
  if (f.uniqueKey) parts.push(`unique_key=${f.uniqueKey}`);
  if (f.createdAfter) parts.push(`created after ${formatUtc(f.createdAfter)}`);
  if (f.createdBefore) parts.push(`created before ${formatUtc(f.createdBefore)}`);
  return parts.length ? parts.join(', ') : 'no filter (every task)';
}

/** An instant as a datetime-local value in UTC: `2026-01-31T14:00`, seconds and milliseconds only when there are some. */
export function toDatetimeLocal(iso: string): string {
  let s = new Date(iso).toISOString().slice(0, 23);
  if (s.endsWith('.000')) s = s.slice(0, 19);
  return s.endsWith(':00') && s.length === 19 ? s.slice(0, 16) : s;
}

/** The database's clock: a bulk action over a filter covers the tasks submitted before its confirmation. */
export async function databaseNow(ex: Executor): Promise<string> {
  const [row] = await run<{ now: Date }>(ex, 'select clock_timestamp() as now');
  return (row?.now ?? new Date()).toISOString();
}

/** The ticked tasks that still exist, per status: what the confirmation page states. */
export async function countSelected(ex: Executor, uids: readonly string[]): Promise<Partial<Record<TaskStatus, number>>> {
  const rows = await run<{ status: TaskStatus; n: number }>(
    ex,
    'select status, count(*)::int as n from tasks where uid = any($1::uuid[]) group by status',
    [uids],
  );
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}
