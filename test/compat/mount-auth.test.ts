import { randomBytes, randomUUID } from 'node:crypto';
import { Validator } from '@seriousme/openapi-schema-validator';
import { describe, expect, it } from 'vitest';
import { type App, createApp } from '../../src/api/app.ts';
import { type ApiToken, ConfigError, loadConfig } from '../../src/config.ts';
import { silentLogger } from '../../src/logger.ts';
import { getTask } from '../../src/queue/get.ts';
import { issueSession, SESSION_COOKIE } from '../../src/ui/session.ts';
import { expectJson, expectProblem, get, type Json, post, send } from '../helpers/api.ts';
import { useTestDatabase } from '../helpers/db.ts';
import { done, expectPyError, P, put, pyTask } from './helpers.ts';

const secret = (label: string) => `${label}-${randomBytes(18).toString('base64url')}`;
const TOKENS: ApiToken[] = [
  { name: 'reader', scope: 'read', secret: secret('rd') },
  { name: 'submitter', scope: 'submit', secret: secret('sb') },
  { name: 'runner', scope: 'worker', secret: secret('wk') },
  { name: 'root', scope: 'admin', secret: secret('ad') },
];
const token = (name: string) => (TOKENS.find((t) => t.name === name) as ApiToken).secret;
const [READ, SUBMIT, WORKER, ADMIN] = ['reader', 'submitter', 'runner', 'root'].map(token) as [string, string, string, string];

describe('the compatible API’s scopes', () => {
  const db = useTestDatabase();
  const app = () => createApp({ database: db(), logger: silentLogger, apiTokens: TOKENS });
  const ns = () => `a${randomUUID().slice(0, 8)}`;

  it('takes the scopes of our equivalent routes: submit, read, worker, admin', async () => {
    const a = app();
    const namespace = ns();
    expectProblem(await post(a, `${P}/task`, pyTask({ namespace })), 401);
    // The Python client's ping(): public, like our /healthz.
    expect(expectJson(await get(a, `${P}/healthz`), 200)).toEqual({ status: 'ok' });
    expectProblem(await post(a, `${P}/task`, pyTask({ namespace }), { token: READ }), 403);
    const t = expectJson(await post(a, `${P}/task`, pyTask({ namespace, operator: 'claimed-in-body' }), { token: SUBMIT }), 200);
    // Authenticated: the token's name is the operator, as for every submission.
    expect(t.operator).toBe('submitter');
    expectJson(await get(a, `${P}/task/${t.uid}`, { token: READ }), 200);
    expectProblem(await get(a, `${P}/task/${t.uid}`, { token: WORKER }), 403);
    expectJson(await put(a, `${P}/tasks/by_status`, { namespace }, { token: READ }), 200);

    const claimPath = `${P}/tasks/next_scheduled?worker_id=py&namespace=${namespace}`;
    expectProblem(await get(a, claimPath, { token: SUBMIT }), 403);
    const claimed = expectJson(await get(a, claimPath, { token: WORKER }), 200);
    expectProblem(await put(a, `${P}/task/${t.uid}`, done(claimed, 1), { token: SUBMIT }), 403);
    expectJson(await put(a, `${P}/task/${t.uid}`, done(claimed, 1), { token: WORKER }), 200);

    expectProblem(await send(a, 'DELETE', `${P}/task/${t.uid}`, { token: SUBMIT }), 403);
    expectJson(await send(a, 'DELETE', `${P}/task/${t.uid}`, { token: ADMIN }), 200);
    expectProblem(await post(a, `${P}/event`, { name: 'py.e' }, { token: READ }), 403);
    expectJson(await post(a, `${P}/event`, { name: 'py.e' }, { token: SUBMIT }), 200);
  });

  it('an edit of a waiting task needs admin (worker and submit); a worker token gets 403', async () => {
    const a = app();
    const t = expectJson(await post(a, `${P}/task`, pyTask({ namespace: ns() }), { token: SUBMIT }), 200);
    const byWorker = await put(a, `${P}/task/${t.uid}`, { ...t, priority: -1 }, { token: WORKER });
    expect(expectProblem(byWorker, 403).detail).toContain("only 'admin' grants");
    expect(expectJson(await put(a, `${P}/task/${t.uid}`, { ...t, priority: -1 }, { token: ADMIN }), 200).priority).toBe(-1);
  });

  it('a GET that changes a task needs a bearer token: a dashboard session alone is refused', async () => {
    const a = app();
    const namespace = ns();
    const t = expectJson(await post(a, `${P}/task`, pyTask({ namespace }), { token: SUBMIT }), 200);
    const cookie = `${SESSION_COOKIE}=${issueSession(TOKENS[3] as ApiToken)}`;
    // A read works on the session (as for the rest of the API) …
    expectJson(await get(a, `${P}/task/${t.uid}`, { headers: { cookie } }), 200);
    // … a claim or a reschedule by GET does not: a cross-site GET must not change anything.
    expectProblem(await get(a, `${P}/tasks/next_scheduled?worker_id=x&namespace=${namespace}`, { headers: { cookie } }), 403);
    expectProblem(await get(a, `${P}/task/${t.uid}/reschedule`, { headers: { cookie } }), 403);
    expect((await getTask(db().pool, t.uid)).status).toBe('scheduled');
  });
});

