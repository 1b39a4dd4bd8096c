import { randomBytes } from 'node:crypto';
import { describe, expect, inject, it } from 'vitest';
import { createApp } from '../../src/api/app.ts';
import { createDatabase } from '../../src/db/client.ts';
import { createLogger, silentLogger } from '../../src/logger.ts';
import { useTestDatabase } from '../helpers/db.ts';
import { EVENTIX_METRICS, typeLines } from '../helpers/metrics.ts';
import { withDatabase } from '../helpers/urls.ts';

describe('GET /metrics of createApp', () => {
  const db = useTestDatabase();

  it("serves prom-client's process and Node.js metrics besides every eventix_ metric", async () => {
    const app = createApp({ database: db(), logger: silentLogger });
    const res = await app.request('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await res.text();
    expect(typeLines(text, 'process_cpu_user_seconds_total')).toEqual(['# TYPE process_cpu_user_seconds_total counter']);
    expect(text).toMatch(/^process_cpu_user_seconds_total \d/m);
    expect(typeLines(text, 'nodejs_eventloop_lag_seconds')).toEqual(['# TYPE nodejs_eventloop_lag_seconds gauge']);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds \d/m);
    for (const [name, type] of EVENTIX_METRICS) expect(typeLines(text, name)).toEqual([`# TYPE ${name} ${type}`]);
  });

  it('gives every app its own registry: apps in one process neither collide nor share counts', async () => {
    const first = createApp({ database: db(), logger: silentLogger });
    const second = createApp({ database: db(), logger: silentLogger });
    const submitted = await first.request('/tasks', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ task: 'm.own', namespace: 'own-registry' }),
    });
    expect(submitted.status).toBe(201);
    const series = 'eventix_tasks_submitted_total{namespace="own-registry"} 1';
    expect(await (await first.request('/metrics')).text()).toContain(series);
    expect(await (await second.request('/metrics')).text()).not.toContain(series);
  });

  it('answers 200 with the other metrics when the queue read fails, logging it once per scrape', async () => {
    // A real server, but a database that does not exist: every read of the queue gauges fails.
    const missing = createDatabase({
      url: withDatabase(inject('dbServerUrl'), `eventix_absent_${randomBytes(4).toString('hex')}`),
      max: 2,
    });
    const logs: { msg?: string }[] = [];
    const sink = { write: (line: string) => logs.push(JSON.parse(line) as { msg?: string }) };
    const app = createApp({ database: missing, logger: createLogger('warn', sink as unknown as NodeJS.WritableStream) });
    const warnings = () => logs.filter((l) => l.msg === 'metrics scrape could not read the queue').length;
    try {
      for (const scrape of [1, 2]) {
        const res = await app.request('/metrics');
        expect(res.status).toBe(200);
        const text = await res.text();
        expect(text).toContain(`eventix_metrics_collect_errors_total ${scrape}\n`);
        expect(text).not.toMatch(/^eventix_queue_depth\{/m);
        expect(typeLines(text, 'eventix_tasks_submitted_total')).toHaveLength(1);
        expect(typeLines(text, 'process_cpu_user_seconds_total')).toHaveLength(1);
        expect(warnings()).toBe(scrape);
      }
    } finally {
      await missing.close();
    }
  });
});
