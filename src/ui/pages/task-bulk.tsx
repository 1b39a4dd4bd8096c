import type { ApiScope } from '../../config.ts';
import type { Executor } from '../../db/executor.ts';
import { InvalidTransition, TaskNotFound, UniqueKeyConflict, ValidationError } from '../../errors.ts';
import { CANCELLABLE, cancel } from '../../queue/cancel.ts';
import { countTasks, listTasks } from '../../queue/list.ts';
import { removeTask } from '../../queue/remove.ts';
import { RESCHEDULABLE, reschedule } from '../../queue/reschedule.ts';
import { TASK_STATUSES, type TaskStatus } from '../../queue/states.ts';
import { UUID_PATTERN } from '../../validation/names.ts';
import { instant } from '../../validation/zod.ts';
import { type Form, field, fields, safeBack, uiAction } from '../actions.tsx';
import { CsrfField, Head, Status } from '../components.tsx';
import type { UiContext, UiDeps } from '../context.ts';
import { plural } from '../format.ts';
import { Layout } from '../layout.tsx';
import {
  countSelected,
  databaseNow,
  describeFilter,
  filterQuery,
  parseTaskQuery,
  type TaskFilter,
  toListFilter,
} from '../queries/tasks.ts';

/**
 * Bulk cancel, reschedule and delete, over the ticked tasks or over everything a filter matches.
 * The first POST only counts and asks (nothing changes); the confirming POST walks the tasks in
 * pages of BATCH through listTasks and applies the very library call the API's per-task route
 * makes, one task at a time, so every state rule holds and no giant transaction or lock builds
 * up. A task whose state forbids the action is skipped and counted, never forced.
 */
export type BulkKind = 'cancel' | 'reschedule' | 'delete';

interface Kind {
  scope: ApiScope;
  verb: string;
  past: string;
  /** Statuses the library accepts for this action (cancel.ts, reschedule.ts, remove.ts). */
  allowed: readonly TaskStatus[];
  /** What happens to an allowed task, per status, for the confirmation page. */
  effect: (s: TaskStatus) => string;
  apply: (ex: Executor, uid: string) => Promise<'changed' | 'flagged'>;
}

/** removeTask refuses only a running task: it belongs to its worker until it ends. */
const DELETABLE = TASK_STATUSES.filter((s) => s !== 'processing');

export const BULK: Record<BulkKind, Kind> = {
  cancel: {
    scope: 'submit',
    verb: 'Cancel',
    past: 'Cancelled',
    allowed: CANCELLABLE,
    effect: (s) => (s === 'processing' ? 'cancel requested: stops at its worker’s next heartbeat' : 'cancelled now'),
    apply: async (ex, uid) => ((await cancel(ex, uid)).status === 'processing' ? 'flagged' : 'changed'),
  },
  reschedule: {
    scope: 'submit',
    verb: 'Reschedule',
    past: 'Rescheduled',
    allowed: RESCHEDULABLE,
    effect: () => 'scheduled, due now, with a fresh retry budget',
    apply: async (ex, uid) => {
      await reschedule(ex, uid);
      return 'changed';
    },
  },
  delete: {
    scope: 'admin',
    verb: 'Delete',
    past: 'Deleted',
    allowed: DELETABLE,
    effect: () => 'deleted for good',
    apply: async (ex, uid) => {
      await removeTask(ex, uid);
      return 'changed';
    },
  },
};

export const BATCH = 500;
/** A page holds at most 500 tasks; a selection larger than that did not come from this dashboard. */
const MAX_SELECTED = 500;
/** Tasks changed at once within a batch: a few connections, leaving the pool to everyone else. */
const PARALLEL = 4;

type Target = { kind: 'selected'; uids: string[] } | { kind: 'filter'; filter: TaskFilter };

