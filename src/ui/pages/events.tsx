import { Hono } from 'hono';
import { EventixError } from '../../errors.ts';
import { checkCodeTriggers } from '../../events/define.ts';
import { type EventRecord, findEvent, listEvents } from '../../events/events.ts';
import { listTriggers } from '../../events/triggers.ts';
import { NAME_MESSAGE, NAME_PATTERN, UUID_PATTERN } from '../../validation/names.ts';
import { flashOf } from '../actions.tsx';
import { Card, Empty, Fields, FilterForm, Head, JsonBlock, NextPage, NoMatch, Status, TextFilter, Time } from '../components.tsx';
import type { UiContext, UiDeps, UiEnv } from '../context.ts';
import { shortUid } from '../format.ts';
import { Layout } from '../layout.tsx';
import { type EventTask, payloadPreview, tasksOfEvents } from '../queries/events.ts';
import { TriggerTable, triggerRows } from './event-triggers.tsx';
import { checked, pageErrors, queryText } from './input-errors.tsx';

/**
 * /ui/events: recent events with the tasks their triggers created, filtered by name and
 * namespace in the URL; `?uid=` shows one event whole. Below, every trigger, stored or in code.
 */

const PAGE_SIZE = 50;

const eventHref = (uid: string) => `/ui/events?uid=${uid}`;

function TaskList({ tasks, event }: { tasks: EventTask[] | undefined; event: string }) {
  if (!tasks?.length) return <span class="muted">none: no trigger matched</span>;
  const more = (tasks[0]?.total ?? 0) - tasks.length;
  return (
    <ul class="plain">
      {tasks.map((t) => (
        <li>
          <Status status={t.status} /> <a href={`/ui/tasks/${t.uid}`}>{t.task}</a>
          {t.triggerName ? <span class="muted"> ← {t.triggerName}</span> : null}
        </li>
      ))}
      {more > 0 ? (
        <li>
          <a href={eventHref(event)}>+{more} more</a>
        </li>
      ) : null}
    </ul>
  );
}

function HowToPublish({ origin }: { origin: string }) {
  return (
    <Empty title="No events yet.">
      <p>Publish one through the API (scope submit); every trigger listening to its name submits its task:</p>
      <pre class="json">
        {`curl -X POST ${origin}/events -H 'authorization: Bearer $TOKEN' -H 'content-type: application/json' \\\n  -d '{"name": "commit.pushed", "payload": {"sha": "3f2a9c1", "branch": "main"}}'`}
      </pre>
      <p>or with the CLI, on the same database (code triggers run only in the API process):</p>
      <pre class="json">{`eventix events publish commit.pushed --payload '{"sha": "3f2a9c1", "branch": "main"}'`}</pre>
    </Empty>
  );
}

