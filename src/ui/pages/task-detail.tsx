import type { Child } from 'hono/jsx';
import { CANCELLABLE } from '../../queue/cancel.ts';
import { RESCHEDULABLE } from '../../queue/reschedule.ts';
import type { Task } from '../../queue/task.ts';
import { Action, Card, Fields, Head, JsonBlock, Status, Time } from '../components.tsx';
import type { Viewer } from '../context.ts';
import { formatDuration, formatRelative, formatUtc, plural, shortUid } from '../format.ts';
import { Layout } from '../layout.tsx';

/**
 * One task, every stored field, what happened to it and what the viewer may do next. The
 * buttons follow the queue's state rules (src/queue/states.ts); the POST routes call the same
 * library functions as the API, which refuse anything else anyway.
 */
export function TaskDetailPage(props: { viewer: Viewer; task: Task; notice?: string | undefined; error?: string | undefined }) {
  const { viewer, task: t } = props;
  const now = new Date();
  return (
    <Layout
      title={`Task ${t.task}`}
      section="tasks"
      viewer={viewer}
      notice={props.notice}
      error={props.error}
      liveMs={t.status === 'processing' ? 5000 : undefined}
    >
      <p class="task-head">
        <Status status={t.status} /> <code>{t.uid}</code>
        {t.cancelRequested ? <span class="flash bad inline-note">Cancel requested: the worker stops it at its next heartbeat.</span> : null}
      </p>
      <TaskActions viewer={viewer} task={t} />
      <div class="grid task-grid">
        <Card title="Task" id="fields">
          <Fields rows={fieldRows(t, now)} />
        </Card>
        <Card title="Timeline" id="timeline">
          <ol class="timeline">
            {timeline(t, now).map((m) => (
              <li class={m.upcoming ? 'upcoming' : undefined}>
                <Time at={m.at} now={now} /> <span class="muted">({formatRelative(m.at, now)})</span>
                <div>
                  <strong>{m.label}</strong>
                  {m.detail ? <span> — {m.detail}</span> : null}
                </div>
              </li>
            ))}
          </ol>
          <p class="hint">
            Rebuilt from the task’s stored timestamps: it shows the latest attempt. Every failed attempt is kept under Failed attempts.
          </p>
        </Card>
      </div>
      <div class="grid task-grid">
        <Card title="Arguments" id="args">
          <h3 class="sub">args</h3>
          <JsonBlock value={t.args} label="args" />
          <h3 class="sub">kwargs</h3>
          <JsonBlock value={t.kwargs} label="kwargs" />
        </Card>
        <Card title="Result" id="result">
          {t.result === null || t.result === undefined ? (
            <p class="muted">
              {!t.storeResult
                ? 'This task does not store its result.'
                : t.status === 'done'
                  ? 'The handler returned nothing.'
                  : t.status === 'error' || t.status === 'cancelled'
                    ? `No result: the task ended ${t.status === 'error' ? 'in an error' : 'cancelled'}.`
                    : 'No result yet.'}
            </p>
          ) : (
            <JsonBlock value={t.result} label="result" />
          )}
        </Card>
      </div>
      {t.error ? <ErrorCard task={t} /> : null}
      {t.attemptErrors?.length ? <AttemptsCard task={t} now={now} /> : null}
    </Layout>
  );
}

function TaskActions({ viewer, task: t }: { viewer: Viewer; task: Task }) {
  const base = `/ui/tasks/${t.uid}`;
  const canCancel = (CANCELLABLE as readonly string[]).includes(t.status) && !t.cancelRequested;
  const canRetry = (RESCHEDULABLE as readonly string[]).includes(t.status);
  const canDelete = t.status !== 'processing';
  if (!viewer.can('submit')) return null;
  return (
    <div class="actions">
      {canCancel ? (
        <Action
          viewer={viewer}
          scope="submit"
          action={`${base}/cancel`}
          label={t.status === 'processing' ? 'Request cancel' : 'Cancel'}
          confirm="Cancel this task?"
          testId="task-cancel"
        />
      ) : null}
      {canRetry ? <Action viewer={viewer} scope="submit" action={`${base}/reschedule`} label="Retry now" testId="task-retry" /> : null}
      {canDelete ? (
        <Action
          viewer={viewer}
          scope="admin"
          action={`${base}/delete`}
          label="Delete"
          danger
          confirm="Delete this task for good? This cannot be undone."
          testId="task-delete"
        />
      ) : null}
      <span class="hint">
        {t.status === 'processing'
          ? 'A running task cannot be deleted or retried; cancel it first.'
          : canRetry
            ? 'Retry puts it back as scheduled, due now, with a fresh retry budget.'
            : t.status === 'done'
              ? 'A finished task cannot be retried; submit it again instead.'
              : null}
      </span>
    </div>
  );
}

