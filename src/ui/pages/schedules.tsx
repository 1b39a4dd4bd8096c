import { Hono } from 'hono';
import { ValidationError } from '../../errors.ts';
import { listSchedules, pauseSchedule, resumeSchedule } from '../../scheduler/manage.ts';
import { runSchedule } from '../../scheduler/run-now.ts';
import { SCHEDULE_NAME_MESSAGE, SCHEDULE_NAME_PATTERN, type Schedule } from '../../scheduler/schedule-input.ts';
import { NAME_PATTERN } from '../../validation/names.ts';
import { flashOf, uiAction } from '../actions.tsx';
import { Card, Empty, FilterForm, Head, NextPage, NoMatch, SelectFilter, Status, TextFilter, Time } from '../components.tsx';
import type { UiContext, UiDeps, UiEnv, Viewer } from '../context.ts';
import { formatUtc } from '../format.ts';
import { Layout } from '../layout.tsx';
import { type FireRow, lastFires } from '../queries/schedules.ts';
import { checked, pageErrors, queryText } from './input-errors.tsx';
import { CronText, FireTask, NextFire, ScheduleActions, ScheduleState, scheduleDetailPage, scheduleHref } from './schedule-detail.tsx';

/**
 * /ui/schedules: every schedule with its timing in words and in its own zone, its last fire and
 * the buttons to pause, resume or run it; /ui/schedules/:name for one (schedule-detail.tsx).
 * The buttons call the same library functions as POST /schedules/{name}/pause|resume|run, with
 * the same scope (submit), so the same state rules hold.
 */

const STATES = ['enabled', 'paused'] as const;
const PAGE_SIZE = 100;

function readName(c: UiContext): string {
  const name = c.req.param('name') ?? '';
  if (!SCHEDULE_NAME_PATTERN.test(name)) throw new ValidationError([{ field: 'name', message: SCHEDULE_NAME_MESSAGE }]);
  return name;
}

interface ListFilter {
  namespace: string | undefined;
  state: (typeof STATES)[number] | undefined;
  cursor: string | undefined;
}

function readFilter(c: UiContext): ListFilter {
  const namespace = checked('namespace', queryText(c.req.query('namespace')), NAME_PATTERN, 'must be a namespace name');
  const state = queryText(c.req.query('state'));
  if (state !== undefined && !(STATES as readonly string[]).includes(state)) {
    throw new ValidationError([{ field: 'state', message: `must be ${STATES.join(' or ')}` }]);
  }
  return { namespace, state: state as ListFilter['state'], cursor: queryText(c.req.query('cursor')) };
}

function Filters({ f }: { f: ListFilter }) {
  return (
    <FilterForm action="/ui/schedules" label="Filter schedules" submit="Filter" reset={Boolean(f.namespace || f.state) && 'Clear'}>
      <TextFilter label="Namespace" name="namespace" value={f.namespace} size={14} />
      <SelectFilter label="State" name="state" value={f.state} options={STATES} />
    </FilterForm>
  );
}

function HowToAdd({ origin }: { origin: string }) {
  return (
    <Empty title="No schedules yet.">
      <p>Create one with the CLI, on the same database:</p>
      <pre class="json">eventix schedules create nightly-sweep --cron '0 2 * * *' --timezone Europe/Berlin --task bench.sweep</pre>
      <p>or through the API (scope submit):</p>
      <pre class="json">
        {`curl -X POST ${origin}/schedules -H 'authorization: Bearer $TOKEN' -H 'content-type: application/json' \\\n  -d '{"name": "nightly-sweep", "cron": "0 2 * * *", "timezone": "Europe/Berlin", "task": "bench.sweep"}'`}
      </pre>
      <p>
        or list them in the file named by <code>EVENTIX_SCHEDULES_FILE</code>, loaded at start.
      </p>
    </Empty>
  );
}

function LastFire({ fire }: { fire: FireRow | undefined }) {
  if (!fire) return <span class="muted">never</span>;
  return (
    <span class="zoned">
      <Time at={fire.fireAt} />
      <span>
        {fire.outcome === 'submitted' ? null : <Status status={fire.outcome} />} <FireTask fire={fire} />
      </span>
    </span>
  );
}

