import { beforeAll, describe, expect, it } from 'vitest';
import { type App, createApp } from '../../src/api/app.ts';
import { EventixClient } from '../../src/client/client.ts';
import { silentLogger } from '../../src/logger.ts';
import { useTestDatabase } from '../helpers/db.ts';
import { apiError, inProcess } from './helpers.ts';

const BASE = 'http://eventix.test';

/** Schedules, events, triggers and /metrics through the client, against the real app and database. */
describe('EventixClient resource groups: schedules, events, triggers, metrics', () => {
  const db = useTestDatabase();
  let app: App;
  let client: EventixClient;
  beforeAll(() => {
    app = createApp({ database: db(), logger: silentLogger });
    client = new EventixClient({ baseUrl: BASE, fetch: inProcess(app) });
  });

  it('schedules: create, get, list and iterate over pages, pause, resume, update, run, delete', async () => {
    const ns = 'c-sched';
    // Names with ':' are escaped in the path (seg) and must still reach the same schedule.
    const names = ['cs:1', 'cs:2', 'cs:3', 'cs:4', 'cs:5'];
    for (const name of names) {
      const created = await client.schedules.create({ name, namespace: ns, cron: '0 3 * * *', task: 'cs.task', kwargs: { name } });
      expect(created).toMatchObject({ name, namespace: ns, enabled: true, source: 'api', revision: 1 });
    }
    expect(await apiError(() => client.schedules.create({ name: 'cs:1', cron: '0 3 * * *', task: 'cs.task' }))).toMatchObject({
      status: 409,
      code: 'ScheduleExists',
    });
    expect(await client.schedules.get('cs:1')).toMatchObject({ name: 'cs:1', cron: '0 3 * * *', kwargs: { name: 'cs:1' } });

    const first = await client.schedules.list({ namespace: ns, limit: 2 });
    expect(first.schedules.map((s) => s.name)).toEqual(['cs:1', 'cs:2']);
    expect(first.next_cursor).toEqual(expect.any(String));

    const seen: { url: string; init: RequestInit }[] = [];
    const counting = new EventixClient({ baseUrl: BASE, fetch: inProcess(app, seen) });
    const all: string[] = [];
    for await (const s of counting.schedules.iterate({ namespace: ns, limit: 2 })) all.push(s.name);
    expect(all).toEqual(names);
    expect(seen).toHaveLength(3);

    const paused = await client.schedules.pause('cs:1');
    expect(paused).toMatchObject({ enabled: false, next_fire_at: null });
    expect((await client.schedules.list({ namespace: ns, enabled: false })).schedules.map((s) => s.name)).toEqual(['cs:1']);
    expect(await client.schedules.resume('cs:1')).toMatchObject({ enabled: true, next_fire_at: expect.any(String) });

    const updated = await client.schedules.update('cs:2', { cron: '30 4 * * *', priority: 2 });
    expect(updated).toMatchObject({ cron: '30 4 * * *', priority: 2, revision: 2 });

    const fired = await client.schedules.run('cs:3');
    expect(fired.task).toMatchObject({ task: 'cs.task', namespace: ns, kwargs: { name: 'cs:3' } });
    expect((await client.get(fired.task.uid)).uid).toBe(fired.task.uid);

    await client.schedules.delete('cs:5');
    expect(await apiError(() => client.schedules.get('cs:5'))).toMatchObject({ status: 404, code: 'ScheduleNotFound' });
    expect((await client.schedules.list({ namespace: ns })).schedules).toHaveLength(4);
  });

  it('triggers: create, get, put (replace, then create), list, delete', async () => {
    const trigger = await client.triggers.create({
      name: 'ct.on-push',
      event_name: 'ct.pushed',
      template: { task: 'ct.build', kwargs: { sha: { $ptr: '/sha' } } },
    });
    expect(trigger).toMatchObject({ name: 'ct.on-push', event_name: 'ct.pushed', enabled: true, revision: 1, namespace: null });
    expect(await client.triggers.get('ct.on-push')).toEqual(trigger);

    const replaced = await client.triggers.put('ct.on-push', {
      event_name: 'ct.pushed',
      filter: { field: '/branch', eq: 'main' },
      template: { task: 'ct.build', kwargs: { sha: { $ptr: '/sha' } } },
    });
    expect(replaced).toMatchObject({ revision: 2, filter: { field: '/branch', eq: 'main' } });
    const created = await client.triggers.put('ct.other', { event_name: 'ct.pushed', template: { task: 'ct.other' }, enabled: false });
    expect(created).toMatchObject({ name: 'ct.other', revision: 1, enabled: false });

    expect((await client.triggers.list({ event_name: 'ct.pushed' })).triggers.map((t) => t.name)).toEqual(['ct.on-push', 'ct.other']);
    await client.triggers.delete('ct.other');
    expect(await apiError(() => client.triggers.get('ct.other'))).toMatchObject({ status: 404, code: 'TriggerNotFound' });
  });

  it('events: publish fires the stored trigger; list and iterate newest first across pages', async () => {
    await client.triggers.put('ce.on-push', { event_name: 'ce.pushed', template: { task: 'ce.build', kwargs: { sha: { $ptr: '/sha' } } } });
    const published = await client.events.publish({ name: 'ce.pushed', namespace: 'c-events', payload: { sha: 'abc' } });
    expect(published.event).toMatchObject({ name: 'ce.pushed', namespace: 'c-events', payload: { sha: 'abc' } });
    expect(published.tasks).toEqual([
      { trigger: 'ce.on-push', created: true, task: expect.objectContaining({ task: 'ce.build', kwargs: { sha: 'abc' } }) },
    ]);

    const uids = [published.event.uid];
    for (const n of [1, 2]) uids.push((await client.events.publish({ name: 'ce.pushed', payload: { sha: `s${n}` } })).event.uid);
    const page = await client.events.list({ name: 'ce.pushed', limit: 2 });
    expect(page.events.map((e) => e.uid)).toEqual([uids[2], uids[1]]);
    expect(page.next_cursor).toEqual(expect.any(String));
    const all: string[] = [];
    for await (const e of client.events.iterate({ name: 'ce.pushed', limit: 2 })) all.push(e.uid);
    expect(all).toEqual([...uids].reverse());
  });

  it('metrics: the Prometheus text, not JSON', async () => {
    await client.submit({ task: 'cm.task', namespace: 'c-metrics' });
    const text = await client.metrics();
    expect(typeof text).toBe('string');
    expect(text).toMatch(/^eventix_tasks_submitted_total\{namespace="c-metrics"\} 1$/m);
  });
});
