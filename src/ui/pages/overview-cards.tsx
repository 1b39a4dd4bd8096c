import { DEFAULT_PRESENCE_INTERVAL_MS, PRESENCE_LIVE_SECONDS, PRESENCE_RETENTION_SECONDS } from '../../worker/presence.ts';
import { Card, Count, Empty, Head, Time } from '../components.tsx';
import { formatCount, formatRelative, formatUtc } from '../format.ts';
import { FAILURE_SAMPLE, LEASE_HORIZON_SECONDS, type Overview } from '../queries/overview.ts';

const PRESENCE_INTERVAL_SECONDS = DEFAULT_PRESENCE_INTERVAL_MS / 1000;

/** The overview's lower cards: workers, expiring leases, next schedule fires, failures by class. */

const taskHref = (uid: string) => `/ui/tasks/${encodeURIComponent(uid)}`;

/** A time as the operator reads it first (relative to the database's now), with the UTC instant under it. */
function When({ at, now }: { at: Date | null; now: Date }) {
  if (!at) return <span class="muted">—</span>;
  return (
    <>
      <span class="ago">{formatRelative(at, now)}</span>
      <br />
      <small class="muted">
        <Time at={at} now={now} />
      </small>
    </>
  );
}

/** At most this many task names are spelled out per worker; the rest are in the cell's title. */
const TASK_NAMES_SHOWN = 4;

function TaskNames({ names }: { names: string[] }) {
  const shown = names.slice(0, TASK_NAMES_SHOWN);
  const more = names.length - shown.length;
  return (
    <small class="muted" title={more > 0 ? names.join(', ') : undefined}>
      {shown.join(', ')}
      {more > 0 ? ` +${formatCount(more)} more` : ''}
    </small>
  );
}

