import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { type App, createApp } from '../../src/api/app.ts';
import type { ApiToken } from '../../src/config.ts';
import { silentLogger } from '../../src/logger.ts';
import { submit } from '../../src/queue/index.ts';
import { useTestDatabase } from '../helpers/db.ts';
import { flashError, notice, Session, taskFixtures } from './task-fixtures.ts';

/**
 * The task list and a task's page through app.request on a real database: what the list shows
 * for each filter and page, that bad input is a 4xx page, what the detail page shows, that its
 * actions follow the queue's state rules, and that a token's scope decides what can be done.
 * Bulk actions: task-bulk.test.ts.
 */
describe('task pages', () => {
  const db = useTestDatabase();
  const pool = () => db().pool;
  let app: App;
  let s: Session;
  beforeAll(async () => {
    app = createApp({ database: db(), logger: silentLogger });
    s = new Session(() => app);
    await s.get('/ui/tasks'); // the CSRF cookie, as a browser gets it on its first page
  });
  const { ns, make, statusOf, finishDone, finishError, linked } = taskFixtures(db);

  describe('the list', () => {
    it('filters by status (several), namespace, task name, unique key and created time read as UTC', async () => {
      const space = ns('filter');
      const [waiting] = await make(space, 1);
      const [keyed] = await make(space, 1, { uniqueKey: 'order-7', task: 'other' });
      await make(space, 1);
      const done = await finishDone(space);
      const other = await make(ns('elsewhere'), 1);
      await pool().query(`update tasks set created_at = '2020-03-04T05:06:07Z' where uid = $1`, [waiting]);

      const all = linked((await s.get(`/ui/tasks?namespace=${space}`)).text);
      expect(all).toHaveLength(4);
      expect(all).not.toContain(other[0]);

      const both = await s.get(`/ui/tasks?namespace=${space}&status=done&status=scheduled`);
      expect(both.status).toBe(200);
      expect(linked(both.text)).toHaveLength(4);
      expect(linked((await s.get(`/ui/tasks?namespace=${space}&status=done`)).text)).toEqual([done]);
      expect(linked((await s.get(`/ui/tasks?namespace=${space}&task=other`)).text)).toEqual([keyed]);
      expect(linked((await s.get(`/ui/tasks?namespace=${space}&unique_key=order-7`)).text)).toEqual([keyed]);
      // datetime-local sends no zone: 05:06 means 05:06 UTC, so 05:06:07 is after 05:06 and before 05:07.
      expect(linked((await s.get(`/ui/tasks?namespace=${space}&created_before=2020-03-04T05:07`)).text)).toEqual([waiting]);
      expect(
        linked((await s.get(`/ui/tasks?namespace=${space}&created_after=2020-03-04T05:06&created_before=2020-03-04T05:07`)).text),
      ).toEqual([waiting]);
      expect(linked((await s.get(`/ui/tasks?namespace=${space}&created_after=2020-03-04T05:07`)).text)).not.toContain(waiting);
      // Empty form fields are no filter at all, and the form shows what is applied.
      const empty = await s.get(`/ui/tasks?namespace=${space}&task=&unique_key=&created_after=`);
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
        const page = await s.get(url);
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
        const res = await s.get(`/ui/tasks?${query}`);
        expect(res.status, query).toBe(400);
        expect(res.text, query).toMatch(message);
        expect(res.text, query).toContain('Filter tasks');
      }
    });

    it('says how to clear a filter that matches nothing', async () => {
      const noMatch = await s.get(`/ui/tasks?namespace=${ns('nothing')}`);
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
      const page = await s.get(`/ui/tasks/${uid}`);
      expect(page.status).toBe(200);
      for (const text of [
        'ada@example.com',
        'BoomError',
        'it went boom',
        'at handler (job.ts:1:1)',
        'Failed after 1 attempt',
        'Submitted',
        'only the latest attempt',
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
      expect((await s.get(`/ui/tasks/${a.uid}`)).text).toContain('href="/ui/schedules/nightly%20report"');
      const tb = (await s.get(`/ui/tasks/${b.uid}`)).text;
      expect(tb).toContain(`href="/ui/events?uid=${event}"`);
      expect(tb).toContain('on-push');
    });

    it('answers a malformed uid with 400 and an unknown one with 404, each with a way back', async () => {
      const bad = await s.get('/ui/tasks/not-a-uid');
      expect(bad.status).toBe(400);
      expect(bad.text).toContain('is not a task uid');
      const unknown = await s.get(`/ui/tasks/${randomUUID()}`);
      expect(unknown.status).toBe(404);
      expect(unknown.text).toContain('href="/ui/tasks"');
    });

    it('retries, cancels and deletes through the queue’s rules', async () => {
      const space = ns('detail-actions');
      await make(space, 1);
      const uid = await finishError(space);
      const back = `/ui/tasks/${uid}`;
      const cancelDone = await s.post(`/ui/tasks/${uid}/cancel`, [['back', back]]);
      expect(flashError(cancelDone.location)).toMatch(/Cannot cancel task .* in status 'error'/);
      const retry = await s.post(`/ui/tasks/${uid}/reschedule`, [['back', back]]);
      expect(retry.location).toMatch(new RegExp(`^/ui/tasks/${uid}\\?notice=`));
      expect(await statusOf(uid)).toEqual({ status: 'scheduled', cancel_requested: false });
      const gone = await s.post(`/ui/tasks/${uid}/delete`, [['back', back]]);
      expect(gone.location).toMatch(/^\/ui\/tasks\?notice=Task/);
      expect(await statusOf(uid)).toBeUndefined();
    });
  });
});

describe('task pages with API tokens', () => {
  const db = useTestDatabase();
  const tokens: ApiToken[] = [
    { name: 'viewer', scope: 'read', secret: 'read-secret-0123456789' },
    { name: 'ops', scope: 'submit', secret: 'submit-secret-0123456789' },
  ];
  let app: App;
  beforeAll(() => {
    app = createApp({ database: db(), logger: silentLogger, apiTokens: tokens });
  });

  async function login(secret: string): Promise<Session> {
    const s = new Session(() => app);
    expect((await s.get('/ui/login')).status).toBe(200);
    const res = await s.post('/ui/login', [
      ['token', secret],
      ['next', '/ui/tasks'],
    ]);
    expect(res.status).toBe(303);
    expect(s.cookies.has('eventix_session')).toBe(true);
    return s;
  }

  it('shows a read token no action and refuses its POSTs with 403, changing nothing', async () => {
    const { task } = await submit(db().pool, { task: 'job', namespace: 'tok' });
    const s = await login('read-secret-0123456789');
    const list = await s.get('/ui/tasks?namespace=tok');
    expect(list.status).toBe(200);
    expect(list.text).toContain(`/ui/tasks/${task.uid}`);
    expect(list.text).not.toContain('name="uid"');
    expect(list.text).not.toContain('/ui/tasks/bulk/');
    const detail = await s.get(`/ui/tasks/${task.uid}`);
    expect(detail.text).not.toContain('task-cancel');
    expect(detail.text).not.toContain(`/ui/tasks/${task.uid}/`);
    const ask = await s.post('/ui/tasks/bulk/cancel', [
      ['target', 'selected'],
      ['uid', task.uid],
      ['back', '/ui/tasks'],
    ]);
    expect(ask.status).toBe(403);
    expect(ask.text).toContain('does not allow this action');
    expect((await s.post(`/ui/tasks/${task.uid}/cancel`, [['back', '/ui/tasks']])).status).toBe(403);
    const { rows } = await db().pool.query('select status from tasks where uid = $1', [task.uid]);
    expect(rows[0].status).toBe('scheduled');
  });

  it('lets a submit token cancel but not delete, as the API does', async () => {
    const { task } = await submit(db().pool, { task: 'job', namespace: 'tok2' });
    const s = await login('submit-secret-0123456789');
    const list = await s.get('/ui/tasks?namespace=tok2');
    expect(list.text).toContain('data-testid="bulk-cancel-selected"');
    expect(list.text).not.toContain('data-testid="bulk-delete-selected"');
    const del = await s.post('/ui/tasks/bulk/delete', [
      ['target', 'selected'],
      ['uid', task.uid],
      ['confirm', 'yes'],
      ['back', '/ui/tasks'],
    ]);
    expect(del.status).toBe(403);
    const go = await s.post('/ui/tasks/bulk/cancel', [
      ['target', 'selected'],
      ['uid', task.uid],
      ['confirm', 'yes'],
      ['back', '/ui/tasks'],
    ]);
    expect(notice(go.location)).toBe('Cancelled 1 task.');
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
