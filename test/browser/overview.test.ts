import { describe, expect, it } from 'vitest';
import { refreshTaskRollup } from '../../src/queue/rollup.ts';
import { createSchedule } from '../../src/scheduler/manage.ts';
import { checkPage, noBrowser, useUiServer } from './harness.ts';

/**
 * The overview in a real browser: empty, then filling up by itself as tasks are submitted through
 * the API (the live refresh, no reload), then with a bit of everything for the screenshots.
 */
describe.skipIf(noBrowser)('overview in the browser', () => {
  const ui = useUiServer();
  const sql = (text: string, values: unknown[] = []) => ui.db().pool.query(text, values);

  /** A realistic hour: done tasks every minute, some failures, workers holding leases, schedules. */
  async function seedHour() {
    await sql(
      `insert into tasks (task, namespace, status, finished_at, error)
       select case when i % 3 = 0 then 'resize_image' else 'send_email' end,
         case when i % 4 = 0 then 'media' else 'mail' end,
         case when i % 23 = 0 then 'error' else 'done' end,
         now() - (i % 58) * interval '1 minute' - (i % 7) * interval '5 s',
         case when i % 23 = 0 then jsonb_build_object(
           'class', case when i % 2 = 0 then 'TimeoutError' else 'SMTPRecipientRefused' end,
           'message', case when i % 2 = 0 then 'handler exceeded timeout_seconds (30 s)' else '550 5.1.1 mailbox unavailable' end) end
       from generate_series(1, 2400) as i`,
    );
    await sql(
      `insert into tasks (task, namespace, status, worker_id, lease_expires_at, fencing_token, started_at, updated_at)
       select 'resize_image', 'media', 'processing', 'render-' || (i % 3) || ':' || (4100 + i % 3) || ':9f3a' || (i % 3),
         now() + case when i = 1 then interval '12 s' else interval '4 min' end, nextval('tasks_fencing_token_seq'), now(), now() - (i % 3) * interval '2 s'
       from generate_series(1, 7) as i`,
    );
    // Presence rows: one of the render workers, an idle mail worker, and one gone quiet 4 min ago.
    // render-1 and render-2 have none (remote workers over HTTP): they show from their leases.
    await sql(
      `insert into workers (id, host, pid, namespaces, tasks, concurrency, version, started_at, last_seen_at) values
         ('render-0:4100:9f3a0', 'render-0', 4100, '{media}', '{resize_image}', 4, '0.1.0', now() - interval '3 hours', now() - interval '3 s'),
         ('mailer-1:5200:77aa', 'mailer-1', 5200, '{mail}', '{send_email,send_digest}', 8, '0.1.0', now() - interval '40 min', now() - interval '6 s'),
         ('mailer-2:5201:77ab', 'mailer-2', 5201, '{mail}', '{send_email,send_digest}', 8, '0.1.0', now() - interval '2 hours', now() - interval '4 min')`,
    );
    await createSchedule(ui.db().pool, { name: 'nightly-digest', cron: '0 3 * * *', task: 'send_digest', namespace: 'mail' });
    await createSchedule(ui.db().pool, { name: 'thumbnails-sweep', cron: '*/15 * * * *', task: 'resize_image', namespace: 'media' });
    await refreshTaskRollup(ui.db().pool, { minAgeSeconds: 0 });
  }

  it('shows an empty database, then tasks submitted through the API without a reload, then a busy hour', async () => {
    const page = await ui.newPage();
    await page.goto('/ui');
    await expect.poll(() => page.getByText('No tasks yet.').isVisible()).toBe(true);
    await checkPage(page, 'overview-empty');

    // A value that only survives if the page is never reloaded: the live refresh swaps <main> only.
    await page.evaluate('window.notReloaded = true');
    for (const task of ['send_email', 'send_email', 'resize_image']) {
      const res = await fetch(`${ui.url}/tasks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ task, namespace: 'mail' }),
      });
      expect(res.status).toBe(201);
    }
    const mail = page.locator('tr[data-namespace="mail"]');
    await expect.poll(() => mail.count(), { timeout: 15_000 }).toBe(1);
    await expect.poll(() => mail.locator('td').first().textContent()).toBe('3');
    expect(await page.evaluate('window.notReloaded')).toBe(true);
    await expect.poll(() => page.locator('.live-status').textContent()).toMatch(/^Live · updated/);

    await seedHour();
    await page.reload();
    // uPlot drew the chart (a canvas inside the chart element), and the summary says what it shows.
    await expect.poll(() => page.locator('[data-chart="throughput"] canvas').count()).toBeGreaterThan(0);
    await expect.poll(() => page.getByTestId('throughput-summary').textContent()).toMatch(/2,296 tasks completed, 104 failed/);
    await expect.poll(() => page.getByTestId('failures').locator('tr[data-class="TimeoutError"]').count()).toBe(1);
    const workers = page.getByTestId('workers');
    await expect.poll(() => workers.locator('tbody tr').count()).toBe(5);
    expect(await workers.locator('tr[data-state="quiet"] .status-gone-quiet').isVisible()).toBe(true);
    expect(await workers.locator('tr[data-worker="mailer-1:5200:77aa"]').textContent()).toMatch(/0 \/ 8/);
    expect(await workers.locator('tr[data-state="remote"]').count()).toBe(2);
    await checkPage(page, 'overview');

    // Through the next live refresh the chart is drawn again in the new <main>.
    await page.locator('[data-chart="throughput"]').evaluate((el) => el.setAttribute('data-old', '1'));
    await expect.poll(() => page.locator('[data-chart="throughput"][data-old]').count(), { timeout: 15_000 }).toBe(0);
    await expect.poll(() => page.locator('[data-chart="throughput"] canvas').count()).toBeGreaterThan(0);
  });

  it('reads at phone width and in dark mode', async () => {
    const phone = await ui.newPage({ width: 390, height: 844 });
    await phone.goto('/ui');
    await expect.poll(() => phone.locator('[data-chart="throughput"] canvas').count()).toBeGreaterThan(0);
    // Nothing wider than the screen: the page does not scroll sideways.
    expect(await phone.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    await checkPage(phone, 'overview-phone');

    const dark = await ui.newPage({ colorScheme: 'dark' });
    await dark.goto('/ui');
    await expect.poll(() => dark.locator('[data-chart="throughput"] canvas').count()).toBeGreaterThan(0);
    await checkPage(dark, 'overview-dark');
  });
});
