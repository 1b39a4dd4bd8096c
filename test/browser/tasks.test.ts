import { describe, expect, it } from 'vitest';
import { claim, fail } from '../../src/queue/index.ts';
import { checkPage, noBrowser, useUiServer } from './harness.ts';

/**
 * The task pages in a real Chromium against a real server: tasks submitted over the API show up in
 * an open list by the live refresh alone, a ticked task is cancelled through the confirmation page,
 * a failed task is retried from its page, and each page passes axe at desktop and phone widths.
 */
describe.skipIf(noBrowser)('task pages in the browser', () => {
  const ui = useUiServer();
  const statusOf = async (uid: string) =>
    (await ui.db().pool.query<{ status: string }>('select status from tasks where uid = $1', [uid])).rows[0]?.status;

  async function submitOverApi(body: Record<string, unknown>): Promise<string> {
    const res = await fetch(`${ui.url}/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(201);
    return ((await res.json()) as { task: { uid: string } }).task.uid;
  }

  it('shows submitted tasks without a reload and cancels a ticked one after confirming', async () => {
    const page = await ui.newPage();
    await page.goto('/ui/tasks');
    await expect.poll(() => page.getByText('No tasks yet').count()).toBe(1);
    // A mark on the window: it survives only if the page is never reloaded.
    await page.evaluate('window.__noReload = true');

    const uids: string[] = [];
    for (const task of ['email.send', 'report.build', 'image.resize']) {
      uids.push(await submitOverApi({ task, namespace: 'web', kwargs: { n: uids.length } }));
    }
    const rows = page.locator('table tbody tr');
    await expect.poll(() => rows.count(), { timeout: 20_000 }).toBe(3);
    expect(await page.evaluate('window.__noReload')).toBe(true);
    await checkPage(page, 'tasks');

    const target = uids[1]!;
    await page.locator(`input[name="uid"][value="${target}"]`).check();
    await page.getByTestId('bulk-cancel-selected').click();
    await expect.poll(() => page.getByTestId('bulk-question').textContent()).toBe('Cancel the 1 ticked task?');
    expect(await statusOf(target)).toBe('scheduled');
    await checkPage(page, 'tasks-confirm');

    await page.getByTestId('bulk-confirm').click();
    await expect.poll(() => page.locator('.flash.ok').textContent()).toBe('Cancelled 1 task.');
    expect(new URL(page.url()).pathname).toBe('/ui/tasks');
    await expect.poll(() => statusOf(target)).toBe('cancelled');
    expect(await statusOf(uids[0]!)).toBe('scheduled');
    expect(await statusOf(uids[2]!)).toBe('scheduled');
  });

  it('retries a failed task from its page', async () => {
    const uid = await submitOverApi({ task: 'flaky', namespace: 'web-fail', args: ['x'] });
    const [claimed] = await claim(ui.db().pool, {
      workerId: 'browser-worker',
      namespaces: ['web-fail'],
      tasks: ['flaky'],
      limit: 1,
      leaseSeconds: 30,
    });
    expect(claimed?.uid).toBe(uid);
    await fail(ui.db().pool, {
      uid,
      workerId: claimed!.workerId,
      fencingToken: claimed!.fencingToken,
      error: {
        class: 'TimeoutError',
        message: 'upstream took too long',
        stack: 'TimeoutError: upstream took too long\n    at fetchUpstream (flaky.ts:12:7)',
      },
      retryable: false,
    });
    expect(await statusOf(uid)).toBe('error');

    const page = await ui.newPage();
    await page.goto(`/ui/tasks/${uid}`);
    await expect.poll(() => page.locator('pre.stack').textContent()).toContain('at fetchUpstream (flaky.ts:12:7)');
    // The attempt history: one failed attempt, by that worker, with its error.
    const attempt = page.getByTestId('attempts').locator('tbody tr');
    await expect.poll(() => attempt.count()).toBe(1);
    await expect.poll(() => attempt.textContent()).toMatch(/^1.*browser-worker.*TimeoutError: upstream took too long$/);
    await checkPage(page, 'task-detail');

    await page.getByTestId('task-retry').click();
    await expect.poll(() => page.locator('.flash.ok').textContent()).toBe('Task rescheduled: it is scheduled and due now.');
    await expect.poll(() => statusOf(uid)).toBe('scheduled');
    await expect.poll(() => page.locator('.task-head .status').textContent()).toBe('scheduled');

    const dark = await ui.newPage({ colorScheme: 'dark' });
    await dark.goto(`/ui/tasks/${uid}`);
    await checkPage(dark, 'task-detail-dark');
  });

  it('fits a phone screen', async () => {
    await submitOverApi({ task: 'notifications.push-to-every-device', namespace: 'web-phone' });
    const page = await ui.newPage({ width: 390, height: 844 });
    await page.goto('/ui/tasks');
    await expect.poll(() => page.locator('table tbody tr').count()).toBeGreaterThan(0);
    // Nothing wider than the screen but the table's own scrolling card.
    const overflow = (await page.evaluate('document.documentElement.scrollWidth - window.innerWidth')) as number;
    expect(overflow).toBeLessThanOrEqual(0);
    await checkPage(page, 'tasks-phone');
  });
});
