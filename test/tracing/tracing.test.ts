import { context, propagation, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type App, createApp } from '../../src/api/app.ts';
import { EventixClient } from '../../src/client/client.ts';
import { RemoteWorker } from '../../src/client/remote-worker.ts';
import { silentLogger } from '../../src/logger.ts';
import { getTask, submit } from '../../src/queue/index.ts';
import { defineTask, type TaskDefinition } from '../../src/worker/registry.ts';
import { Worker } from '../../src/worker/worker.ts';
import { expectJson, post } from '../helpers/api.ts';
import { useTestDatabase } from '../helpers/db.ts';
import { waitFor } from '../helpers/wait.ts';

/**
 * OpenTelemetry with a real SDK (the in-memory exporter): one trace from the HTTP request that
 * submitted a task, through the task's stored W3C context, to the claim, the run, the handler's own
 * spans and the completion or failure, over SQL and over HTTP.
 */
const exporter = new InMemorySpanExporter();
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';
const TRACEPARENT = `00-${TRACE_ID}-${CALLER_SPAN}-01`;

const parentOf = (s: ReadableSpan) =>
  (s as unknown as { parentSpanContext?: { spanId: string } }).parentSpanContext?.spanId ??
  (s as unknown as { parentSpanId?: string }).parentSpanId;
const spans = () => exporter.getFinishedSpans();
const named = (name: string, uid?: string) =>
  spans().filter((s) => s.name === name && (uid === undefined || s.attributes['messaging.message.id'] === uid));
const one = (name: string, uid?: string) => {
  const found = named(name, uid);
  expect(found.map((s) => s.name)).toEqual([name]);
  return found[0]!;
};

