import { randomBytes, randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { type App, createApp } from '../../src/api/app.ts';
import { findToken } from '../../src/api/auth.ts';
import type { ApiToken } from '../../src/config.ts';
import { loadConfig } from '../../src/config.ts';
import { silentLogger } from '../../src/logger.ts';
import { claim, submit } from '../../src/queue/index.ts';
import { type ApiResponse, expectJson, expectProblem, type SendOptions, send } from '../helpers/api.ts';
import { useTestDatabase } from '../helpers/db.ts';

const secret = (label: string) => `${label}-${randomBytes(18).toString('base64url')}`;
const TOKENS: ApiToken[] = [
  { name: 'reader', scope: 'read', secret: secret('rd') },
  { name: 'submitter', scope: 'submit', secret: secret('sb') },
  { name: 'runner', scope: 'worker', secret: secret('wk') },
  { name: 'root', scope: 'admin', secret: secret('ad') },
];
const tokenOf = (name: string) => TOKENS.find((t) => t.name === name)!.secret;
const READ = tokenOf('reader');
const SUBMIT = tokenOf('submitter');
const WORKER = tokenOf('runner');
const ADMIN = tokenOf('root');

describe('authentication and scopes', () => {
  const db = useTestDatabase();
  const pool = () => db().pool;
  let app: App;
  /** Every answer of this file, to look for leaked secrets at the end. */
  const seen: ApiResponse[] = [];
  beforeAll(() => {
    app = createApp({ database: db(), logger: silentLogger, apiTokens: TOKENS });
  });

  async function call(method: string, path: string, opts: SendOptions = {}): Promise<ApiResponse> {
    const res = await send(app, method, path, opts);
    seen.push(res);
    return res;
  }

  let n = 0;
  const freshNs = () => `auth-${++n}`;
  const newTask = async (namespace = freshNs()) => (await submit(pool(), { task: 'job', namespace })).task.uid;

  function expectUnauthorized(res: ApiResponse) {
    expectProblem(res, 401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="eventix"');
    expect(res.body.type).toBe('urn:eventix:problem:unauthorized');
  }

  it('/healthz, /readyz and /version answer without a token (and despite a wrong one)', async () => {
    for (const path of ['/healthz', '/readyz', '/version']) {
      expect((await call('GET', path)).status, path).toBe(200);
      expect((await call('GET', path, { token: 'not-a-real-token-at-all' })).status, path).toBe(200);
    }
  });

  it('every other route without a token: 401 with WWW-Authenticate and a problem body', async () => {
    const uid = randomUUID();
    const routes: [string, string, unknown?][] = [
      ['GET', '/tasks'],
      ['GET', `/tasks/${uid}`],
      ['GET', '/tasks/by-unique-key/default/k'],
      ['POST', '/tasks', { task: 'x' }],
      ['POST', '/tasks/batch', { tasks: [{ task: 'x' }] }],
      ['POST', `/tasks/${uid}/cancel`],
      ['POST', `/tasks/${uid}/reschedule`, {}],
      ['DELETE', `/tasks/${uid}`],
      ['POST', '/workers/claim', { worker_id: 'w', tasks: ['x'] }],
      ['POST', `/tasks/${uid}/heartbeat`, { worker_id: 'w', fencing_token: 1 }],
      ['POST', `/tasks/${uid}/complete`, { worker_id: 'w', fencing_token: 1 }],
      ['POST', `/tasks/${uid}/fail`, { worker_id: 'w', fencing_token: 1, error: { message: 'm' } }],
      ['GET', '/no-such-route'],
    ];
    for (const [method, path, json] of routes) {
      const res = await call(method, path, json === undefined ? {} : { json });
      expectUnauthorized(res);
      expect(res.body.detail).toContain('Authorization: Bearer');
    }
    // And nothing was written by the refused submissions.
    const { rows } = await pool().query<{ n: number }>('select count(*)::int as n from tasks');
    expect(rows[0]!.n).toBe(0);
  });

  it('a wrong or malformed token: 401', async () => {
    for (const authorization of [
      'Bearer wrong-token-wrong-token',
      `Bearer ${READ}x`,
      `Bearer ${READ.slice(0, -1)}`,
      `Bearer ${READ} extra`,
      'Bearer reader',
      `Basic ${Buffer.from(`reader:${READ}`).toString('base64')}`,
      READ,
      'Bearer',
      'Bearer ',
      `Token ${READ}`,
    ]) {
      const res = await call('GET', '/tasks', { authorization });
      expectUnauthorized(res);
    }
    expect((await call('GET', '/tasks', { authorization: `Bearer ${READ}x` })).body.detail).toBe('the bearer token is not valid');
    // The scheme is case-insensitive, as RFC 9110 says.
    expect((await call('GET', '/tasks', { authorization: `bearer ${READ}` })).status).toBe(200);
  });

  it('read: may GET; POST /tasks and everything else is 403 (before any validation)', async () => {
    const uid = await newTask();
    expect((await call('GET', '/tasks', { token: READ })).status).toBe(200);
    expectJson(await call('GET', `/tasks/${uid}`, { token: READ }), 200);
    const forbidden = await call('POST', '/tasks', { token: READ, json: { task: 'x' } });
    const p = expectProblem(forbidden, 403);
    expect(p.type).toBe('urn:eventix:problem:forbidden');
    expect(p.detail).toContain("'reader'");
    expect(p.detail).toContain("'read'");
    // A garbage body does not get a 400: the caller may not call this route at all.
    expectProblem(await call('POST', '/tasks', { token: READ, body: '{"nope', contentType: 'text/plain' }), 403);
    expectProblem(await call('POST', '/tasks/batch', { token: READ, json: { tasks: [{ task: 'x' }] } }), 403);
    expectProblem(await call('POST', `/tasks/${uid}/cancel`, { token: READ }), 403);
    expectProblem(await call('DELETE', `/tasks/${uid}`, { token: READ }), 403);
    expectProblem(await call('POST', '/workers/claim', { token: READ, json: { worker_id: 'w', tasks: ['job'] } }), 403);
    expectProblem(await call('POST', `/tasks/${uid}/heartbeat`, { token: READ, json: { worker_id: 'w', fencing_token: 1 } }), 403);
    expect(expectJson(await call('GET', `/tasks/${uid}`, { token: READ }), 200).status).toBe('scheduled');
  });

  it("submit: POST /tasks works and records the token's name as operator, whatever the body says", async () => {
    const namespace = freshNs();
    const one = expectJson(await call('POST', '/tasks', { token: SUBMIT, json: { task: 'x', namespace, operator: 'mallory' } }), 201);
    expect(one.task.operator).toBe('submitter');
    const batch = expectJson(
      await call('POST', '/tasks/batch', {
        token: SUBMIT,
        json: {
          tasks: [
            { task: 'x', namespace, operator: 'eve' },
            { task: 'y', namespace },
          ],
        },
      }),
      201,
    );
    expect(batch.results.map((r: { task: { operator: string } }) => r.task.operator)).toEqual(['submitter', 'submitter']);
    const { rows } = await pool().query<{ operator: string }>('select distinct operator from tasks where namespace = $1', [namespace]);
    expect(rows).toEqual([{ operator: 'submitter' }]);
    // submit includes read, and may cancel and reschedule.
    expect((await call('GET', `/tasks/${one.task.uid}`, { token: SUBMIT })).status).toBe(200);
    expectJson(await call('POST', `/tasks/${one.task.uid}/cancel`, { token: SUBMIT }), 200);
    expect(expectJson(await call('POST', `/tasks/${one.task.uid}/reschedule`, { token: SUBMIT }), 200).status).toBe('scheduled');
  });

  it('submit: DELETE is 403 and the task stays; claiming is 403', async () => {
    const uid = await newTask();
    expectProblem(await call('DELETE', `/tasks/${uid}`, { token: SUBMIT }), 403);
    expectProblem(await call('POST', '/workers/claim', { token: SUBMIT, json: { worker_id: 'w', tasks: ['job'] } }), 403);
    expect((await call('GET', `/tasks/${uid}`, { token: SUBMIT })).status).toBe(200);
  });

  it('worker: claim, heartbeat and complete work; reading tasks and submitting are 403', async () => {
    const namespace = freshNs();
    const uid = await newTask(namespace);
    const [c] = expectJson(
      await call('POST', '/workers/claim', { token: WORKER, json: { worker_id: 'w1', namespace, tasks: ['job'] } }),
      200,
    ).tasks;
    expect(c.uid).toBe(uid);
    const lease = { worker_id: 'w1', fencing_token: c.fencing_token };
    expectJson(await call('POST', `/tasks/${uid}/heartbeat`, { token: WORKER, json: lease }), 200);
    expectJson(await call('POST', `/tasks/${uid}/complete`, { token: WORKER, json: { ...lease, result: 1 } }), 200);
    expectProblem(await call('GET', '/tasks', { token: WORKER }), 403);
    expectProblem(await call('GET', `/tasks/${uid}`, { token: WORKER }), 403);
    expectProblem(await call('POST', '/tasks', { token: WORKER, json: { task: 'x' } }), 403);
    expectProblem(await call('DELETE', `/tasks/${uid}`, { token: WORKER }), 403);
  });

  it('worker: fail works under the worker token', async () => {
    const namespace = freshNs();
    const uid = await newTask(namespace);
    const [c] = await claim(pool(), { workerId: 'w2', namespaces: [namespace], tasks: ['job'], limit: 1, leaseSeconds: 30 });
    const res = await call('POST', `/tasks/${uid}/fail`, {
      token: WORKER,
      json: { worker_id: 'w2', fencing_token: c!.fencingToken, error: { message: 'x' }, retry: false },
    });
    expect(expectJson(res, 200).status).toBe('error');
  });

  it('admin: DELETE works, and so does everything else', async () => {
    const uid = await newTask();
    const res = await call('DELETE', `/tasks/${uid}`, { token: ADMIN });
    expect(res.status).toBe(204);
    expectProblem(await call('GET', `/tasks/${uid}`, { token: ADMIN }), 404);
    const namespace = freshNs();
    const created = expectJson(await call('POST', '/tasks', { token: ADMIN, json: { task: 'job', namespace, operator: 'x' } }), 201);
    expect(created.task.operator).toBe('root');
    expect(
      expectJson(await call('POST', '/workers/claim', { token: ADMIN, json: { worker_id: 'a', namespace, tasks: ['job'] } }), 200).tasks,
    ).toHaveLength(1);
  });

  it('findToken: the matching token, else undefined', () => {
    for (const t of TOKENS) expect(findToken(TOKENS, t.secret)).toBe(t);
    for (const wrong of ['', 'reader', 'read', `${READ}x`, READ.slice(0, -1), READ.toUpperCase(), ` ${READ}`, `${SUBMIT}${READ}`]) {
      expect(findToken(TOKENS, wrong), JSON.stringify(wrong)).toBeUndefined();
    }
    expect(findToken([], READ)).toBeUndefined();
    // Secrets of every length compare (they are hashed first), including very long ones.
    const long: ApiToken = { name: 'long', scope: 'read', secret: 'L'.repeat(10_000) };
    expect(findToken([...TOKENS, long], 'L'.repeat(10_000))).toBe(long);
    expect(findToken([...TOKENS, long], 'L'.repeat(9_999))).toBeUndefined();
    // Tokens parsed from EVENTIX_API_TOKENS (name:scope:secret) work the same way; ':' may appear in a secret.
    const parsed = loadConfig({ EVENTIX_API_TOKENS: 'ci:submit:abc:def:0123456789abcdef, ops:admin:zzzzzzzzzzzzzzzzzz' }).http.apiTokens;
    expect(findToken(parsed, 'abc:def:0123456789abcdef')).toEqual({ name: 'ci', scope: 'submit', secret: 'abc:def:0123456789abcdef' });
    expect(findToken(parsed, 'zzzzzzzzzzzzzzzzzz')?.name).toBe('ops');
    expect(findToken(parsed, 'ci')).toBeUndefined();
  });

  it('no answer of this file contains a token secret', async () => {
    // Secrets travel only in Authorization headers here (the API may echo a body or a path back,
    // but never a token): near misses, the right token for the wrong scope, errors after auth.
    await call('GET', '/nope', { token: `${SUBMIT}x` });
    await call('GET', '/nope', { token: ADMIN });
    await call('POST', '/tasks', { token: SUBMIT, json: { task: 'x', bogus: 1 } });
    await call('POST', '/tasks', { token: READ, json: { task: 'x' } });
    await call('POST', '/workers/claim', { token: WORKER, body: '{', contentType: 'application/json' });
    await call('GET', `/tasks/${randomUUID()}`, { token: ADMIN });
    expect(seen.length).toBeGreaterThan(50);
    for (const res of seen) {
      const headers = [...res.headers].map(([k, v]) => `${k}: ${v}`).join('\n');
      for (const t of TOKENS) {
        expect(res.text.includes(t.secret), `${t.name}'s secret in a body: ${res.text.slice(0, 200)}`).toBe(false);
        expect(headers.includes(t.secret), `${t.name}'s secret in headers`).toBe(false);
      }
    }
  });
});
