import { scheduleToJson } from '../../api/schedule-schemas.ts';
import { getSchedule } from '../../scheduler/manage.ts';
import type { Schedule } from '../../scheduler/schedule-input.ts';
import { flashOf } from '../actions.tsx';
import { Action, Card, Empty, Fields, Head, JsonBlock, NextPage, Status, Time } from '../components.tsx';
import type { UiContext, UiDeps, Viewer } from '../context.ts';
import { formatInZone, formatRelative, formatUtc, shortUid } from '../format.ts';
import { Layout } from '../layout.tsx';
import { describeCron, type FireRow, recentFires, type Upcoming, upcomingFires } from '../queries/schedules.ts';
import { queryText } from './input-errors.tsx';

/**
 * One schedule: its definition, the next five fire times in its own zone and in UTC, and its
 * fire ledger with the task each fire submitted. The list page (schedules.tsx) reuses the
 * pieces exported here, so a schedule reads the same in both places.
 */

export const scheduleHref = (name: string) => `/ui/schedules/${encodeURIComponent(name)}`;

/** The expression as written, and in words beneath it. */
export function CronText({ cron }: { cron: string }) {
  const words = describeCron(cron);
  return (
    <span class="cron">
      <code>{cron}</code>
      {words ? <span class="cron-words">{words}</span> : null}
    </span>
  );
}

export function ScheduleState({ s }: { s: Schedule }) {
  return <Status status={s.enabled ? 'enabled' : 'paused'} />;
}

/** Pause or resume (whichever applies) and run now, with the API's scope for each: submit. */
export function ScheduleActions({ s, viewer }: { s: Schedule; viewer: Viewer }) {
  const base = scheduleHref(s.name);
  return (
    <>
      {s.enabled ? (
        <Action viewer={viewer} scope="submit" action={`${base}/pause`} label="Pause" testId={`pause-${s.name}`} />
      ) : (
        <Action viewer={viewer} scope="submit" action={`${base}/resume`} label="Resume" testId={`resume-${s.name}`} />
      )}
      <Action
        viewer={viewer}
        scope="submit"
        action={`${base}/run`}
        label="Run now"
        confirm={`Fire '${s.name}' once now? It submits a ${s.task} task whatever the cron, the overlap setting or a pause.`}
        testId={`run-${s.name}`}
      />
    </>
  );
}

/** A fire time in the schedule's zone, with UTC beneath it. */
export function ZonedTime({ at, zone, now }: { at: Date; zone: string; now: Date }) {
  return (
    <span class="zoned">
      <time datetime={at.toISOString()} title={formatRelative(at, now)}>
        {formatInZone(at, zone)}
      </time>
      <span class="muted">{formatUtc(at)}</span>
    </span>
  );
}

/** The next fire, for the list: due, paused, or when. */
export function NextFire({ s, now }: { s: Schedule; now: Date }) {
  if (!s.enabled) return <span class="muted">paused</span>;
  if (!s.nextFireAt) return <span class="muted">never again</span>;
  return (
    <span>
      <ZonedTime at={s.nextFireAt} zone={s.timezone} now={now} />
      {s.nextFireAt <= now ? <span class="due">due: the scheduler has not fired it yet</span> : null}
    </span>
  );
}

/** A fire's task: its status and a link to it, or why there is none. */
export function FireTask({ fire }: { fire: FireRow }) {
  if (!fire.taskUid) return <span class="muted">no task (previous one still running)</span>;
  if (!fire.taskStatus) return <span class="muted mono">{shortUid(fire.taskUid)} (pruned)</span>;
  return (
    <span class="fire-task">
      <Status status={fire.taskStatus} /> <a href={`/ui/tasks/${fire.taskUid}`}>{shortUid(fire.taskUid)}</a>
    </span>
  );
}

