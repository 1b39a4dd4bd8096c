import { beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.ts';
import type { ApiToken } from '../../src/config.ts';
import { silentLogger } from '../../src/logger.ts';
import { evaluateGroup } from '../../src/tracking/alerts/evaluate.ts';
import { createBaseline } from '../../src/tracking/baselines.ts';
import { pushResults } from '../../src/tracking/ingest.ts';
import { shaOf, step, stepDocuments } from '../helpers/bench-series.ts';
import { useTestDatabase } from '../helpers/db.ts';
import { READ_TOKEN, redirectOf, SUBMIT_TOKEN, UI_TOKENS, UiSession } from '../helpers/ui.ts';

const REPO = 'r/ui-step';

describe('dashboard: empty benchmark pages', () => {
  const db = useTestDatabase();
  const page = async (path: string) => {
    const res = await createApp({ database: db(), logger: silentLogger }).request(path);
    expect(res.status, path).toBe(200);
    return res.text();
  };

  it('says how to push results and how to define a baseline while there are none', async () => {
    const html = await page('/ui/benchmarks');
    expect(html).toContain('No benchmark results yet');
    expect(html).toContain('eventix results push');
    expect(await page('/ui/benchmarks/alerts')).toContain('No regression alerts');
    const compare = await page('/ui/benchmarks/compare');
    expect(compare).toContain('No baselines yet');
    expect(compare).toContain('eventix results baseline create');
  });
});

describe('dashboard: benchmark trends, alerts and baseline comparison', () => {
  const db = useTestDatabase();
  const app = (apiTokens: ApiToken[] = []) => createApp({ database: db(), logger: silentLogger, apiTokens });
  const page = async (path: string, status = 200) => {
    const res = await app().request(path);
    expect(res.status, path).toBe(status);
    return res.text();
  };
  const alertRow = async (id: number) =>
    (await db().pool.query('select status, revision from benchmark_alerts where id = $1', [id])).rows[0];
  let alertId = 0;

  beforeAll(async () => {
    // A level of 1000 that drops 10 % at commit 25 (the seeded step of the alert tests), and a flat series beside it.
    for (const { doc } of stepDocuments({ repo: REPO, from: 1, to: 40, level: step(25), tags: { command: 'SET' } })) {
      await pushResults(db().pool, { data: doc });
    }
    for (const { doc } of stepDocuments({ repo: REPO, from: 1, to: 40, level: () => 500, tags: { command: 'GET' }, seed: 7 })) {
      await pushResults(db().pool, { data: doc });
    }
  }, 120_000);

  it('lists what there is to plot when no metric is chosen', async () => {
    const html = await page('/ui/benchmarks');
    expect(html).toContain('Series with results');
    // One repository: it is chosen, and the index links each metric's trend.
    expect(html).toContain(`/ui/benchmarks?repo=${encodeURIComponent(REPO).replace('%2F', '%2F')}&amp;metric=rps`);
  });

  it('charts each series and lists the change point of the step, as GET /benchmarks/changes finds it', async () => {
    const html = await page(`/ui/benchmarks?repo=${REPO}&metric=rps`);
    expect(html).toContain('2 series (one per tag set)');
    expect(html.match(/data-chart="trend"/g)).toHaveLength(2);
    const rows = [...html.matchAll(/data-testid="change-point-row" data-sha="([0-9a-f]+)"/g)].map((m) => m[1]);
    // Only the SET series has a step; the GET series is flat.
    expect(rows).toEqual([shaOf(25)]);
    expect(html).toContain('status-regression');
    expect(html).toMatch(/−10(\.\d)? %/);
    expect(html).toContain('No change points');
    // The chart's data (series sorted by tags: GET, then SET): 40 commits in commit order, the change point at index 24.
    const script = /<script type="application\/json" id="trend-1">([\s\S]*?)<\/script>/.exec(html)?.[1] as string;
    const data = JSON.parse(script);
    expect(html.indexOf('rps · command=GET')).toBeLessThan(html.indexOf('rps · command=SET'));
    expect(data.shas).toHaveLength(40);
    expect(data.shas[0]).toBe(shaOf(1));
    expect(data.samples[0]).toHaveLength(3);
    expect(data.changes).toMatchObject([{ index: 24, previousIndex: 23, sha: shaOf(25), kind: 'regression' }]);
    expect(data.hrefs[24]).toBe(`/ui/commits/${shaOf(25)}?repo=${encodeURIComponent(REPO)}`);
    // A tag filter narrows to one series; a 20 % minimum effect hides the 10 % step.
    expect((await page(`/ui/benchmarks?repo=${REPO}&metric=rps&tags[command]=GET`)).match(/data-chart="trend"/g)).toHaveLength(1);
    expect(await page(`/ui/benchmarks?repo=${REPO}&metric=rps&tags[command]=SET&min_effect=0.2`)).not.toContain('change-point-row');
  });

  it('answers a bad query with a page naming the problem, never a 500', async () => {
    for (const [path, status, text] of [
      [`/ui/benchmarks?repo=${REPO}&metric=rps&min_effect=abc`, 400, 'min_effect'],
      [`/ui/benchmarks?repo=${REPO}&metric=rps&direction=up`, 400, 'direction'],
      [`/ui/benchmarks?repo=${REPO}&metric=rps&config=nope`, 400, 'config'],
      [`/ui/benchmarks?repo=${REPO}&metric=rps&cursor=x`, 400, 'cursor'],
      ['/ui/benchmarks?bogus=1', 400, 'bogus'],
      ['/ui/benchmarks/alerts?status=bogus', 400, 'status'],
      ['/ui/benchmarks/alerts?cursor=xyz', 400, 'cursor'],
      ['/ui/benchmarks/compare?baseline=nope', 404, 'No baseline'],
      ['/ui/benchmarks/compare?baseline=a%20b', 400, 'baseline'],
      ['/ui/benchmarks/compare?baseline=x&run=123', 400, 'run'],
      ['/ui/benchmarks/compare?threshold=lots', 400, 'threshold'],
    ] as const) {
      const html = await page(path, status);
      expect(html, path).toContain('class="flash bad"');
      expect(html, path).toContain(text);
    }
  });

  it('marks the open alert on its chart, and lists it with its buttons', async () => {
    const r = await evaluateGroup(db().pool, { repo: REPO, metric: 'rps', configId: null, architecture: '' });
    expect(r.opened).toHaveLength(1);
    alertId = r.opened[0] as number;
    const trends = await page(`/ui/benchmarks?repo=${REPO}&metric=rps&tags[command]=SET`);
    const data = JSON.parse(/<script type="application\/json" id="trend-0">([\s\S]*?)<\/script>/.exec(trends)?.[1] as string);
    expect(data.alerts).toEqual([{ index: 24, id: alertId, sha: shaOf(25), status: 'open' }]);
    expect(trends).toContain(`data-testid="alert-${alertId}-acknowledged"`);

    const html = await page('/ui/benchmarks/alerts');
    expect(html).toContain(`data-testid="alert-row" data-id="${alertId}"`);
    expect(html).toContain(`data-testid="alert-${alertId}-acknowledged"`);
    expect(html).toContain(`data-testid="alert-${alertId}-false_positive"`);
    expect(await page('/ui/benchmarks/alerts?status=resolved')).toContain('No alerts match these filters');
    // The commit page names the alert at its first bad commit, with the metrics measured there.
    const commit = await page(`/ui/commits/${shaOf(25)}`);
    expect(commit).toContain('first bad commit');
    expect(commit).toContain(`metric=rps&amp;tags%5Bcommand%5D=SET`);
  });

  it('acknowledges and marks false positive through CSRF-checked forms, refusing a stale revision', async () => {
    const ui = new UiSession(app());
    await ui.page('/ui/benchmarks/alerts');
    const back = '/ui/benchmarks/alerts?status=open';

    expect((await ui.post(`/ui/benchmarks/alerts/${alertId}`, { status: 'acknowledged', revision: '1', back, _csrf: null })).status).toBe(
      403,
    );
    expect(await alertRow(alertId)).toEqual({ status: 'open', revision: 1 });

    const acked = await ui.post(`/ui/benchmarks/alerts/${alertId}`, { status: 'acknowledged', revision: '1', back });
    expect(acked.status).toBe(303);
    const to = new URL(acked.headers.get('location') as string, 'http://x');
    expect(to.pathname + to.searchParams.get('status')).toBe('/ui/benchmarks/alertsopen');
    expect(to.searchParams.get('notice')).toBe(`Alert #${alertId} (rps) is now acknowledged.`);
    expect(await alertRow(alertId)).toEqual({ status: 'acknowledged', revision: 2 });

    // A button drawn before that change carries revision 1: refused, shown as an error, nothing changed.
    const stale = await ui.post(`/ui/benchmarks/alerts/${alertId}`, { status: 'false_positive', revision: '1', back });
    expect(redirectOf(stale).error).toMatch(/changed since it was read/);
    expect(await alertRow(alertId)).toEqual({ status: 'acknowledged', revision: 2 });

    await ui.post(`/ui/benchmarks/alerts/${alertId}`, { status: 'false_positive', revision: '2', back });
    expect(await alertRow(alertId)).toEqual({ status: 'false_positive', revision: 3 });
    const bad = await ui.post(`/ui/benchmarks/alerts/${alertId}`, { status: 'closed', back });
    expect(redirectOf(bad).error).toMatch(/status/);
    const missing = await ui.post('/ui/benchmarks/alerts/999999', { status: 'open', back });
    expect(redirectOf(missing).error).toMatch(/No benchmark alert/);
  });

  it('with tokens: a read session sees no alert buttons and is refused', async () => {
    const reader = await UiSession.as(app(UI_TOKENS), READ_TOKEN);
    const html = await reader.page('/ui/benchmarks/alerts');
    expect(html).toContain(`data-id="${alertId}"`);
    expect(html).not.toContain(`data-testid="alert-${alertId}-`);
    expect((await reader.post(`/ui/benchmarks/alerts/${alertId}`, { status: 'open' })).status).toBe(403);
    expect(await alertRow(alertId)).toMatchObject({ status: 'false_positive' });

    const ci = await UiSession.as(app(UI_TOKENS), SUBMIT_TOKEN);
    expect(await ci.page('/ui/benchmarks/alerts')).toContain(`data-testid="alert-${alertId}-open"`);
  });

  it('compares a commit with a baseline as POST /benchmarks/compare does', async () => {
    await createBaseline(db().pool, { repo: REPO, name: 'before-step', sha: shaOf(10) });
    const summary = await page('/ui/benchmarks/compare?baseline=before-step');
    expect(summary).toContain('Baseline before-step');
    expect(summary).toContain('Compare a recent commit');

    const html = await page(`/ui/benchmarks/compare?baseline=before-step&commit=${shaOf(30)}`);
    const verdicts = [...html.matchAll(/data-testid="comparison" data-verdict="([a-z_]+)"/g)].map((m) => m[1]);
    // SET dropped 10 % (a regression past the 5 % threshold); GET is flat.
    expect(verdicts.sort()).toEqual(['no_change', 'regression']);
    expect(html).toMatch(/data-testid="verdict">\s*<span class="status status-regression">regression/);
    // A 20 % threshold: the 10 % drop no longer matters.
    const lenient = await page(`/ui/benchmarks/compare?baseline=before-step&commit=${shaOf(30)}&threshold=20`);
    expect(lenient).not.toContain('data-verdict="regression"');
    // A commit without results, and a ref that cannot be resolved here: the page says so.
    expect(await page(`/ui/benchmarks/compare?baseline=before-step&commit=${'f'.repeat(40)}`, 404)).toContain(
      'No benchmark results for commit',
    );
    expect(await page('/ui/benchmarks/compare?baseline=before-step&commit=HEAD', 400)).toContain('EVENTIX_REPOS');
  });
});
