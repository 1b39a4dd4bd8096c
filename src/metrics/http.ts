import type { Context, MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
import type { Histogram, Registry } from 'prom-client';

/** The route label of a request no route matched: raw paths would make label values unbounded. */
export const UNMATCHED_ROUTE = 'unmatched';

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/**
 * Hono middleware timing every request into `histogram` (labels method, route, status). The route
 * label is the pattern of the handler that answered (`/tasks/:uid`, never `/tasks/0b1c…`), or
 * `unmatched` for a 404 from no route; unusual methods are labelled `OTHER`. Mount it first:
 * `app.use('*', httpMetrics(metrics.httpRequestDuration))`.
 */
export function httpMetrics(histogram: Histogram<'method' | 'route' | 'status'>): MiddlewareHandler {
  const middleware: MiddlewareHandler = async (c, next) => {
    const end = histogram.startTimer();
    let status = 500;
    try {
      await next();
      status = c.res.status;
    } finally {
      end({ method: METHODS.has(c.req.method) ? c.req.method : 'OTHER', route: routeOf(c, middleware, status), status });
    }
  };
  return middleware;
}

/**
 * The pattern of the route that answered. A 404 that fell through every matching middleware
 * (this one, or another wildcard `app.use`) to the not-found handler had no route: UNMATCHED_ROUTE.
 */
export function routeOf(c: Context, self: MiddlewareHandler, status: number): string {
  const route = matchedRoutes(c)[c.req.routeIndex];
  if (!route || route.handler === self) return UNMATCHED_ROUTE;
  if (status === 404 && route.method === 'ALL' && route.path.endsWith('*')) return UNMATCHED_ROUTE;
  return route.path;
}

/**
 * A Hono handler serving the registry for Prometheus: `app.get('/metrics', metricsHandler(registry))`.
 * The registry's own content type: the text format 0.0.4 unless it was built for OpenMetrics.
 */
export function metricsHandler(registry: Registry): (c: Context) => Promise<Response> {
  return async (c) => c.body(await registry.metrics(), 200, { 'Content-Type': registry.contentType });
}
