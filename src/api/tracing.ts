import type { MiddlewareHandler } from 'hono';
import { routeOf } from '../metrics/http.ts';
import { contextFromHeaders, endSpan, SpanKind, startSpan, withActiveSpan } from '../tracing.ts';

/**
 * Each request as an OpenTelemetry SERVER span, continuing the caller's trace when it sends a W3C
 * `traceparent` header, and active while the handler runs: a task submitted here stores this
 * context, so its worker's spans join the same trace. Without an SDK the span does not record and
 * the request runs as it would without this middleware.
 */
export function httpTracing(): MiddlewareHandler {
  const middleware: MiddlewareHandler = async (c, next) => {
    const parent = contextFromHeaders(c.req.raw.headers);
    const span = startSpan(`HTTP ${c.req.method}`, SpanKind.SERVER, {}, parent);
    if (!span.isRecording()) {
      await next();
      return;
    }
    span.setAttributes({ 'http.request.method': c.req.method, 'url.path': c.req.path });
    try {
      await withActiveSpan(span, parent, () => next());
    } catch (err) {
      endSpan(span, err);
      throw err;
    }
    const status = c.res.status;
    const route = routeOf(c, middleware, status);
    span.updateName(`${c.req.method} ${route}`);
    span.setAttributes({ 'http.route': route, 'http.response.status_code': status });
    endSpan(span, status >= 500 ? new Error(`HTTP ${status}`) : undefined);
  };
  return middleware;
}