function ScheduleTable(props: { schedules: Schedule[]; last: Map<string, FireRow>; viewer: Viewer; now: Date }) {
  const actions = props.viewer.can('submit');
  return (
    <table class="schedules stack-narrow">
      <Head cols={['Schedule', 'State', 'When', 'Time zone', 'Next fire', 'Last fire (UTC)', actions ? 'Actions' : null]} />
      <tbody>
        {props.schedules.map((s) => (
          <tr>
            <td class="lead">
              <a href={scheduleHref(s.name)}>
                <strong>{s.name}</strong>
              </a>
              <span class="sub muted">
                <code>{s.task}</code> in {s.namespace}
              </span>
            </td>
            <td class="corner">
              <ScheduleState s={s} />
            </td>
            <td data-label="When">
              <CronText cron={s.cron} />
            </td>
            <td data-label="Time zone">{s.timezone}</td>
            <td data-label="Next fire">
              <NextFire s={s} now={props.now} />
            </td>
            <td data-label="Last fire (UTC)">
              <LastFire fire={props.last.get(s.name)} />
            </td>
            {actions ? (
              <td class="row-actions">
                <ScheduleActions s={s} viewer={props.viewer} />
              </td>
            ) : null}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

async function listPage(c: UiContext, deps: UiDeps) {
  const viewer = c.get('viewer');
  const f = readFilter(c);
  const pool = deps.database.pool;
  const page = await listSchedules(pool, {
    namespace: f.namespace,
    enabled: f.state === undefined ? undefined : f.state === 'enabled',
    cursor: f.cursor,
    limit: PAGE_SIZE,
  });
  const last = await lastFires(
    pool,
    page.schedules.map((s) => s.name),
  );
  const filtered = Boolean(f.namespace || f.state || f.cursor);
  return c.html(
    <Layout title="Schedules" section="schedules" viewer={viewer} liveMs={15_000} {...flashOf(c)}>
      <Filters f={f} />
      <Card title={`Schedules (${page.schedules.length}${page.nextCursor ? '+' : ''})`} id="schedules">
        {page.schedules.length > 0 ? (
          <ScheduleTable schedules={page.schedules} last={last} viewer={viewer} now={new Date()} />
        ) : filtered ? (
          <NoMatch what="schedules" href="/ui/schedules" />
        ) : (
          <HowToAdd origin={new URL(c.req.url).origin} />
        )}
        <NextPage viewer={viewer} cursor={page.nextCursor} />
      </Card>
      <p class="hint">
        Times are shown in each schedule’s own zone, with UTC beneath. Paused schedules do not fire; resuming one skips the times that
        passed meanwhile.
      </p>
    </Layout>,
  );
}

export function schedulePages(deps: UiDeps) {
  const pool = deps.database.pool;
  return new Hono<UiEnv>()
    .get('/', (c) => listPage(c, deps))
    .get('/:name', (c) => scheduleDetailPage(c, deps, readName(c)))
    .post(
      '/:name/pause',
      uiAction('submit', async (c) => {
        const s = await pauseSchedule(pool, readName(c));
        return `Paused '${s.name}': it fires no more until resumed.`;
      }),
    )
    .post(
      '/:name/resume',
      uiAction('submit', async (c) => {
        const s = await resumeSchedule(pool, readName(c), { now: new Date() });
        return `Resumed '${s.name}': next fire ${formatUtc(s.nextFireAt)}.`;
      }),
    )
    .post(
      '/:name/run',
      uiAction('submit', async (c) => {
        const name = readName(c);
        const fire = await runSchedule(pool, name, { now: new Date() });
        deps.onSubmitted?.([{ task: fire.task, created: true }]);
        return `Fired '${name}' now: task ${fire.task.uid} (${fire.task.task}) submitted.`;
      }),
    )
    .onError(pageErrors('schedules', { href: '/ui/schedules', label: 'All schedules' }));
}
