import type { FieldIssue } from '../../errors.ts';
import type { TaskState } from '../targets/tasks.ts';
import type { SourceItem } from '../types.ts';
import { instantOf, jsonOf } from './values.ts';

/**
 * The Python Eventix's task, as its PostgreSQL table `eventix_task` and its MongoDB collection
 * `task` both hold it (the same field names), mapped to an Eventix task as the MIGRATION_GUIDE's
 * field table says:
 *
 * - priority is negated (Python ran the lowest first; Eventix runs the highest first);
 * - `processing` becomes `scheduled`: its Python worker holds no Eventix lease, and the task runs
 *   again, as the Python Eventix itself did when a worker expired; `worker_id` and
 *   `worker_expires` are therefore not kept;
 * - `result` of a task in `error` or `retry` is its error, and goes to `error`;
 * - `error_eta_inc` was doubled in place after each failure, so it may exceed `error_eta_max`:
 *   it is capped there, which is the delay Python would have used next;
 * - `max_retries` is the retries left (Python counted it down), kept with attempts at 0;
 * - `expires` becomes `expires_at`; `scheduled` and `revision` are not kept.
 */

const STATUS: Record<string, TaskState['status']> = {
  scheduled: 'scheduled',
  processing: 'scheduled',
  retry: 'retry',
  done: 'done',
  error: 'error',
};
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const INT32 = 2_147_483_647;

export interface MapOptions {
  /** Where the record is, for field paths: `eventix_task[id=12]`, `task.json:40`. */
  path: string;
  timezone: string | undefined;
}

/** One Python task → a task item, or a refusal naming every bad field. */
export function mapPythonTask(raw: Record<string, unknown>, o: MapOptions): SourceItem {
  const issues: FieldIssue[] = [];
  const bad = (field: string, message: string) => issues.push({ field: `${o.path}.${field}`, message });
  const text = (field: string, fallback?: string): string | null => {
    const v = raw[field];
    if (v === null || v === undefined) return fallback ?? null;
    if (typeof v !== 'string') bad(field, `must be text, not ${JSON.stringify(v)}`);
    return typeof v === 'string' ? v : null;
  };
  const int = (field: string, fallback: number | null, check?: (n: number) => string | undefined): number | null => {
    const v = raw[field];
    if (v === null || v === undefined) return fallback;
    const n = typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isInteger(n) || Math.abs(n) > INT32) {
      bad(field, `must be a whole number, not ${JSON.stringify(v)}`);
      return fallback;
    }
    const why = check?.(n);
    if (why) bad(field, why);
    return n;
  };
  const bool = (field: string, fallback: boolean): boolean => {
    const v = raw[field];
    if (v === null || v === undefined) return fallback;
    if (typeof v !== 'boolean') bad(field, `must be true or false, not ${JSON.stringify(v)}`);
    return typeof v === 'boolean' ? v : fallback;
  };
  const when = (field: string): string | null => {
    const r = instantOf(raw[field], o.timezone);
    if (!r.ok) bad(field, r.message);
    return r.ok ? r.value : null;
  };

  const uidText = text('uid');
  if (uidText === null) bad('uid', 'is required');
  else if (!UUID.test(uidText)) bad('uid', `must be a UUID: ${JSON.stringify(uidText)}`);

  const task = text('task');
  if (task === null) bad('task', 'is required');
  else if (task.length < 1 || task.length > 200) bad('task', 'must be 1-200 characters');
  const namespace = text('namespace', 'default') ?? 'default';
  if (namespace.length < 1 || namespace.length > 200) bad('namespace', 'must be 1-200 characters');

  const statusText = text('status');
  const status = statusText === null ? undefined : STATUS[statusText];
  if (status === undefined) bad('status', `must be one of ${Object.keys(STATUS).join(', ')}, not ${JSON.stringify(statusText)}`);

  const priority = -(
    int('priority', 0, (n) => (Math.abs(n) > 32767 ? 'must be within ±32767 (Eventix stores it as a smallint)' : undefined)) ?? 0
  );

  const args = jsonOf(raw.args) ?? [];
  if (!Array.isArray(args)) bad('args', 'must be a list (a JSON array)');
  const kwargs = jsonOf(raw.kwargs) ?? {};
  if (typeof kwargs !== 'object' || kwargs === null || Array.isArray(kwargs)) bad('kwargs', 'must be a JSON object');

  const errorEtaMax = int('error_eta_max', 300, (n) => (n < 1 ? 'must be at least 1 (seconds)' : undefined)) ?? 300;
  const errorEtaIncRaw = int('error_eta_inc', 15, (n) => (n < 1 ? 'must be at least 1 (seconds)' : undefined)) ?? 15;

  const createdAt = when('created_at');
  const updatedAt = when('updated_at');
  const eta = when('eta') ?? when('scheduled') ?? createdAt;
  if (eta === null && !issues.some((i) => i.field.endsWith('.eta')))
    bad('eta', 'is missing, and there is no scheduled or created_at to stand in');
  const created = createdAt ?? updatedAt ?? eta;
  const result = jsonOf(raw.result) ?? null;
  const failed = status === 'error' || status === 'retry';
  const finished = status === 'done' || status === 'error';

  const state: TaskState = {
    task: task ?? '',
    namespace,
    status: status ?? 'scheduled',
    priority: priority === 0 ? 0 : priority, // never -0
    eta: eta ?? '',
    args: Array.isArray(args) ? args : [],
    kwargs: (kwargs as Record<string, unknown>) ?? {},
    unique_key: text('unique_key'),
    retry: bool('retry', true),
    max_retries: int('max_retries', null, (n) => (n < 0 ? 'must not be negative' : undefined)),
    error_eta_inc: Math.min(errorEtaIncRaw, errorEtaMax),
    error_eta_max: errorEtaMax,
    store_result: bool('store_result', true),
    result_expires: int('result_expires', 604800),
    error_expires: int('error_expires', null),
    result: failed ? null : result,
    error: failed && result !== null ? asTaskError(result) : null,
    expires_at: when('expires'),
    operator: text('operator'),
    created_at: created ?? '',
    updated_at: updatedAt ?? created ?? '',
    finished_at: finished ? (updatedAt ?? created) : null,
  };
  if (issues.length) return { kind: 'task', path: o.path, refused: issues };
  return { kind: 'task', path: o.path, key: (uidText as string).toLowerCase(), state };
}

/**
 * Python kept a failure's details in `result`, in no fixed shape. Eventix's error has a class and
 * a message (the dashboard shows them); the Python value is kept whole under `payload`.
 */
function asTaskError(result: unknown): Record<string, unknown> {
  const r = result as Record<string, unknown>;
  const obj = typeof result === 'object' && result !== null && !Array.isArray(result);
  const message =
    obj && typeof r.message === 'string'
      ? r.message
      : obj && typeof r.error === 'string'
        ? r.error
        : typeof result === 'string'
          ? result
          : JSON.stringify(result);
  const cls = obj && typeof r.class === 'string' ? r.class : obj && typeof r.type === 'string' ? r.type : 'PythonEventixError';
  return { class: cls, message, payload: result };
}
