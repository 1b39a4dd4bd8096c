import { beforeAll, describe, expect, it } from 'vitest';
import { defineTrigger } from '../../src/events/define.ts';
import { publishEvent } from '../../src/events/publish.ts';
import { createTrigger } from '../../src/events/triggers.ts';
import { createSchedule } from '../../src/scheduler/manage.ts';
import { runSchedule } from '../../src/scheduler/run-now.ts';
import { checkPage, noBrowser, useUiServer } from './harness.ts';

const codeTrigger = defineTrigger('notify-on-push', 'commit.pushed', (e) => ({ task: 'notify', args: [e.payload.sha ?? null] }), {
  filter: { field: '/branch', eq: 'main' },
});

describe.skipIf(noBrowser)('schedules and events in the browser', () => {
  const ui = useUiServer(() => ({ codeTriggers: [codeTrigger] }));
  const enabledOf = async (name: string) =>
    (await ui.db().pool.query<{ enabled: boolean }>('select enabled from schedules where name = $1', [name])).rows[0]?.enabled;

  beforeAll(async () => {
    if (noBrowser) return;
    const pool = ui.db().pool;
    await createSchedule(pool, {
      name: 'nightly-sweep',
      cron: '0 2 * * *',
      timezone: 'Europe/Berlin',
      task: 'bench.sweep',
      namespace: 'bench',
      kwargs: { grid: 'small' },
      options: { maxRetries: 2, timeoutSeconds: 3600 },
    });
    await createSchedule(pool, { name: 'hourly-report', cron: '15 * * * *', task: 'report.hourly', enabled: false });
    await createSchedule(pool, { name: 'weekday-digest', cron: '30 8 * * 1-5', timezone: 'America/New_York', task: 'mail.digest' });
    await runSchedule(pool, 'nightly-sweep');
    await runSchedule(pool, 'nightly-sweep');
    await createTrigger(pool, {
      name: 'sweep-on-push',
      eventName: 'commit.pushed',
      filter: { field: '/branch', eq: 'main' },
      template: { task: 'bench.sweep', namespace: 'bench', kwargs: { sha: { $ptr: '/sha' } }, unique_key: 'sweep-{{/sha}}' },
    });
    await publishEvent(
      pool,
      { name: 'commit.pushed', payload: { sha: '3f2a9c1', branch: 'main', author: 'ada' } },
      { codeTriggers: [codeTrigger] },
    );
    await publishEvent(pool, { name: 'commit.pushed', namespace: 'forks', payload: { sha: '77aa001', branch: 'wip' } });
    await publishEvent(pool, { name: 'release.tagged', payload: { tag: 'v1.4.0' } });
  });

  it('pauses a schedule from the list and resumes it from its page, the database following', async () => {
    const page = await ui.newPage();
    await page.goto('/ui/schedules');
    await expect.poll(() => page.locator('h1').textContent()).toBe('Schedules');
    await checkPage(page, 'schedules');

    await page.getByTestId('pause-nightly-sweep').click();
    await page.locator('.flash.ok').filter({ hasText: "Paused 'nightly-sweep'" }).waitFor();
    await expect.poll(() => enabledOf('nightly-sweep'), { timeout: 10_000 }).toBe(false);
    await page.getByTestId('resume-nightly-sweep').waitFor();

    await page.getByRole('link', { name: 'nightly-sweep' }).click();
    await expect.poll(() => page.locator('h1').textContent()).toBe('Schedule nightly-sweep');
    await page.getByTestId('resume-nightly-sweep').click();
    await page.locator('.flash.ok').filter({ hasText: "Resumed 'nightly-sweep'" }).waitFor();
    await expect.poll(() => enabledOf('nightly-sweep'), { timeout: 10_000 }).toBe(true);
    expect(new URL(page.url()).pathname).toBe('/ui/schedules/nightly-sweep');
    expect(await page.locator('#upcoming tbody tr').count()).toBe(5);
    await checkPage(page, 'schedule-detail');
  });

  it('passes axe on the events page, and on phone and dark screens', async () => {
    const page = await ui.newPage();
    await page.goto('/ui/events');
    await page.locator('#events tbody tr').first().waitFor();
    expect(await page.locator('#events tbody tr').count()).toBe(3);
    await checkPage(page, 'events');
    await page.locator('#events tbody tr').last().getByRole('link', { name: 'commit.pushed' }).click();
    await expect.poll(() => page.locator('h1').textContent()).toBe('Event commit.pushed');
    expect(await page.locator('#tasks tbody tr').count()).toBe(2);
    await checkPage(page, 'event-detail');

    const phone = await ui.newPage({ width: 390, height: 844 });
    for (const [path, name] of [
      ['/ui/schedules', 'schedules-phone'],
      ['/ui/schedules/nightly-sweep', 'schedule-detail-phone'],
      ['/ui/events', 'events-phone'],
    ] as const) {
      await phone.goto(path);
      await phone.locator('main h1').waitFor();
      await checkPage(phone, name);
    }
    const dark = await ui.newPage({ colorScheme: 'dark' });
    await dark.goto('/ui/schedules/nightly-sweep');
    await dark.locator('#fires tbody tr').first().waitFor();
    await checkPage(dark, 'schedule-detail-dark');
    await dark.goto('/ui/events');
    await checkPage(dark, 'events-dark');
  });
});
