import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import { getCookie } from 'hono/cookie';
import type { ApiScope, ApiToken } from '../config.ts';
import { SESSION_COOKIE, verifySession } from '../ui/session.ts';
import { HttpProblem } from './errors.ts';

export type AppEnv = { Variables: { principal: ApiToken | undefined } };

/** What each scope may do. `submit` includes `read`; `admin` everything; `worker` only worker calls. */
const GRANTS: Record<ApiScope, readonly ApiScope[]> = {
  read: ['read'],
  submit: ['read', 'submit'],
  worker: ['worker'],
  admin: ['read', 'submit', 'worker', 'admin'],
};

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * Compare the presented token with every configured one in constant time: hashing first gives
 * equal-length inputs to timingSafeEqual, and the loop never exits early, so neither the length
 * nor the position of a match leaks through timing.
 */
export function findToken(tokens: readonly ApiToken[], presented: string): ApiToken | undefined {
  const p = digest(presented);
  let found: ApiToken | undefined;
  for (const t of tokens) {
    if (timingSafeEqual(digest(t.secret), p) && !found) found = t;
  }
  return found;
}

/** Is this a dashboard path? Those answer a missing login with the login page, not a 401. */
export const isUiPath = (path: string) => path === '/ui' || path.startsWith('/ui/');

/** Dashboard paths anyone may load: the login form itself and the static assets it needs. */
const isUiPublic = (path: string) => path === '/ui/login' || path.startsWith('/ui/assets/');

/**
 * A bearer token, or a browser's session cookie (see src/ui/session.ts). The cookie counts only
 * for reads anywhere and for the dashboard's own forms, which check a CSRF token: an API POST
 * must present a bearer token, so no cross-site form can drive the API with a browser's cookie.
 */
export function authenticate({
  tokens,
  isPublic,
}: {
  tokens: readonly ApiToken[];
  /** Paths anyone may call: those declared `scope: 'public'` (the probes and the version, which load balancers need without secrets). */
  isPublic: (path: string) => boolean;
}): MiddlewareHandler<AppEnv> {
  return async function authenticateRequest(c, next) {
    c.set('principal', undefined);
    const path = c.req.path;
    if (tokens.length === 0 || isPublic(path)) return next();
    const header = c.req.header('authorization') ?? '';
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    let token = m ? findToken(tokens, m[1] as string) : undefined;
    if (!token && !m) {
      const read = c.req.method === 'GET' || c.req.method === 'HEAD';
      if (read || isUiPath(path)) token = verifySession(tokens, getCookie(c, SESSION_COOKIE));
    }
    if (!token && isUiPublic(path)) return next();
    if (!token && !m && (isUiPath(path) || (c.req.method === 'GET' && wantsHtml(c)))) {
      return c.redirect(`/ui/login?next=${encodeURIComponent(path + new URL(c.req.url).search)}`, 303);
    }
    // Refusals are thrown: app.onError turns them into the problem answer, like every other error.
    if (!token) {
      throw new HttpProblem('Unauthorized', m ? 'the bearer token is not valid' : 'send Authorization: Bearer <token>', {
        headers: { 'WWW-Authenticate': 'Bearer realm="eventix"' },
      });
    }
    c.set('principal', token);
    return next();
  };
}

/** A browser navigating (Accept: text/html first), not a client asking for JSON. */
const wantsHtml = (c: Context) => (c.req.header('accept') ?? '').startsWith('text/html');

/** Does this principal's scope grant `scope`? No principal (no tokens configured) grants everything. */
export function grants(principal: ApiToken | undefined, scope: ApiScope): boolean {
  return !principal || GRANTS[principal.scope].includes(scope);
}

/** Guard a route: with tokens configured, the caller's scope must grant `scope`. */
export function requireScope(scope: ApiScope): MiddlewareHandler<AppEnv> {
  return async function requireScopeMiddleware(c, next) {
    const principal = c.get('principal');
    if (principal && !grants(principal, scope)) {
      throw new HttpProblem('Forbidden', `token '${principal.name}' has scope '${principal.scope}', which does not grant '${scope}'`);
    }
    return next();
  };
}

/** The operator recorded on submitted tasks: the token's name when authenticated. */
export function operatorOf(c: Context<AppEnv>, fromBody: string | null | undefined): string | null {
  return c.get('principal')?.name ?? fromBody ?? null;
}
