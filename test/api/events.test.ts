import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { type App, createApp } from '../../src/api/app.ts';
import { eventPageOut, publishResultOut } from '../../src/api/event-schemas.ts';
import type { ApiToken } from '../../src/config.ts';
import { defineTrigger } from '../../src/events/define.ts';
import { createTrigger, type TriggerInput } from '../../src/events/triggers.ts';
import { silentLogger } from '../../src/logger.ts';
import { expectJson, expectProblem, get, type Json, post, send } from '../helpers/api.ts';
import { useTestDatabase } from '../helpers/db.ts';

const secret = (label: string) => `${label}-${randomBytes(18).toString('base64url')}`;
const TOKENS: ApiToken[] = [
  { name: 'reader', scope: 'read', secret: secret('rd') },
  { name: 'ci-bot', scope: 'submit', secret: secret('sb') },
];
const [READ, SUBMIT] = TOKENS.map((t) => t.secret) as [string, string];

describe('events API', () => {
  const db = useTestDatabase();
  const pool = () => db().pool;
  const codeTrigger = defineTrigger('code-notify', 'api.code', (event) => ({ task: 'notify', args: [event.payload.who ?? null] }));
  let app: App;
  let authed: App;
  beforeAll(() => {
    app = createApp({ database: db(), logger: silentLogger, codeTriggers: [codeTrigger] });
    authed = createApp({ database: db(), logger: silentLogger, apiTokens: TOKENS });
  });

  let counter = 0;
  const fresh = (label: string) => `api.${label}.${++counter}`;
  const trigger = (input: Partial<TriggerInput> & Pick<TriggerInput, 'name' | 'eventName'>) =>
    createTrigger(pool(), { template: { task: 'bench.run' }, ...input });
  const count = async (sql: string, params: unknown[]) =>
    (await pool().query<{ n: number }>(`select count(*)::int as n from ${sql}`, params)).rows[0]!.n;

  describe('POST /events', () => {
    it('stores the event and returns it with the task of each trigger fired (201)', async () => {
      const name = fresh('publish');
      await trigger({
        name: `${name}-main`,
        eventName: name,
        filter: { field: '/branch', eq: 'main' },
        template: { task: 'bench.sweep', args: [{ $ptr: '/sha' }], unique_key: 'sweep:{{/sha}}' },
      });
      await trigger({ name: `${name}-tags`, eventName: name, filter: { field: '/ref', prefix: 'refs/tags/' } });
      const body = expectJson(
        await post(app, '/events', { name, namespace: 'bench', priority: 4, operator: 'alice', payload: { branch: 'main', sha: 'abc' } }),
        201,
      );
      expect(() => publishResultOut.parse(body)).not.toThrow();
      expect(body.event).toMatchObject({
        name,
        namespace: 'bench',
        priority: 4,
        operator: 'alice',
        payload: { branch: 'main', sha: 'abc' },
      });
      expect(body.tasks).toHaveLength(1);
      expect(body.tasks[0]).toMatchObject({
        trigger: `${name}-main`,
        created: true,
        task: {
          task: 'bench.sweep',
          namespace: 'bench',
          priority: 4,
          args: ['abc'],
          unique_key: 'sweep:abc',
          operator: 'alice',
          event_uid: body.event.uid,
          trigger_name: `${name}-main`,
        },
      });
      // The same sha again: the waiting task absorbs it.
      const again = expectJson(await post(app, '/events', { name, namespace: 'bench', payload: { branch: 'main', sha: 'abc' } }), 201);
      expect(again.tasks[0]).toMatchObject({ created: false, task: { uid: body.tasks[0].task.uid } });
    });

    it('needs only a name; the payload defaults to {}', async () => {
      const body = expectJson(await post(app, '/events', { name: fresh('minimal') }), 201);
      expect(body.event).toMatchObject({ namespace: 'default', priority: 0, operator: null, payload: {} });
      expect(body.tasks).toEqual([]);
    });

    it('fires code triggers registered with the app (defineTrigger)', async () => {
      const body = expectJson(await post(app, '/events', { name: 'api.code', payload: { who: 'bob' } }), 201);
      expect(body.tasks).toEqual([expect.objectContaining({ trigger: 'code-notify', created: true })]);
      expect(body.tasks[0].task).toMatchObject({ task: 'notify', args: ['bob'], trigger_name: 'code-notify' });
    });

    it('422 when a trigger produces an invalid task, naming the trigger and field; nothing is stored', async () => {
      const name = fresh('atomic');
      await trigger({ name: `${name}-good`, eventName: name, template: { task: 'fine' } });
      await trigger({ name: `${name}-bad`, eventName: name, template: { task: 'x', unique_key: { $ptr: '/n' } } });
      const res = await post(app, '/events', { name, payload: { n: 42 } });
      const p = expectProblem(res, 422, { code: 'TriggerFailed', field: 'unique_key' });
      expect(p.trigger).toBe(`${name}-bad`);
      expect(p.event_name).toBe(name);
      expect(p.type).toBe('urn:eventix:problem:trigger-failed');
      expect(p.title).toBe('Unprocessable Content');
      expect(p.detail).toContain(`${name}-bad`);
      expect(await count('events where name = $1', [name])).toBe(0);
      expect(await count('tasks where trigger_name = $1', [`${name}-good`])).toBe(0);

      // A missing value is named by its template path.
      const missing = fresh('atomic-missing');
      await trigger({ name: `${missing}-t`, eventName: missing, template: { task: 'x', kwargs: { sha: '{{/commit/sha}}' } } });
      const p2 = expectProblem(await post(app, '/events', { name: missing, payload: {} }), 422, {
        field: 'kwargs.sha',
        message: /no value at \/commit\/sha/,
      });
      expect(p2.trigger).toBe(`${missing}-t`);
    });

    it.each([
      ['no name', {}, 'name'],
      ['a bad name', { name: 'has spaces' }, 'name'],
      ['a bad namespace', { name: 'e', namespace: '' }, 'namespace'],
      ['a payload that is a list', { name: 'e', payload: [1, 2] }, 'payload'],
      ['a payload that is a string', { name: 'e', payload: 'x' }, 'payload'],
      ['a fractional priority', { name: 'e', priority: 1.5 }, 'priority'],
      ['a priority out of range', { name: 'e', priority: 40_000 }, 'priority'],
      ['an empty operator', { name: 'e', operator: '' }, 'operator'],
      ['an unknown field', { name: 'e', trigger: 'x' }, '(body)'],
      ['a NUL in the payload', { name: 'e', payload: { a: 'x\u0000y' } }, /^payload/],
      ['a NUL in a payload key', { name: 'e', payload: { 'a\u0000': 1 } }, /^payload/],
      ['a NUL in the operator', { name: 'e', operator: 'a\u0000' }, 'operator'],
    ])('400 for %s', async (_label, body, field) => {
      expectProblem(await post(app, '/events', body), 400, { code: 'ValidationError', field });
    });

    it('400 for a payload nested beyond the limit, without a stack overflow', async () => {
      const deep = `{"name":"e","payload":{"a":${'['.repeat(50_000)}${']'.repeat(50_000)}}}`;
      expectProblem(await send(app, 'POST', '/events', { body: deep }), 400, { field: /^(payload|\(body\))/ });
    });

    it('400 for malformed JSON or no body; 415 for another content type', async () => {
      expectProblem(await send(app, 'POST', '/events', { body: '{"name":' }), 400, { field: '(body)', message: /malformed JSON/ });
      expectProblem(await send(app, 'POST', '/events', { body: '', contentType: 'application/json' }), 400, { field: '(body)' });
      expectProblem(await send(app, 'POST', '/events', { body: 'name=e', contentType: 'application/x-www-form-urlencoded' }), 415);
      expectProblem(await send(app, 'POST', '/events', { body: '{"name":"e"}', contentType: null }), 415);
    });

    it('records the token name as operator when authenticated, whatever the body says', async () => {
      const name = fresh('auth');
      await trigger({ name: `${name}-t`, eventName: name });
      const body = expectJson(await post(authed, '/events', { name, operator: 'mallory' }, { token: SUBMIT }), 201);
      expect(body.event.operator).toBe('ci-bot');
      expect(body.tasks[0].task.operator).toBe('ci-bot');
      expectProblem(await post(authed, '/events', { name }, { token: READ }), 403);
      expectProblem(await post(authed, '/events', { name }), 401);
      expectJson(await get(authed, `/events?name=${name}`, { token: READ }), 200);
    });
  });

  describe('GET /events', () => {
    it('lists newest first, filtered by name and namespace, with keyset pagination', async () => {
      const name = fresh('list');
      const uids: string[] = [];
      for (let i = 0; i < 5; i++) {
        uids.push(expectJson(await post(app, '/events', { name, namespace: i < 2 ? 'a' : 'b', payload: { i } }), 201).event.uid);
      }
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page: Json = expectJson(await get(app, `/events?name=${name}&limit=2${cursor ? `&cursor=${cursor}` : ''}`), 200);
        expect(() => eventPageOut.parse(page)).not.toThrow();
        expect(page.events.length).toBeLessThanOrEqual(2);
        seen.push(...page.events.map((e: Json) => e.uid));
        cursor = page.next_cursor;
      } while (cursor);
      expect(seen).toEqual([...uids].reverse());
      const inA = expectJson(await get(app, `/events?name=${name}&namespace=a`), 200);
      expect(inA.events.map((e: Json) => e.payload.i)).toEqual([1, 0]);
      expect(inA.next_cursor).toBeNull();
    });

    it('since keeps events created at or after the instant', async () => {
      const name = fresh('since');
      const first = expectJson(await post(app, '/events', { name }), 201).event;
      const second = expectJson(await post(app, '/events', { name }), 201).event;
      const page = expectJson(await get(app, `/events?name=${name}&since=${encodeURIComponent(second.created_at)}`), 200);
      expect(page.events.map((e: Json) => e.uid)).toEqual([second.uid]);
      const all = expectJson(await get(app, `/events?name=${name}&since=${encodeURIComponent(first.created_at)}`), 200);
      expect(all.events).toHaveLength(2);
      const future = expectJson(await get(app, `/events?name=${name}&since=2999-01-01T00:00:00Z`), 200);
      expect(future.events).toEqual([]);
    });

    it.each([
      ['limit=0', 'limit'],
      ['limit=501', 'limit'],
      ['limit=ten', 'limit'],
      ['since=yesterday', 'since'],
      ['since=2024-01-01', 'since'],
      ['since=0000-01-01T00:00:00Z', 'since'], // JavaScript has a year 0, PostgreSQL does not
      ['name=has%20space', 'name'],
      ['cursor=garbage', 'cursor'],
      ['cursor=eyJjIjoiMSIsImkiOjF9', 'cursor'], // {"c":"1","i":1}: JavaScript parses "1" as a date, PostgreSQL does not
      ['status=done', '(query)'],
    ])('400 for ?%s', async (query, field) => {
      expectProblem(await get(app, `/events?${query}`), 400, { code: 'ValidationError', field });
    });
  });
});
