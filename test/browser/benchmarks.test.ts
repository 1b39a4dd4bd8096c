import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluateGroup } from '../../src/tracking/alerts/evaluate.ts';
import { createBaseline } from '../../src/tracking/baselines.ts';
import { markCommits } from '../../src/tracking/commits.ts';
import { pushResults } from '../../src/tracking/ingest.ts';
import { repoKey } from '../../src/tracking/repos.ts';
import { step, stepDocuments } from '../helpers/bench-series.ts';
import { linearRepo } from '../helpers/git.ts';
import { checkPage, noBrowser, SCREENSHOT_DIR, useUiServer } from './harness.ts';

// A real clone in EVENTIX_REPOS: the series follow git order and the tips show commit subjects.
const repo = linearRepo(40);
const key = repoKey(repo.dir);
/** What the test reads of a canvas (the test's types have no DOM). */
interface Canvas {
  width: number;
  height: number;
  getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> } } | null;
}

/** Commit i (1 = oldest) of the history. */
const shaAt = (i: number) => repo.shas[40 - i] as string;

describe.skipIf(noBrowser)('dashboard: commits and benchmarks in a browser', () => {
  const ui = useUiServer(() => ({ commits: { repos: [repo.dir] } }));
  afterAll(() => repo.remove());

  beforeAll(async () => {
    if (noBrowser) return;
    const pool = ui.db().pool;
    for (const command of ['SET', 'GET']) {
      const docs = stepDocuments({
        repo: key,
        from: 1,
        to: 40,
        sha: shaAt,
        unit: 'req/s',
        level: command === 'SET' ? step(25) : () => 800,
        tags: { command },
        seed: command === 'SET' ? 42 : 9,
      });
      for (const { doc } of docs) await pushResults(pool, { data: doc });
    }
    await evaluateGroup(pool, { repo: key, metric: 'rps', configId: null, architecture: '' }, { repos: [repo.dir] });
    await createBaseline(pool, { repo: key, name: 'release-1.0', sha: shaAt(10), description: 'before the step' });
    const mark = (from: number, to: number, config: unknown, status: 'complete' | 'failed' | 'in_progress', error?: string) =>
      markCommits(pool, {
        repo: key,
        refs: Array.from({ length: to - from + 1 }, (_, k) => shaAt(from + k)),
        config,
        status,
        error,
      });
    await mark(29, 40, { clients: 50, pipeline: 1 }, 'complete');
    await mark(33, 40, { clients: 50, pipeline: 16 }, 'complete');
    await mark(38, 38, { clients: 50, pipeline: 16 }, 'failed', 'valkey-benchmark exited with code 139 (SIGSEGV)');
    await mark(40, 40, { clients: 200, pipeline: 16 }, 'in_progress');
  }, 120_000);

  it('draws the trend chart with its change point, a tip on hover, and opens the commit on click', async () => {
    const page = await ui.newPage();
    await page.goto(`/ui/benchmarks?repo=${encodeURIComponent(key)}&metric=rps&tags[command]=SET`);
    const chart = page.locator('[data-chart="trend"]').first();
    const canvas = chart.locator('canvas');
    await expect.poll(() => canvas.count()).toBe(1);

    // Drawn: a canvas of real size, with pixels that are not all blank.
    const drawn = await canvas.evaluate((node) => {
      const c = node as unknown as Canvas;
      const ctx = c.getContext('2d');
      const pixels = ctx?.getImageData(0, 0, c.width, c.height).data ?? [];
      let painted = 0;
      for (let i = 3; i < pixels.length; i += 4) if ((pixels[i] as number) > 0) painted++;
      return { width: c.width, height: c.height, painted };
    });
    expect(drawn.width).toBeGreaterThan(200);
    expect(drawn.height).toBeGreaterThan(100);
    expect(drawn.painted).toBeGreaterThan(500);

    // The step at commit 25 is a change point marker over the plot, and an open alert marker.
    const marker = chart.locator('[data-testid="change-point"]');
    await expect.poll(() => marker.count()).toBe(1);
    expect(await marker.getAttribute('data-sha')).toBe(shaAt(25));
    expect(await chart.locator('[data-testid="alert-marker"]').getAttribute('data-sha')).toBe(shaAt(25));
    // The same change point as text, for people who cannot see the chart.
    expect(await page.locator('[data-testid="change-point-row"]').getAttribute('data-sha')).toBe(shaAt(25));

    // Hover over the 30th commit: the tip names it, with its subject.
    const over = chart.locator('.u-over');
    const box = await over.boundingBox();
    if (!box) throw new Error('no plot area');
    const position = { x: (box.width * (30 - 0.5)) / 40, y: box.height / 2 };
    await over.hover({ position });
    const tip = chart.locator('[data-testid="chart-tip"]');
    await expect.poll(() => tip.isVisible()).toBe(true);
    expect(await tip.getAttribute('data-sha')).toBe(shaAt(30));
    expect(await tip.textContent()).toContain(shaAt(30).slice(0, 10));
    expect(await tip.textContent()).toContain('commit 30');
    expect(await tip.textContent()).toContain('req/s');
    await chart.screenshot({ path: path.join(SCREENSHOT_DIR, 'benchmarks-tip.png') });
    await checkPage(page, 'benchmarks');

    await over.click({ position });
    await page.waitForURL((url) => url.pathname === `/ui/commits/${shaAt(30)}`);
    await expect.poll(() => page.locator('h1').textContent()).toBe(`Commit ${shaAt(30).slice(0, 10)}`);
    await checkPage(page, 'commit-detail');
  });

  it('shows the commits matrix, a failed pair, the alerts and the comparison, accessibly', async () => {
    const page = await ui.newPage();
    await page.goto('/ui/commits');
    await expect.poll(() => page.locator('[data-testid="commit-matrix"] tbody tr').count()).toBe(12);
    expect(await page.locator(`tr[data-sha="${shaAt(38)}"] .status-failed`).count()).toBe(1);
    expect(await page.locator('[data-testid="failed-pair"]').textContent()).toContain('SIGSEGV');
    await checkPage(page, 'commits');

    await page.goto(`/ui/commits/${shaAt(25)}`);
    await checkPage(page, 'commit-detail-alert');

    await page.goto('/ui/benchmarks/alerts');
    await expect.poll(() => page.locator('[data-testid="alert-row"]').count()).toBe(1);
    await checkPage(page, 'benchmark-alerts');

    await page.goto(`/ui/benchmarks/compare?baseline=release-1.0&commit=${shaAt(35)}`);
    await expect.poll(() => page.locator('[data-testid="comparison"]').count()).toBe(2);
    expect(await page.locator('[data-testid="verdict"] .status').textContent()).toBe('regression');
    await checkPage(page, 'benchmark-compare');
  });

  it('reads well on a phone and in dark mode', async () => {
    const phone = await ui.newPage({ width: 390, height: 844 });
    await phone.goto(`/ui/benchmarks?repo=${encodeURIComponent(key)}&metric=rps`);
    await expect.poll(() => phone.locator('[data-chart="trend"] canvas').count()).toBe(2);
    await checkPage(phone, 'benchmarks-phone');
    await phone.goto('/ui/commits');
    await checkPage(phone, 'commits-phone');
    await phone.goto('/ui/benchmarks/alerts');
    await checkPage(phone, 'benchmark-alerts-phone');

    const dark = await ui.newPage({ colorScheme: 'dark' });
    await dark.goto(`/ui/benchmarks?repo=${encodeURIComponent(key)}&metric=rps&tags[command]=SET`);
    await expect.poll(() => dark.locator('[data-chart="trend"] canvas').count()).toBe(1);
    await checkPage(dark, 'benchmarks-dark');
    await dark.goto('/ui/commits');
    await checkPage(dark, 'commits-dark');
  });
});
