import { randomUUID } from 'node:crypto';
import { ValidationError } from '../errors.ts';
import { type Executor, run } from './executor.ts';
import { type NormalizedSubmit, normalizeSubmit, SUBMIT_DEFAULTS, type SubmitInput } from './input.ts';
import { rowFromJson, type Task, type TaskRowRaw, toTask } from './task.ts';

export const NOTIFY_CHANNEL = 'eventix_tasks';

/** The most tasks one submitMany call accepts; larger batches should be split by the caller. */
export const MAX_BATCH = 50_000;

export interface SubmitResult {
  task: Task;
  /** false when the submission was merged into a waiting task with the same unique_key. */
  created: boolean;
}

/**
 * One statement for any batch size: the rows travel as a single jsonb parameter and are expanded
 * server-side, so 10,000 tasks cost one round trip and one plan. unique_key merging is the
 * ON CONFLICT on the partial unique index over waiting tasks, which makes concurrent submits of
 * one key atomic without locks of our own: the loser of the race updates the winner's row.
 * Tasks that are due now wake sleeping workers through NOTIFY, delivered only if the caller's
 * transaction commits.
 *
 * A created row is exactly what we sent plus the column defaults, so only what the server decided
 * comes back (its eta and creation time); the caller builds the task from its own input. Returning
 * every column and parsing it again was 40% of a bulk submit. A merged row is another task's
 * row, changed: that one comes back whole, as row_to_json.
 */
const SUBMIT_SQL = `
with input as (
  select * from jsonb_to_recordset($1::jsonb) as x(
    ord int, uid uuid, task text, namespace text, priority smallint, eta timestamptz, args jsonb, kwargs jsonb,
    unique_key text, retry boolean, max_retries int, error_eta_inc int, error_eta_max int, timeout_seconds int,
    store_result boolean, result_expires int, error_expires int, operator text,
    schedule_name text, schedule_fire_at timestamptz, event_uid uuid, trigger_name text)
), ins as (
  insert into tasks as t (uid, task, namespace, priority, eta, args, kwargs, unique_key, retry, max_retries,
    error_eta_inc, error_eta_max, timeout_seconds, store_result, result_expires, error_expires, operator,
    schedule_name, schedule_fire_at, event_uid, trigger_name)
  select uid, task, coalesce(namespace, $2), coalesce(priority, $3), coalesce(eta, now()),
    coalesce(args, '[]'::jsonb), coalesce(kwargs, '{}'::jsonb), unique_key, coalesce(retry, $4),
    nullif(coalesce(max_retries, $5), -1), coalesce(error_eta_inc, $6), coalesce(error_eta_max, $7), timeout_seconds,
    coalesce(store_result, $8), nullif(coalesce(result_expires, $9), -1), nullif(coalesce(error_expires, $10), -1),
    operator, schedule_name, schedule_fire_at, event_uid, trigger_name
  from input order by ord
  on conflict (namespace, unique_key) where unique_key is not null and status in ('scheduled', 'retry')
  do update set
    eta = least(t.eta, excluded.eta),
    priority = greatest(t.priority, excluded.priority),
    args = excluded.args,
    kwargs = excluded.kwargs,
    updated_at = now(),
    revision = t.revision + 1
  returning t.uid, t.namespace, t.eta,
    -- xmax is set on the row ON CONFLICT updated, and 0 on one just inserted.
    case when t.xmax <> 0 then row_to_json(t.*) end as merged
), notified as (
  select pg_notify('${NOTIFY_CHANNEL}', n) from unnest($11::text[]) as n
)
select ins.uid, ins.merged,
  floor(extract(epoch from ins.eta) * 1000)::int8 as eta_ms, floor(extract(epoch from now()) * 1000)::int8 as now_ms
from ins, (select count(*) from notified) as z
`;

/**
 * What comes back per row. Times travel as epoch milliseconds (truncated, as pg's own Date parsing
 * does): parsing two timestamp strings per task was a visible share of a bulk submit.
 */
interface SubmitRow {
  uid: string;
  /** The whole row, only when the submission merged into a waiting task. */
  merged: Record<string, unknown> | null;
  eta_ms: number;
  /** now(): the created_at and updated_at of every row this statement created. */
  now_ms: number;
}

