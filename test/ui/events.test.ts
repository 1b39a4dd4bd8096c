import { beforeAll, describe, expect, it } from 'vitest';
import { type App, createApp } from '../../src/api/app.ts';
import { defineTrigger } from '../../src/events/define.ts';
import { insertEvent } from '../../src/events/events.ts';
import { publishEvent } from '../../src/events/publish.ts';
import { createTrigger } from '../../src/events/triggers.ts';
import { silentLogger } from '../../src/logger.ts';
import { filterText, templateDetails } from '../../src/ui/pages/event-triggers.tsx';
import { useTestDatabase } from '../helpers/db.ts';
import { sectionOf, UiSession } from '../helpers/ui.ts';

/** The rows of a page's first table body. */
const rows = (html: string) => html.slice(html.indexOf('<tbody>'), html.indexOf('</tbody>')).split('<tr>').slice(1);

describe('events page', () => {
  const db = useTestDatabase();
  let app: App;
  const codeTrigger = defineTrigger('notify-on-push', 'commit.pushed', (e) => ({ task: 'notify', args: [e.payload.sha ?? null] }), {
    filter: { all: [{ field: '/branch', eq: 'main' }, { not: { field: '/draft', exists: true } }] },
  });
  const page = async (path: string) => {
    const res = await new UiSession(app).get(path);
    return { status: res.status, type: res.headers.get('content-type'), html: await res.text() };
  };

  beforeAll(() => {
    app = createApp({ database: db(), logger: silentLogger, codeTriggers: [codeTrigger] });
  });

  it('says how to publish an event and define a trigger while there are none', async () => {
    const { status, html } = await page('/ui/events');
    expect(status).toBe(200);
    expect(html).toContain('No events yet.');
    expect(html).toContain('curl -X POST http://localhost/events');
    expect(html).toContain('eventix events publish commit.pushed');
    // The code trigger is there from the start, marked as such.
    expect(sectionOf(html, 'triggers')).toContain('notify-on-push');
    expect(sectionOf(html, 'triggers')).toContain('in code');
  });

  describe('with events and triggers', () => {
    let pushed: string;
    let ignored: string;
    let pushedTasks: { uid: string; task: string; trigger_name: string }[];
    beforeAll(async () => {
      const pool = db().pool;
      await createTrigger(pool, {
        name: 'sweep-on-push',
        eventName: 'commit.pushed',
        filter: { field: '/branch', eq: 'main' },
        template: { task: 'bench.sweep', namespace: 'bench', kwargs: { sha: { $ptr: '/sha' } }, unique_key: 'sweep-{{/sha}}' },
      });
      await createTrigger(pool, { name: 'off', eventName: 'other.thing', template: { task: 'never' }, enabled: false });
      pushed = (
        await publishEvent(pool, { name: 'commit.pushed', payload: { sha: 'abc1234', branch: 'main' } }, { codeTriggers: [codeTrigger] })
      ).event.uid;
      ignored = (await publishEvent(pool, { name: 'commit.pushed', namespace: 'forks', payload: { sha: 'fff0000', branch: 'wip' } })).event
        .uid;
      pushedTasks = (await pool.query('select uid, task, trigger_name from tasks where event_uid = $1 order by id', [pushed])).rows;
    });

    it('lists events newest first with their payload and the tasks they created, linked with status', async () => {
      const { html } = await page('/ui/events');
      const list = rows(sectionOf(html, 'events'));
      expect(list).toHaveLength(2);
      expect(list[0]).toContain(`href="/ui/events?uid=${ignored}"`);
      expect(list[0]).toContain('forks');
      expect(list[0]).toContain('none: no trigger matched');
      expect(list[1]).toContain(`href="/ui/events?uid=${pushed}"`);
      expect(list[1]).toContain('{&quot;sha&quot;:&quot;abc1234&quot;,&quot;branch&quot;:&quot;main&quot;}');
      expect(pushedTasks.map((t) => t.trigger_name)).toEqual(['sweep-on-push', 'notify-on-push']);
      for (const t of pushedTasks) expect(list[1]).toContain(`href="/ui/tasks/${t.uid}">${t.task}</a>`);
      expect(list[1]).toContain('status-scheduled');
      expect(html).toMatch(/Created \(UTC\)/);
    });

    it('shows stored and code triggers with event, filter, template summary and state', async () => {
      const { html } = await page('/ui/events');
      const triggers = rows(sectionOf(html, 'triggers'));
      expect(triggers.map((r) => /<strong>([^<]+)<\/strong>/.exec(r)?.[1])).toEqual(['notify-on-push', 'off', 'sweep-on-push']);
      const [code, off, sweep] = triggers as [string, string, string];
      expect(code).toContain('in code');
      expect(code).toContain('map() in the application’s code');
      expect(code).toContain('>/branch = &quot;main&quot; and not /draft exists</code>');
      expect(off).toContain('status-disabled');
      expect(off).toContain('every event');
      expect(sweep).toContain('status-enabled');
      expect(sweep).toContain('>/branch = &quot;main&quot;</code>');
      expect(sweep).toMatch(
        /title="filter of sweep-on-push" tabindex="0">{\n {2}&quot;eq&quot;: &quot;main&quot;,\n {2}&quot;field&quot;: &quot;\/branch&quot;\n}/,
      );
      expect(sweep).toContain('<code>bench.sweep</code> in <code>bench</code>');
      expect(sweep).toContain('kwargs: sha · unique_key: sweep-{{/sha}}');
    });

    it('filters by event name and namespace in the URL, triggers included', async () => {
      const forks = await page('/ui/events?namespace=forks');
      expect(rows(sectionOf(forks.html, 'events'))).toHaveLength(1);
      expect(forks.html).toContain(ignored);
      expect(forks.html).not.toContain(pushed);
      const other = await page('/ui/events?name=other.thing');
      expect(other.html).toContain('No events match these filters.');
      const triggers = sectionOf(other.html, 'triggers');
      expect(triggers).toContain('Triggers of &#39;other.thing&#39;');
      expect(triggers).toContain('<strong>off</strong>');
      expect(triggers).not.toContain('sweep-on-push');
      expect(triggers).not.toContain('notify-on-push');
    });

    it('pages through many events with a keyset cursor', async () => {
      for (let i = 0; i < 53; i++) await insertEvent(db().pool, { name: 'bulk.tick', payload: { i } });
      const first = await page('/ui/events?name=bulk.tick');
      expect(rows(sectionOf(first.html, 'events'))).toHaveLength(50);
      expect(first.html).toContain('{&quot;i&quot;:52}');
      const next = /href="([^"]+)" rel="next"/.exec(first.html)?.[1]?.replaceAll('&amp;', '&');
      expect(next).toMatch(/^\/ui\/events\?name=bulk.tick&cursor=/);
      const second = await page(next as string);
      const rest = rows(sectionOf(second.html, 'events'));
      expect(rest).toHaveLength(3);
      expect(rest[2]).toContain('{&quot;i&quot;:0}');
      expect(second.html).not.toContain('rel="next"');
    });

    it('shows one event with ?uid=: its fields, whole payload, tasks and the triggers of its name', async () => {
      const { status, html } = await page(`/ui/events?uid=${pushed}`);
      expect(status).toBe(200);
      expect(sectionOf(html, 'event')).toContain(pushed);
      expect(sectionOf(html, 'payload')).toContain('&quot;sha&quot;: &quot;abc1234&quot;');
      const tasks = rows(sectionOf(html, 'tasks'));
      expect(tasks).toHaveLength(2);
      expect(tasks[0]).toContain(`href="/ui/tasks/${pushedTasks[0]?.uid}"`);
      expect(tasks[0]).toContain('sweep-on-push');
      expect(tasks[1]).toContain('notify-on-push');
      expect(sectionOf(html, 'triggers')).toContain('sweep-on-push');
      expect(sectionOf(html, 'triggers')).not.toContain('<strong>off</strong>');
    });

    it('still lists the tasks of an event that retention deleted, as a 404', async () => {
      const pool = db().pool;
      const gone = (await publishEvent(pool, { name: 'commit.pushed', payload: { sha: 'dead000', branch: 'main' } })).event.uid;
      await pool.query('delete from events where uid = $1', [gone]);
      const { status, html } = await page(`/ui/events?uid=${gone}`);
      expect(status).toBe(404);
      expect(html).toContain('was deleted by retention');
      expect(rows(sectionOf(html, 'tasks'))).toHaveLength(1);
    });

    it('answers bad query input with a 4xx page that says what is wrong', async () => {
      const cases: [string, number, string][] = [
        ['/ui/events?uid=not-a-uuid', 400, 'uid: must be an event uid'],
        ['/ui/events?uid=00000000-0000-4000-8000-000000000000', 404, 'No event with uid 00000000-0000-4000-8000-000000000000'],
        ['/ui/events?name=two%20words', 400, 'name: must be 1-200 characters'],
        ['/ui/events?namespace=%3Cscript%3E', 400, 'namespace: must be 1-200 characters'],
        ['/ui/events?cursor=garbage', 400, 'cursor: is not a cursor this API issued'],
      ];
      for (const [path, status, message] of cases) {
        const res = await page(path);
        expect(res.status, path).toBe(status);
        expect(res.type, path).toMatch(/text\/html/);
        expect(res.html, path).toContain(message);
        expect(res.html, path).toContain('href="/ui/events"');
      }
    });
  });
});

describe('trigger summaries', () => {
  it('writes filters as a reader would say them, bracketing nested groups', () => {
    expect(filterText({ field: '/ref', prefix: 'refs/tags/' })).toBe('/ref starts with "refs/tags/"');
    expect(filterText({ field: '/pr', exists: false })).toBe('/pr is absent');
    expect(
      filterText({
        any: [{ field: '/repo', in: ['a', 'b'] }, { all: [{ field: '/n', eq: 1 }, { not: { field: '/x', eq: null } }] }],
      }),
    ).toBe('/repo in ["a","b"] or (/n = 1 and not /x = null)');
  });

  it('summarises a template: args count or pointer, kwargs keys, options', () => {
    expect(templateDetails({ task: 't', args: [1, 2], kwargs: { a: 1, b: { $ptr: '/b' } }, max_retries: 3 })).toEqual([
      'args: 2',
      'kwargs: a, b',
      'max_retries: 3',
    ]);
    expect(templateDetails({ task: 't', args: { $ptr: '/list', $default: [] }, priority: { $ptr: '/p' } })).toEqual([
      'args ← {{/list|[]}}',
      'priority: {{/p}}',
    ]);
  });
});
