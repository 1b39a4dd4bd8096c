import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { type App, createApp } from '../../src/api/app.ts';
import { silentLogger } from '../../src/logger.ts';
import { submit } from '../../src/queue/index.ts';
import { useTestDatabase } from '../helpers/db.ts';
import { READ_TOKEN, redirectOf, reply, SUBMIT_TOKEN, UI_TOKENS, UiSession } from '../helpers/ui.ts';
import { useTaskPages } from './task-fixtures.ts';

/**
 * The task list and a task's page through app.request on a real database: what the list shows
 * for each filter and page, that bad input is a 4xx page, what the detail page shows, that its
 * actions follow the queue's state rules, and that a token's scope decides what can be done.
 * Bulk actions: task-bulk.test.ts.
 */
describe('task pages', () => {
  const { pool, s, ns, make, statusOf, finishDone, finishError, linked } = useTaskPages();

  describe('the list', () => {
    it('filters by status (several), namespace, task name, unique key and created time read as UTC', async () => {
      const space = ns('filter');
      const [waiting] = await make(space, 1);
      const [keyed] = await make(space, 1, { uniqueKey: 'order-7', task: 'other' });
      await make(space, 1);
      const done = await finishDone(space);
      const other = await make(ns('elsewhere'), 1);
      await pool().query(`update tasks set created_at = '2020-03-04T05:06:07Z' where uid = $1`, [waiting]);

      const all = linked(await s.page(`/ui/tasks?namespace=${space}`));
      expect(all).toHaveLength(4);
      expect(all).not.toContain(other[0]);

      const both = await reply(s.get(`/ui/tasks?namespace=${space}&status=done&status=scheduled`));
      expect(both.status).toBe(200);
      expect(linked(both.text)).toHaveLength(4);
      expect(linked(await s.page(`/ui/tasks?namespace=${space}&status=done`))).toEqual([done]);
      expect(linked(await s.page(`/ui/tasks?namespace=${space}&task=other`))).toEqual([keyed]);
      expect(linked(await s.page(`/ui/tasks?namespace=${space}&unique_key=order-7`))).toEqual([keyed]);
      // datetime-local sends no zone: 05:06 means 05:06 UTC, so 05:06:07 is after 05:06 and before 05:07.
      expect(linked(await s.page(`/ui/tasks?namespace=${space}&created_before=2020-03-04T05:07`))).toEqual([waiting]);
      expect(linked(await s.page(`/ui/tasks?namespace=${space}&created_after=2020-03-04T05:06&created_before=2020-03-04T05:07`))).toEqual([
        waiting,
      ]);
      expect(linked(await s.page(`/ui/tasks?namespace=${space}&created_after=2020-03-04T05:07`))).not.toContain(waiting);
      // Empty form fields are no filter at all, and the form shows what is applied.
      const empty = await reply(s.get(`/ui/tasks?namespace=${space}&task=&unique_key=&created_after=`));
      expect(linked(empty.text)).toHaveLength(4);
      expect(both.text).toMatch(/value="done" checked/);
      expect(both.text).toContain('Created after (UTC)');
    });

    it('pages newest first with the keyset cursor, every task once', async () => {
      const space = ns('pages');
      const uids = await make(space, 23);
      const seen: string[] = [];
      let url: string | undefined = `/ui/tasks?namespace=${space}&limit=10`;
      let pages = 0;
      while (url) {
        const page = await reply(s.get(url));
        expect(page.status).toBe(200);
        seen.push(...linked(page.text));
        const next = /href="([^"]*cursor=[^"]*)" rel="next"/.exec(page.text)?.[1];
        url = next?.replaceAll('&amp;', '&');
        pages++;
      }
      expect(pages).toBe(3);
      expect(seen).toEqual([...uids].reverse());
    });

    it('answers bad filters with a 400 page naming the field, never a 500', async () => {
      const cases: [string, RegExp][] = [
        ['status=bogus', /status: must be one of scheduled/],
        ['status=done,nope', /status: must be one of/],
        ['created_after=yesterday', /created_after: must be a date and time such as/],
        ['created_before=2020-13-45T99:00', /created_before: must be a date and time/],
        ['namespace=no%20spaces', /namespace: must be 1-200 characters/],
        ['limit=0', /limit:/],
        ['cursor=not-a-cursor', /cursor: is not a cursor this API issued/],
        [`cursor=${Buffer.from('{"i":-5}').toString('base64url')}`, /cursor:/],
      ];
      for (const [query, message] of cases) {
        const res = await reply(s.get(`/ui/tasks?${query}`));
        expect(res.status, query).toBe(400);
        expect(res.text, query).toMatch(message);
        expect(res.text, query).toContain('Filter tasks');
      }
    });

    it('says how to clear a filter that matches nothing', async () => {
      const noMatch = await reply(s.get(`/ui/tasks?namespace=${ns('nothing')}`));
      expect(noMatch.status).toBe(200);
      expect(noMatch.text).toContain('No tasks match this filter.');
      expect(noMatch.text).toContain('Clear the filter');
      expect(noMatch.text).not.toContain('No tasks yet');
    });
  });

  describe('the detail page', () => {
    it('shows every field, the error with its stack, the origin and the timeline', async () => {
      const space = ns('detail');
      const uid = await finishError(space, { args: [1, 'two'], kwargs: { to: 'ada@example.com' }, uniqueKey: 'k-1' });
      const page = await reply(s.get(`/ui/tasks/${uid}`));
      expect(page.status).toBe(200);
      for (const text of [
        'ada@example.com',
        'BoomError',
        'it went boom',
        'at handler (job.ts:1:1)',
        'Failed after 1 attempt',
        'Submitted',
        'Failed attempts (1)',
        'data-testid="attempts"',
        'w-ui',
        'k-1',
      ]) {
        expect(page.text).toContain(text);
      }
      expect(page.text).toContain('<pre class="stack"');
      expect(page.text).toContain('Retry now');
      expect(page.text).not.toContain('data-testid="task-cancel"');
      expect(page.text).toMatch(/UTC/);
    });

    it('links a scheduled task to its schedule and a triggered one to its event', async () => {
      const event = randomUUID();
      const { task: a } = await submit(pool(), {
        task: 'job',
        namespace: ns('origin'),
        scheduleName: 'nightly report',
        scheduleFireAt: '2026-01-01T00:00:00Z',
      });
      const { task: b } = await submit(pool(), { task: 'job', namespace: ns('origin'), eventUid: event, triggerName: 'on-push' });
      expect(await s.page(`/ui/tasks/${a.uid}`)).toContain('href="/ui/schedules/nightly%20report"');
      const tb = await s.page(`/ui/tasks/${b.uid}`);
      expect(tb).toContain(`href="/ui/events?uid=${event}"`);
      expect(tb).toContain('on-push');
    });

    it('answers a malformed uid with 400 and an unknown one with 404, each with a way back', async () => {
      const bad = await reply(s.get('/ui/tasks/not-a-uid'));
      expect(bad.status).toBe(400);
      expect(bad.text).toContain('is not a task uid');
      const unknown = await reply(s.get(`/ui/tasks/${randomUUID()}`));
      expect(unknown.status).toBe(404);
      expect(unknown.text).toContain('href="/ui/tasks"');
    });

    it('retries, cancels and deletes through the queue’s rules', async () => {
      const space = ns('detail-actions');
      await make(space, 1);
      const uid = await finishError(space);
      const back = `/ui/tasks/${uid}`;
      const cancelDone = await reply(s.post(`/ui/tasks/${uid}/cancel`, { back }));
      expect(redirectOf(cancelDone.location).error).toMatch(/Cannot cancel task .* in status 'error'/);
      const retry = await reply(s.post(`/ui/tasks/${uid}/reschedule`, { back }));
      expect(retry.location).toMatch(new RegExp(`^/ui/tasks/${uid}\\?notice=`));
      expect(await statusOf(uid)).toEqual({ status: 'scheduled', cancel_requested: false });
      const gone = await reply(s.post(`/ui/tasks/${uid}/delete`, { back }));
      expect(gone.location).toMatch(/^\/ui\/tasks\?notice=Task/);
      expect(await statusOf(uid)).toBeUndefined();
    });
  });
});

