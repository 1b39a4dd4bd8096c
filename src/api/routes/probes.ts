import type { Hono } from 'hono';
import type { Database } from '../../db/client.ts';
import { schemaStatus } from '../../db/migrate.ts';
import { coerceError, type Logger } from '../../logger.ts';
import { VERSION } from '../../version.ts';
import type { AppEnv } from '../auth.ts';
import { route } from '../route.ts';

/** Liveness, readiness and the version: public, so load balancers need no secret (auth.ts lets `scope: 'public'` declarations through). */
export function probeRoutes(app: Hono<AppEnv>, deps: { database: Database; logger: Logger }): void {
  route(app, { method: 'get', path: '/healthz', summary: 'Liveness: the process answers', scope: 'public', ok: { status: 200 } }, (c) =>
    c.json({ status: 'ok' }),
  );

  route(
    app,
    {
      method: 'get',
      path: '/readyz',
      summary: 'Readiness: the database answers and migrations are applied',
      scope: 'public',
      ok: { status: 200 },
      also: [{ status: 503, description: 'Not ready' }],
    },
    async (c) => {
      try {
        const status = await schemaStatus(deps.database.pool);
        return c.json({ status: status.ok ? 'ready' : 'not_ready', database: 'ok', schema: status.detail }, status.ok ? 200 : 503);
      } catch (err) {
        deps.logger.warn({ err: coerceError(err) }, 'readiness check failed');
        return c.json({ status: 'not_ready', database: 'unreachable' }, 503);
      }
    },
  );

  route(app, { method: 'get', path: '/version', summary: 'Server version', scope: 'public', ok: { status: 200 } }, (c) =>
    c.json({ name: 'eventix', version: VERSION }),
  );
}