/** The new task as the database holds it: what was sent, the column defaults, and the server's times. */
function createdTask(sent: NormalizedSubmit, r: SubmitRow): Task {
  const now = new Date(r.now_ms);
  return {
    uid: r.uid,
    task: sent.task,
    namespace: sent.namespace,
    status: 'scheduled',
    priority: sent.priority,
    eta: r.eta_ms === r.now_ms ? now : new Date(r.eta_ms),
    args: sent.args,
    kwargs: sent.kwargs,
    uniqueKey: sent.unique_key,
    retry: sent.retry,
    maxRetries: sent.max_retries,
    errorEtaInc: sent.error_eta_inc,
    errorEtaMax: sent.error_eta_max,
    timeoutSeconds: sent.timeout_seconds,
    storeResult: sent.store_result,
    resultExpires: sent.result_expires,
    errorExpires: sent.error_expires,
    result: null,
    error: null,
    expiresAt: null,
    attempts: 0,
    workerId: null,
    leaseExpiresAt: null,
    cancelRequested: false,
    operator: sent.operator,
    scheduleName: sent.schedule_name,
    scheduleFireAt: sent.schedule_fire_at === null ? null : new Date(sent.schedule_fire_at),
    eventUid: sent.event_uid,
    triggerName: sent.trigger_name,
    revision: 1,
    createdAt: now,
    updatedAt: now,
    startedAt: null,
    finishedAt: null,
  };
}

/** The defaults payloadOf leaves out, as the statement's parameters $2-$10. */
const D = SUBMIT_DEFAULTS;
const DEFAULT_PARAMS = [
  D.namespace,
  D.priority,
  D.retry,
  D.maxRetries,
  D.errorEtaInc,
  D.errorEtaMax,
  D.storeResult,
  D.resultExpires,
  D.errorExpires,
];

/**
 * The jsonb parameter, as small as it can be: the server pays for every key it converts, and a
 * bulk submit of plain tasks sends mostly defaults. So a value equal to its default is left out
 * (jsonb_to_recordset reads a missing key as null, and the
 * statement's coalesce puts the default back), and so is every null. The three columns whose
 * null is meaningful and whose default is not null (max_retries: unlimited; result_expires and
 * error_expires: keep forever) send that null as -1, which validation never lets through, and
 * the statement's nullif turns back. Measured: 18 → 15 ms per 1,000 plain tasks. Explicit
 * assignments, not a loop over keys, because this runs for every task of a bulk submit.
 */
function payloadOf(rows: readonly NormalizedSubmit[]): string {
  return JSON.stringify(rows.map(payloadRow));
}

/**
 * Only the keys that carry something are set: JSON.stringify skips undefined values, but a
 * literal full of them took twice as long to serialize (0.47 against 0.23 ms per 1,000 rows).
 * Every field of NormalizedSubmit must appear here; the submit test that compares every field
 * with the stored row fails if one is left out.
 */
function payloadRow(r: NormalizedSubmit, ord: number): Record<string, unknown> {
  const o: Record<string, unknown> = { ord, uid: r.uid, task: r.task };
  if (r.namespace !== D.namespace) o.namespace = r.namespace;
  if (r.priority !== D.priority) o.priority = r.priority;
  if (r.eta !== null) o.eta = r.eta;
  if (r.args.length > 0) o.args = r.args;
  if (!isEmpty(r.kwargs)) o.kwargs = r.kwargs;
  if (r.unique_key !== null) o.unique_key = r.unique_key;
  if (r.retry !== D.retry) o.retry = r.retry;
  if (r.max_retries !== D.maxRetries) o.max_retries = r.max_retries ?? -1;
  if (r.error_eta_inc !== D.errorEtaInc) o.error_eta_inc = r.error_eta_inc;
  if (r.error_eta_max !== D.errorEtaMax) o.error_eta_max = r.error_eta_max;
  if (r.timeout_seconds !== null) o.timeout_seconds = r.timeout_seconds;
  if (r.store_result !== D.storeResult) o.store_result = r.store_result;
  if (r.result_expires !== D.resultExpires) o.result_expires = r.result_expires ?? -1;
  if (r.error_expires !== D.errorExpires) o.error_expires = r.error_expires ?? -1;
  if (r.operator !== null) o.operator = r.operator;
  if (r.schedule_name !== null) o.schedule_name = r.schedule_name;
  if (r.schedule_fire_at !== null) o.schedule_fire_at = r.schedule_fire_at;
  if (r.event_uid !== null) o.event_uid = r.event_uid;
  if (r.trigger_name !== null) o.trigger_name = r.trigger_name;
  return o;
}

/**
 * The namespaces to wake workers in: those with a task due now. Decided here rather than over the
 * inserted rows (a pass and an aggregate per statement); a NOTIFY is only a hint, so a clock that
 * differs from the server's by a moment costs at most one poll interval, never a task.
 */