function readTarget(form: Form): Target {
  if (field(form, 'target') === 'filter')
    return { kind: 'filter', filter: parseTaskQuery(new URLSearchParams(field(form, 'filter') ?? '')).filter };
  const uids = [...new Set(fields(form, 'uid').map((u) => u.trim().toLowerCase()))];
  if (!uids.length) throw new ValidationError([{ field: 'uid', message: 'no task is ticked: tick some, or use an “all matching” button' }]);
  if (uids.length > MAX_SELECTED) throw new ValidationError([{ field: 'uid', message: `at most ${MAX_SELECTED} tasks at once` }]);
  const bad = uids.find((u) => !UUID_PATTERN.test(u));
  if (bad !== undefined) throw new ValidationError([{ field: 'uid', message: `'${bad.slice(0, 40)}' is not a UUID` }]);
  return { kind: 'selected', uids };
}

/** The later bound of a filter action: the filter's own, or the moment it was confirmed, whichever is earlier. */
function until(filter: TaskFilter, upto: string): TaskFilter {
  const before = filter.createdBefore && filter.createdBefore < upto ? filter.createdBefore : upto;
  return { ...filter, createdBefore: before };
}

export function bulkAction(deps: UiDeps, kindName: BulkKind) {
  const kind = BULK[kindName];
  const pool = deps.database.pool;
  return uiAction(kind.scope, async (c, form) => {
    const target = readTarget(form);
    const back = safeBack(field(form, 'back'), '/ui/tasks');
    if (field(form, 'confirm') !== 'yes') {
      const upto = await databaseNow(pool);
      const counts =
        target.kind === 'selected'
          ? await countSelected(pool, target.uids)
          : await countTasks(pool, toListFilter(until(target.filter, upto)));
      return confirmPage(c, { kindName, target, counts, back, upto });
    }
    const tally = newTally();
    const each = (uid: string) => applyOne(kind, pool, uid, tally);
    if (target.kind === 'selected') {
      await inParallel(target.uids, each);
    } else {
      const upto = instant.safeParse(field(form, 'upto'));
      if (!upto.success || typeof upto.data !== 'string') throw new ValidationError([{ field: 'upto', message: 'missing; confirm again' }]);
      const filter = toListFilter(until(target.filter, new Date(upto.data).toISOString()));
      // Keyset pages by id: rows the action changes or deletes never shift the next page.
      let cursor: string | undefined;
      do {
        const page = await listTasks(pool, { ...filter, limit: BATCH, cursor });
        await inParallel(
          page.tasks.map((t) => t.uid),
          each,
        );
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
    }
    return outcomeNotice(kind, tally);
  });
}

interface Tally {
  changed: number;
  flagged: number;
  gone: number;
  conflicts: number;
  skipped: Map<string, number>;
}
const newTally = (): Tally => ({ changed: 0, flagged: 0, gone: 0, conflicts: 0, skipped: new Map() });

async function applyOne(kind: Kind, ex: Executor, uid: string, tally: Tally): Promise<void> {
  try {
    tally[await kind.apply(ex, uid)]++;
  } catch (err) {
    if (err instanceof InvalidTransition) {
      const status = String(err.details?.status ?? '?');
      tally.skipped.set(status, (tally.skipped.get(status) ?? 0) + 1);
    } else if (err instanceof TaskNotFound) tally.gone++;
    else if (err instanceof UniqueKeyConflict) tally.conflicts++;
    else throw err;
  }
}

async function inParallel(items: readonly string[], fn: (item: string) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++] as string);
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, items.length) }, worker));
}

