import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import type { ApiToken } from '../config.ts';

/** The browser's session: which configured token logged in, and when. */
export const SESSION_COOKIE = 'eventix_session';
/** The double-submit CSRF secret: a random value in a cookie, repeated in every form. */
export const CSRF_COOKIE = 'eventix_csrf';
export const CSRF_FIELD = '_csrf';

/** A session lasts a working day; logging in again is cheap, a stolen cookie ages out. */
export const SESSION_MAX_AGE_SECONDS = 12 * 3600;

/**
 * The cookie never holds the token's secret: it holds the token's name and the login time,
 * signed with the secret itself. Every API process holding the same EVENTIX_API_TOKENS can
 * verify it with no shared session store, and removing a token from the configuration ends
 * its sessions at once.
 */
function sign(secret: string, payload: string): Buffer {
  return createHmac('sha256', secret).update(`eventix-session:${payload}`).digest();
}

export function issueSession(token: ApiToken, now = Date.now()): string {
  const payload = Buffer.from(JSON.stringify({ n: token.name, i: Math.floor(now / 1000) })).toString('base64url');
  return `${payload}.${sign(token.secret, payload).toString('base64url')}`;
}

/** The token a session cookie stands for, or undefined when it is forged, expired or revoked. */
export function verifySession(tokens: readonly ApiToken[], cookie: string | undefined, now = Date.now()): ApiToken | undefined {
  if (!cookie) return undefined;
  const [payload, mac, ...rest] = cookie.split('.');
  if (!payload || !mac || rest.length > 0) return undefined;
  let claims: { n?: unknown; i?: unknown };
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof claims?.n !== 'string' || !Number.isSafeInteger(claims.i)) return undefined;
  const age = now / 1000 - (claims.i as number);
  if (age < -60 || age > SESSION_MAX_AGE_SECONDS) return undefined;
  const presented = Buffer.from(mac, 'base64url');
  let found: ApiToken | undefined;
  // Every token of that name is checked, without an early exit, in constant time.
  for (const t of tokens) {
    if (t.name !== claims.n) continue;
    const expected = sign(t.secret, payload);
    if (presented.length === expected.length && timingSafeEqual(presented, expected) && !found) found = t;
  }
  return found;
}

const secure = (c: Context) => new URL(c.req.url).protocol === 'https:';

export function setSessionCookie(c: Context, value: string): void {
  setCookie(c, SESSION_COOKIE, value, {
    httpOnly: true,
    sameSite: 'Strict',
    secure: secure(c),
    path: '/',
    maxAge: SESSION_MAX_AGE_SECONDS,
  });
}

export function clearSessionCookie(c: Context): void {
  setCookie(c, SESSION_COOKIE, '', { httpOnly: true, sameSite: 'Strict', secure: secure(c), path: '/', maxAge: 0 });
}

/**
 * The CSRF value for this browser: the cookie's, or a fresh one set now. A cross-site page can
 * neither read the cookie nor make the browser send it (SameSite=Strict), so it cannot put the
 * matching value in a forged form. Stateless, so it works across many API processes and with
 * or without tokens: the loopback-only open UI needs it as much as the logged-in one.
 */
export function csrfToken(c: Context): string {
  const existing = getCookie(c, CSRF_COOKIE);
  if (existing && /^[A-Za-z0-9_-]{43}$/.test(existing)) return existing;
  const fresh = randomBytes(32).toString('base64url');
  setCookie(c, CSRF_COOKIE, fresh, { httpOnly: true, sameSite: 'Strict', secure: secure(c), path: '/' });
  return fresh;
}

/** Does the form's value match the cookie? Constant time; false when either is missing. */
export function csrfMatches(c: Context, presented: unknown): boolean {
  const cookie = getCookie(c, CSRF_COOKIE);
  if (!cookie || typeof presented !== 'string') return false;
  const a = Buffer.from(cookie);
  const b = Buffer.from(presented);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * A browser always sends Origin on a form POST; when it names another site, refuse whatever the
 * token says. A missing Origin (curl, old clients) leaves the decision to the token.
 */
export function originAllowed(c: Context): boolean {
  const origin = c.req.header('origin');
  if (!origin || origin === 'null') return origin !== 'null';
  const host = c.req.header('host');
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}
