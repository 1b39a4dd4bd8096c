import { EventEmitter } from 'node:events';
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { countSubmitted, createEventixMetrics, instrumentWorker } from '../../src/metrics/eventix.ts';
import { httpMetrics, metricsHandler, UNMATCHED_ROUTE } from '../../src/metrics/http.ts';
import { type Counter, DEFAULT_BUCKETS, escapeLabelValue, PROMETHEUS_CONTENT_TYPE, Registry } from '../../src/metrics/registry.ts';
import type { SubmitResult } from '../../src/queue/submit.ts';
import type { ClaimedTask } from '../../src/queue/task.ts';
import type { WorkerEvents } from '../../src/worker/worker.ts';

describe('metrics registry', () => {
  it('renders a counter with several label sets, HELP and TYPE once', async () => {
    const r = new Registry();
    const c = r.counter({ name: 'jobs_total', help: 'Jobs done.', labelNames: ['queue', 'kind'] });
    c.inc({ queue: 'a', kind: 'x' });
    c.inc({ queue: 'b', kind: 'x' }, 2.5);
    c.inc({ kind: 'x', queue: 'a' }, 3);
    expect(await r.render()).toBe(
      [
        '# HELP jobs_total Jobs done.',
        '# TYPE jobs_total counter',
        'jobs_total{queue="a",kind="x"} 4',
        'jobs_total{queue="b",kind="x"} 2.5',
        '',
      ].join('\n'),
    );
    expect(c.get({ queue: 'a', kind: 'x' })).toBe(4);
    expect(c.get({ queue: 'never', kind: 'x' })).toBe(0);
  });

  it('renders metrics without labels, and declared-but-empty metrics with HELP and TYPE only', async () => {
    const r = new Registry();
    r.counter({ name: 'a_total', help: 'A.' }).inc();
    r.gauge({ name: 'b', help: 'B.', labelNames: ['x'] });
    r.gauge({ name: 'c', help: 'C.' }).set(-1.25);
    expect(await r.render()).toBe(
      [
        '# HELP a_total A.',
        '# TYPE a_total counter',
        'a_total 1',
        '# HELP b B.',
        '# TYPE b gauge',
        '# HELP c C.',
        '# TYPE c gauge',
        'c -1.25',
        '',
      ].join('\n'),
    );
  });

  it('escapes backslash, double quote and newline in label values, and backslash and newline in HELP', async () => {
    const r = new Registry();
    const g = r.gauge({ name: 'esc', help: 'Line one\nback\\slash "quoted"', labelNames: ['v'] });
    g.set({ v: 'a\\b"c"\nd' }, 1);
    g.set({ v: 'C:\\path\\' }, 2);
    expect(await r.render()).toBe(
      [
        '# HELP esc Line one\\nback\\\\slash "quoted"',
        '# TYPE esc gauge',
        'esc{v="a\\\\b\\"c\\"\\nd"} 1',
        'esc{v="C:\\\\path\\\\"} 2',
        '',
      ].join('\n'),
    );
    expect(escapeLabelValue('\\"\n')).toBe('\\\\\\"\\n');
  });

  it('renders special values as Prometheus reads them', async () => {
    const r = new Registry();
    const g = r.gauge({ name: 'g', help: 'G.', labelNames: ['k'] });
    g.set({ k: 'inf' }, Number.POSITIVE_INFINITY);
    g.set({ k: 'ninf' }, Number.NEGATIVE_INFINITY);
    g.set({ k: 'big' }, 1e21);
    g.set({ k: 'small' }, 1e-7);
    expect((await r.render()).split('\n').slice(2, 6)).toEqual([
      'g{k="inf"} +Inf',
      'g{k="ninf"} -Inf',
      'g{k="big"} 1e+21',
      'g{k="small"} 1e-7',
    ]);
  });

  it('renders a histogram with cumulative buckets, +Inf, _sum and _count per label set', async () => {
    const r = new Registry();
    const h = r.histogram({ name: 'lat_seconds', help: 'Latency.', labelNames: ['route'], buckets: [0.1, 0.5, 1] });
    for (const v of [0.05, 0.1, 0.3, 0.7, 2]) h.observe({ route: '/a' }, v);
    h.observe({ route: '/b"' }, 0.5);
    expect(await r.render()).toBe(
      [
        '# HELP lat_seconds Latency.',
        '# TYPE lat_seconds histogram',
        // 0.1 is counted in le="0.1" (less or equal); every bucket includes the ones below it.
        'lat_seconds_bucket{route="/a",le="0.1"} 2',
        'lat_seconds_bucket{route="/a",le="0.5"} 3',
        'lat_seconds_bucket{route="/a",le="1"} 4',
        'lat_seconds_bucket{route="/a",le="+Inf"} 5',
        'lat_seconds_sum{route="/a"} 3.15',
        'lat_seconds_count{route="/a"} 5',
        'lat_seconds_bucket{route="/b\\"",le="0.1"} 0',
        'lat_seconds_bucket{route="/b\\"",le="0.5"} 1',
        'lat_seconds_bucket{route="/b\\"",le="1"} 1',
        'lat_seconds_bucket{route="/b\\"",le="+Inf"} 1',
        'lat_seconds_sum{route="/b\\""} 0.5',
        'lat_seconds_count{route="/b\\""} 1',
        '',
      ].join('\n'),
    );
    expect(h.get({ route: '/a' })).toEqual({ buckets: [2, 3, 4], sum: 3.15, count: 5 });
  });

  it('uses the default HTTP buckets, from 5 ms to 10 s', async () => {
    const r = new Registry();
    const h = r.histogram({ name: 'd_seconds', help: 'D.' });
    h.observe(0.007);
    expect(h.buckets).toEqual(DEFAULT_BUCKETS);
    expect(DEFAULT_BUCKETS[0]).toBe(0.005);
    expect(DEFAULT_BUCKETS.at(-1)).toBe(10);
    const lines = (await r.render()).split('\n').filter((l) => l.startsWith('d_seconds_bucket'));
    expect(lines).toHaveLength(DEFAULT_BUCKETS.length + 1);
    expect(lines[0]).toBe('d_seconds_bucket{le="0.005"} 0');
    expect(lines[1]).toBe('d_seconds_bucket{le="0.01"} 1');
    expect(lines.at(-1)).toBe('d_seconds_bucket{le="+Inf"} 1');
  });

  it('times with startTimer, taking labels at the start and the end', async () => {
    const r = new Registry();
    const h = r.histogram({ name: 't_seconds', help: 'T.', labelNames: ['method', 'status'] });
    const end = h.startTimer({ method: 'GET' });
    const seconds = end({ status: 200 });
    expect(seconds).toBeGreaterThanOrEqual(0);
    expect(h.get({ method: 'GET', status: '200' })).toMatchObject({ count: 1, sum: seconds });
  });

  it('rejects bad names, labels, values and buckets', () => {
    const r = new Registry();
    expect(() => r.counter({ name: 'bad-name', help: '' })).toThrow(/invalid metric name/);
    expect(() => r.counter({ name: 'ok', help: '', labelNames: ['__x'] })).toThrow(/invalid label name/);
    expect(() => r.histogram({ name: 'h', help: '', labelNames: ['le'] })).toThrow(/reserved/);
    expect(() => r.histogram({ name: 'h2', help: '', buckets: [1, 1] })).toThrow(/increase/);
    const c = r.counter({ name: 'c_total', help: '', labelNames: ['a'] });
    expect(() => r.counter({ name: 'c_total', help: '' })).toThrow(/already registered/);
    expect(() => c.inc({ a: 'x' }, -1)).toThrow(/cannot decrease/);
    expect(() => c.inc({ b: 'x' } as never)).toThrow(/takes labels \[a\]/);
    expect(() => c.inc({ a: 'x', b: 'y' } as never)).toThrow(/takes labels/);
    expect(() => c.inc({ a: 'x' }, Number.NaN)).toThrow(/must be a number/);
  });

  it('runs gauge collect callbacks, sync or async, at every render', async () => {
    const r = new Registry();
    let calls = 0;
    r.gauge({
      name: 'collected',
      help: 'Set at scrape time.',
      labelNames: ['n'],
      collect: async (g) => {
        calls++;
        await new Promise((resolve) => setTimeout(resolve, 1));
        g.reset();
        for (let i = 0; i < calls; i++) g.set({ n: String(i) }, i * 10);
      },
    });
    r.gauge({ name: 'sync', help: 'Sync.', collect: (g) => g.set(calls) });
    expect(await r.render()).toContain('collected{n="0"} 0\n# HELP sync Sync.\n# TYPE sync gauge\nsync 1\n');
    const second = await r.render();
    expect(second).toContain('collected{n="0"} 0\ncollected{n="1"} 10\n');
    expect(second).toContain('sync 2\n');
    expect(calls).toBe(2);
  });

  it('fails the render when a collect callback rejects', async () => {
    const r = new Registry();
    r.gauge({
      name: 'broken',
      help: 'B.',
      collect: async () => {
        throw new Error('boom');
      },
    });
    await expect(r.render()).rejects.toThrow('boom');
  });

  it('types label arguments by the declared label names', () => {
    const r = new Registry();
    const plain: Counter = r.counter({ name: 'plain_total', help: '' });
    plain.inc();
    plain.inc(2);
    const labelled = r.counter({ name: 'l_total', help: '', labelNames: ['a'] });
    labelled.inc({ a: 1 });
    // @ts-expect-error a labelled counter needs its labels
    expect(() => labelled.inc(1)).toThrow();
    expect(plain.get()).toBe(3);
  });
});

