import { afterEach, describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.ts';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { silentLogger } from '../../src/logger.ts';
import { evaluateGroup, type SeriesGroup } from '../../src/tracking/alerts/evaluate.ts';
import { BenchmarkRuntime } from '../../src/tracking/alerts/runtime.ts';
import { type AlertSettings, WEBHOOK_TASK } from '../../src/tracking/alerts/settings.ts';
import { listAlerts } from '../../src/tracking/alerts/store.ts';
import { redactUrl } from '../../src/tracking/alerts/webhook.ts';
import { pushResults } from '../../src/tracking/ingest.ts';
import { expectJson, type Json, post } from '../helpers/api.ts';
import { type StepSeries, shaOf, step, stepDocuments } from '../helpers/bench-series.ts';
import { useTestDatabase } from '../helpers/db.ts';
import { waitFor } from '../helpers/wait.ts';
import { startReceiver } from '../helpers/webhook-receiver.ts';

/** A receiver at a URL with a secret in the path and the query, as real webhook URLs carry them. */
const receiver = (answer: (n: number) => number | 'hang') => startReceiver<Json>({ path: '/hooks/s3cr3t-token?key=k3y', answer });

describe('alert webhook', () => {
  const db = useTestDatabase();
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  const group = (repo: string): SeriesGroup => ({ repo, metric: 'rps', configId: null, architecture: '' });
  const pushAll = async (s: StepSeries) => {
    for (const { doc } of stepDocuments(s)) await pushResults(db().pool, { data: doc });
  };
  const start = async (settings: AlertSettings) => {
    const r = new BenchmarkRuntime({ pool: db().pool, settings, pollIntervalMs: 50, shutdownGraceMs: 0 });
    cleanups.push(() => r.stop());
    await r.start();
    return r;
  };
  const deliveries = async (alertIds: number[]) =>
    (
      await db().pool.query<{ status: string; attempts: number; error: { message?: string } | null }>(
        `select status, attempts, error from tasks where task = $1 and (kwargs->>'alert_id')::bigint = any($2::bigint[]) order by id`,
        [WEBHOOK_TASK, alertIds],
      )
    ).rows;
  const openAlert = async (repo: string) =>
    waitFor(async () => (await listAlerts(db().pool, { repo })).alerts[0], { message: `an alert for ${repo}` });

  it('POSTs each new alert as JSON exactly once, however often the series is re-evaluated', async () => {
    const hook = await receiver(() => 200);
    cleanups.push(hook.close);
    const settings: AlertSettings = { webhook: { url: hook.url, timeoutMs: 5000 } };
    await start(settings);
    const repo = 'r/hook-once';
    await pushAll({ repo, from: 1, to: 40, level: step(25) });
    const alert = await openAlert(repo);
    await waitFor(async () => (await deliveries([alert.id]))[0]?.status === 'done', { message: 'delivery done' });

    expect(hook.requests).toHaveLength(1);
    const [got] = hook.requests;
    expect(got?.url).toBe('/hooks/s3cr3t-token?key=k3y');
    expect(got?.headers['content-type']).toBe('application/json');
    expect(got?.headers['x-eventix-delivery']).toBe(`alert-${alert.id}`);
    expect(got?.body).toMatchObject({
      event: 'benchmark.alert.opened',
      alert: {
        id: alert.id,
        series: { repo, metric: 'rps', hash: alert.seriesHash },
        last_good_sha: shaOf(24),
        first_bad_sha: shaOf(25),
        status: 'open',
        kind: 'regression',
        direction: 'higher',
      },
    });
    expect(got?.body.alert.relative_change).toBeCloseTo(-0.1, 2);

    // Re-evaluation finds the same change: no new alert, so no new delivery is even enqueued.
    await evaluateGroup(db().pool, group(repo), settings);
    await evaluateGroup(db().pool, group(repo), settings);
    expect(await deliveries([alert.id])).toHaveLength(1);
    expect(
      (await db().pool.query(`select 1 from tasks where task = $1 and status in ('scheduled', 'retry', 'processing')`, [WEBHOOK_TASK]))
        .rowCount,
    ).toBe(0);
    expect(hook.requests).toHaveLength(1);
  });

  it('retries a receiver that answers 500 with the queue’s backoff, delivering on the third attempt', async () => {
    const hook = await receiver((n) => (n <= 2 ? 500 : 200));
    cleanups.push(hook.close);
    await start({ webhook: { url: hook.url, timeoutMs: 5000, retry: { errorEtaInc: 1, errorEtaMax: 1 } } });
    const repo = 'r/hook-retry';
    await pushAll({ repo, from: 1, to: 40, level: step(25) });
    const alert = await openAlert(repo);

    // Between attempts the task waits in retry; its error names the receiver without its secret.
    const failed = await waitFor(async () => {
      const [d] = await deliveries([alert.id]);
      return d?.status === 'retry' ? d : undefined;
    });
    expect(failed.error?.message).toBe(`the alert webhook http://127.0.0.1:${new URL(hook.url).port}/… answered 500`);
    expect(JSON.stringify(failed.error)).not.toMatch(/s3cr3t|k3y/);

    const done = await waitFor(async () => {
      const [d] = await deliveries([alert.id]);
      return d?.status === 'done' ? d : undefined;
    });
    expect(done.attempts).toBe(3);
    expect(hook.requests).toHaveLength(3);
    expect(new Set(hook.requests.map((r) => r.body.alert.id))).toEqual(new Set([alert.id]));
    expect(new Set(hook.requests.map((r) => r.headers['x-eventix-delivery']))).toEqual(new Set([`alert-${alert.id}`]));
  });

  it('never blocks ingestion: with the receiver hanging, POST /benchmarks/results answers at once and evaluation goes on', async () => {
    const hook = await receiver(() => 'hang');
    cleanups.push(hook.close);
    await start({ webhook: { url: hook.url, timeoutMs: 120_000 } });
    const app = createApp({ database: db(), logger: silentLogger });
    const postAll = async (s: StepSeries) => {
      let slowest = 0;
      for (const { doc } of stepDocuments(s)) {
        const t0 = performance.now();
        expectJson(await post(app, '/benchmarks/results', { data: doc }), 201);
        slowest = Math.max(slowest, performance.now() - t0);
      }
      return slowest;
    };
    await postAll({ repo: 'r/hang-1', from: 1, to: 40, level: step(25) });
    const first = await openAlert('r/hang-1');
    await waitFor(() => hook.requests.length === 1, { message: 'the first delivery reached the receiver' });

    // The delivery hangs; storing more results is not slowed down by it, and their series are evaluated.
    const slowest = await postAll({ repo: 'r/hang-2', from: 1, to: 40, level: step(25) });
    expect(slowest).toBeLessThan(5000);
    const runs = await db().pool.query(`select count(*)::int as n from benchmark_runs where repo = 'r/hang-2'`);
    expect(runs.rows[0].n).toBe(120);
    const second = await openAlert('r/hang-2');
    expect(second.firstBadSha).toBe(shaOf(25));
    const [d] = await deliveries([first.id]);
    expect(d?.status).toBe('processing');
  });

  it('takes the URL from configuration only, validated and never echoed; logs show scheme and host', () => {
    expect(loadConfig({ EVENTIX_ALERT_WEBHOOK_URL: 'https://hooks.example.com/T000/B000/XXXX' }).alerts).toMatchObject({
      webhookUrl: 'https://hooks.example.com/T000/B000/XXXX',
      webhookTimeoutMs: 10_000,
      worker: true,
      minEffect: 0.02,
      directions: {},
    });
    const err = (() => {
      try {
        loadConfig({ EVENTIX_ALERT_WEBHOOK_URL: 'ftp://secret-host/token' });
      } catch (e) {
        return e as ConfigError;
      }
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect(err?.issues).toEqual([{ variable: 'EVENTIX_ALERT_WEBHOOK_URL', message: 'expected an http:// or https:// URL' }]);
    expect(err?.message).not.toContain('secret-host');
    expect(redactUrl('https://user:pw@hooks.example.com/T000/B000/XXXX?token=1')).toBe('https://hooks.example.com/…');
    expect(redactUrl('http://127.0.0.1:9/')).toBe('http://127.0.0.1:9');

    expect(loadConfig({ EVENTIX_METRIC_DIRECTIONS: 'score=higher, build=lower,widgets=unknown' }).alerts.directions).toEqual({
      score: 'higher',
      build: 'lower',
      widgets: null,
    });
    expect(() => loadConfig({ EVENTIX_METRIC_DIRECTIONS: 'score=up' })).toThrow(/EVENTIX_METRIC_DIRECTIONS/);
    expect(() => loadConfig({ EVENTIX_CHANGE_MIN_EFFECT: '2' })).toThrow(/EVENTIX_CHANGE_MIN_EFFECT: must be at most 1/);
  });
});