function fieldRows(t: Task, now: Date): [string, Child][] {
  const filterLink = (q: Record<string, string>, text: string) => <a href={`/ui/tasks?${new URLSearchParams(q)}`}>{text}</a>;
  const secs = (n: number | null, none: string) => (n === null ? none : `${formatDuration(n)} (${n.toLocaleString('en-US')} s)`);
  const rows: [string, Child][] = [
    ['uid', <code>{t.uid}</code>],
    ['task', filterLink({ task: t.task }, t.task)],
    ['namespace', filterLink({ namespace: t.namespace }, t.namespace)],
    ['status', <Status status={t.status} />],
    ['priority', String(t.priority)],
    ['eta', <Time at={t.eta} now={now} />],
    [
      'unique key',
      t.uniqueKey ? filterLink({ namespace: t.namespace, unique_key: t.uniqueKey }, t.uniqueKey) : <span class="muted">none</span>,
    ],
    [
      'attempts',
      `${plural(t.attempts, 'attempt')} so far; ${
        !t.retry ? 'retry off' : t.maxRetries === null ? 'unlimited retries' : `up to ${plural(t.maxRetries + 1, 'attempt')}`
      }`,
    ],
    ['backoff', `${formatDuration(t.errorEtaInc)} per failure, at most ${formatDuration(t.errorEtaMax)}`],
    ['timeout', secs(t.timeoutSeconds, 'none')],
    ['worker', t.workerId ? <code>{t.workerId}</code> : <span class="muted">never claimed</span>],
    [
      'lease',
      t.leaseExpiresAt ? (
        <span>
          expires {formatRelative(t.leaseExpiresAt, now)} (<Time at={t.leaseExpiresAt} now={now} />)
        </span>
      ) : (
        <span class="muted">no lease (not running)</span>
      ),
    ],
    ['cancel requested', t.cancelRequested ? 'yes' : 'no'],
    ['stores result', t.storeResult ? `yes, kept ${secs(t.resultExpires, 'forever')}` : 'no'],
    ['errors kept', secs(t.errorExpires, 'forever')],
    ['pruned at', t.expiresAt ? <Time at={t.expiresAt} now={now} /> : <span class="muted">not set</span>],
    ['origin', <Origin task={t} />],
    ['operator', t.operator ?? <span class="muted">none</span>],
    ['created', <Time at={t.createdAt} now={now} />],
    ['started', <Time at={t.startedAt} now={now} />],
    ['finished', <Time at={t.finishedAt} now={now} />],
    ['updated', <Time at={t.updatedAt} now={now} />],
    ['revision', String(t.revision)],
  ];
  return rows;
}

function Origin({ task: t }: { task: Task }) {
  if (t.scheduleName) {
    return (
      <span>
        schedule <a href={`/ui/schedules/${encodeURIComponent(t.scheduleName)}`}>{t.scheduleName}</a>
        {t.scheduleFireAt ? <span>, fire time {formatUtc(t.scheduleFireAt)}</span> : null}
      </span>
    );
  }
  if (t.eventUid) {
    return (
      <span>
        event <a href={`/ui/events?${new URLSearchParams({ uid: t.eventUid })}`}>{shortUid(t.eventUid)}</a>
        {t.triggerName ? <span> via trigger {t.triggerName}</span> : null}
      </span>
    );
  }
  return <span class="muted">submitted directly (API or library)</span>;
}

/** A rescheduled task keeps the error of the attempt before: say whose error it is. */
function errorTitle(t: Task): string {
  if (t.status === 'retry') return 'Error of the latest attempt (it will be retried)';
  if (t.status === 'error' || t.status === 'cancelled') return 'Error of the latest attempt';
  return 'Error of an earlier attempt (before it was rescheduled)';
}

