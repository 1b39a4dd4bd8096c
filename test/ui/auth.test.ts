import { beforeAll, describe, expect, it } from 'vitest';
import { type App, createApp } from '../../src/api/app.ts';
import { silentLogger } from '../../src/logger.ts';
import { issueSession, SESSION_MAX_AGE_SECONDS, verifySession } from '../../src/ui/session.ts';
import { useTestDatabase } from '../helpers/db.ts';
import { freshToken, UiSession } from '../helpers/ui.ts';

const READER = freshToken('reader', 'read');
const ROOT = freshToken('root', 'admin');
const TOKENS = [READER, ROOT];

describe('dashboard login, sessions and CSRF', () => {
  const db = useTestDatabase();
  let app: App;
  beforeAll(() => {
    app = createApp({ database: db(), logger: silentLogger, apiTokens: TOKENS });
  });

  it('sends a browser without a session to the login page, keeping where it was going', async () => {
    const res = await app.request('/ui/tasks?status=error', { headers: { accept: 'text/html' } });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`/ui/login?next=${encodeURIComponent('/ui/tasks?status=error')}`);
    // The same for /docs in a browser; an API client still gets a 401 problem.
    const docs = await app.request('/docs', { headers: { accept: 'text/html,application/xhtml+xml' } });
    expect(docs.status).toBe(303);
    const api = await app.request('/tasks');
    expect(api.status).toBe(401);
    expect(api.headers.get('content-type')).toContain('application/problem+json');
  });

  it('logs in with a token, into an HttpOnly SameSite=Strict cookie that holds no secret', async () => {
    const s = new UiSession(app);
    await s.page('/ui/login');
    const res = await s.post('/ui/login', { token: READER.secret, next: '/ui/tasks' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/ui/tasks');
    const cookie = res.headers.getSetCookie().find((l) => l.startsWith('eventix_session='));
    expect(cookie).toBeDefined();
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Strict/i);
    expect(cookie).toMatch(new RegExp(`Max-Age=${SESSION_MAX_AGE_SECONDS}`));
    expect(cookie).not.toContain(READER.secret);
    expect((await s.get('/ui')).status).toBe(200);
    // The session also opens /docs and /openapi.json in the browser (GETs only).
    expect((await s.get('/docs')).status).toBe(200);
    expect((await s.get('/openapi.json', { accept: 'application/json' })).status).toBe(200);
  });

  it('refuses a wrong token, and a login form without its CSRF value', async () => {
    const s = new UiSession(app);
    await s.page('/ui/login');
    const wrong = await s.post('/ui/login', { token: 'not-a-token' });
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).toContain('That token is not valid');
    expect(s.jar).not.toContain('eventix_session');
    const forged = await s.post('/ui/login', { token: ROOT.secret, _csrf: null });
    expect(forged.status).toBe(403);
    expect(s.jar).not.toContain('eventix_session');
  });

  it('never redirects off the site after login', async () => {
    for (const next of ['https://evil.example/', '//evil.example/x', '/\\evil.example']) {
      const s = new UiSession(app);
      await s.page('/ui/login');
      const res = await s.post('/ui/login', { token: READER.secret, next });
      expect(res.headers.get('location')).toBe('/ui');
    }
  });

  it('does not let a session cookie drive the API: API writes need a bearer token', async () => {
    const s = new UiSession(app);
    await s.login(ROOT.secret);
    const res = await app.request('/tasks', {
      method: 'POST',
      body: JSON.stringify({ task: 'x' }),
      headers: { 'content-type': 'application/json', cookie: s.jar },
    });
    expect(res.status).toBe(401);
    const { rows } = await db().pool.query('select count(*)::int as n from tasks');
    expect(rows[0].n).toBe(0);
  });

  it('answers a forged dashboard POST with 403: no CSRF value, a wrong one, or another Origin', async () => {
    const s = new UiSession(app);
    await s.login(ROOT.secret);
    await s.page('/ui');
    expect((await s.post('/ui/logout', { _csrf: null })).status).toBe(403);
    expect((await s.post('/ui/logout', { _csrf: 'x'.repeat(43) })).status).toBe(403);
    expect((await s.post('/ui/logout', {}, { origin: 'https://evil.example' })).status).toBe(403);
    // Still logged in after all three.
    expect((await s.get('/ui')).status).toBe(200);
  });

  it('logs out: the cookie is cleared and the next page asks for a login', async () => {
    const s = new UiSession(app);
    await s.login(READER.secret);
    await s.page('/ui');
    const out = await s.post('/ui/logout', {});
    expect(out.status).toBe(303);
    expect(out.headers.get('location')).toBe('/ui/login');
    expect(out.headers.getSetCookie().some((l) => /^eventix_session=;/.test(l) && /Max-Age=0/i.test(l))).toBe(true);
    expect((await s.get('/ui')).status).toBe(303);
  });

  it('rejects forged, expired and revoked session cookies', () => {
    const now = Date.now();
    const good = issueSession(READER, now);
    expect(verifySession(TOKENS, good, now)?.name).toBe('reader');
    const [payload, mac] = good.split('.') as [string, string];
    const elevated = Buffer.from(JSON.stringify({ n: 'root', i: Math.floor(now / 1000) })).toString('base64url');
    expect(verifySession(TOKENS, `${elevated}.${mac}`, now)).toBeUndefined();
    expect(verifySession(TOKENS, `${payload}.${mac.slice(0, -2)}AA`, now)).toBeUndefined();
    expect(verifySession(TOKENS, good, now + (SESSION_MAX_AGE_SECONDS + 1) * 1000)).toBeUndefined();
    expect(verifySession([ROOT], good, now)).toBeUndefined();
    expect(verifySession(TOKENS, 'garbage', now)).toBeUndefined();
  });

  it('serves assets without a login, cached for a year at their versioned URL', async () => {
    const html = await (await app.request('/ui/login')).text();
    const href = /href="(\/ui\/assets\/app\.css\?v=[0-9a-f]+)"/.exec(html)?.[1];
    expect(href).toBeDefined();
    const res = await app.request(href as string);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(res.headers.get('content-type')).toContain('text/css');
    expect((await app.request('/ui/assets/package.json')).status).toBe(404);
    expect((await app.request('/ui/assets/..%2F..%2Fpackage.json')).status).toBe(404);
  });
});

describe('the open dashboard (no tokens, loopback only)', () => {
  const db = useTestDatabase();

  it('needs no login, still refuses a form without its CSRF value', async () => {
    const app = createApp({ database: db(), logger: silentLogger });
    const s = new UiSession(app);
    expect((await s.get('/ui')).status).toBe(200);
    expect((await s.get('/ui/login')).status).toBe(303);
    await s.page('/ui');
    expect((await s.post('/ui/logout', { _csrf: null })).status).toBe(403);
    expect((await s.post('/ui/logout', {})).status).toBe(303);
  });
});