describe('OpenTelemetry traces', () => {
  const db = useTestDatabase();
  let app: App;
  const workers: { stop(): Promise<void> }[] = [];

  beforeAll(() => {
    trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    app = createApp({ database: db(), logger: silentLogger, longPollIntervalMs: 50 });
  });
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop()));
    exporter.reset();
  });
  afterAll(() => {
    trace.disable();
    context.disable();
    propagation.disable();
  });

  const handlerWork = (name: string, fail = false) =>
    defineTask(name, async () =>
      trace.getTracer('test').startActiveSpan('handler.work', async (span) => {
        span.end();
        if (fail) throw new Error('handler failed on purpose');
        return 42;
      }),
    );

  async function runWorker(def: TaskDefinition, namespace: string) {
    const w = new Worker({
      pool: db().pool,
      tasks: [def],
      namespaces: [namespace],
      logger: silentLogger,
      maintenance: false,
      pollIntervalMs: 50,
    });
    workers.push(w);
    await w.start();
    return w;
  }

  it('POST /tasks with a traceparent: server, submit, claim, run, the handler’s span and complete share one trace', async () => {
    const def = handlerWork('trace.ok');
    const res = await post(app, '/tasks', { task: 'trace.ok', namespace: 'trace-ok' }, { headers: { traceparent: TRACEPARENT } });
    const { task } = expectJson(res, 201);
    // The task carries the submit's context: its trace, and the submit span as parent.
    const stored = await getTask(db().pool, task.uid);
    expect(stored.traceContext?.traceparent).toMatch(new RegExp(`^00-${TRACE_ID}-[0-9a-f]{16}-01$`));

    await runWorker(def, 'trace-ok');
    await waitFor(() => named('eventix.run trace.ok', task.uid).length === 1);

    const server = one('POST /tasks');
    const sub = one('eventix.submit');
    const claim = one('eventix.claim', task.uid);
    const run = one('eventix.run trace.ok', task.uid);
    const work = one('handler.work');
    const complete = one('eventix.complete', task.uid);
    for (const s of [server, sub, claim, run, work, complete]) expect(s.spanContext().traceId, s.name).toBe(TRACE_ID);
    expect(parentOf(server)).toBe(CALLER_SPAN);
    expect(parentOf(sub)).toBe(server.spanContext().spanId);
    expect(stored.traceContext?.traceparent).toContain(sub.spanContext().spanId);
    expect(parentOf(claim)).toBe(sub.spanContext().spanId);
    expect(parentOf(run)).toBe(sub.spanContext().spanId);
    expect(parentOf(work)).toBe(run.spanContext().spanId);
    expect(parentOf(complete)).toBe(run.spanContext().spanId);
    expect(server.attributes).toMatchObject({ 'http.route': '/tasks', 'http.response.status_code': 201 });
    expect(run.attributes).toMatchObject({ 'eventix.task.name': 'trace.ok', 'eventix.task.attempt': 1, 'eventix.task.outcome': 'done' });
    expect(run.status.code).not.toBe(SpanStatusCode.ERROR);
  });

  it('a failed attempt: eventix.fail under the run span, which ends in error with its outcome', async () => {
    const def = handlerWork('trace.fail', true);
    const { task } = await trace.getTracer('test').startActiveSpan('producer', async (span) => {
      try {
        return await submit(db().pool, { task: 'trace.fail', namespace: 'trace-fail', maxRetries: 0 });
      } finally {
        span.end();
      }
    });
    const producer = one('producer');
    await runWorker(def, 'trace-fail');
    await waitFor(() => named('eventix.run trace.fail', task.uid).length === 1);
    const run = one('eventix.run trace.fail', task.uid);
    const failed = one('eventix.fail', task.uid);
    expect(run.spanContext().traceId).toBe(producer.spanContext().traceId);
    expect(parentOf(failed)).toBe(run.spanContext().spanId);
    expect(run.status.code).toBe(SpanStatusCode.ERROR);
    expect(run.attributes['eventix.task.outcome']).toBe('error');
    expect(named('eventix.complete', task.uid)).toHaveLength(0);
  });

  it('a remote worker over HTTP continues the stored trace too', async () => {
    const def = handlerWork('trace.remote');
    const { task } = expectJson(
      await post(app, '/tasks', { task: 'trace.remote', namespace: 'trace-remote' }, { headers: { traceparent: TRACEPARENT } }),
      201,
    );
    const client = new EventixClient({ baseUrl: 'http://eventix.test', fetch: (input, init) => app.request(input, init) });
    const w = new RemoteWorker({ client, tasks: [def], namespace: 'trace-remote', waitSeconds: 1, logger: silentLogger });
    workers.push(w);
    await w.start();
    await waitFor(() => named('eventix.run trace.remote', task.uid).length === 1);
    const sub = one('eventix.submit');
    const run = one('eventix.run trace.remote', task.uid);
    expect(run.spanContext().traceId).toBe(TRACE_ID);
    expect(parentOf(run)).toBe(sub.spanContext().spanId);
    expect(parentOf(one('eventix.claim', task.uid))).toBe(sub.spanContext().spanId);
    expect(parentOf(one('eventix.complete', task.uid))).toBe(run.spanContext().spanId);
  });

  it('EventixClient sends the active context as traceparent: a submit from inside a traced request joins that trace', async () => {
    const client = new EventixClient({ baseUrl: 'http://eventix.test', fetch: (input, init) => app.request(input, init) });
    const { task } = await trace.getTracer('test').startActiveSpan('caller', async (span) => {
      try {
        return await client.submit({ task: 'trace.client', namespace: 'trace-client' });
      } finally {
        span.end();
      }
    });
    const caller = one('caller');
    const server = one('POST /tasks');
    expect(server.spanContext().traceId).toBe(caller.spanContext().traceId);
    expect(parentOf(server)).toBe(caller.spanContext().spanId);
    expect((await getTask(db().pool, task.uid)).traceContext?.traceparent).toContain(caller.spanContext().traceId);
  });

  it('a submit outside any trace starts one: the stored context names its submit span, a root', async () => {
    const { task } = await submit(db().pool, { task: 'trace.root', namespace: 'trace-root' });
    const sub = one('eventix.submit');
    expect(parentOf(sub)).toBeUndefined();
    const { traceId, spanId } = sub.spanContext();
    expect((await getTask(db().pool, task.uid)).traceContext).toEqual({ traceparent: `00-${traceId}-${spanId}-01` });
  });
});