describe('mounting at the root (EVENTIX_COMPAT_ROOT)', () => {
  const db = useTestDatabase();
  const ns = () => `r${randomUUID().slice(0, 8)}`;
  const rootApp = (): App => createApp({ database: db(), logger: silentLogger, compat: { root: true } });

  it('is read from EVENTIX_COMPAT_ROOT: false by default, a boolean', () => {
    expect(loadConfig({}).compat).toEqual({ root: false });
    expect(loadConfig({ EVENTIX_COMPAT_ROOT: 'true' }).compat).toEqual({ root: true });
    expect(loadConfig({ EVENTIX_COMPAT_ROOT: 'off' }).compat).toEqual({ root: false });
    expect(() => loadConfig({ EVENTIX_COMPAT_ROOT: 'maybe' })).toThrow(ConfigError);
  });

  it('off: the Python paths are not ours at the root', async () => {
    const a = createApp({ database: db(), logger: silentLogger });
    expectProblem(await post(a, '/task', pyTask()), 404);
    // /tasks/next_scheduled is our GET /tasks/{uid}, which wants a UUID.
    expectProblem(await get(a, '/tasks/next_scheduled?worker_id=w&namespace=x'), 400, { field: 'uid' });
    expectProblem(await send(a, 'PUT', '/tasks/by_status', { json: {} }), 404);
    expectJson(await post(a, `${P}/task`, pyTask()), 200);
  });

  it('on: the Python routes answer at / without shadowing ours, and the prefix still works', async () => {
    const a = rootApp();
    const namespace = ns();
    const py = expectJson(await post(a, '/task', pyTask({ namespace, priority: -2 })), 200);
    expect(expectJson(await get(a, `/task/${py.uid}`), 200).priority).toBe(-2);
    expect(expectJson(await get(a, `${P}/task/${py.uid}`), 200).uid).toBe(py.uid);
    // Ours, beside them: the same task in our format, and our routes under /tasks.
    expect(expectJson(await get(a, `/tasks/${py.uid}`), 200)).toMatchObject({ uid: py.uid, priority: 2, status: 'scheduled' });
    expect(expectJson(await get(a, `/tasks?namespace=${namespace}`), 200).tasks).toHaveLength(1);
    const ours = expectJson(await post(a, '/tasks', { task: 'native.job', namespace, priority: 1 }), 201);
    expectProblem(await get(a, '/tasks/not-a-uuid'), 400, { field: 'uid' });

    // The two Python paths our GET /tasks/{uid} could take for a uid: found first, as registered first.
    const page = expectJson(await send(a, 'PUT', '/tasks/by_status', { json: { status: 'scheduled', namespace } }), 200);
    expect(page.max_results).toBe(2);
    const first = expectJson(await get(a, `/tasks/next_scheduled?worker_id=w&namespace=${namespace}`), 200);
    expect(first.uid).toBe(py.uid);
    const second = expectJson(await get(a, `/tasks/next_scheduled?worker_id=w&namespace=${namespace}`), 200);
    expect(second.uid).toBe(ours.task.uid);
    expect((await get(a, `/tasks/next_scheduled?worker_id=w&namespace=${namespace}`)).status).toBe(204);
    expectJson(await send(a, 'PUT', `/task/${first.uid}`, { json: done(first, 'ok') }), 200);
    // A claim the Python way is one of ours: processing, under the worker's lease.
    const held = await getTask(db().pool, second.uid);
    expect(held).toMatchObject({ status: 'processing', workerId: 'w', leaseSeconds: 300 });
    expect(expectJson(await post(a, '/event', { name: 'py.root' }), 200)).toEqual([]);
    // Errors: Python's shape on its paths, ours on ours.
    expectPyError(await get(a, `/task/${randomUUID()}`), 404, 'NotFound');
    expectProblem(await get(a, `/tasks/${randomUUID()}`), 404, { code: 'TaskNotFound' });
  });

  it('documents both mounts, each route once, and serves only documented routes', async () => {
    const a = rootApp();
    const doc = (await (await a.request('/openapi.json')).json()) as { paths: Record<string, Record<string, Json>> };
    for (const path of ['/task', '/task/{uid}', '/tasks/next_scheduled', '/tasks/by_status', '/event', `${P}/task/{uid}`]) {
      expect(doc.paths[path], path).toBeDefined();
      for (const op of Object.values(doc.paths[path] ?? {})) expect(op.tags).toEqual(['Compat']);
    }
    expect(doc.paths['/tasks/next_scheduled']?.get['x-eventix-writes']).toBe(true);
    expect(doc.paths['/task/{uid}/reschedule']?.get['x-eventix-writes']).toBe(true);
    expect(doc.paths['/task/{uid}']?.get['x-eventix-writes']).toBeUndefined();
    const valid = await new Validator().validate(doc as never);
    expect(valid.errors ?? [], JSON.stringify(valid.errors)).toEqual([]);
    const documented = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`));
    const served = a.routes
      .filter(
        (r) =>
          r.method !== 'ALL' && !r.path.startsWith('/docs') && r.path !== '/openapi.json' && !/^\/ui(\/|$)/.test(r.path) && r.path !== '/',
      )
      .map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, '{$1}')}`);
    // (Each route is listed twice in app.routes: its scope check and its handler.)
    expect([...new Set(served)].sort()).toEqual([...documented].sort());
    expect(new Set(documented).size).toBe(documented.length);
  });
});