function UpcomingTable({ s, upcoming, now }: { s: Schedule; upcoming: Upcoming; now: Date }) {
  if (upcoming.error) return <Empty title="The next fire times cannot be computed">{upcoming.error}</Empty>;
  if (upcoming.times.length === 0) return <Empty title="This schedule never fires again" />;
  return (
    <>
      {upcoming.basis === 'if-resumed' ? <p class="hint">Paused. If resumed now, it would fire at:</p> : null}
      <table>
        <Head cols={[`In ${s.timezone}`, 'UTC', ['From now', 'hide-narrow']]} />
        <tbody>
          {upcoming.times.map((t) => (
            <tr>
              <td>
                <time datetime={t.toISOString()}>{formatInZone(t, s.timezone)}</time>
              </td>
              <td>{formatUtc(t)}</td>
              <td class="hide-narrow">{t <= now ? <span class="due">due now</span> : formatRelative(t, now)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

function FiresTable({ s, fires, cursor, viewer }: { s: Schedule; fires: FireRow[]; cursor: string | null; viewer: Viewer }) {
  if (fires.length === 0) {
    return (
      <Empty title={viewer.here.includes('cursor=') ? 'No older fires.' : 'It has not fired yet.'}>
        Fires appear here once <code>eventix scheduler</code> (or <code>eventix start</code>) fires it, or after{' '}
        <code>eventix schedules run {s.name}</code>.
      </Empty>
    );
  }
  return (
    <>
      <table>
        <Head cols={['Fire time (UTC)', 'Outcome', 'Task', ['Recorded (UTC)', 'hide-narrow']]} />
        <tbody>
          {fires.map((f) => (
            <tr>
              <td>
                <Time at={f.fireAt} />
              </td>
              <td>
                <Status status={f.outcome} />
              </td>
              <td>
                <FireTask fire={f} />
              </td>
              <td class="hide-narrow">
                <Time at={f.createdAt} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <NextPage viewer={viewer} cursor={cursor} />
    </>
  );
}

export async function scheduleDetailPage(c: UiContext, deps: UiDeps, name: string) {
  const viewer = c.get('viewer');
  const pool = deps.database.pool;
  const s = await getSchedule(pool, name);
  const { fires, nextCursor } = await recentFires(pool, name, { cursor: queryText(c.req.query('cursor')) });
  const now = new Date();
  const json = scheduleToJson(s);
  return c.html(
    <Layout title={`Schedule ${s.name}`} section="schedules" viewer={viewer} liveMs={15_000} {...flashOf(c)}>
      <p class="crumbs">
        <a href="/ui/schedules">← All schedules</a>
      </p>
      <div class="actions">
        <ScheduleState s={s} />
        <ScheduleActions s={s} viewer={viewer} />
      </div>
      <div class="grid gap-below">
        <Card title="Definition" id="definition">
          <Fields
            rows={[
              ['Cron', <CronText cron={s.cron} />],
              ['Time zone', s.timezone],
              ['Task', <code>{s.task}</code>],
              ['Namespace', s.namespace],
              ['Priority', String(s.priority)],
              ['Misfire', s.misfire],
              ['Overlap', s.overlap ? 'allowed' : 'skip a fire while the previous task waits or runs'],
              ['Last fired', <Time at={s.lastFiredAt} now={now} />],
              ['Source', s.source === 'file' ? 'schedules file (EVENTIX_SCHEDULES_FILE)' : 'API or CLI'],
              ['Revision', String(s.revision)],
              ['Created', <Time at={s.createdAt} now={now} />],
              ['Updated', <Time at={s.updatedAt} now={now} />],
            ]}
          />
        </Card>
        <Card title="Next 5 fires" id="upcoming">
          <UpcomingTable s={s} upcoming={upcomingFires(s, now)} now={now} />
        </Card>
      </div>
      <Card title="Recent fires" id="fires">
        <FiresTable s={s} fires={fires} cursor={nextCursor} viewer={viewer} />
      </Card>
      <Card title="Task template" id="template">
        <div class="grid">
          <div>
            <h3>args</h3>
            <JsonBlock value={json.args} label="args" />
          </div>
          <div>
            <h3>kwargs</h3>
            <JsonBlock value={json.kwargs} label="kwargs" />
          </div>
          <div>
            <h3>options</h3>
            <JsonBlock value={json.options} label="options" />
          </div>
        </div>
      </Card>
    </Layout>,
  );
}