describe('task pages with API tokens', () => {
  const db = useTestDatabase();
  let app: App;
  beforeAll(() => {
    app = createApp({ database: db(), logger: silentLogger, apiTokens: UI_TOKENS });
  });

  it('shows a read token no action and refuses its POSTs with 403, changing nothing', async () => {
    const { task } = await submit(db().pool, { task: 'job', namespace: 'tok' });
    const s = await UiSession.as(app, READ_TOKEN);
    const list = await reply(s.get('/ui/tasks?namespace=tok'));
    expect(list.status).toBe(200);
    expect(list.text).toContain(`/ui/tasks/${task.uid}`);
    expect(list.text).not.toContain('name="uid"');
    expect(list.text).not.toContain('/ui/tasks/bulk/');
    const detail = await reply(s.get(`/ui/tasks/${task.uid}`));
    expect(detail.text).not.toContain('task-cancel');
    expect(detail.text).not.toContain(`/ui/tasks/${task.uid}/`);
    const ask = await reply(s.post('/ui/tasks/bulk/cancel', { target: 'selected', uid: task.uid, back: '/ui/tasks' }));
    expect(ask.status).toBe(403);
    expect(ask.text).toContain('does not allow this action');
    expect((await s.post(`/ui/tasks/${task.uid}/cancel`, { back: '/ui/tasks' })).status).toBe(403);
    const { rows } = await db().pool.query('select status from tasks where uid = $1', [task.uid]);
    expect(rows[0].status).toBe('scheduled');
  });

  it('lets a submit token cancel but not delete, as the API does', async () => {
    const { task } = await submit(db().pool, { task: 'job', namespace: 'tok2' });
    const s = await UiSession.as(app, SUBMIT_TOKEN);
    const list = await reply(s.get('/ui/tasks?namespace=tok2'));
    expect(list.text).toContain('data-testid="bulk-cancel-selected"');
    expect(list.text).not.toContain('data-testid="bulk-delete-selected"');
    const del = await reply(s.post('/ui/tasks/bulk/delete', { target: 'selected', uid: task.uid, confirm: 'yes', back: '/ui/tasks' }));
    expect(del.status).toBe(403);
    const go = await reply(s.post('/ui/tasks/bulk/cancel', { target: 'selected', uid: task.uid, confirm: 'yes', back: '/ui/tasks' }));
    expect(redirectOf(go.location).notice).toBe('Cancelled 1 task.');
  });
});

describe('task list of an empty queue', () => {
  const db = useTestDatabase();
  it('says how to submit the first task', async () => {
    const app = createApp({ database: db(), logger: silentLogger });
    const res = await app.request('http://localhost/ui/tasks');
    const text = await res.text();
    expect(res.status).toBe(200);
    expect(text).toContain('No tasks yet');
    expect(text).toContain(
      `curl -X POST http://localhost/tasks -H 'content-type: application/json' -d '{"task":"hello"}'`
        .replaceAll("'", '&#39;')
        .replaceAll('"', '&quot;'),
    );
  });
});
