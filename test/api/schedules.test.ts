import { beforeAll, describe, expect, it } from 'vitest';
import { type App, createApp } from '../../src/api/app.ts';
import { scheduleOut, scheduleRunOut } from '../../src/api/schedule-schemas.ts';
import { silentLogger } from '../../src/logger.ts';
import { nextFireAfter } from '../../src/scheduler/cron.ts';
import { del, expectJson, expectProblem, get, type Json, post, send } from '../helpers/api.ts';
import { useTestDatabase } from '../helpers/db.ts';

const patch = (app: App, path: string, json?: unknown, opts: Parameters<typeof send>[3] = {}) =>
  send(app, 'PATCH', path, json === undefined ? opts : { ...opts, json });

describe('schedules API', () => {
  const db = useTestDatabase();
  let app: App;
  beforeAll(() => {
    app = createApp({ database: db(), logger: silentLogger });
  });

  let counter = 0;
  const fresh = (label: string) => `${label}-${++counter}`;
  const yearly = '0 0 1 1 *';

  async function create(extra: Record<string, unknown> = {}): Promise<Json> {
    return expectJson(await post(app, '/schedules', { name: fresh('s'), cron: yearly, task: 'bench.sweep', ...extra }), 201);
  }

  describe('POST /schedules', () => {
    it('creates a schedule (201) with defaults and its next fire time', async () => {
      const before = new Date();
      const s = await create({ name: 'nightly-sweep' });
      expect(() => scheduleOut.parse(s)).not.toThrow();
      expect(s).toMatchObject({
        name: 'nightly-sweep',
        namespace: 'default',
        cron: yearly,
        timezone: 'UTC',
        task: 'bench.sweep',
        args: [],
        kwargs: {},
        priority: 0,
        options: {},
        enabled: true,
        misfire: 'skip',
        overlap: true,
        last_fired_at: null,
        source: 'api',
        revision: 1,
      });
      expect(s.next_fire_at).toBe(nextFireAfter(yearly, 'UTC', before)?.toISOString());
    });

    it('stores the whole template: namespace, args, kwargs, priority, options, misfire, overlap, seconds cron, zone', async () => {
      const s = await create({
        cron: '*/30 * * * * *',
        timezone: 'Asia/Kolkata',
        namespace: 'bench',
        args: [1, 'two'],
        kwargs: { grid: { n: 3 } },
        priority: 7,
        options: { max_retries: 2, timeout_seconds: 600, retry: false, error_eta_inc: 10, error_eta_max: 20 },
        misfire: 'all',
        overlap: false,
      });
      expect(s).toMatchObject({
        cron: '*/30 * * * * *',
        timezone: 'Asia/Kolkata',
        namespace: 'bench',
        args: [1, 'two'],
        kwargs: { grid: { n: 3 } },
        priority: 7,
        options: { max_retries: 2, timeout_seconds: 600, retry: false, error_eta_inc: 10, error_eta_max: 20 },
        misfire: 'all',
        overlap: false,
      });
      expect(new Date(s.next_fire_at).getUTCSeconds() % 30).toBe(0);
    });

    it('can create it paused', async () => {
      const s = await create({ enabled: false });
      expect(s).toMatchObject({ enabled: false, next_fire_at: null });
    });

    it.each([
      ['an invalid cron expression', { cron: '61 * * * *' }, 'cron', /invalid cron expression/],
      ['a cron of the wrong length', { cron: '* * *' }, 'cron', /expected 5 fields/],
      ['an empty cron', { cron: '' }, 'cron', /empty/],
      ['a cron that never fires', { cron: '0 0 30 2 *' }, 'cron', /never fires/],
      ['a hashed (H) cron', { cron: 'H * * * *' }, 'cron', /H \(hashed\)/],
      ['an unknown time zone', { timezone: 'Mars/Olympus_Mons' }, 'timezone', /unknown time zone/],
      ['an offset instead of a zone', { timezone: '+05:30' }, 'timezone', /unknown time zone/],
      ['a name with a slash', { name: 'a/b' }, 'name', /letters, digits/],
      ['an empty name', { name: '' }, 'name', /letters, digits/],
      ['an unknown misfire policy', { misfire: 'sometimes' }, 'misfire', /skip, all, none/],
      ['a bad task name', { task: 'has space' }, 'task', /letters/],
      ['args that are not an array', { args: { a: 1 } }, 'args', /array/],
      ['kwargs that are not an object', { kwargs: [1] }, 'kwargs', /object/],
      ['a priority out of range', { priority: 40000 }, 'priority', /.+/],
      ['overlap that is not a boolean', { overlap: 'no' }, 'overlap', /.+/],
      ['an unknown option', { options: { unique_key: 'x' } }, 'options', /unknown field/],
      ['an option out of range', { options: { max_retries: -1 } }, 'options.max_retries', /.+/],
      ['error_eta_max below error_eta_inc', { options: { error_eta_inc: 60, error_eta_max: 10 } }, 'options.error_eta_max', /at least/],
      ['an unknown field', { every: '5m' }, '(body)', /unknown field\(s\): every/],
    ])('refuses %s with a 400 naming the field', async (_why, change, field, message) => {
      const body = { name: fresh('bad'), cron: yearly, task: 'x', ...change };
      expectProblem(await post(app, '/schedules', body), 400, { field, message, code: 'ValidationError' });
    });

    it.each(['name', 'cron', 'task'])('requires %s', async (field) => {
      const body: Record<string, unknown> = { name: fresh('req'), cron: yearly, task: 'x' };
      delete body[field];
      expectProblem(await post(app, '/schedules', body), 400, { field });
    });

    it('refuses a duplicate name with 409, changing nothing', async () => {
      const s = await create({ priority: 1 });
      const res = await post(app, '/schedules', { name: s.name, cron: '* * * * *', task: 'other' });
      expectProblem(res, 409, { code: 'ScheduleExists' });
      expect(expectJson(await get(app, `/schedules/${s.name}`), 200)).toMatchObject({ cron: yearly, task: 'bench.sweep', priority: 1 });
    });

    it('refuses another content type (415), malformed JSON and an empty body (400)', async () => {
      const body = JSON.stringify({ name: fresh('ct'), cron: yearly, task: 'x' });
      expectProblem(await post(app, '/schedules', undefined, { body, contentType: 'text/plain' }), 415);
      expectProblem(await post(app, '/schedules', undefined, { body, contentType: null }), 415);
      expectProblem(await post(app, '/schedules', undefined, { body: '{"name":', contentType: 'application/json' }), 400, {
        field: '(body)',
        message: /malformed JSON/,
      });
      expectProblem(await post(app, '/schedules', undefined, { body: '', contentType: 'application/json' }), 400, { field: '(body)' });
      expectProblem(await post(app, '/schedules', [1, 2]), 400);
    });
  });

  describe('GET /schedules', () => {
    it('lists by name with keyset pagination and filters', async () => {
      const ns = fresh('list-ns');
      const names = ['list-c', 'list-a', 'list-b'].map((n) => `${n}-${counter}`);
      for (const name of names) await create({ name, namespace: ns });
      await post(app, `/schedules/${names[0]}/pause`);

      const first = expectJson(await get(app, `/schedules?namespace=${ns}&limit=2`), 200);
      expect(first.schedules.map((s: Json) => s.name)).toEqual([names[1], names[2]]);
      expect(first.next_cursor).toEqual(expect.any(String));
      const second = expectJson(await get(app, `/schedules?namespace=${ns}&limit=2&cursor=${first.next_cursor}`), 200);
      expect(second.schedules.map((s: Json) => s.name)).toEqual([names[0]]);
      expect(second.next_cursor).toBeNull();

      const paused = expectJson(await get(app, `/schedules?namespace=${ns}&enabled=false`), 200);
      expect(paused.schedules.map((s: Json) => s.name)).toEqual([names[0]]);
      const all = expectJson(await get(app, '/schedules'), 200);
      expect(all.schedules.length).toBeGreaterThanOrEqual(3);
    });

    it.each([
      ['limit=0', 'limit'],
      ['limit=501', 'limit'],
      ['limit=ten', 'limit'],
      ['enabled=maybe', 'enabled'],
      ['namespace=has%20space', 'namespace'],
      ['cursor=%2F%2F%2F', 'cursor'],
      ['sort=name', '(query)'],
    ])('refuses ?%s naming %s', async (query, field) => {
      expectProblem(await get(app, `/schedules?${query}`), 400, { field: field === '(query)' ? '(query)' : field });
    });
  });

  describe('GET /schedules/{name}', () => {
    it('returns the schedule, 404 for an unknown name, 400 for an impossible one', async () => {
      const s = await create();
      expect(expectJson(await get(app, `/schedules/${s.name}`), 200)).toEqual(s);
      expectProblem(await get(app, '/schedules/no-such-schedule'), 404, { code: 'ScheduleNotFound' });
      expectProblem(await get(app, '/schedules/bad%20name'), 400, { field: 'name' });
    });
  });

  describe('PATCH /schedules/{name}', () => {
    it('changes only the fields given; a cron or zone change recomputes next_fire_at, others keep it', async () => {
      const s = await create({ kwargs: { a: 1 }, options: { max_retries: 1 } });
      const p1 = expectJson(await patch(app, `/schedules/${s.name}`, { priority: 3, kwargs: { b: 2 } }), 200);
      expect(p1).toMatchObject({ priority: 3, kwargs: { b: 2 }, cron: yearly, options: { max_retries: 1 }, revision: 2 });
      expect(p1.next_fire_at).toBe(s.next_fire_at);

      const before = new Date();
      const p2 = expectJson(await patch(app, `/schedules/${s.name}`, { cron: '*/5 * * * *' }), 200);
      expect(p2.next_fire_at).toBe(nextFireAfter('*/5 * * * *', 'UTC', before)?.toISOString());
      expect(p2.priority).toBe(3);

      const p3 = expectJson(await patch(app, `/schedules/${s.name}`, { cron: yearly, timezone: 'Asia/Tokyo' }), 200);
      expect(p3.next_fire_at).toBe(nextFireAfter(yearly, 'Asia/Tokyo', new Date())?.toISOString());
      expect(p3.next_fire_at).not.toBe(s.next_fire_at);

      // options is replaced as a whole.
      const p4 = expectJson(await patch(app, `/schedules/${s.name}`, { options: { timeout_seconds: 60 } }), 200);
      expect(p4.options).toEqual({ timeout_seconds: 60 });

      const off = expectJson(await patch(app, `/schedules/${s.name}`, { enabled: false }), 200);
      expect(off).toMatchObject({ enabled: false, next_fire_at: null });
      const on = expectJson(await patch(app, `/schedules/${s.name}`, { enabled: true }), 200);
      expect(on.next_fire_at).toBe(nextFireAfter(yearly, 'Asia/Tokyo', new Date())?.toISOString());
    });

    it.each([
      ['an invalid cron', { cron: '0 0 * * 9' }, 'cron'],
      ['a never-firing cron', { cron: '0 0 31 2 *' }, 'cron'],
      ['an unknown time zone', { timezone: 'Nowhere/Land' }, 'timezone'],
      ['a rename', { name: 'other' }, '(body)'],
      ['an unknown field', { schedule: '* * * * *' }, '(body)'],
      ['an empty change', {}, '(body)'],
      ['a bad option', { options: { store_result: 'yes' } }, 'options.store_result'],
      ['a null cron', { cron: null }, 'cron'],
    ])('refuses %s with a 400 naming %s, changing nothing', async (_why, change, field) => {
      const s = await create();
      expectProblem(await patch(app, `/schedules/${s.name}`, change), 400, { field });
      expect(expectJson(await get(app, `/schedules/${s.name}`), 200)).toEqual(s);
    });

    it('answers 404 for an unknown name, 400 for an impossible one, 415 for another content type', async () => {
      expectProblem(await patch(app, '/schedules/no-such', { priority: 1 }), 404, { code: 'ScheduleNotFound' });
      expectProblem(await patch(app, '/schedules/bad%20name', { priority: 1 }), 400, { field: 'name' });
      const s = await create();
      expectProblem(await patch(app, `/schedules/${s.name}`, undefined, { body: '{"priority":1}', contentType: 'text/plain' }), 415);
    });
  });

  describe('DELETE /schedules/{name}', () => {
    it('deletes (204), then 404; 400 for an impossible name', async () => {
      const s = await create();
      const res = await del(app, `/schedules/${s.name}`);
      expect(res.status).toBe(204);
      expectProblem(await get(app, `/schedules/${s.name}`), 404);
      expectProblem(await del(app, `/schedules/${s.name}`), 404, { code: 'ScheduleNotFound' });
      expectProblem(await del(app, '/schedules/bad%20name'), 400, { field: 'name' });
    });
  });

  describe('POST /schedules/{name}/pause and /resume', () => {
    it('pause clears next_fire_at (idempotently); resume computes it from now', async () => {
      const s = await create({ cron: '*/10 * * * * *' });
      const paused = expectJson(await post(app, `/schedules/${s.name}/pause`), 200);
      expect(paused).toMatchObject({ enabled: false, next_fire_at: null, revision: 2 });
      expect(expectJson(await post(app, `/schedules/${s.name}/pause`), 200)).toMatchObject({ enabled: false, revision: 2 });
      const before = new Date();
      const resumed = expectJson(await post(app, `/schedules/${s.name}/resume`), 200);
      expect(resumed).toMatchObject({ enabled: true, revision: 3 });
      const next = Date.parse(resumed.next_fire_at);
      expect(next).toBeGreaterThan(before.getTime());
      expect(next - before.getTime()).toBeLessThanOrEqual(10_000);
      expect(expectJson(await post(app, `/schedules/${s.name}/resume`), 200)).toEqual(resumed);
    });

    it.each(['pause', 'resume'])('%s: 404 for an unknown name, 400 for an impossible one', async (verb) => {
      expectProblem(await post(app, `/schedules/no-such/${verb}`), 404, { code: 'ScheduleNotFound' });
      expectProblem(await post(app, `/schedules/bad%20name/${verb}`), 400, { field: 'name' });
    });
  });

  describe('POST /schedules/{name}/run', () => {
    it('fires once now (201): a task recording the schedule and the fire time, even when paused', async () => {
      const s = await create({ enabled: false, kwargs: { sha: 'abc' }, namespace: 'runs', options: { max_retries: 0 } });
      const before = Date.now();
      const res = await post(app, `/schedules/${s.name}/run`);
      const body = expectJson(res, 201);
      expect(() => scheduleRunOut.parse(body)).not.toThrow();
      expect(Date.parse(body.fire_at)).toBeGreaterThanOrEqual(before);
      expect(body.task).toMatchObject({
        task: 'bench.sweep',
        namespace: 'runs',
        kwargs: { sha: 'abc' },
        max_retries: 0,
        status: 'scheduled',
        schedule_name: s.name,
        schedule_fire_at: body.fire_at,
      });
      const after = expectJson(await get(app, `/schedules/${s.name}`), 200);
      expect(after).toMatchObject({ enabled: false, next_fire_at: null, last_fired_at: body.fire_at });
    });

    it('404 for an unknown name, 400 for an impossible one', async () => {
      expectProblem(await post(app, '/schedules/no-such/run'), 404, { code: 'ScheduleNotFound' });
      expectProblem(await post(app, '/schedules/bad%20name/run'), 400, { field: 'name' });
    });
  });

  describe('scopes', () => {
    const tokens = [
      { name: 'reader', scope: 'read' as const, secret: 'reader-secret-0123456789' },
      { name: 'submitter', scope: 'submit' as const, secret: 'submitter-secret-0123456789' },
      { name: 'root', scope: 'admin' as const, secret: 'root-secret-0123456789' },
    ];
    let authed: App;
    beforeAll(() => {
      authed = createApp({ database: db(), logger: silentLogger, apiTokens: tokens });
    });

    it('read lists and gets; submit creates, changes, pauses, resumes and runs; only admin deletes', async () => {
      const name = fresh('scoped');
      expectProblem(await get(authed, '/schedules'), 401);
      expectJson(await get(authed, '/schedules', { token: tokens[0]!.secret }), 200);
      expectProblem(await post(authed, '/schedules', { name, cron: yearly, task: 'x' }, { token: tokens[0]!.secret }), 403);
      expectJson(await post(authed, '/schedules', { name, cron: yearly, task: 'x' }, { token: tokens[1]!.secret }), 201);
      expectJson(await get(authed, `/schedules/${name}`, { token: tokens[0]!.secret }), 200);
      for (const verb of ['pause', 'resume', 'run']) {
        expectProblem(await post(authed, `/schedules/${name}/${verb}`, undefined, { token: tokens[0]!.secret }), 403);
        expect((await post(authed, `/schedules/${name}/${verb}`, undefined, { token: tokens[1]!.secret })).status).toBeLessThan(300);
      }
      expectProblem(await patch(authed, `/schedules/${name}`, { priority: 2 }, { token: tokens[0]!.secret }), 403);
      expectJson(await patch(authed, `/schedules/${name}`, { priority: 2 }, { token: tokens[1]!.secret }), 200);
      expectProblem(await del(authed, `/schedules/${name}`, { token: tokens[1]!.secret }), 403);
      expect((await del(authed, `/schedules/${name}`, { token: tokens[2]!.secret })).status).toBe(204);
    });
  });
});
