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
 * One statement for any batch size: the rows travel column by column, one array parameter per
 * column, and unnest() turns them back into rows, so 10,000 tasks cost one round trip and one
 * plan. Each array element goes through its type's input function once; a row-per-object jsonb
 * parameter cost a jsonb-to-text-to-type conversion per column per row (jsonb_to_recordset was
 * a fifth of the statement's server time). A column in which every row holds the default is
 * sent as null, and the statement puts the default ($22-$30, from SUBMIT_DEFAULTS) back; args
 * and kwargs travel as one JSON array each, indexed by row.
 *
 * unique_key merging is the ON CONFLICT on the partial unique index over waiting tasks, which
 * makes concurrent submits of one key atomic without locks of our own: the loser of the race
 * updates the winner's row. A batch without keys cannot conflict, so it uses the same statement
 * without ON CONFLICT and skips the speculative insertion each row would otherwise pay (a
 * pre-check of the arbiter index and an extra WAL record). Tasks that are due now wake
 * sleeping workers through NOTIFY, delivered only if the caller's transaction commits.
 *
 * A created row is exactly what we sent plus the column defaults, so only what the server decided
 * comes back (its eta and creation time); the caller builds the task from its own input. Returning
 * every column and parsing it again was 40% of a bulk submit. A merged row is another task's
 * row, changed: that one comes back whole, as row_to_json.
 */
const submitSql = (onConflict: string) => `
with ins as (
  insert into tasks as t (uid, task, namespace, priority, eta, args, kwargs, unique_key, retry, max_retries,
    error_eta_inc, error_eta_max, timeout_seconds, store_result, result_expires, error_expires, operator,
    schedule_name, schedule_fire_at, event_uid, trigger_name)
  select x.uid, x.task,
    case when $3::text[] is null then $22 else x.namespace end,
    case when $4::smallint[] is null then $23 else x.priority end,
    coalesce(x.eta, now()),
    coalesce($20::jsonb -> (x.i::int - 1), '[]'::jsonb),
    coalesce($21::jsonb -> (x.i::int - 1), '{}'::jsonb),
    x.unique_key,
    case when $7::boolean[] is null then $24 else x.retry end,
    case when $8::int[] is null then $25 else x.max_retries end,
    case when $9::int[] is null then $26 else x.error_eta_inc end,
    case when $10::int[] is null then $27 else x.error_eta_max end,
    x.timeout_seconds,
    case when $12::boolean[] is null then $28 else x.store_result end,
    case when $13::int[] is null then $29 else x.result_expires end,
    case when $14::int[] is null then $30 else x.error_expires end,
    x.operator, x.schedule_name, x.schedule_fire_at, x.event_uid, x.trigger_name
  from unnest($1::uuid[], $2::text[], $3::text[], $4::smallint[], $5::timestamptz[], $6::text[], $7::boolean[],
    $8::int[], $9::int[], $10::int[], $11::int[], $12::boolean[], $13::int[], $14::int[], $15::text[], $16::text[],
    $17::timestamptz[], $18::uuid[], $19::text[])
    with ordinality as x(uid, task, namespace, priority, eta, unique_key, retry, max_retries, error_eta_inc,
      error_eta_max, timeout_seconds, store_result, result_expires, error_expires, operator, schedule_name,
      schedule_fire_at, event_uid, trigger_name, i)
  -- Ids, and so FIFO order among equal priority and eta, follow the input order.
  order by x.i
  ${onConflict}
  returning t.uid, t.eta,
    -- xmax is set on the row ON CONFLICT updated, and 0 on one just inserted.
    case when t.xmax <> 0 then row_to_json(t.*) end as merged
), notified as (
  select pg_notify('${NOTIFY_CHANNEL}', n) from unnest($31::text[]) as n
)
select ins.uid, ins.merged,
  floor(extract(epoch from ins.eta) * 1000)::int8 as eta_ms, floor(extract(epoch from now()) * 1000)::int8 as now_ms
from ins, (select count(*) from notified) as z
`;

const SUBMIT_SQL = submitSql(`on conflict (namespace, unique_key) where unique_key is not null and status in ('scheduled', 'retry')
  do update set
    eta = least(t.eta, excluded.eta),
    priority = greatest(t.priority, excluded.priority),
    args = excluded.args,
    kwargs = excluded.kwargs,
    updated_at = now(),
    revision = t.revision + 1`);
const SUBMIT_WITHOUT_KEYS_SQL = submitSql('');

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

/** The defaults a null column stands for, as the statement's parameters $22-$30. */
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
 * The columns after uid and task, in the statement's order ($3-$19), each with the value that
 * lets it be sent as null: the default the statement puts back, or null for a column whose
 * default is null (eta's null means now()). Every field of NormalizedSubmit must appear here or
 * in paramsOf; the submit test that compares every field with the stored row fails otherwise.
 */
const COLUMNS: ReadonlyArray<readonly [keyof NormalizedSubmit, unknown]> = [
  ['namespace', D.namespace],
  ['priority', D.priority],
  ['eta', null],
  ['unique_key', null],
  ['retry', D.retry],
  ['max_retries', D.maxRetries],
  ['error_eta_inc', D.errorEtaInc],
  ['error_eta_max', D.errorEtaMax],
  ['timeout_seconds', null],
  ['store_result', D.storeResult],
  ['result_expires', D.resultExpires],
  ['error_expires', D.errorExpires],
  ['operator', null],
  ['schedule_name', null],
  ['schedule_fire_at', null],
  ['event_uid', null],
  ['trigger_name', null],
];

/**
 * The statement's parameters. A bulk submit of plain tasks is mostly defaults, and the server
 * pays for every element it parses, so a column is sent only if some row differs from its
 * default. Inside a column that is sent, null is a real null (max_retries null: unlimited).
 */
function paramsOf(rows: readonly NormalizedSubmit[]): unknown[] {
  // Our own randomUUID() values: nothing in them needs quoting in an array literal.
  const params: unknown[] = [`{${rows.map((r) => r.uid).join(',')}}`, rows.map((r) => r.task)];
  for (const [key, unset] of COLUMNS) params.push(column(rows, key, unset));
  params.push(
    rows.some((r) => r.args.length > 0) ? JSON.stringify(rows.map((r) => r.args)) : null,
    rows.some((r) => !isEmpty(r.kwargs)) ? JSON.stringify(rows.map((r) => r.kwargs)) : null,
    ...DEFAULT_PARAMS,
    dueNamespaces(rows),
  );
  return params;
}

function column(rows: readonly NormalizedSubmit[], key: keyof NormalizedSubmit, unset: unknown): unknown[] | null {
  for (const r of rows) if (r[key] !== unset) return rows.map((row) => row[key]);
  return null;
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
  const keyed = rows.some((r) => r.unique_key !== null);
  const returned = keyed
    ? await run<SubmitRow>(ex, SUBMIT_SQL, paramsOf(rows), 'eventix_submit')
    : await run<SubmitRow>(ex, SUBMIT_WITHOUT_KEYS_SQL, paramsOf(rows), 'eventix_submit_unkeyed');

  if (!keyed) {
    // Nothing could merge: every row is one of ours, created. Rows come back in the order they
    // were inserted, so matching by position spares a map of uids; the map is the fallback.
    let byUid: Map<string, SubmitRow> | undefined;
    return rows.map((sent, i) => {
      let mine = returned[i];
      if (mine?.uid !== sent.uid) {
        byUid ??= new Map(returned.map((r) => [r.uid, r]));
        mine = byUid.get(sent.uid);
      }
      if (!mine) throw new Error(`submit returned no row for input ${i}`);
      return { task: createdTask(sent, mine), created: true };
    });
  }

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