function dueNamespaces(rows: readonly NormalizedSubmit[]): string[] {
  const now = Date.now();
  const due = new Set<string>();
  for (const r of rows) if (r.eta === null || Date.parse(r.eta) <= now) due.add(r.namespace);
  return [...due];
}

function isEmpty(o: object): boolean {
  for (const _ in o) return false;
  return true;
}

/** Submit one task. Pass a transaction-bound executor to make it part of the caller's transaction. */
export async function submit(ex: Executor, input: SubmitInput): Promise<SubmitResult> {
  const [result] = await submitMany(ex, [input]);
  return result as SubmitResult;
}

/**
 * Submit many tasks atomically in one statement. Results are in input order. Two inputs in one
 * batch with the same (namespace, unique_key) are merged before sending (the database cannot
 * update one row twice in a statement): both results name the same task.
 */
export async function submitMany(ex: Executor, inputs: readonly SubmitInput[]): Promise<SubmitResult[]> {
  if (!Array.isArray(inputs)) throw new ValidationError([{ field: '(body)', message: 'must be an array of tasks' }]);
  if (inputs.length === 0) return [];
  if (inputs.length > MAX_BATCH) throw new ValidationError([{ field: '(body)', message: `at most ${MAX_BATCH} tasks per batch` }]);

  // Validate everything before writing anything: one bad item rejects the whole batch.
  const issues: ValidationError['issues'] = [];
  const normalized: (NormalizedSubmit | undefined)[] = inputs.map((input, i) => {
    try {
      return normalizeSubmit(input, randomUUID(), inputs.length > 1 ? `[${i}]` : '');
    } catch (err) {
      if (err instanceof ValidationError) issues.push(...err.issues);
      else throw err;
      return undefined;
    }
  });
  if (issues.length) throw new ValidationError(issues);

  const { rows, slotOf } = mergeDuplicateKeys(normalized as NormalizedSubmit[]);
  const returned = await run<SubmitRow>(ex, SUBMIT_SQL, [payloadOf(rows), ...DEFAULT_PARAMS, dueNamespaces(rows)], 'eventix_submit');

  // A created row carries the uid we sent; a merged one is another task's row, found by its key.
  const byUid = new Map<string, SubmitRow>();
  const byKey = new Map<string, TaskRowRaw>();
  for (const r of returned) {
    if (!r.merged) byUid.set(r.uid, r);
    else {
      const raw = rowFromJson(r.merged);
      byKey.set(keyOf(raw.namespace, raw.unique_key as string), raw);
    }
  }
  const seen = new Set<string>();
  return inputs.map((_, i) => {
    const sent = rows[slotOf[i] as number] as NormalizedSubmit;
    const mine = byUid.get(sent.uid);
    const merged = mine ? undefined : sent.unique_key === null ? undefined : byKey.get(keyOf(sent.namespace, sent.unique_key));
    if (!mine && !merged) throw new Error(`submit returned no row for input ${i}`);
    const task = mine ? createdTask(sent, mine) : toTask(merged as TaskRowRaw);
    // The first input of a merged group reports what the database did; later ones were merged into it.
    const first = !seen.has(task.uid);
    seen.add(task.uid);
    return { task, created: first && mine !== undefined };
  });
}

const keyOf = (namespace: string, uniqueKey: string) => `${namespace}\u0000${uniqueKey}`;

function mergeDuplicateKeys(items: NormalizedSubmit[]): { rows: NormalizedSubmit[]; slotOf: number[] } {
  const rows: NormalizedSubmit[] = [];
  const slotByKey = new Map<string, number>();
  const slotOf = items.map((item) => {
    if (item.unique_key === null) return rows.push(item) - 1;
    const key = keyOf(item.namespace, item.unique_key);
    const slot = slotByKey.get(key);
    if (slot === undefined) {
      slotByKey.set(key, rows.length);
      return rows.push({ ...item }) - 1;
    }
    const kept = rows[slot] as NormalizedSubmit;
    // Same rule as the database merge: earliest eta (unset means now), highest priority, latest args.
    const etaMs = (eta: string | null) => (eta === null ? Date.now() : Date.parse(eta));
    if (etaMs(item.eta) < etaMs(kept.eta)) kept.eta = item.eta;
    kept.priority = Math.max(kept.priority, item.priority);
    kept.args = item.args;
    kept.kwargs = item.kwargs;
    return slot;
  });
  return { rows, slotOf };
}