describe('Eventix metrics', () => {
  const task = (namespace: string, uid = 'u') => ({ namespace, uid }) as unknown as ClaimedTask;

  it('declares the standard metrics, in Prometheus format', async () => {
    const m = createEventixMetrics(new Registry());
    const text = await m.registry.render();
    for (const [name, type] of [
      ['eventix_tasks_submitted_total', 'counter'],
      ['eventix_tasks_claimed_total', 'counter'],
      ['eventix_tasks_completed_total', 'counter'],
      ['eventix_tasks_failed_total', 'counter'],
      ['eventix_tasks_rescued_total', 'counter'],
      ['eventix_http_request_duration_seconds', 'histogram'],
      ['eventix_queue_depth', 'gauge'],
      ['eventix_queue_oldest_waiting_age_seconds', 'gauge'],
    ]) {
      expect(text.split('\n').filter((l) => l === `# TYPE ${name} ${type}`)).toHaveLength(1);
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

    const text = await m.registry.render();
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
    expect(m.tasksClaimed.get({ namespace: 'a' })).toBe(2);
  });

  it('countSubmitted counts created tasks per namespace, not merges', () => {
    const m = createEventixMetrics(new Registry());
    const result = (namespace: string, created: boolean) => ({ task: { namespace }, created }) as unknown as SubmitResult;
    countSubmitted(m, [result('a', true), result('a', true), result('a', false), result('b', true)]);
    expect(m.tasksSubmitted.get({ namespace: 'a' })).toBe(2);
    expect(m.tasksSubmitted.get({ namespace: 'b' })).toBe(1);
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
    const text = await m.registry.render();
    expect(text).toContain('eventix_tasks_claimed_total{namespace="a"} 1');
    expect(text).not.toMatch(/^eventix_queue_depth\{/m);
    expect(text).toContain('eventix_metrics_collect_errors_total 1\n');
    expect(errors.map((e) => e.message)).toEqual(['connection refused']);
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
    const h = m.httpRequestDuration;
    expect(h.get({ method: 'GET', route: '/tasks/:uid', status: '200' })?.count).toBe(2);
    expect(h.get({ method: 'POST', route: '/v1/items/:id', status: '201' })?.count).toBe(1);
    expect(h.get({ method: 'GET', route: UNMATCHED_ROUTE, status: '404' })?.count).toBe(2);
    expect(h.get({ method: 'GET', route: '/secret/*', status: '401' })?.count).toBe(1);
    expect(h.get({ method: 'GET', route: '/secret/thing', status: '200' })?.count).toBe(1);
    expect(h.get({ method: 'GET', route: '/boom', status: '500' })?.count).toBe(1);
    expect(h.get({ method: 'OTHER', route: UNMATCHED_ROUTE, status: '404' })?.count).toBe(1);
  });

  it('serves the registry at /metrics with the Prometheus content type', async () => {
    const { a } = app();
    await a.request('/tasks/1');
    const res = await a.request('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(PROMETHEUS_CONTENT_TYPE);
    const body = await res.text();
    expect(body).toContain('eventix_http_request_duration_seconds_count{method="GET",route="/tasks/:uid",status="200"} 1\n');
    expect(body.endsWith('\n')).toBe(true);
  });
});