function EventTable({ events, tasks }: { events: EventRecord[]; tasks: Map<string, EventTask[]> }) {
  return (
    <table class="events stack-narrow">
      <Head cols={['Created (UTC)', 'Event', 'Payload', 'Tasks created']} />
      <tbody>
        {events.map((e) => (
          <tr>
            <td class="corner">
              <Time at={e.createdAt} />
            </td>
            <td class="lead">
              <a href={eventHref(e.uid)}>
                <code>{e.name}</code>
              </a>
              <span class="sub muted">{e.namespace}</span>
            </td>
            <td data-label="Payload">
              <code class="wrap">{payloadPreview(e.payload)}</code>
            </td>
            <td data-label="Tasks created">
              <TaskList tasks={tasks.get(e.uid)} event={e.uid} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

async function triggersCard(deps: UiDeps, eventName: string | undefined, title: string) {
  const stored = await listTriggers(deps.database.pool, { eventName });
  const rows = triggerRows(stored, checkCodeTriggers(deps.codeTriggers ?? []), eventName);
  return (
    <Card title={title} id="triggers">
      <TriggerTable rows={rows} eventName={eventName} />
    </Card>
  );
}

async function listPage(c: UiContext, deps: UiDeps) {
  const viewer = c.get('viewer');
  const name = checked('name', queryText(c.req.query('name')), NAME_PATTERN, NAME_MESSAGE);
  const namespace = checked('namespace', queryText(c.req.query('namespace')), NAME_PATTERN, NAME_MESSAGE);
  const cursor = queryText(c.req.query('cursor'));
  const page = await listEvents(deps.database.pool, { name, namespace, cursor, limit: PAGE_SIZE });
  const tasks = await tasksOfEvents(
    deps.database.pool,
    page.events.map((e) => e.uid),
  );
  const filtered = Boolean(name || namespace || cursor);
  return c.html(
    <Layout title="Events" section="events" viewer={viewer} liveMs={15_000} {...flashOf(c)}>
      <FilterForm action="/ui/events" label="Filter events" submit="Filter" reset={Boolean(name || namespace) && 'Clear'}>
        <TextFilter label="Event name" name="name" value={name} size={18} />
        <TextFilter label="Namespace" name="namespace" value={namespace} size={14} />
      </FilterForm>
      <Card title={`Recent events (newest first, ${page.events.length}${page.nextCursor ? '+' : ''} shown)`} id="events">
        {page.events.length > 0 ? (
          <EventTable events={page.events} tasks={tasks} />
        ) : filtered ? (
          <NoMatch what="events" href="/ui/events" />
        ) : (
          <HowToPublish origin={new URL(c.req.url).origin} />
        )}
        <NextPage viewer={viewer} cursor={page.nextCursor} />
      </Card>
      {await triggersCard(deps, name, name ? `Triggers of '${name}'` : 'Triggers')}
    </Layout>,
  );
}

async function eventPage(c: UiContext, deps: UiDeps, uid: string) {
  const pool = deps.database.pool;
  const event = await findEvent(pool, uid);
  const tasks = (await tasksOfEvents(pool, [uid], 500)).get(uid) ?? [];
  // Tasks keep their event_uid after retention deletes the event: they still say where they came from.
  if (!event && tasks.length === 0)
    throw new EventixError('EventNotFound', `No event with uid ${uid} (events are deleted after their retention period)`);
  return c.html(
    <Layout
      title={event ? `Event ${event.name}` : 'Event (deleted)'}
      section="events"
      viewer={c.get('viewer')}
      notice={c.req.query('notice')}
      error={event ? c.req.query('error') : `Event ${uid} was deleted by retention; the tasks it created remain.`}
    >
      <p class="crumbs">
        <a href="/ui/events">← All events</a>
      </p>
      {event ? (
        <div class="grid gap-below">
          <Card title="Event" id="event">
            <Fields
              rows={[
                ['uid', <code>{event.uid}</code>],
                ['Name', <a href={`/ui/events?name=${encodeURIComponent(event.name)}`}>{event.name}</a>],
                ['Namespace', event.namespace],
                ['Priority', String(event.priority)],
                ['Operator', event.operator ?? <span class="muted">—</span>],
                ['Created', <Time at={event.createdAt} />],
              ]}
            />
          </Card>
          <Card title="Payload" id="payload">
            <JsonBlock value={event.payload} label="payload" />
          </Card>
        </div>
      ) : null}
      <Card title={`Tasks it created (${tasks.length})`} id="tasks">
        {tasks.length === 0 ? (
          <Empty title="This event created no task.">No enabled trigger listening to its name and namespace matched its payload.</Empty>
        ) : (
          <table>
            <Head cols={['Task', 'Status', 'Trigger', ['Namespace', 'hide-narrow'], ['Created (UTC)', 'hide-narrow']]} />
            <tbody>
              {tasks.map((t) => (
                <tr>
                  <td>
                    <a href={`/ui/tasks/${t.uid}`}>{t.task}</a> <span class="muted mono">{shortUid(t.uid)}</span>
                  </td>
                  <td>
                    <Status status={t.status} />
                  </td>
                  <td>{t.triggerName ?? <span class="muted">—</span>}</td>
                  <td class="hide-narrow">{t.namespace}</td>
                  <td class="hide-narrow">
                    <Time at={t.createdAt} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Card>
      {event ? await triggersCard(deps, event.name, `Triggers of '${event.name}' now`) : null}
    </Layout>,
    event ? 200 : 404,
  );
}

export function eventPages(deps: UiDeps) {
  return new Hono<UiEnv>()
    .get('/', (c) => {
      const uid = checked('uid', queryText(c.req.query('uid')), UUID_PATTERN, 'must be an event uid (a UUID)');
      return uid ? eventPage(c, deps, uid.toLowerCase()) : listPage(c, deps);
    })
    .onError(pageErrors('events', { href: '/ui/events', label: 'All events' }));
}
