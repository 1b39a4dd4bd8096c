import {
  type Attributes,
  type Context,
  context,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import { VERSION } from './version.ts';

/**
 * OpenTelemetry tracing through `@opentelemetry/api` only. Without an SDK registered every call
 * below is the API's no-op (a non-recording span, an empty carrier), so tracing off costs next to
 * nothing; a user who registers an SDK and an exporter gets the spans. One trace runs from the
 * HTTP request that submitted a task to the handler that ran it, on whatever machine: the submit
 * stores the W3C trace context (traceparent, tracestate) with the task, and the worker makes it the
 * parent of the task's claim, run and complete/fail spans.
 */

/** The W3C trace context as stored with a task (tasks.trace_context) and carried in HTTP headers. */
export type TraceCarrier = Record<string, string>;

const tracer = () => trace.getTracer('eventix', VERSION);

export { SpanKind };

/** The active context as a carrier to store with a task, or undefined when nothing is being traced. */
export function currentTraceCarrier(ctx: Context = context.active()): TraceCarrier | undefined {
  if (!trace.getSpanContext(ctx)) return undefined;
  const carrier: TraceCarrier = {};
  propagation.inject(ctx, carrier);
  return carrier.traceparent ? carrier : undefined;
}

/** The context a stored carrier describes; the empty root context when there is none. */
export function contextOf(carrier: TraceCarrier | null | undefined): Context {
  return carrier ? propagation.extract(ROOT_CONTEXT, carrier) : ROOT_CONTEXT;
}

/** Start a span under `parent` (default: the active context). End it with endSpan. */
export function startSpan(name: string, kind: SpanKind, attributes: Attributes, parent: Context = context.active()): Span {
  return tracer().startSpan(name, { kind, attributes }, parent);
}

/** End a span, marking it failed when `err` is given. */
export function endSpan(span: Span, err?: unknown): void {
  if (err !== undefined && span.isRecording()) {
    span.recordException(err instanceof Error ? err : String(err));
    span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
  }
  span.end();
}

/** Run `fn` in a span made active for it, ending it (failed if `fn` throws) when `fn` settles. */
export async function inSpan<T>(
  name: string,
  kind: SpanKind,
  attributes: Attributes,
  fn: (span: Span) => Promise<T>,
  parent?: Context,
): Promise<T> {
  const span = startSpan(name, kind, attributes, parent);
  try {
    const value = await context.with(trace.setSpan(parent ?? context.active(), span), () => fn(span));
    endSpan(span);
    return value;
  } catch (err) {
    endSpan(span, err);
    throw err;
  }
}

/** `parent` with `span` as its active span: the parent of spans made under it. */
export function activeIn(parent: Context, span: Span): Context {
  return trace.setSpan(parent, span);
}

/** Run `fn` with `span` active, so spans a handler makes are its children. */
export function withActiveSpan<T>(span: Span, parent: Context, fn: () => T): T {
  return context.with(trace.setSpan(parent, span), fn);
}

/**
 * The claim of each task, as a span in that task's own trace from when the claim began until now:
 * one claim statement serves many traces, so each gets its own record of it.
 */
export function traceClaims<T>(
  tasks: readonly T[],
  carrierOf: (task: T) => TraceCarrier | null | undefined,
  startedAt: number,
  attributes: (task: T) => Attributes,
): void {
  for (const task of tasks) {
    const carrier = carrierOf(task);
    if (!carrier) continue;
    tracer()
      .startSpan('eventix.claim', { kind: SpanKind.CONSUMER, startTime: startedAt, attributes: attributes(task) }, contextOf(carrier))
      .end();
  }
}

/** Inject the active context into outgoing request headers (the HTTP client). */
export function injectHeaders(headers: Record<string, string>): void {
  propagation.inject(context.active(), headers);
}

/** The context an incoming request carries in its headers (traceparent), else the active one. */
export function contextFromHeaders(headers: Headers): Context {
  return propagation.extract(context.active(), headers, {
    get: (h, key) => h.get(key) ?? undefined,
    keys: (h) => [...h.keys()],
  });
}
