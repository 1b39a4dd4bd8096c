import { afterEach, describe, expect, it } from 'vitest';
import { withTransaction } from '../../src/db/transaction.ts';
import { submit } from '../../src/queue/submit.ts';
import { changesOf, evaluateGroup, type SeriesGroup } from '../../src/tracking/alerts/evaluate.ts';
import { BenchmarkRuntime } from '../../src/tracking/alerts/runtime.ts';
import { ALERTS_NAMESPACE, type AlertSettings, EVALUATE_TASK } from '../../src/tracking/alerts/settings.ts';
import { getAlert, listAlerts, updateAlert } from '../../src/tracking/alerts/store.ts';
import { prepareResults, pushResults, storeResults } from '../../src/tracking/ingest.ts';
import { loadSeries } from '../../src/tracking/series-samples.ts';
import { type StepSeries, shaOf, step, stepDocuments } from '../helpers/bench-series.ts';
import { useTestDatabase } from '../helpers/db.ts';
import { waitFor } from '../helpers/wait.ts';

describe('benchmark alerts: evaluation of series', () => {
  const db = useTestDatabase();
  const runtimes: BenchmarkRuntime[] = [];
  afterEach(async () => {
    await Promise.all(runtimes.splice(0).map((r) => r.stop()));
  });

  const pushAll = async (s: StepSeries) => {
    for (const { doc } of stepDocuments(s)) await pushResults(db().pool, { data: doc });
  };
  const group = (repo: string, metric = 'rps'): SeriesGroup => ({ repo, metric, configId: null, architecture: '' });
  const alertsOf = async (repo: string) => (await listAlerts(db().pool, { repo })).alerts;
  const runtime = (settings: AlertSettings = {}) => {
    const r = new BenchmarkRuntime({ pool: db().pool, settings, pollIntervalMs: 50, shutdownGraceMs: 0 });
    runtimes.push(r);
    return r;
  };
  const tasksOf = async (task: string, repo: string) =>
    (
      await db().pool.query<{ status: string; attempts: number; unique_key: string }>(
        `select status, attempts, unique_key from tasks where task = $1 and kwargs->>'repo' = $2 order by id`,
        [task, repo],
      )
    ).rows;

  it('labels the changes of a series without a known direction `change`, and opens no alert', async () => {
    const repo = 'r/unknown-direction';
    await pushAll({ repo, metric: 'widgets', from: 1, to: 40, level: step(25) });
    const { series } = await loadSeries(db().pool, { repo, metric: 'widgets' });
    expect(series[0]?.direction).toBeNull();
    const [changes] = changesOf(series, {});
    expect(changes?.changePoints.map((cp) => [cp.sha, cp.kind])).toEqual([[shaOf(25), 'change']]);
    const r = await evaluateGroup(db().pool, group(repo, 'widgets'));
    expect(r).toMatchObject({ series: 1, changePoints: 1, regressions: 0, opened: [] });
    expect(await alertsOf(repo)).toEqual([]);
  });

  it('opens one alert per regression, whatever how often and how concurrently it is re-evaluated; false positives stay', async () => {
    const repo = 'r/idempotent';
    await pushAll({ repo, from: 1, to: 40, level: step(25) });
    const first = await evaluateGroup(db().pool, group(repo));
    expect(first.opened).toHaveLength(1);
    const alert = await getAlert(db().pool, first.opened[0] as number);
    expect(alert).toMatchObject({
      repo,
      metric: 'rps',
      lastGoodSha: shaOf(24),
      firstBadSha: shaOf(25),
      kind: 'regression',
      status: 'open',
      direction: 'higher',
      culpritSha: null,
      bisection: null,
    });
    expect(alert.relativeChange).toBeCloseTo(-0.1, 2);
    expect(alert.before.median).toBeCloseTo(1000, -1);
    expect(alert.after.median).toBeCloseTo(900, -1);
    expect(alert.pValue).toBeLessThan(0.001);

    // Again, and four at once: the same data never opens a second alert.
    expect((await evaluateGroup(db().pool, group(repo))).opened).toEqual([]);
    const concurrent = await Promise.all([1, 2, 3, 4].map(() => evaluateGroup(db().pool, group(repo))));
    expect(concurrent.flatMap((r) => r.opened)).toEqual([]);
    expect(await alertsOf(repo)).toHaveLength(1);

    // A person says false positive: re-evaluation, even with more data, neither reopens nor duplicates it.
    await updateAlert(db().pool, alert.id, { status: 'false_positive', note: 'noisy machine' });
    await pushAll({ repo, from: 41, to: 50, level: step(25), seed: 7 });
    const later = await evaluateGroup(db().pool, group(repo));
    expect(later.opened).toEqual([]);
    const [only] = await alertsOf(repo);
    expect(only).toMatchObject({ id: alert.id, status: 'false_positive', note: 'noisy machine', firstBadSha: shaOf(25) });
  });

  it('resolves an open alert when a later change point restores the level; acknowledged alerts are left to people', async () => {
    for (const [repo, human] of [
      ['r/resolve', null],
      ['r/resolve-acked', 'acknowledged'],
    ] as const) {
      await pushAll({ repo, from: 1, to: 40, level: step(25, 0.1, 41) });
      const opened = await evaluateGroup(db().pool, group(repo));
      expect(opened.opened).toHaveLength(1);
      const id = opened.opened[0] as number;
      if (human) await updateAlert(db().pool, id, { status: human });
      await pushAll({ repo, from: 41, to: 55, level: step(25, 0.1, 41), seed: 9 });
      const later = await evaluateGroup(db().pool, group(repo));
      expect(later.opened).toEqual([]);
      const alert = await getAlert(db().pool, id);
      if (human) {
        expect(later.resolved).toEqual([]);
        expect(alert.status).toBe('acknowledged');
      } else {
        expect(later.resolved).toEqual([id]);
        expect(alert).toMatchObject({ status: 'resolved', resolvedBySha: shaOf(41), revision: 2 });
        expect(alert.resolvedAt).toBeInstanceOf(Date);
        // Resolution is final for evaluation: the same data again changes nothing.
        expect((await evaluateGroup(db().pool, group(repo))).resolved).toEqual([]);
      }
    }
  });

  it('stores a regression found together with its fix as resolved, and matches a moved estimate to its alert', async () => {
    const repo = 'r/backfill';
    await pushAll({ repo, from: 1, to: 60, level: step(20, 0.1, 40) });
    const r = await evaluateGroup(db().pool, group(repo));
    expect(r.opened).toEqual([]);
    expect(r.openedResolved).toHaveLength(1);
    expect(await getAlert(db().pool, r.openedResolved[0] as number)).toMatchObject({ status: 'resolved', resolvedBySha: shaOf(40) });

    // An alert whose estimate was two commits later (less data then) is the same change: moved, not duplicated.
    const moved = 'r/moved';
    await pushAll({ repo: moved, from: 1, to: 40, level: step(25) });
    const { series } = await loadSeries(db().pool, { repo: moved, metric: 'rps' });
    const hash = series[0]?.hash as string;
    const { rows } = await db().pool.query<{ id: number }>(
      `insert into benchmark_alerts (series_hash, repo, metric, last_good_sha, first_bad_sha, before_mean, before_median,
         after_mean, after_median, relative_change, p_value, kind)
       values ($1, $2, 'rps', $3, $4, 1000, 1000, 900, 900, -0.1, 0.0001, 'regression') returning id`,
      [hash, moved, shaOf(26), shaOf(27)],
    );
    const again = await evaluateGroup(db().pool, group(moved));
    expect(again).toMatchObject({ opened: [], refreshed: 1 });
    expect(await alertsOf(moved)).toHaveLength(1);
    expect(await getAlert(db().pool, rows[0]?.id as number)).toMatchObject({ lastGoodSha: shaOf(24), firstBadSha: shaOf(25) });
  });

  it('coalesces the evaluations a burst of pushes enqueues into one task, which a worker runs after the pushes', async () => {
    const repo = 'r/queued';
    await pushAll({ repo, from: 1, to: 40, level: step(25) });
    // Stored, and nothing evaluated: one waiting task holds the whole burst.
    expect(await alertsOf(repo)).toEqual([]);
    const waiting = await tasksOf(EVALUATE_TASK, repo);
    expect(waiting).toHaveLength(1);
    expect(waiting[0]).toMatchObject({ status: 'scheduled', unique_key: expect.stringMatching(/^evaluate:[0-9a-f]{64}$/) });

    await runtime().start();
    const [alert] = await waitFor(async () => {
      const a = await alertsOf(repo);
      return a.length ? a : undefined;
    });
    expect(alert).toMatchObject({ lastGoodSha: shaOf(24), firstBadSha: shaOf(25), status: 'open' });
    await waitFor(async () => (await tasksOf(EVALUATE_TASK, repo)).every((t) => t.status === 'done'));
  });

  it('enqueues the evaluation in the storing transaction: rolled back together, and one task per series group', async () => {
    const repo = 'r/same-transaction';
    const doc = stepDocuments({ repo, from: 1, to: 1, level: () => 1 })[0]?.doc;
    const rollback = new Error('rolled back on purpose');
    await expect(
      withTransaction(db().pool, async (client) => {
        await storeResults(client, prepareResults({ data: doc }));
        expect((await client.query(`select 1 from tasks where task = $1 and kwargs->>'repo' = $2`, [EVALUATE_TASK, repo])).rowCount).toBe(
          1,
        );
        throw rollback;
      }),
    ).rejects.toBe(rollback);
    expect(await tasksOf(EVALUATE_TASK, repo)).toEqual([]);

    // Two metrics under two architectures: four groups, so four tasks, whatever the number of runs.
    const runs = ['x86_64', 'aarch64'].flatMap((architecture) =>
      [0, 1, 2].map((repeat_index) => ({
        repo,
        sha: shaOf(1),
        architecture,
        repeat_index,
        metrics: [
          { name: 'rps', value: 1, tags: { command: 'SET' } },
          { name: 'rps', value: 2, tags: { command: 'GET' } },
          { name: 'p99_latency_ms', value: 3 },
        ],
      })),
    );
    await pushResults(db().pool, { data: { format: 'eventix', version: 1, runs } });
    const queued = await db().pool.query<{ kwargs: Record<string, unknown> }>(
      `select kwargs from tasks where task = $1 and kwargs->>'repo' = $2 order by kwargs->>'architecture', kwargs->>'metric'`,
      [EVALUATE_TASK, repo],
    );
    expect(queued.rows.map((r) => r.kwargs)).toEqual([
      { repo, metric: 'p99_latency_ms', config_id: null, architecture: 'aarch64' },
      { repo, metric: 'rps', config_id: null, architecture: 'aarch64' },
      { repo, metric: 'p99_latency_ms', config_id: null, architecture: 'x86_64' },
      { repo, metric: 'rps', config_id: null, architecture: 'x86_64' },
    ]);
  });

  it('opens no second alert when two workers evaluate the same series at once', async () => {
    const repo = 'r/two-workers';
    await pushAll({ repo, from: 1, to: 40, level: step(25) });
    // Without unique keys, so that both workers get tasks of the same group at the same time.
    for (let i = 0; i < 6; i++) {
      await submit(db().pool, {
        task: EVALUATE_TASK,
        namespace: ALERTS_NAMESPACE,
        kwargs: { repo, metric: 'rps', config_id: null, architecture: '' },
      });
    }
    await Promise.all([runtime().start(), runtime().start()]);
    await waitFor(async () => (await tasksOf(EVALUATE_TASK, repo)).every((t) => t.status === 'done'), { timeoutMs: 30_000 });
    const alerts = await alertsOf(repo);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]?.firstBadSha).toBe(shaOf(25));
  });
});
