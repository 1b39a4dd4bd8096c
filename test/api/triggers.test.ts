import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { type App, createApp } from '../../src/api/app.ts';
import { triggerListOut, triggerOut } from '../../src/api/event-schemas.ts';
import type { ApiToken } from '../../src/config.ts';
import { defineTrigger } from '../../src/events/define.ts';
import { silentLogger } from '../../src/logger.ts';
import { del, expectJson, expectProblem, get, type Json, post, send } from '../helpers/api.ts';
import { useTestDatabase } from '../helpers/db.ts';

const secret = (label: string) => `${label}-${randomBytes(18).toString('base64url')}`;
const TOKENS: ApiToken[] = [
  { name: 'reader', scope: 'read', secret: secret('rd') },
  { name: 'submitter', scope: 'submit', secret: secret('sb') },
  { name: 'root', scope: 'admin', secret: secret('ad') },
];
const [READ, SUBMIT, ADMIN] = TOKENS.map((t) => t.secret) as [string, string, string];

const put = (app: App, path: string, json: unknown, opts = {}) => send(app, 'PUT', path, { ...opts, json });

describe('triggers API', () => {
  const db = useTestDatabase();
  let app: App;
  let authed: App;
  beforeAll(() => {
    const code = defineTrigger('code-owned', 'whatever', () => null);
    app = createApp({ database: db(), logger: silentLogger, codeTriggers: [code] });
    authed = createApp({ database: db(), logger: silentLogger, apiTokens: TOKENS });
  });

  let counter = 0;
  const fresh = (label: string) => `tr-${label}-${++counter}`;
  const body = (name: string, extra: Record<string, unknown> = {}) => ({
    name,
    event_name: 'commit.landed',
    filter: {
      all: [
        { field: '/branch', eq: 'main' },
        { field: '/repo', in: ['a', 'b'] },
      ],
    },
    template: { task: 'bench.sweep', args: [{ $ptr: '/sha' }], unique_key: 'sweep:{{/sha}}' },
    ...extra,
  });

  describe('POST /triggers', () => {
    it('creates a trigger (201) and refuses the same name again (409)', async () => {
      const name = fresh('create');
      const t = expectJson(await post(app, '/triggers', body(name)), 201);
      expect(() => triggerOut.parse(t)).not.toThrow();
      expect(t).toMatchObject({
        name,
        event_name: 'commit.landed',
        namespace: null,
        filter: body(name).filter,
        template: body(name).template,
        enabled: true,
        revision: 1,
      });
      expect(t.created_at).toBe(t.updated_at);
      const p = expectProblem(await post(app, '/triggers', body(name)), 409, { code: 'TriggerExists' });
      expect(p.name).toBe(name);
    });

    it('stores no filter as null, and honours namespace and enabled', async () => {
      const name = fresh('plain');
      const t = expectJson(
        await post(app, '/triggers', { name, event_name: 'e', namespace: 'prod', enabled: false, template: { task: 'x' } }),
        201,
      );
      expect(t).toMatchObject({ filter: null, namespace: 'prod', enabled: false });
    });

    it('409 for the name of a code trigger this process serves', async () => {
      expectProblem(await post(app, '/triggers', body('code-owned')), 409, { code: 'TriggerExists' });
    });

    it.each([
      ['no name', { event_name: 'e', template: { task: 'x' } }, 'name'],
      ['a name with a slash', { name: 'a/b', event_name: 'e', template: { task: 'x' } }, 'name'],
      ['no event_name', { name: 'n', template: { task: 'x' } }, 'event_name'],
      ['no template', { name: 'n', event_name: 'e' }, 'template'],
      ['a template without task', { name: 'n', event_name: 'e', template: { args: [] } }, 'template.task'],
      ['a template with an unknown field', { name: 'n', event_name: 'e', template: { task: 'x', cron: '* * * * *' } }, 'template'],
      ['a bad interpolation', { name: 'n', event_name: 'e', template: { task: 'x', kwargs: { sha: '{{sha}}' } } }, 'template.kwargs.sha'],
      ['a bad $ptr', { name: 'n', event_name: 'e', template: { task: 'x', args: [{ $ptr: 'sha' }] } }, 'template.args.0.$ptr'],
      ['a text priority', { name: 'n', event_name: 'e', template: { task: 'x', priority: 'high' } }, 'template.priority'],
      ['a filter as code', { name: 'n', event_name: 'e', filter: 'branch == "main"', template: { task: 'x' } }, 'filter'],
      [
        'a bad filter deep inside',
        {
          name: 'n',
          event_name: 'e',
          filter: { all: [{ field: '/a', eq: 1 }, { any: [{ field: 'repo', in: ['x'] }] }] },
          template: { task: 'x' },
        },
        'filter.all.1.any.0.field',
      ],
      [
        'a filter with two operators',
        { name: 'n', event_name: 'e', filter: { field: '/a', eq: 1, prefix: 'x' }, template: { task: 'x' } },
        'filter.field',
      ],
      ['an unknown field', { name: 'n', event_name: 'e', template: { task: 'x' }, code: 'return 1' }, '(body)'],
      ['enabled as text', { name: 'n', event_name: 'e', template: { task: 'x' }, enabled: 'yes' }, 'enabled'],
    ])('400 for %s', async (_label, b, field) => {
      expectProblem(await post(app, '/triggers', b), 400, { code: 'ValidationError', field });
    });

    it('400 for a filter nested beyond the limit; 400 for malformed JSON; 415 for another content type', async () => {
      const deep = `{"name":"n","event_name":"e","template":{"task":"x"},"filter":${'{"not":'.repeat(5000)}{"field":"/a","exists":true}${'}'.repeat(5000)}}`;
      expectProblem(await send(app, 'POST', '/triggers', { body: deep }), 400, { field: /^(filter|\(body\))/ });
      expectProblem(await send(app, 'POST', '/triggers', { body: '{' }), 400, { field: '(body)' });
      expectProblem(await send(app, 'POST', '/triggers', { body: JSON.stringify(body('x')), contentType: 'text/plain' }), 415);
    });
  });

  describe('GET /triggers and /triggers/{name}', () => {
    it('lists by name, optionally for one event; gets one; 404 for none', async () => {
      const a = fresh('list-a');
      const b = fresh('list-b');
      expectJson(await post(app, '/triggers', { ...body(b), event_name: 'list.event' }), 201);
      expectJson(await post(app, '/triggers', { ...body(a), event_name: 'list.event' }), 201);
      const list = expectJson(await get(app, '/triggers?event_name=list.event'), 200);
      expect(() => triggerListOut.parse(list)).not.toThrow();
      expect(list.triggers.map((t: Json) => t.name)).toEqual([a, b]);
      expect(expectJson(await get(app, '/triggers'), 200).triggers.length).toBeGreaterThanOrEqual(2);
      expect(expectJson(await get(app, `/triggers/${a}`), 200)).toEqual(list.triggers[0]);
      const p = expectProblem(await get(app, '/triggers/no-such-trigger'), 404, { code: 'TriggerNotFound' });
      expect(p.detail).toContain('no-such-trigger');
    });

    it.each([
      ['/triggers?event=x', '(query)'],
      ['/triggers?event_name=has%20space', 'event_name'],
      ['/triggers/has%20space', 'name'],
    ])('400 for %s', async (path, field) => {
      expectProblem(await get(app, path), 400, { code: 'ValidationError', field });
    });
  });

  describe('PUT /triggers/{name}', () => {
    it('creates (201), then replaces (200) with the revision incremented', async () => {
      const name = fresh('put');
      const { name: _drop, ...withoutName } = body(name);
      const created = expectJson(await put(app, `/triggers/${name}`, withoutName), 201);
      expect(created).toMatchObject({ name, revision: 1 });
      const replaced = expectJson(
        await put(app, `/triggers/${name}`, { name, event_name: 'other', template: { task: 'y' }, enabled: false }),
        200,
      );
      expect(replaced).toMatchObject({ name, event_name: 'other', filter: null, template: { task: 'y' }, enabled: false, revision: 2 });
      expect(replaced.created_at).toBe(created.created_at);
      expect(expectJson(await get(app, `/triggers/${name}`), 200)).toEqual(replaced);
    });

    it('400 when the body names another trigger, or is invalid; 400 for a bad path name; 409 for a code trigger; 415', async () => {
      const name = fresh('put-bad');
      expectProblem(await put(app, `/triggers/${name}`, body('other')), 400, { field: 'name', message: /must equal the name in the path/ });
      expectProblem(await put(app, `/triggers/${name}`, { event_name: 'e' }), 400, { field: 'template' });
      expectProblem(await put(app, `/triggers/${name}`, { event_name: 'e', template: { task: 'x' }, filter: { any: [] } }), 400, {
        field: 'filter.any',
      });
      expectProblem(await put(app, '/triggers/bad%20name', { event_name: 'e', template: { task: 'x' } }), 400, { field: 'name' });
      expectProblem(await put(app, '/triggers/code-owned', { event_name: 'e', template: { task: 'x' } }), 409, { code: 'TriggerExists' });
      expectProblem(await send(app, 'PUT', `/triggers/${name}`, { body: '{}', contentType: 'text/plain' }), 415);
      expectProblem(await get(app, `/triggers/${name}`), 404);
    });
  });

  describe('DELETE /triggers/{name}', () => {
    it('deletes (204), then 404; 400 for a bad name', async () => {
      const name = fresh('del');
      expectJson(await post(app, '/triggers', body(name)), 201);
      const res = await del(app, `/triggers/${name}`);
      expect(res.status).toBe(204);
      expect(res.text).toBe('');
      expectProblem(await del(app, `/triggers/${name}`), 404, { code: 'TriggerNotFound' });
      expectProblem(await del(app, '/triggers/bad%20name'), 400, { field: 'name' });
    });
  });

  it('changing triggers takes the admin scope; reading takes read', async () => {
    const name = fresh('scopes');
    for (const token of [READ, SUBMIT]) {
      expectProblem(await post(authed, '/triggers', body(name), { token }), 403);
      expectProblem(await put(authed, `/triggers/${name}`, body(name), { token }), 403);
      expectProblem(await del(authed, `/triggers/${name}`, { token }), 403);
    }
    expectProblem(await get(authed, '/triggers'), 401);
    expectJson(await post(authed, '/triggers', body(name), { token: ADMIN }), 201);
    expectJson(await get(authed, `/triggers/${name}`, { token: READ }), 200);
    expectJson(await get(authed, '/triggers', { token: SUBMIT }), 200);
    expect((await del(authed, `/triggers/${name}`, { token: ADMIN })).status).toBe(204);
  });

  it('a trigger created through the API fires on POST /events', async () => {
    const name = fresh('e2e');
    expectJson(await post(app, '/triggers', { ...body(name), event_name: 'e2e.commit' }), 201);
    const hit = expectJson(await post(app, '/events', { name: 'e2e.commit', payload: { branch: 'main', repo: 'a', sha: 'cafe' } }), 201);
    expect(hit.tasks).toEqual([expect.objectContaining({ trigger: name, created: true })]);
    expect(hit.tasks[0].task).toMatchObject({ task: 'bench.sweep', args: ['cafe'], unique_key: 'sweep:cafe' });
    const miss = expectJson(await post(app, '/events', { name: 'e2e.commit', payload: { branch: 'main', repo: 'c', sha: 'cafe' } }), 201);
    expect(miss.tasks).toEqual([]);
  });
});
