import { describe, expect, it } from 'vitest';
import { redirectOf, reply } from '../helpers/ui.ts';
import { useTaskPages } from './task-fixtures.ts';

/**
 * Bulk cancel, reschedule and delete from the task list: nothing changes before the confirmation,
 * the confirmation states the exact count, the confirmed action follows the queue's state rules
 * task by task through every batch, and a forged form changes nothing.
 */
describe('bulk task actions', () => {
  const { pool, s, ns, make, statusOf, claimIn, finishDone, finishError } = useTaskPages();

  describe('bulk actions', () => {
    it('by selection: asks with the count first, then cancels the allowed ones and counts the skipped', async () => {
      const space = ns('sel');
      const waiting = await make(space, 2);
      const done = await finishDone(space);
      const ticked = [...waiting, done];
      const before = await Promise.all(ticked.map(statusOf));
      const ask = await reply(s.post('/ui/tasks/bulk/cancel', { target: 'selected', back: `/ui/tasks?namespace=${space}`, uid: ticked }));
      expect(ask.status).toBe(200);
      expect(ask.text).toContain('Cancel the 3 ticked tasks?');
      expect(ask.text).toContain('skipped: cancel is not allowed from done');
      expect(ask.text).toMatch(/Cancel 2 tasks\s*<\/button>/);
      expect(await Promise.all(ticked.map(statusOf))).toEqual(before);

      const go = await reply(
        s.post('/ui/tasks/bulk/cancel', { target: 'selected', confirm: 'yes', back: `/ui/tasks?namespace=${space}`, uid: ticked }),
      );
      expect(go.status).toBe(303);
      expect(go.location).toMatch(new RegExp(`^/ui/tasks\\?namespace=${space}&notice=`));
      expect(redirectOf(go.location).notice).toBe('Cancelled 2 tasks; skipped 1 task whose status does not allow cancel (done: 1).');
      const after = await pool().query<{ status: string; n: number }>(
        'select status, count(*)::int as n from tasks where namespace = $1 group by status order by status',
        [space],
      );
      expect(after.rows).toEqual([
        { status: 'cancelled', n: 2 },
        { status: 'done', n: 1 },
      ]);
    });

    it('by filter: states the exact count, touches nothing until confirmed, then works through every batch', async () => {
      const space = ns('filter-bulk');
      await make(space, 1203);
      const running = (await claimIn(space, 2)).map((t) => t.uid);
      await make(space, 4, { task: 'other' });
      const filter = `namespace=${space}&task=job`;
      const ask = await reply(s.post('/ui/tasks/bulk/cancel', { target: 'filter', filter, back: `/ui/tasks?${filter}` }));
      expect(ask.status).toBe(200);
      expect(ask.text).toContain(`Cancel 1,203 tasks matching namespace=${space}, task=job?`);
      expect(ask.text).toContain('cancel requested: stops at its worker’s next heartbeat');
      const { rows: untouched } = await pool().query<{ n: number }>(
        `select count(*)::int as n from tasks where namespace = $1 and status = 'scheduled'`,
        [space],
      );
      expect(untouched[0]!.n).toBe(1205);
      const upto = /name="upto" value="([^"]+)"/.exec(ask.text)?.[1];
      expect(upto).toBeDefined();

      // Submitted after the confirmation page was drawn: not part of what was confirmed.
      const [late] = await make(space, 1);
      const go = await reply(
        s.post('/ui/tasks/bulk/cancel', { target: 'filter', filter, confirm: 'yes', upto: upto!, back: `/ui/tasks?${filter}` }),
      );
      expect(go.status).toBe(303);
      expect(redirectOf(go.location).notice).toBe(
        'Cancelled 1,201 tasks; cancel requested for 2 running tasks (they stop at their worker’s next heartbeat).',
      );
      const { rows } = await pool().query<{ task: string; status: string; cancel_requested: boolean; n: number }>(
        'select task, status, cancel_requested, count(*)::int as n from tasks where namespace = $1 and uid <> $2 group by 1, 2, 3 order by 1, 2',
        [space, late],
      );
      expect(rows).toEqual([
        { task: 'job', status: 'cancelled', cancel_requested: false, n: 1201 },
        { task: 'job', status: 'processing', cancel_requested: true, n: 2 },
        { task: 'other', status: 'scheduled', cancel_requested: false, n: 4 },
      ]);
      expect(running).toHaveLength(2);
      expect(await statusOf(late!)).toEqual({ status: 'scheduled', cancel_requested: false });
    });

    it('reschedules only error, retry and cancelled tasks, and deletes all but running ones', async () => {
      const space = ns('resched');
      await make(space, 4);
      const failed = await finishError(space);
      const [running] = await claimIn(space);
      const waiting = await pool().query<{ uid: string }>(`select uid from tasks where namespace = $1 and status = 'scheduled'`, [space]);
      const [cancelled, stillWaiting] = waiting.rows.map((r) => r.uid);
      expect(redirectOf(await s.post(`/ui/tasks/${cancelled}/cancel`, { back: '/ui/tasks' })).notice).toBe('Task cancelled.');

      const go = await reply(
        s.post('/ui/tasks/bulk/reschedule', {
          target: 'filter',
          filter: `namespace=${space}`,
          confirm: 'yes',
          upto: new Date().toISOString(),
          back: '/ui/tasks',
        }),
      );
      expect(redirectOf(go.location).notice).toMatch(
        /^Rescheduled 2 tasks; skipped 3 tasks whose status does not allow reschedule \((scheduled: 2, processing: 1|processing: 1, scheduled: 2)\)\.$/,
      );
      expect((await statusOf(failed))?.status).toBe('scheduled');
      expect((await statusOf(cancelled!))?.status).toBe('scheduled');
      expect((await statusOf(stillWaiting!))?.status).toBe('scheduled');

      const del = await reply(
        s.post('/ui/tasks/bulk/delete', {
          target: 'filter',
          filter: `namespace=${space}`,
          confirm: 'yes',
          upto: new Date().toISOString(),
          back: '/ui/tasks',
        }),
      );
      expect(redirectOf(del.location).notice).toBe('Deleted 4 tasks; skipped 1 task whose status does not allow delete (processing: 1).');
      const left = await pool().query<{ uid: string }>('select uid from tasks where namespace = $1', [space]);
      expect(left.rows.map((r) => r.uid)).toEqual([running!.uid]);
    });

    it('refuses a selection with no ticks or a bad uid, back on the list with the reason', async () => {
      const none = await reply(s.post('/ui/tasks/bulk/cancel', { target: 'selected', back: '/ui/tasks?status=retry' }));
      expect(none.status).toBe(303);
      expect(redirectOf(none.location).error).toMatch(/^uid: no task is ticked/);
      const bad = await reply(s.post('/ui/tasks/bulk/cancel', { target: 'selected', uid: 'x; drop table tasks', back: '/ui/tasks' }));
      expect(redirectOf(bad.location).error).toMatch(/is not a UUID/);
      const badFilter = await reply(s.post('/ui/tasks/bulk/cancel', { target: 'filter', filter: 'status=nope', back: '/ui/tasks' }));
      expect(redirectOf(badFilter.location).error).toMatch(/^status: must be one of/);
    });

    it('refuses a forged form (no _csrf, a wrong one, another Origin) with 403 and changes nothing', async () => {
      const space = ns('csrf');
      const uids = await make(space, 2);
      const form = { target: 'selected', confirm: 'yes', back: '/ui/tasks', uid: uids };
      expect((await s.post('/ui/tasks/bulk/cancel', { ...form, _csrf: null })).status).toBe(403);
      expect((await s.post('/ui/tasks/bulk/cancel', { ...form, _csrf: 'A'.repeat(43) })).status).toBe(403);
      expect((await s.post('/ui/tasks/bulk/cancel', form, { origin: 'https://evil.example' })).status).toBe(403);
      expect((await s.post(`/ui/tasks/${uids[0]}/cancel`, { back: '/ui/tasks', _csrf: null })).status).toBe(403);
      expect((await s.post(`/ui/tasks/${uids[0]}/delete`, { back: '/ui/tasks', _csrf: null })).status).toBe(403);
      for (const u of uids) expect(await statusOf(u)).toEqual({ status: 'scheduled', cancel_requested: false });
    });
  });
});
