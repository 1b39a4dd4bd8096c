import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ApiToken } from '../../src/config.ts';
import { claim, fail, submit, toTaskError } from '../../src/queue/index.ts';
import { createSchedule } from '../../src/scheduler/manage.ts';
import { freshToken } from '../helpers/ui.ts';
import { checkPage, noBrowser, useUiServer } from './harness.ts';

const READER = freshToken('reader', 'read');
const ROOT = freshToken('root', 'admin');

/** Action buttons a page offers: every POST form in the main region (the logout form is in the header). */
const actionButtons = (page: Page) => page.locator('main form[method="post"] button').count();

describe.skipIf(noBrowser)('dashboard login in a browser', () => {
  const ui = useUiServer(() => ({ apiTokens: [READER, ROOT] }));
  let waiting = '';
  let failed = '';

  beforeAll(async () => {
    if (noBrowser) return;
    const pool = ui.db().pool;
    waiting = (await submit(pool, { task: 'report.render', namespace: 'reports' })).task.uid;
    const f = (await submit(pool, { task: 'email.send', namespace: 'emails', retry: false })).task.uid;
    const [held] = await claim(pool, {
      workerId: 'host-a:1:abcd',
      namespaces: ['emails'],
      tasks: ['email.send'],
      limit: 1,
      leaseSeconds: 30,
    });
    await fail(pool, {
      uid: held!.uid,
      workerId: held!.workerId,
      fencingToken: held!.fencingToken,
      error: toTaskError(new Error('SMTP refused')),
    });
    failed = f;
    await createSchedule(pool, { name: 'nightly', cron: '0 2 * * *', timezone: 'Europe/Berlin', task: 'report.render' });
  });

  async function login(page: Page, token: ApiToken, next = '/ui') {
    await page.goto(next);
    expect(new URL(page.url()).pathname).toBe('/ui/login');
    await checkPage(page, 'login');
    await page.getByLabel('API token').fill(token.secret);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL((u) => u.pathname + u.search === next);
  }

  it('a read token sees every page and no button on any of them', async () => {
    const page = await ui.newPage();
    await login(page, READER, '/ui/tasks');
    const pages = [
      '/ui',
      '/ui/tasks',
      `/ui/tasks/${waiting}`,
      `/ui/tasks/${failed}`,
      '/ui/schedules',
      '/ui/schedules/nightly',
      '/ui/events',
      '/ui/commits',
      '/ui/benchmarks',
    ];
    for (const path of pages) {
      const res = await page.goto(path);
      expect(res?.status(), path).toBe(200);
      expect(await actionButtons(page), `buttons on ${path}`).toBe(0);
    }
    // The session cookie is invisible to scripts (HttpOnly).
    expect(await page.evaluate(() => (globalThis as unknown as { document: { cookie: string } }).document.cookie)).not.toContain(
      'eventix_session',
    );
    // And the API docs open in the same browser session.
    expect((await page.goto('/docs'))?.status()).toBe(200);
  });

  it('an admin token sees the actions, and logging out ends the session', async () => {
    const page = await ui.newPage();
    await login(page, ROOT, `/ui/tasks/${waiting}`);
    expect(await actionButtons(page)).toBeGreaterThan(0);
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL((u) => u.pathname === '/ui/login');
    await page.goto('/ui');
    expect(new URL(page.url()).pathname).toBe('/ui/login');
  });

  it('a forged cross-site POST gets 403 and changes nothing', async () => {
    const page = await ui.newPage();
    await login(page, ROOT, '/ui');
    // A form built by script, without the page's CSRF value: what another site's page could send.
    const status = await page.evaluate(async (uid) => {
      const res = await fetch(`/ui/tasks/${uid}/cancel`, { method: 'POST', body: new URLSearchParams({ back: '/ui' }) });
      return res.status;
    }, waiting);
    expect(status).toBe(403);
    const { rows } = await ui.db().pool.query('select status from tasks where uid = $1', [waiting]);
    expect(rows[0].status).toBe('scheduled');
  });
});
