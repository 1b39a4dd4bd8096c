import { Hono } from 'hono';
import { readUid } from '../../api/body.ts';
import { EventixError, issuesText, TaskNotFound, ValidationError } from '../../errors.ts';
import { cancel } from '../../queue/cancel.ts';
import { getTask } from '../../queue/get.ts';
import { listTasks } from '../../queue/list.ts';
import { removeTask } from '../../queue/remove.ts';
import { reschedule } from '../../queue/reschedule.ts';
import { TASK_STATUSES } from '../../queue/states.ts';
import type { Task } from '../../queue/task.ts';
import { UUID_PATTERN } from '../../validation/names.ts';
import { flashOf, uiAction, withFlash } from '../actions.tsx';
import { CsrfField, Empty, Head, NextPage, Status, TextFilter, Time } from '../components.tsx';
import type { UiDeps, UiEnv, Viewer } from '../context.ts';
import { shortUid } from '../format.ts';
import { Layout } from '../layout.tsx';
import { filterQuery, isFiltered, listUrl, parseTaskQuery, type TaskFilter, type TaskQuery, toListFilter } from '../queries/tasks.ts';
import { pageErrors } from './input-errors.tsx';
import { bulkAction } from './task-bulk.tsx';
import { TaskDetailPage } from './task-detail.tsx';

/** The task list (/ui/tasks), its bulk actions, and one task's page with its actions. */
export function taskPages(deps: UiDeps) {
  const pool = deps.database.pool;
  const app = new Hono<UiEnv>();
  app.onError(pageErrors('tasks', { href: '/ui/tasks', label: 'Back to all tasks' }));

  app.get('/', async (c) => {
    const viewer = c.get('viewer');
    const params = new URL(c.req.url).searchParams;
    const flash = flashOf(c);
    let q: TaskQuery;
    let page: { tasks: Task[]; nextCursor: string | null };
    try {
      q = parseTaskQuery(params);
      page = await listTasks(pool, { ...toListFilter(q.filter), limit: q.limit, cursor: q.cursor });
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      // The form keeps what was typed, so the field named in the message can be corrected.
      const raw = Object.fromEntries(
        ['namespace', 'task', 'unique_key', 'created_after', 'created_before'].map((k) => [k, params.get(k) ?? '']),
      );
      return c.html(
        <Layout title="Tasks" section="tasks" viewer={viewer} error={`Invalid filter — ${issuesText(err.issues)}`}>
          <FilterForm values={raw} statuses={params.getAll('status')} />
          <p>
            <a href="/ui/tasks">Show all tasks</a>
          </p>
        </Layout>,
        400,
      );
    }
    const canonical = filterQuery(q.filter);
    return c.html(
      <Layout title="Tasks" section="tasks" viewer={viewer} liveMs={5000} {...flash}>
        <FilterForm values={Object.fromEntries(canonical)} statuses={q.filter.statuses} />
        {page.tasks.length ? (
          <TaskTable viewer={viewer} tasks={page.tasks} filter={q.filter} />
        ) : isFiltered(q.filter) || q.cursor ? (
          <Empty title={q.cursor ? 'No more tasks on this page.' : 'No tasks match this filter.'}>
            <a href="/ui/tasks">Clear the filter</a> to see every task, or widen the time range.
          </Empty>
        ) : (
          <NoTasksYet viewer={viewer} origin={new URL(c.req.url).origin} />
        )}
        {/* The pager carries the canonical filter, not this page's flash message. */}
        <NextPage
          viewer={{ ...viewer, here: listUrl(q.filter, q.limit === 50 ? {} : { limit: String(q.limit) }) }}
          cursor={page.nextCursor}
        />
      </Layout>,
    );
  });

  app.post('/bulk/cancel', bulkAction(deps, 'cancel'));
  app.post('/bulk/reschedule', bulkAction(deps, 'reschedule'));
  app.post('/bulk/delete', bulkAction(deps, 'delete'));

  app.get('/:uid', async (c) => {
    const raw = c.req.param('uid');
    // What was typed, rather than readUid's bare "must be a UUID": a link that was cut short, say.
    if (!UUID_PATTERN.test(raw)) {
      throw new ValidationError([{ field: 'uid', message: `'${raw.slice(0, 60)}' is not a task uid: a task uid is a UUID` }]);
    }
    const uid = raw.toLowerCase();
    const task = await getTask(pool, uid).catch((err: unknown) => {
      if (!(err instanceof TaskNotFound)) throw err;
      throw new EventixError('TaskNotFound', `No task with uid ${uid}: it never existed, was deleted, or was pruned after it expired.`);
    });
    return c.html(<TaskDetailPage viewer={c.get('viewer')} task={task} {...flashOf(c)} />);
  });

  // The same calls and scopes as POST /tasks/:uid/cancel, /reschedule and DELETE /tasks/:uid.
  app.post(
    '/:uid/cancel',
    uiAction('submit', async (c) => {
      const task = await cancel(pool, readUid(c));
      return task.status === 'processing' ? 'Cancel requested: the worker stops the task at its next heartbeat.' : 'Task cancelled.';
    }),
  );
  app.post(
    '/:uid/reschedule',
    uiAction('submit', async (c) => {
      await reschedule(pool, readUid(c));
      return 'Task rescheduled: it is scheduled and due now.';
    }),
  );
  app.post(
    '/:uid/delete',
    uiAction('admin', async (c) => {
      const uid = readUid(c);
      await removeTask(pool, uid);
      // Its own page is gone now: back to the list.
      return c.redirect(withFlash('/ui/tasks', 'notice', `Task ${uid} deleted.`), 303);
    }),
  );
  return app;
}

