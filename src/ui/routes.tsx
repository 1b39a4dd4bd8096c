import { Hono } from 'hono';
import { findToken } from '../api/auth.ts';
import { uiAction } from './actions.tsx';
import { assetRoutes } from './assets.ts';
import { type UiDeps, type UiEnv, viewerMiddleware } from './context.ts';
import { benchmarkPages } from './pages/benchmarks.tsx';
import { commitPages } from './pages/commits.tsx';
import { eventPages } from './pages/events.tsx';
import { loginPage, safeNext } from './pages/login.tsx';
import { overviewPages } from './pages/overview.tsx';
import { schedulePages } from './pages/schedules.tsx';
import { taskPages } from './pages/tasks.tsx';
import { clearSessionCookie, csrfMatches, issueSession, originAllowed, setSessionCookie } from './session.ts';

/**
 * The dashboard, mounted at /ui by createApp: server-rendered pages, the same process and the
 * same library calls as the API, nothing to build at run time. Authentication happened already
 * (src/api/auth.ts: a bearer token or the session cookie); here every page learns what the
 * viewer may do, and every form is checked for CSRF (src/ui/actions.tsx).
 */
export function uiRoutes(deps: UiDeps) {
  const authEnabled = deps.apiTokens.length > 0;
  const app = new Hono<UiEnv>();
  app.route('/assets', assetRoutes());
  app.use(viewerMiddleware(authEnabled));
  // Pages hold live data and, for a logged-in viewer, what their scope lets them see.
  app.use(async (c, next) => {
    await next();
    if (!c.res.headers.has('cache-control')) c.header('cache-control', 'no-store');
    c.header('x-frame-options', 'DENY');
    c.header('referrer-policy', 'same-origin');
    c.header('x-content-type-options', 'nosniff');
  });

  app.get('/login', (c) => {
    if (!authEnabled) return c.redirect('/ui', 303);
    return c.html(loginPage(c, { next: c.req.query('next') }));
  });
  app.post('/login', async (c) => {
    if (!authEnabled) return c.redirect('/ui', 303);
    const form = await c.req.parseBody();
    const next = typeof form.next === 'string' ? form.next : undefined;
    if (!originAllowed(c) || !csrfMatches(c, form._csrf)) {
      return c.html(loginPage(c, { next, error: 'The login form expired. Try again.' }), 403);
    }
    const token = typeof form.token === 'string' ? findToken(deps.apiTokens, form.token.trim()) : undefined;
    if (!token) return c.html(loginPage(c, { next, error: 'That token is not valid.' }), 401);
    setSessionCookie(c, issueSession(token));
    return c.redirect(safeNext(next), 303);
  });
  app.post(
    '/logout',
    uiAction('read', async (c) => {
      clearSessionCookie(c);
      return c.redirect(authEnabled ? '/ui/login' : '/ui', 303);
    }),
  );

  app.route('/', overviewPages(deps));
  app.route('/tasks', taskPages(deps));
  app.route('/schedules', schedulePages(deps));
  app.route('/events', eventPages(deps));
  app.route('/commits', commitPages(deps));
  app.route('/benchmarks', benchmarkPages(deps));
  return app;
}
