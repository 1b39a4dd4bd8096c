import { describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.ts';
import { silentLogger } from '../../src/logger.ts';
import { submitMany } from '../../src/queue/index.ts';
import { useTestDatabase } from '../helpers/db.ts';

const json = { 'content-type': 'application/json' };

describe('operations endpoints', () => {
  const db = useTestDatabase();

  it('GET /namespaces counts tasks per status', async () => {
    await submitMany(db().pool, [
      { task: 'ops.a', namespace: 'ops-ns' },
      { task: 'ops.a', namespace: 'ops-ns' },
      { task: 'ops.b', namespace: 'ops-other' },
    ]);
    await db().pool.query("update tasks set status = 'cancelled' where task = 'ops.b'");
    const res = await createApp({ database: db(), logger: silentLogger }).request('/namespaces');
    expect(res.status).toBe(200);
    const body = (await res.json()) as { namespaces: { namespace: string; counts: Record<string, number>; total: number }[] };
    expect(body.namespaces.find((n) => n.namespace === 'ops-ns')).toMatchObject({ total: 2, counts: { scheduled: 2, done: 0 } });
    expect(body.namespaces.find((n) => n.namespace === 'ops-other')).toMatchObject({ total: 1, counts: { cancelled: 1 } });
  });

  it('GET /stats reports per task counts, oldest waiting age and recent outcomes', async () => {
    await submitMany(db().pool, [{ task: 'stats.x', namespace: 'stats-ns', eta: new Date(Date.now() - 120_000) }]);
    const res = await createApp({ database: db(), logger: silentLogger }).request('/stats');
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      namespaces: { namespace: string; oldest_waiting_age_seconds: number; tasks: { task: string }[] }[];
    };
    const ns = body.namespaces.find((n) => n.namespace === 'stats-ns');
    expect(ns?.tasks.map((t) => t.task)).toEqual(['stats.x']);
    expect(ns?.oldest_waiting_age_seconds).toBeGreaterThanOrEqual(119);
  });

  it('GET /metrics exposes real counters, queue gauges and HTTP durations', async () => {
    const app = createApp({ database: db(), logger: silentLogger });
    const submitted = await app.request('/tasks', {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ task: 'm.t', namespace: 'metrics-ns' }),
    });
    expect(submitted.status).toBe(201);
    const claimed = await app.request('/workers/claim', {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ worker_id: 'm', namespace: 'metrics-ns', tasks: ['m.t'] }),
    });
    const [task] = ((await claimed.json()) as { tasks: { uid: string; fencing_token: number }[] }).tasks;
    await app.request(`/tasks/${task?.uid}/complete`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ worker_id: 'm', fencing_token: task?.fencing_token, result: 1 }),
    });
    const res = await app.request('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    expect(text).toContain('eventix_tasks_submitted_total{namespace="metrics-ns"} 1');
    expect(text).toContain('eventix_tasks_claimed_total{namespace="metrics-ns"} 1');
    expect(text).toContain('eventix_tasks_completed_total{namespace="metrics-ns"} 1');
    expect(text).toMatch(/eventix_queue_depth\{namespace="ops-ns",status="scheduled"\} 2/);
    expect(text).toMatch(/eventix_http_request_duration_seconds_count\{method="POST",route="\/tasks",status="201"\} 1/);
  });
});
