import { randomUUID } from 'node:crypto';
import { ValidationError } from '../errors.ts';
import { type Executor, run } from './executor.ts';
import { type NormalizedSubmit, normalizeSubmit, type SubmitInput } from './input.ts';
import { type Task, type TaskRowRaw, toTask } from './task.ts';

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
  select uid, task, namespace, priority, coalesce(eta, now()), args, kwargs, unique_key, retry, max_retries,
    error_eta_inc, error_eta_max, timeout_seconds, store_result, result_expires, error_expires, operator,
    schedule_name, schedule_fire_at, event_uid, trigger_name
  from input order by ord
  on conflict (namespace, unique_key) where unique_key is not null and status in ('scheduled', 'retry')
  do update set
    eta = least(t.eta, excluded.eta),
    priority = greatest(t.priority, excluded.priority),
    args = excluded.args,
    kwargs = excluded.kwargs,
    updated_at = now(),
    revision = t.revision + 1
  returning t.*, (t.xmax = 0) as created
), notified as (
  select pg_notify('${NOTIFY_CHANNEL}', n.namespace) from (select distinct namespace from ins where eta <= now()) n
)
select ins.* from ins, (select count(*) from notified) as z
`;

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
  const returned = await run<TaskRowRaw & { created: boolean }>(
    ex,
    SUBMIT_SQL,
    [JSON.stringify(rows.map((r, ord) => ({ ...r, ord })))],
    'eventix_submit',
  );

  const byUid = new Map<string, TaskRowRaw & { created: boolean }>();
  const byKey = new Map<string, TaskRowRaw & { created: boolean }>();
  for (const r of returned) {
    byUid.set(r.uid, r);
    if (r.unique_key !== null) byKey.set(keyOf(r.namespace, r.unique_key), r);
  }
  const seen = new Set<string>();
  return inputs.map((_, i) => {
    const sent = rows[slotOf[i] as number] as NormalizedSubmit;
    const row = byUid.get(sent.uid) ?? (sent.unique_key === null ? undefined : byKey.get(keyOf(sent.namespace, sent.unique_key)));
    if (!row) throw new Error(`submit returned no row for input ${i}`);
    // The first input of a merged group reports what the database did; later ones were merged into it.
    const first = !seen.has(row.uid);
    seen.add(row.uid);
    return { task: toTask(row), created: first && row.created };
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
