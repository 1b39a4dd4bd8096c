import { type Executor, run } from '../db/executor.ts';
import { ValidationError } from '../errors.ts';
import { currentTraceCarrier, inSpan, SpanKind } from '../tracing.ts';
import { type NormalizedSubmit, normalizeSubmit, type SubmitInput } from './submit-input.ts';
import { createdTask, paramsOf, SUBMIT_SQL, SUBMIT_WITHOUT_KEYS_SQL, type SubmitRow } from './submit-statement.ts';
import { rowFromJson, type Task, type TaskRowRaw, toTask } from './task.ts';
import { newTaskUid } from './uid.ts';

export { NOTIFY_CHANNEL } from './submit-statement.ts';

/** The most tasks one submitMany call accepts; larger batches should be split by the caller. */
export const MAX_BATCH = 50_000;

export interface SubmitResult {
  task: Task;
  /** false when the submission was merged into a waiting task with the same unique_key. */
  created: boolean;
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
      return normalizeSubmit(input, newTaskUid(), inputs.length > 1 ? `[${i}]` : '');
    } catch (err) {
      if (err instanceof ValidationError) issues.push(...err.issues);
      else throw err;
      return undefined;
    }
  });
  if (issues.length) throw new ValidationError(issues);
  return submitNormalized(ex, normalized as NormalizedSubmit[]);
}

/**
 * Submit tasks that were validated and resolved already (normalizeWire: the HTTP API, whose
 * request schema validated each body once). Internal: not exported from the package.
 */
export async function submitNormalized(ex: Executor, normalized: NormalizedSubmit[]): Promise<SubmitResult[]> {
  if (normalized.length === 0) return [];
  const attributes = {
    'messaging.system': 'eventix',
    'messaging.operation.type': 'send',
    'messaging.batch.message_count': normalized.length,
  };
  return inSpan('eventix.submit', SpanKind.PRODUCER, attributes, async () => {
    // Stored with each task, so that its worker, wherever it runs, continues this trace.
    const carrier = currentTraceCarrier();
    if (carrier) for (const n of normalized) n.trace_context ??= carrier;
    return insert(ex, normalized);
  });
}

async function insert(ex: Executor, normalized: NormalizedSubmit[]): Promise<SubmitResult[]> {
  const { rows, slotOf } = mergeDuplicateKeys(normalized);
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
  return normalized.map((_, i) => {
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
