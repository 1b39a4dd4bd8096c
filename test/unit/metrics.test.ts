import { EventEmitter } from 'node:events';
import { Hono } from 'hono';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { countSubmitted, createEventixMetrics, instrumentWorker } from '../../src/metrics/eventix.ts';
import { httpMetrics, metricsHandler, UNMATCHED_ROUTE } from '../../src/metrics/http.ts';
import type { SubmitResult } from '../../src/queue/submit.ts';
import type { ClaimedTask } from '../../src/queue/task.ts';
import type { WorkerEvents } from '../../src/worker/worker.ts';
import { EVENTIX_METRICS, sample, typeLines } from '../helpers/metrics.ts';

describe('Eventix metrics', () => {
  const task = (namespace: string, uid = 'u') => ({ namespace, uid }) as unknown as ClaimedTask;

  it('declares the standard metrics, in Prometheus format', async () => {
    const m = createEventixMetrics(new Registry());
    const text = await m.registry.metrics();
    for (const [name, type] of EVENTIX_METRICS) {
      expect(typeLines(text, name)).toEqual([`# TYPE ${name} ${type}`]);
      expect(text.split('\n').filter((l) => l.startsWith(`# HELP ${name} `))).toHaveLength(1);
    }
  });

  it('instrumentWorker counts claimed, completed, failed by outcome, and rescued; and unsubscribes', async () => {
    const m = createEventixMetrics(new Registry());
    const worker = new EventEmitter<WorkerEvents>();
    const stop = instrumentWorker(m, worker);
    worker.emit('task:claimed', { task: task('a') });
    worker.emit('task:claimed', { task: task('a') });
    worker.emit('task:claimed', { task: task('b') });
    worker.emit('task:completed', { task: task('a'), result: 1, durationMs: 5 });
    worker.emit('task:failed', { task: task('a'), error: { class: 'Error', message: 'x' }, status: 'retry' });
    worker.emit('task:failed', { task: task('b'), error: { class: 'Error', message: 'x' }, status: 'error' });
    worker.emit('task:failed', { task: task('b'), error: { class: 'TaskCancelled', message: 'x' }, status: 'cancelled' });
    worker.emit('maintenance:rescued', [
      { uid: '1', status: 'retry' },
      { uid: '2', status: 'error' },
    ]);
    worker.emit('maintenance:rescued', []);

    const text = await m.registry.metrics();
    const lines = text.split('\n');
    expect(lines).toContain('eventix_tasks_claimed_total{namespace="a"} 2');
    expect(lines).toContain('eventix_tasks_claimed_total{namespace="b"} 1');
    expect(lines).toContain('eventix_tasks_completed_total{namespace="a"} 1');
    expect(lines).toContain('eventix_tasks_failed_total{namespace="a",outcome="retry"} 1');
    expect(lines).toContain('eventix_tasks_failed_total{namespace="b",outcome="error"} 1');
    expect(lines).toContain('eventix_tasks_failed_total{namespace="b",outcome="cancelled"} 1');
    expect(lines).toContain('eventix_tasks_rescued_total 2');

    stop();
    expect(worker.listenerCount('task:claimed')).toBe(0);
    worker.emit('task:claimed', { task: task('a') });
    expect(sample(await m.registry.metrics(), 'eventix_tasks_claimed_total{namespace="a"}')).toBe(2);
  });

  it('countSubmitted counts created tasks per namespace, not merges', async () => {
    const m = createEventixMetrics(new Registry());
    const result = (namespace: string, created: boolean) => ({ task: { namespace }, created }) as unknown as SubmitResult;
    countSubmitted(m, [result('a', true), result('a', true), result('a', false), result('b', true)]);
    const text = await m.registry.metrics();
    expect(sample(text, 'eventix_tasks_submitted_total{namespace="a"}')).toBe(2);
    expect(sample(text, 'eventix_tasks_submitted_total{namespace="b"}')).toBe(1);
  });

  it('a failed database read leaves the queue gauges empty, counts the error, and the scrape still answers', async () => {
    const errors: Error[] = [];
    const down = {
      query: async () => {
        throw new Error('connection refused');
      },
    };
    const m = createEventixMetrics(new Registry(), { executor: down, onCollectError: (e) => errors.push(e) });
    m.tasksClaimed.inc({ namespace: 'a' });
    const text = await m.registry.metrics();
    expect(text).toContain('eventix_tasks_claimed_total{namespace="a"} 1');
    expect(text).not.toMatch(/^eventix_queue_depth\{/m);
    // Counted in the very scrape whose read failed, not only in the next one.
    expect(text).toContain('eventix_metrics_collect_errors_total 1\n');
    expect(errors.map((e) => e.message)).toEqual(['connection refused']);
    // One read, so one error, per scrape: both gauges share it.
    expect(await m.registry.metrics()).toContain('eventix_metrics_collect_errors_total 2\n');
    expect(errors).toHaveLength(2);
  });
});

describe('HTTP metrics middleware', () => {
  function app() {
    const m = createEventixMetrics(new Registry());
    const a = new Hono();
    a.use('*', httpMetrics(m.httpRequestDuration));
    a.use('/secret/*', async (c, next) => (c.req.header('x-key') ? next() : c.text('no', 401)));
    a.get('/tasks/:uid', (c) => c.json({ uid: c.req.param('uid') }));
    a.get('/secret/thing', (c) => c.text('ok'));
    a.get('/boom', () => {
      throw new Error('boom');
    });
    const sub = new Hono();
    sub.post('/items/:id', (c) => c.body(null, 201));
    a.route('/v1', sub);
    a.get('/metrics', metricsHandler(m.registry));
    a.onError((_err, c) => c.text('internal error', 500));
    return { a, m };
  }

  it('labels requests with the route pattern, the method and the status', async () => {
    const { a, m } = app();
    await a.request('/tasks/0b1c');
    await a.request('/tasks/ffff');
    await a.request('/v1/items/7', { method: 'POST' });
    await a.request('/nothing/here');
    await a.request('/secret/thing');
    await a.request('/secret/thing', { headers: { 'x-key': '1' } });
    await a.request('/secret/nothing', { headers: { 'x-key': '1' } });
    await a.request('/boom');
    await a.request('/tasks/1', { method: 'PROPFIND' });
    const text = await m.registry.metrics();
    const count = (method: string, route: string, status: number) =>
      sample(text, `eventix_http_request_duration_seconds_count{method="${method}",route="${route}",status="${status}"}`);
    expect(count('GET', '/tasks/:uid', 200)).toBe(2);
    expect(count('POST', '/v1/items/:id', 201)).toBe(1);
    expect(count('GET', UNMATCHED_ROUTE, 404)).toBe(2);
    expect(count('GET', '/secret/*', 401)).toBe(1);
    expect(count('GET', '/secret/thing', 200)).toBe(1);
    expect(count('GET', '/boom', 500)).toBe(1);
    expect(count('OTHER', UNMATCHED_ROUTE, 404)).toBe(1);
  });

  it('serves the registry at /metrics with the Prometheus content type', async () => {
    const { a } = app();
    await a.request('/tasks/1');
    const res = await a.request('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const body = await res.text();
    expect(body).toContain('eventix_http_request_duration_seconds_count{method="GET",route="/tasks/:uid",status="200"} 1\n');
    expect(body.endsWith('\n')).toBe(true);
  });
});