function FilterForm({ values, statuses }: { values: Record<string, string>; statuses: readonly string[] }) {
  const text = (name: string, label: string) => <TextFilter label={label} name={name} value={values[name]} />;
  const date = (name: string, label: string) => (
    <label>
      {label}
      <input type="datetime-local" name={name} value={values[name] ?? ''} step="1" />
    </label>
  );
  return (
    <form method="get" action="/ui/tasks" class="filters card task-filters" aria-label="Filter tasks">
      <fieldset class="status-filter">
        <legend>Status</legend>
        {TASK_STATUSES.map((s) => (
          <label>
            {/* Ticked filters are not a selection in progress: the live refresh keeps going. */}
            <input type="checkbox" name="status" value={s} checked={statuses.includes(s)} data-live-ignore />
            {s}
          </label>
        ))}
      </fieldset>
      {text('namespace', 'Namespace')}
      {text('task', 'Task name')}
      {text('unique_key', 'Unique key')}
      {date('created_after', 'Created after (UTC)')}
      {date('created_before', 'Created before (UTC)')}
      <div class="actions">
        <button type="submit" class="btn primary">
          Filter
        </button>
        <a href="/ui/tasks">Clear</a>
      </div>
    </form>
  );
}

function TaskTable({ viewer, tasks, filter }: { viewer: Viewer; tasks: Task[]; filter: TaskFilter }) {
  const canAct = viewer.can('submit');
  const canDelete = viewer.can('admin');
  const button = (kind: string, target: 'selected' | 'filter', label: string, danger = false) => (
    <button
      type="submit"
      class={danger ? 'btn danger' : 'btn'}
      formaction={`/ui/tasks/bulk/${kind}`}
      name="target"
      value={target}
      data-testid={`bulk-${kind}-${target}`}
    >
      {label}
    </button>
  );
  const hint = <p class="hint">Newest first, {tasks.length} on this page. Every action asks before it changes anything. Times in UTC.</p>;
  const table = (
    <table>
      <Head
        lead={canAct ? <input type="checkbox" data-select-all="uid" aria-label="Tick every task on this page" /> : null}
        cols={[
          ['uid', 'hide-narrow'],
          'Task',
          ['Namespace', 'hide-narrow'],
          'Status',
          ['Attempts', 'num hide-narrow'],
          ['Priority', 'num hide-narrow'],
          ['ETA (UTC)', 'hide-narrow'],
          'Created (UTC)',
          ['Worker', 'hide-narrow'],
        ]}
      />
      <tbody>
        {tasks.map((t) => (
          <tr>
            {canAct ? (
              <td>
                <input type="checkbox" name="uid" value={t.uid} aria-label={`Tick task ${shortUid(t.uid)} (${t.task})`} />
              </td>
            ) : null}
            <td class="hide-narrow">
              <a href={`/ui/tasks/${t.uid}`} class="mono" title={t.uid}>
                {shortUid(t.uid)}
              </a>
            </td>
            {/* The name links too: on a phone, where the uid column is hidden, it is the way in. */}
            <td class="task-name">
              <a href={`/ui/tasks/${t.uid}`} class="plain">
                {t.task}
              </a>
            </td>
            <td class="hide-narrow">{t.namespace}</td>
            <td>
              <Status status={t.status} />
              {t.cancelRequested ? <span class="muted small"> cancel requested</span> : null}
            </td>
            <td class="num hide-narrow">{t.attempts}</td>
            <td class="num hide-narrow">{t.priority}</td>
            <td class="hide-narrow">
              <Time at={t.eta} />
            </td>
            <td>
              <Time at={t.createdAt} />
            </td>
            <td class="hide-narrow mono">{t.workerId ?? <span class="muted">—</span>}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
  // A viewer who may not change tasks gets the table alone: no form, no checkboxes, no buttons.
  if (!canAct) {
    return (
      <div class="card task-list">
        {hint}
        {table}
      </div>
    );
  }
  return (
    <form method="post" action="/ui/tasks/bulk/cancel" class="card task-list">
      <CsrfField viewer={viewer} />
      <input type="hidden" name="back" value={viewer.here} />
      <input type="hidden" name="filter" value={filterQuery(filter).toString()} />
      <div class="actions bulk-bar">
        <span class="muted">Ticked:</span>
        {button('cancel', 'selected', 'Cancel')}
        {button('reschedule', 'selected', 'Reschedule')}
        {canDelete ? button('delete', 'selected', 'Delete', true) : null}
        <span class="muted sep">All matching the filter:</span>
        {button('cancel', 'filter', 'Cancel all…')}
        {button('reschedule', 'filter', 'Reschedule all…')}
        {canDelete ? button('delete', 'filter', 'Delete all…', true) : null}
      </div>
      {hint}
      {table}
    </form>
  );
}

function NoTasksYet({ viewer, origin }: { viewer: Viewer; origin: string }) {
  const auth = viewer.authEnabled ? " -H 'authorization: Bearer <token>'" : '';
  return (
    <Empty title="No tasks yet">
      <p>Submit one over HTTP and it appears here within 5 seconds:</p>
      <pre class="json">{`curl -X POST ${origin}/tasks${auth} -H 'content-type: application/json' -d '{"task":"hello"}'`}</pre>
      <p>
        or from code with{' '}
        <code>
          submit(pool, {'{'} task: 'hello' {'}'})
        </code>{' '}
        (the <code>eventix</code> package), or let a schedule or a trigger submit them: <code>eventix schedules run &lt;name&gt;</code>,{' '}
        <code>eventix events publish &lt;name&gt;</code>.
      </p>
    </Empty>
  );
}
