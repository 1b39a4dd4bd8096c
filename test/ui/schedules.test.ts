import { beforeAll, describe, expect, it } from 'vitest';
import { type App, createApp } from '../../src/api/app.ts';
import { silentLogger } from '../../src/logger.ts';
import { createSchedule } from '../../src/scheduler/manage.ts';
import { runSchedule } from '../../src/scheduler/run-now.ts';
import { useTestDatabase } from '../helpers/db.ts';
import { READ_TOKEN, redirectOf, SUBMIT_TOKEN, sectionOf, UI_TOKENS, UiSession } from '../helpers/ui.ts';

const texts = (html: string, re: RegExp) => [...html.matchAll(re)].map((m) => m[1]);

describe('schedule pages', () => {
  const db = useTestDatabase();
  let app: App;
  let authed: App;
  const enabledOf = async (name: string) =>
    (await db().pool.query<{ enabled: boolean }>('select enabled from schedules where name = $1', [name])).rows[0]?.enabled;
  const firesOf = async (name: string) =>
    Number((await db().pool.query('select count(*) from schedule_fires where schedule_name = $1', [name])).rows[0].count);

  beforeAll(() => {
    app = createApp({ database: db(), logger: silentLogger });
    authed = createApp({ database: db(), logger: silentLogger, apiTokens: UI_TOKENS });
  });

  it('says how to add a schedule when there is none', async () => {
    const res = await new UiSession(app).get('/ui/schedules');
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('No schedules yet.');
    expect(html).toContain('eventix schedules create nightly-sweep --cron');
    expect(html).toContain('curl -X POST http://localhost/schedules');
  });

  describe('with schedules', () => {
    let manualTask: string;
    beforeAll(async () => {
      const pool = db().pool;
      // Created "in 2099" so that the stored next_fire_at lies ahead of the real clock, the days
      // before Europe/Berlin moves to summer time on Sunday 29 March 2099.
      await createSchedule(
        pool,
        { name: 'berlin-daily', cron: '0 8 * * *', timezone: 'Europe/Berlin', task: 'bench.sweep', namespace: 'bench' },
        { now: new Date('2099-03-26T12:00:00Z') },
      );
      await createSchedule(pool, { name: 'paused-hourly', cron: '0 * * * *', task: 'report.hourly', enabled: false });
      await createSchedule(pool, { name: 'seconds', cron: '*/30 * * * * *', task: 'tick' });
      manualTask = (await runSchedule(pool, 'berlin-daily')).task.uid;
    });

    it('lists each schedule with its cron in words, zone, state, next and last fire, linking to its page', async () => {
      const html = await (await new UiSession(app).get('/ui/schedules')).text();
      expect(html).toContain('href="/ui/schedules/berlin-daily"');
      expect(html).toContain('href="/ui/schedules/paused-hourly"');
      expect(html).toContain('<code>0 8 * * *</code><span class="cron-words">At 08:00</span>');
      expect(html).toContain('Every 30 seconds');
      expect(html).toContain('Europe/Berlin');
      expect(html).toMatch(/status-enabled">enabled/);
      expect(html).toMatch(/status-paused">paused/);
      // The next fire in the schedule's own zone, and in UTC.
      expect(html).toContain('2099-03-27 08:00');
      expect(html).toContain('2099-03-27 07:00:00 UTC');
      // The manual fire's task, with its status, links to the task page.
      expect(html).toContain(`href="/ui/tasks/${manualTask}"`);
      expect(html).toContain('status-manual');
      // The open UI grants everything: the buttons are there.
      expect(html).toContain('action="/ui/schedules/berlin-daily/pause"');
      expect(html).toContain('action="/ui/schedules/paused-hourly/resume"');
      expect(html).toContain('action="/ui/schedules/seconds/run"');
    });

    it('filters by state and namespace in the URL', async () => {
      const paused = await (await new UiSession(app).get('/ui/schedules?state=paused')).text();
      expect(paused).toContain('/ui/schedules/paused-hourly');
      expect(paused).not.toContain('/ui/schedules/berlin-daily');
      const bench = await (await new UiSession(app).get('/ui/schedules?namespace=bench')).text();
      expect(bench).toContain('/ui/schedules/berlin-daily');
      expect(bench).not.toContain('/ui/schedules/seconds');
      const none = await (await new UiSession(app).get('/ui/schedules?namespace=nothing-here')).text();
      expect(none).toContain('No schedules match these filters.');
    });

    it('shows the next 5 fires in the schedule’s zone and in UTC, across the change to summer time', async () => {
      const html = await (await new UiSession(app).get('/ui/schedules/berlin-daily')).text();
      const upcoming = sectionOf(html, 'upcoming');
      expect(texts(upcoming, /<td>(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC)<\/td>/g)).toEqual([
        '2099-03-27 07:00:00 UTC',
        '2099-03-28 07:00:00 UTC',
        '2099-03-29 06:00:00 UTC',
        '2099-03-30 06:00:00 UTC',
        '2099-03-31 06:00:00 UTC',
      ]);
      // 08:00 on the wall clock every day; the offset changes from +1 to +2 on the 29th.
      const zoned = texts(upcoming, /<time datetime="[^"]+">([^<]+)<\/time>/g);
      expect(zoned.map((z) => z?.slice(0, 16))).toEqual([
        '2099-03-27 08:00',
        '2099-03-28 08:00',
        '2099-03-29 08:00',
        '2099-03-30 08:00',
        '2099-03-31 08:00',
      ]);
      expect(zoned[1]?.slice(17)).not.toBe(zoned[2]?.slice(17));
      expect(upcoming).toContain('In Europe/Berlin');
    });

    it('shows the definition and the fire ledger with each fire’s task', async () => {
      const html = await (await new UiSession(app).get('/ui/schedules/berlin-daily')).text();
      expect(html).toContain('<title>Schedule berlin-daily · Eventix</title>');
      const fires = sectionOf(html, 'fires');
      expect(fires).toContain(`href="/ui/tasks/${manualTask}"`);
      expect(fires).toContain('status-manual');
      expect(fires).toContain('status-scheduled');
      expect(sectionOf(html, 'definition')).toContain('bench.sweep');
    });

    it('pages through the fire ledger with a keyset cursor, newest first', async () => {
      const pool = db().pool;
      await createSchedule(pool, { name: 'busy', cron: '0 0 1 1 *', task: 'tick' });
      const uids: string[] = [];
      for (let i = 0; i < 27; i++) uids.push((await runSchedule(pool, 'busy')).task.uid);
      const first = await (await new UiSession(app).get('/ui/schedules/busy')).text();
      const links = (html: string) => texts(sectionOf(html, 'fires'), /href="\/ui\/tasks\/([0-9a-f-]+)"/g);
      expect(links(first)).toEqual(uids.slice(2).reverse());
      const next = /href="([^"]+)" rel="next"/.exec(first)?.[1]?.replaceAll('&amp;', '&');
      expect(next).toMatch(/^\/ui\/schedules\/busy\?cursor=/);
      const second = await (await new UiSession(app).get(next as string)).text();
      expect(links(second)).toEqual([uids[1], uids[0]]);
      expect(second).not.toContain('rel="next"');
    });

    it('shows a paused schedule’s fire times as they would be if resumed now', async () => {
      const before = new Date();
      const html = await (await new UiSession(app).get('/ui/schedules/paused-hourly')).text();
      const upcoming = sectionOf(html, 'upcoming');
      expect(upcoming).toContain('If resumed now');
      const utc = texts(upcoming, /<time datetime="([^"]+)">/g).map((t) => new Date(t as string));
      expect(utc).toHaveLength(5);
      for (const t of utc) expect(t.getTime()).toBeGreaterThan(before.getTime());
      expect((utc[1] as Date).getTime() - (utc[0] as Date).getTime()).toBe(3_600_000);
    });

    it('pauses, resumes and runs a schedule through the forms, changing the database', async () => {
      const ui = new UiSession(app);
      await ui.page('/ui/schedules');
      const paused = await ui.post('/ui/schedules/seconds/pause', { back: '/ui/schedules' });
      expect(paused.status).toBe(303);
      expect(redirectOf(paused)).toMatchObject({ path: '/ui/schedules', notice: expect.stringContaining("Paused 'seconds'") });
      expect(await enabledOf('seconds')).toBe(false);
      const html = await ui.page('/ui/schedules');
      expect(html).toContain('action="/ui/schedules/seconds/resume"');

      const resumed = await ui.post('/ui/schedules/seconds/resume', { back: '/ui/schedules/seconds' });
      expect(resumed.status).toBe(303);
      expect(redirectOf(resumed)).toMatchObject({ path: '/ui/schedules/seconds', notice: expect.stringMatching(/^Resumed 'seconds'/) });
      const row = (await db().pool.query('select enabled, next_fire_at from schedules where name = $1', ['seconds'])).rows[0];
      expect(row.enabled).toBe(true);
      expect(row.next_fire_at.getTime()).toBeGreaterThan(Date.now() - 1000);

      const before = await firesOf('paused-hourly');
      const ran = await ui.post('/ui/schedules/paused-hourly/run', { back: '/ui/schedules/paused-hourly' });
      expect(ran.status).toBe(303);
      expect(await firesOf('paused-hourly')).toBe(before + 1);
      const task = (await db().pool.query("select uid from tasks where schedule_name = 'paused-hourly'")).rows[0];
      expect(redirectOf(ran).notice).toContain(`task ${task.uid}`);
      // Running a paused schedule fires it once and leaves it paused, as POST /schedules/{name}/run does.
      expect(await enabledOf('paused-hourly')).toBe(false);
    });

    it('Run now counts the task it submits in /metrics, as POST /schedules/{name}/run does', async () => {
      // A fresh app: its counters start at zero.
      const fresh = createApp({ database: db(), logger: silentLogger });
      const submitted = async () =>
        /eventix_tasks_submitted_total\{namespace="default"\} (\d+)/.exec(await (await fresh.request('/metrics')).text())?.[1];
      expect(await submitted()).toBeUndefined();
      const ui = new UiSession(fresh);
      await ui.page('/ui/schedules');
      expect((await ui.post('/ui/schedules/seconds/run', { back: '/ui/schedules' })).status).toBe(303);
      expect(await submitted()).toBe('1');
      expect((await fresh.request('/schedules/seconds/run', { method: 'POST' })).status).toBe(201);
      expect(await submitted()).toBe('2');
    });

    it('reports a refusal from the library as a flash error on the page', async () => {
      const ui = new UiSession(app);
      await ui.page('/ui/schedules');
      const res = await ui.post('/ui/schedules/ghost/pause', { back: '/ui/schedules' });
      expect(res.status).toBe(303);
      expect(redirectOf(res)).toEqual({ path: '/ui/schedules', notice: null, error: "No schedule named 'ghost'" });
    });

    it('refuses a forged POST (no or wrong _csrf, another Origin) with 403 and changes nothing', async () => {
      const ui = new UiSession(app);
      await ui.page('/ui/schedules');
      expect(await enabledOf('berlin-daily')).toBe(true);
      for (const [fields, headers] of [
        [{ _csrf: null }, {}],
        [{ _csrf: 'x'.repeat(43) }, {}],
        [{}, { origin: 'https://evil.example' }],
      ] as const) {
        const res = await ui.post('/ui/schedules/berlin-daily/pause', { back: '/ui/schedules', ...fields }, headers);
        expect(res.status).toBe(403);
      }
      const fires = await firesOf('berlin-daily');
      expect((await ui.post('/ui/schedules/berlin-daily/run', { _csrf: null })).status).toBe(403);
      expect(await enabledOf('berlin-daily')).toBe(true);
      expect(await firesOf('berlin-daily')).toBe(fires);
    });

    it('shows a read token no buttons and refuses its POSTs; a submit token gets both', async () => {
      const reader = await UiSession.as(authed, READ_TOKEN);
      const list = await reader.page('/ui/schedules');
      expect(list).toContain('href="/ui/schedules/berlin-daily"');
      expect(list).not.toContain('/pause"');
      expect(list).not.toContain('/run"');
      const detail = await reader.page('/ui/schedules/berlin-daily');
      expect(detail).not.toContain('action="/ui/schedules/berlin-daily/');
      const res = await reader.post('/ui/schedules/berlin-daily/pause', { back: '/ui/schedules' });
      expect(res.status).toBe(403);
      expect(await res.text()).toContain('scope &#39;read&#39;');
      expect(await enabledOf('berlin-daily')).toBe(true);

      const ops = await UiSession.as(authed, SUBMIT_TOKEN);
      expect(await ops.page('/ui/schedules/berlin-daily')).toContain('action="/ui/schedules/berlin-daily/pause"');
      expect((await ops.post('/ui/schedules/berlin-daily/pause', { back: '/ui/schedules' })).status).toBe(303);
      expect(await enabledOf('berlin-daily')).toBe(false);
    });

    it('answers bad query input and unknown names with a 4xx page that says what is wrong', async () => {
      const cases: [string, number, string][] = [
        ['/ui/schedules?state=sleeping', 400, 'state: must be enabled or paused'],
        ['/ui/schedules?namespace=has%20space', 400, 'namespace: must be a namespace name'],
        ['/ui/schedules?cursor=%21%21%21', 400, 'cursor: is not a cursor this API issued'],
        ['/ui/schedules/ghost', 404, 'No schedule named &#39;ghost&#39;'],
        ['/ui/schedules/bad%20name', 400, 'name: must be 1-200 characters'],
        ['/ui/schedules/berlin-daily?cursor=bm9wZQ', 400, 'cursor: is not a cursor this API issued'],
      ];
      for (const [path, status, message] of cases) {
        const res = await new UiSession(app).get(path);
        expect(res.status, path).toBe(status);
        expect(res.headers.get('content-type'), path).toMatch(/text\/html/);
        const html = await res.text();
        expect(html, path).toContain(message);
        expect(html, path).toContain('href="/ui/schedules"');
      }
    });
  });
});