/** "Cancelled 40 tasks; cancel requested for 2 running tasks …; skipped 3 tasks whose status does not allow cancel (done: 3)." */
export function outcomeNotice(kind: Kind, t: Tally): string {
  const parts = [`${kind.past} ${plural(t.changed, 'task')}`];
  if (t.flagged) parts.push(`cancel requested for ${plural(t.flagged, 'running task')} (they stop at their worker’s next heartbeat)`);
  const skipped = [...t.skipped.values()].reduce((a, b) => a + b, 0);
  if (skipped) {
    const by = [...t.skipped.entries()].map(([s, n]) => `${s}: ${n}`).join(', ');
    parts.push(`skipped ${plural(skipped, 'task')} whose status does not allow ${kind.verb.toLowerCase()} (${by})`);
  }
  if (t.conflicts) parts.push(`skipped ${plural(t.conflicts, 'task')} whose unique key another waiting task holds`);
  if (t.gone) parts.push(`${plural(t.gone, 'task')} no longer existed`);
  return `${parts.join('; ')}.`;
}

function confirmPage(
  c: UiContext,
  p: { kindName: BulkKind; target: Target; counts: Partial<Record<TaskStatus, number>>; back: string; upto: string },
) {
  const viewer = c.get('viewer');
  const kind = BULK[p.kindName];
  const rows = TASK_STATUSES.filter((s) => p.counts[s]).map((s) => ({ status: s, n: p.counts[s] ?? 0, ok: kind.allowed.includes(s) }));
  const total = rows.reduce((a, r) => a + r.n, 0);
  const eligible = rows.filter((r) => r.ok).reduce((a, r) => a + r.n, 0);
  const verb = kind.verb.toLowerCase();
  const question =
    p.target.kind === 'filter'
      ? `${kind.verb} ${plural(total, 'task')} matching ${describeFilter(p.target.filter)}?`
      : `${kind.verb} the ${plural(total, 'ticked task')}?`;
  const missing = p.target.kind === 'selected' ? p.target.uids.length - total : 0;
  return c.html(
    <Layout title={`Confirm: ${verb} tasks`} section="tasks" viewer={viewer}>
      <section class="card confirm" aria-labelledby="confirm-q">
        <h2 id="confirm-q" data-testid="bulk-question">
          {question}
        </h2>
        {p.target.kind === 'filter' ? (
          <p class="hint">Counted just now. Tasks submitted after this page was drawn are not included.</p>
        ) : null}
        {missing > 0 ? <p class="hint">{plural(missing, 'ticked task')} no longer exist and are left out.</p> : null}
        {rows.length ? (
          <table>
            <Head cols={['Status now', ['Tasks', 'num'], 'What happens']} />
            <tbody>
              {rows.map((r) => (
                <tr>
                  <td>
                    <Status status={r.status} />
                  </td>
                  <td class="num">{r.n.toLocaleString('en-US')}</td>
                  <td>
                    {r.ok ? (
                      kind.effect(r.status)
                    ) : (
                      <span class="muted">
                        skipped: {verb} is not allowed from {r.status}
                      </span>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : (
          <p>No tasks match any more. Nothing to do.</p>
        )}
        <div class="actions">
          {eligible > 0 ? (
            <form method="post" action={`/ui/tasks/bulk/${p.kindName}`} class="inline">
              <CsrfField viewer={viewer} />
              <input type="hidden" name="back" value={p.back} />
              <input type="hidden" name="confirm" value="yes" />
              <input type="hidden" name="target" value={p.target.kind} />
              <input type="hidden" name="upto" value={p.upto} />
              {p.target.kind === 'filter' ? (
                <input type="hidden" name="filter" value={filterQuery(p.target.filter).toString()} />
              ) : (
                p.target.uids.map((u) => <input type="hidden" name="uid" value={u} />)
              )}
              <button type="submit" class={p.kindName === 'reschedule' ? 'btn primary' : 'btn danger'} data-testid="bulk-confirm">
                {kind.verb} {plural(eligible, 'task')}
              </button>
            </form>
          ) : total > 0 ? (
            <p>None of them can be {kind.past.toLowerCase()} in their current status.</p>
          ) : null}
          <a href={p.back}>Go back without changing anything</a>
        </div>
      </section>
    </Layout>,
  );
}