export function WorkerCard({ o }: { o: Overview }) {
  return (
    <Card title="Workers" id="workers">
      <p class="hint">
        Every running worker keeps a row in the database, refreshed every {PRESENCE_INTERVAL_SECONDS} s by default, so idle workers are
        listed too. One not seen for {PRESENCE_LIVE_SECONDS} s is marked <span class="status status-gone-quiet">gone quiet</span>: stuck,
        cut off from the database, or killed without stopping (its row is deleted after {PRESENCE_RETENTION_SECONDS / 3600} h). Remote
        workers (over HTTP) have no row: they are listed from the tasks they hold, last seen at their newest lease renewal.
      </p>
      {o.workers.length === 0 ? (
        <Empty title="No worker seen in the last hour.">
          Start one with <code>eventix worker --tasks ./tasks.js</code> (or <code>eventix start</code>).
        </Empty>
      ) : (
        <table data-testid="workers">
          <thead>
            <tr>
              <th scope="col">Worker</th>
              <th scope="col" class="hide-narrow">
                Host
              </th>
              <th scope="col" class="hide-narrow">
                Namespaces
              </th>
              <th scope="col" class="num">
                Tasks held
                <br />/ concurrency
              </th>
              <th scope="col" class="hide-narrow">
                Started
              </th>
              <th scope="col">Last seen</th>
            </tr>
          </thead>
          <tbody>
            {o.workers.map((w) => (
              <tr data-worker={w.workerId} data-state={w.state}>
                <td class="mono wrap">
                  {w.workerId}
                  {w.state === 'quiet' ? (
                    <>
                      <br />
                      <span class="status status-gone-quiet">gone quiet</span>
                    </>
                  ) : w.state === 'remote' ? (
                    <>
                      <br />
                      <small class="muted">remote / from leases</small>
                    </>
                  ) : null}
                </td>
                <td class="hide-narrow">
                  {w.host}
                  {w.pid !== null ? <small class="muted"> pid {w.pid}</small> : null}
                </td>
                <td class="hide-narrow">
                  {w.namespaces ? w.namespaces.join(', ') : <span class="muted">—</span>}
                  {w.taskNames?.length ? (
                    <>
                      <br />
                      <TaskNames names={w.taskNames} />
                    </>
                  ) : null}
                </td>
                <td class="num nowrap">
                  <Count n={w.tasks} />
                  {w.concurrency !== null ? <span class="muted"> / {formatCount(w.concurrency)}</span> : null}
                </td>
                <td class="hide-narrow">
                  <When at={w.startedAt} now={o.at} />
                </td>
                <td>
                  <When at={w.lastSeen} now={o.at} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {o.workerCount > o.workers.length ? (
        <p class="hint">
          Showing the {o.workers.length} seen most recently of {formatCount(o.workerCount)} workers
          {o.quietWorkerCount ? `, ${formatCount(o.quietWorkerCount)} of them gone quiet` : ''}.
        </p>
      ) : null}
    </Card>
  );
}

export function LeaseCard({ o }: { o: Overview }) {
  return (
    <Card title={`Leases expiring within ${LEASE_HORIZON_SECONDS} s`} id="leases">
      <p class="hint">
        A running task whose worker stops renewing its lease: when it expires, maintenance puts the task back (retry) or fails it.
      </p>
      {o.leases.length === 0 ? (
        <Empty title="No lease is about to expire.">Running tasks whose workers heartbeat normally never show here.</Empty>
      ) : (
        <table data-testid="leases">
          <Head cols={['Task', ['Worker', 'hide-narrow'], 'Lease expires']} />
          <tbody>
            {o.leases.map((l) => (
              <tr>
                <td>
                  <a href={taskHref(l.uid)}>{l.task}</a>
                  <br />
                  <small class="muted">{l.namespace}</small>
                </td>
                <td class="mono wrap hide-narrow">{l.workerId}</td>
                <td>
                  <When at={l.leaseExpiresAt} now={o.at} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Card>
  );
}

export function ScheduleCard({ o }: { o: Overview }) {
  return (
    <Card title="Next schedule fires" id="schedules">
      {o.schedules.length === 0 ? (
        <Empty title="No enabled schedule.">
          Create one: <code>eventix schedules create nightly --cron '0 3 * * *' --task report</code>, or{' '}
          <a href="/ui/schedules">see all schedules</a>.
        </Empty>
      ) : (
        <table data-testid="schedules">
          <Head cols={['Schedule', ['Task', 'hide-narrow'], ['Cron', 'hide-narrow'], 'Next fire']} />
          <tbody>
            {o.schedules.map((s) => (
              <tr>
                <td>
                  <a href={`/ui/schedules/${encodeURIComponent(s.name)}`}>{s.name}</a>
                  <br />
                  <small class="muted">{s.namespace}</small>
                </td>
                <td class="hide-narrow">{s.task}</td>
                <td class="hide-narrow nowrap">
                  <code>{s.cron}</code>
                  {s.timezone !== 'UTC' ? <small class="muted"> ({s.timezone})</small> : null}
                </td>
                <td>
                  <When at={s.nextFireAt} now={o.at} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <p class="hint">
        <a href="/ui/schedules">All schedules →</a>
      </p>
    </Card>
  );
}

export function FailureCard({ o, namespace }: { o: Overview; namespace: string | undefined }) {
  const all = `/ui/tasks?${new URLSearchParams({ ...(namespace ? { namespace } : {}), status: 'error' })}`;
  return (
    <Card title="Latest failures by error class" id="failures">
      {o.failures.length === 0 ? (
        <Empty title="No failed task.">
          Tasks that exhaust their retries or fail with a non-retryable error are grouped here by error class.
        </Empty>
      ) : (
        <>
          <p class="hint">
            The newest {formatCount(o.failuresSampled)} failed tasks
            {o.failuresSampled >= FAILURE_SAMPLE ? ` (at most ${formatCount(FAILURE_SAMPLE)} per namespace are looked at)` : ''}, by the
            class of their error, newest first. Retrying tasks are counted in the table above.
          </p>
          <table data-testid="failures">
            <Head cols={['Error class', ['Tasks', 'num'], 'Latest']} />
            <tbody>
              {o.failures.map((f) => (
                <tr data-class={f.errorClass}>
                  <td>
                    <code>{f.errorClass}</code>
                    {f.message ? (
                      <>
                        <br />
                        <small class="muted message">{f.message}</small>
                      </>
                    ) : null}
                  </td>
                  <td class="num">
                    <Count n={f.count} />
                  </td>
                  <td>
                    <a href={taskHref(f.newestUid)} title={`Newest ${f.errorClass}: ${f.newestTask} in ${f.newestNamespace}`}>
                      {f.newestTask}
                    </a>
                    <br />
                    <small class="muted" title={f.lastAt ? formatUtc(f.lastAt) : undefined}>
                      {f.lastAt ? formatRelative(f.lastAt, o.at) : f.newestNamespace}
                    </small>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
      <p class="hint">
        <a href={all}>All failed tasks{namespace ? ` in ${namespace}` : ''} →</a>
      </p>
    </Card>
  );
}