function ErrorCard({ task: t }: { task: Task }) {
  const e = t.error!;
  return (
    <Card title={errorTitle(t)} id="error">
      <Fields
        rows={[
          ['class', <code>{e.class}</code>],
          ['message', <span class="error-message">{e.message}</span>],
          ...(e.reason ? ([['reason', e.reason]] as [string, Child][]) : []),
        ]}
      />
      {e.stack ? (
        <>
          <h3 class="sub">stack</h3>
          <pre class="stack" tabindex={0}>
            {e.stack}
          </pre>
        </>
      ) : null}
      {e.payload !== undefined ? (
        <>
          <h3 class="sub">payload</h3>
          <JsonBlock value={e.payload} label="error payload" />
        </>
      ) : null}
    </Card>
  );
}

/** Every failed attempt the task keeps (attempt_errors, the last 20), newest first. */
function AttemptsCard({ task: t, now }: { task: Task; now: Date }) {
  const attempts = [...(t.attemptErrors ?? [])].reverse();
  return (
    <Card title={`Failed attempts (${attempts.length})`} id="attempts">
      <table class="bench stack" data-testid="attempts">
        <Head cols={[['Attempt', 'num'], 'Failed (UTC)', 'Worker', 'Error']} />
        <tbody>
          {attempts.map((a) => (
            <tr>
              <td class="num" data-label="Attempt">
                {a.attempt}
              </td>
              <td data-label="Failed (UTC)">
                <Time at={a.failed_at} now={now} />
              </td>
              <td data-label="Worker">
                <code>{a.worker_id ?? '-'}</code>
              </td>
              <td data-label="Error">
                <code>{a.error.class}</code>: <span class="error-message">{a.error.message.split('\n')[0]}</span>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <p class="hint">The last 20 failures are kept, each stack cut to 2,000 characters; the latest error above keeps its whole stack.</p>
    </Card>
  );
}

interface Moment {
  at: Date;
  label: string;
  detail?: string | undefined;
  upcoming?: boolean;
}

/** The task's life as far as its row remembers it, oldest first. */
export function timeline(t: Task, now: Date): Moment[] {
  const out: Moment[] = [];
  const add = (at: Date | null, label: string, detail?: string) => {
    if (at) out.push({ at, label, detail, upcoming: at.getTime() > now.getTime() });
  };
  const by = t.scheduleName
    ? `by schedule ${t.scheduleName}`
    : t.eventUid
      ? `by event ${shortUid(t.eventUid)}${t.triggerName ? ` (trigger ${t.triggerName})` : ''}`
      : t.operator
        ? `by ${t.operator}`
        : undefined;
  add(t.scheduleFireAt, 'Schedule fire time', t.scheduleName ?? undefined);
  add(t.createdAt, 'Submitted', by);
  if (t.status === 'retry') add(t.eta, 'Next attempt due', 'after the backoff');
  else if (t.status === 'scheduled' || Math.abs(t.eta.getTime() - t.createdAt.getTime()) > 1000) add(t.eta, 'Due (eta)');
  if (t.startedAt) {
    add(
      t.startedAt,
      t.attempts > 0 ? `Attempt ${t.attempts} started` : 'Latest attempt started (before it was rescheduled)',
      t.workerId ? `on worker ${t.workerId}` : undefined,
    );
  }
  if (t.status === 'processing') add(t.leaseExpiresAt, 'Lease expires', 'unless the worker heartbeats; then the task is rescued');
  const failure = t.error ? `${t.error.class}: ${truncate(t.error.message, 120)}` : undefined;
  if (t.status === 'retry') add(t.updatedAt, `Attempt ${t.attempts} failed`, failure);
  if (t.finishedAt) {
    if (t.status === 'done') add(t.finishedAt, 'Finished: done');
    else if (t.status === 'error') add(t.finishedAt, `Failed after ${plural(t.attempts, 'attempt')}`, failure);
    else if (t.status === 'cancelled') add(t.finishedAt, 'Cancelled');
    else add(t.finishedAt, 'Finished');
  }
  const shown = new Set(out.map((m) => m.at.getTime()));
  if (!shown.has(t.updatedAt.getTime())) add(t.updatedAt, 'Last change', `revision ${t.revision}`);
  add(t.expiresAt, 'Due for pruning', 'the row is deleted after this time');
  return out.sort((a, b) => a.at.getTime() - b.at.getTime());
}

const truncate = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
