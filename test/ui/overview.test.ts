import { beforeAll, describe, expect, it } from 'vitest';
import { type App, createApp } from '../../src/api/app.ts';
import { withTransaction } from '../../src/db/transaction.ts';
import { silentLogger } from '../../src/logger.ts';
import { refreshTaskRollup, rollupIntervalSeconds, TaskRollup } from '../../src/queue/rollup.ts';
import { createSchedule } from '../../src/scheduler/manage.ts';
import { LIVE_FAILED_CAP, loadOverview, OVERVIEW_SQL, overviewParams } from '../../src/ui/queries/overview.ts';
import { defineTask } from '../../src/worker/registry.ts';
import { Worker } from '../../src/worker/worker.ts';
import { useTestDatabase } from '../helpers/db.ts';
import { nextEvent } from '../helpers/wait.ts';

/**
 * The overview against a real database: what it counts, the rollup it reads done counts and
 * throughput from, and its parts. The tests run in order on one database: the first sees it
 * empty, the later ones add to what the earlier ones seeded.
 */
describe('overview page', () => {
  const db = useTestDatabase();
  const pool = () => db().pool;
  let app: App;
  beforeAll(() => {
    app = createApp({ database: db(), logger: silentLogger });
  });

  const page = async (path: string) => {
    const res = await app.request(path, { headers: { accept: 'text/html' } });
    return { status: res.status, html: await res.text(), timing: res.headers.get('server-timing') };
  };

  /** `n` tasks of one namespace and status, inserted directly; `extra` sets more columns by SQL expression. */
  async function seed(namespace: string, status: string, n: number, extra: Record<string, string> = {}): Promise<string[]> {
    const cols: Record<string, string> = {
      ...(status === 'processing'
        ? { worker_id: `'host-x:1:aa'`, lease_expires_at: `now() + interval '5 min'`, fencing_token: `nextval('tasks_fencing_token_seq')` }
        : {}),
      ...(['done', 'error', 'cancelled'].includes(status) ? { finished_at: 'now()' } : {}),
      ...extra,
    };
    const names = Object.keys(cols);
    const { rows } = await pool().query<{ uid: string }>(
      `insert into tasks (task, namespace, status${names.map((c) => `, ${c}`).join('')})
       select 'job', $1, $2${names.map((c) => `, ${cols[c]}`).join('')} from generate_series(1, $3::int)
       returning uid`,
      [namespace, status, n],
    );
    return rows.map((r) => r.uid);
  }

  it('renders an empty database with an empty state in every part, and no rollup yet', async () => {
    const { status, html, timing } = await page('/ui');
    expect(status).toBe(200);
    expect(html).toContain('No tasks yet.');
    expect(html).toContain('curl -X POST http://localhost/tasks');
    expect(html).toContain('not computed yet');
    expect(html).toContain('No throughput yet');
    expect(html).toContain('No worker seen in the last hour.');
    expect(html).toContain('No lease is about to expire.');
    expect(html).toContain('No enabled schedule.');
    expect(html).toContain('No failed task.');
    // The live refresh is on, and the server says what the database cost.
    expect(html).toContain('data-live="5000"');
    expect(timing).toMatch(/^db;dur=\d+\.\d;desc="2 statements", depth;dur=[\d.]+, overview;dur=[\d.]+, total;dur=[\d.]+$/);
  });

  it('answers a bad namespace filter with a 400 page that says what is wrong', async () => {
    const { status, html } = await page('/ui?namespace=no%20spaces%21');
    expect(status).toBe(400);
    expect(html).toContain('namespace: must be a namespace name');
    // A blank field is no filter at all.
    expect((await page('/ui?namespace=')).status).toBe(200);
  });

  it('counts live tasks per namespace as soon as they exist; done counts wait for the rollup', async () => {
    await seed('alpha', 'scheduled', 2);
    await seed('alpha', 'scheduled', 1, { eta: `now() - interval '10 min'` });
    await seed('alpha', 'processing', 2);
    await seed('alpha', 'retry', 1, { eta: "now() + interval '1 min'" });
    await seed('alpha', 'error', 4, { error: `'{"class": "TimeoutError", "message": "slow"}'` });
    await seed('alpha', 'cancelled', 1);
    await seed('alpha', 'done', 5);
    await seed('beta', 'scheduled', 1, { eta: `now() + interval '1 hour'` });

    const o = await loadOverview(pool());
    expect(o.rollup).toBeNull();
    const alpha = o.namespaces.find((n) => n.namespace === 'alpha');
    expect(alpha).toMatchObject({ waiting: 3, running: 2, retrying: 1, failed: 4, failedSource: 'live', done: null });
    expect(alpha?.oldestWaitingAgeSeconds).toBeGreaterThanOrEqual(600);
    expect(o.namespaces.find((n) => n.namespace === 'beta')).toMatchObject({ waiting: 1, running: 0, oldestWaitingAgeSeconds: null });
    expect(o.totals).toMatchObject({ waiting: 4, running: 2, retrying: 1, failed: 4, done: null });

    const { html } = await page('/ui');
    expect(html).toContain('<tr data-namespace="alpha">');
    expect(html).toMatch(/href="\/ui\/tasks\?namespace=alpha&amp;status=scheduled"[^>]*>3<\/a>/);
    expect(html).toMatch(/href="\/ui\/tasks\?namespace=alpha&amp;status=error"[^>]*>4<\/a>/);
    expect(html).toMatch(/href="\/ui\/tasks\?status=scheduled"[^>]*>4<\/a>/);
    // The filter narrows the table to one namespace.
    const only = (await page('/ui?namespace=beta')).html;
    expect(only).toContain('<tr data-namespace="beta">');
    expect(only).not.toContain('data-namespace="alpha"');
  });

  it('a rollup pass counts done tasks per namespace and done and failed tasks per minute of the last hour', async () => {
    const { rows } = await pool().query<{ m5: Date; m10: Date }>(
      `select date_trunc('minute', now()) - interval '5 min' as m5, date_trunc('minute', now()) - interval '10 min' as m10`,
    );
    const { m5, m10 } = rows[0]!;
    await seed('gamma', 'done', 2, { finished_at: `'${m5.toISOString()}'::timestamptz + interval '10 s'` });
    await seed('gamma', 'done', 3, { finished_at: `'${m10.toISOString()}'::timestamptz + interval '59 s'` });
    await seed('gamma', 'error', 2, { finished_at: `'${m5.toISOString()}'::timestamptz`, error: `'{"class": "ValueError"}'` });
    await seed('gamma', 'done', 1, { finished_at: `now() - interval '3 hours'` });

    const result = await refreshTaskRollup(pool(), { minAgeSeconds: 0 });
    const { rows: all } = await pool().query<{ n: number }>('select count(*)::int as n from tasks');
    expect(result).toMatchObject({ refreshed: true, rowsCounted: all[0]!.n });

    const o = await loadOverview(pool(), { namespace: 'gamma' });
    expect(o.rollup?.refreshedAt).toBeInstanceOf(Date);
    expect(o.namespaces).toEqual([expect.objectContaining({ namespace: 'gamma', done: 6, failed: 2 })]);
    const t = o.throughput;
    expect(t.minutes).toHaveLength(60);
    expect(t.minutes[1]! - t.minutes[0]!).toBe(60);
    const at = (d: Date) => t.minutes.indexOf(d.getTime() / 1000);
    expect([t.done[at(m5)], t.failed[at(m5)]]).toEqual([2, 2]);
    expect([t.done[at(m10)], t.failed[at(m10)]]).toEqual([3, 0]);
    // The task finished three hours ago is in the total, not in the hour.
    expect(t.done.reduce((a, b) => a + b, 0)).toBe(5);
    expect(t.failed.reduce((a, b) => a + b, 0)).toBe(2);

    // alpha's done tasks finished just now: they are in the current minute.
    const everything = await loadOverview(pool());
    expect(everything.namespaces.find((n) => n.namespace === 'alpha')?.done).toBe(5);
    expect(everything.totals.done).toBe(11);
    expect(everything.throughput.done.reduce((a, b) => a + b, 0)).toBe(10);

    const { html } = await page('/ui?namespace=gamma');
    expect(html).toContain('Done counts and throughput as of');
    expect(html).not.toContain('not computed yet');
    expect(html).toContain('5 tasks completed, 2 failed');
    expect(html).toContain('data-chart="throughput"');
    expect(html).toMatch(/<script type="application\/json" id="throughput-data">\{"minutes":\[\d+/);
  });

  it('makes one pass however many processes ask at once, skips while another pass holds the lock, and again while fresh', async () => {
    await pool().query(`update task_rollup_state set refreshed_at = now() - interval '1 hour'`);
    const results = await Promise.all(Array.from({ length: 6 }, () => refreshTaskRollup(pool(), { minAgeSeconds: 25 })));
    expect(results.filter((r) => r.refreshed)).toHaveLength(1);
    expect(await refreshTaskRollup(pool(), { minAgeSeconds: 25 })).toEqual({ refreshed: false, reason: 'fresh' });

    // A pass in progress elsewhere (its transaction holds the advisory lock): skip at once, no waiting.
    await pool().query(`update task_rollup_state set refreshed_at = now() - interval '1 hour'`);
    await withTransaction(pool(), async (other) => {
      await other.query('select pg_advisory_xact_lock($1)', [0x726f_6c6c]);
      expect(await refreshTaskRollup(pool(), { minAgeSeconds: 25 })).toEqual({ refreshed: false, reason: 'busy' });
    });
    expect(await refreshTaskRollup(pool(), { minAgeSeconds: 25 })).toMatchObject({ refreshed: true });
  });

  it('waits longer between passes on a big table: 20 times the last pass, at least the interval', async () => {
    await refreshTaskRollup(pool(), { minAgeSeconds: 0 });
    // A pass 60 s ago that took 10 s: fresh for 200 s, so nobody recounts yet.
    await pool().query(`update task_rollup_state set refreshed_at = now() - interval '60 seconds', duration_ms = 10000`);
    expect(await refreshTaskRollup(pool(), { minAgeSeconds: 25 })).toEqual({ refreshed: false, reason: 'fresh' });
    expect(rollupIntervalSeconds(10_000)).toBe(200);
    // The same age after a quick pass: stale, recounted.
    await pool().query(`update task_rollup_state set refreshed_at = now() - interval '60 seconds', duration_ms = 100`);
    expect(await refreshTaskRollup(pool(), { minAgeSeconds: 25 })).toMatchObject({ refreshed: true });
    expect(rollupIntervalSeconds(100)).toBe(30);
  });

  it('the TaskRollup service runs a pass soon after start and reports it', async () => {
    await pool().query(`update task_rollup_state set refreshed_at = now() - interval '1 hour'`);
    const service = new TaskRollup({ pool: pool(), logger: silentLogger, intervalMs: 60_000 });
    const refreshed = nextEvent<{ rowsCounted: number }>(service, 'rollup:refreshed', 10_000);
    service.start();
    try {
      expect((await refreshed).rowsCounted).toBeGreaterThan(0);
    } finally {
      await service.stop();
    }
    const { rows } = await pool().query<{ age: number }>(
      'select extract(epoch from now() - refreshed_at)::float8 as age from task_rollup_state',
    );
    expect(rows[0]!.age).toBeLessThan(30);
  });

  it('lists workers holding a lease with their host, tasks and last heartbeat, and the leases about to expire', async () => {
    const soon = await seed('delta', 'processing', 2, {
      worker_id: `'build-7:4242:beef'`,
      lease_expires_at: `now() + interval '20 s'`,
      updated_at: `now() - interval '10 s'`,
    });
    await seed('delta', 'processing', 1, {
      worker_id: `'build-9:77:cafe'`,
      lease_expires_at: `now() + interval '5 min'`,
      updated_at: `now() - interval '1 s'`,
    });
    const o = await loadOverview(pool(), { namespace: 'delta' });
    expect(o.workerCount).toBe(2);
    expect(o.workers.map((w) => [w.workerId, w.host, w.tasks])).toEqual([
      ['build-9:77:cafe', 'build-9', 1],
      ['build-7:4242:beef', 'build-7', 2],
    ]);
    // No presence row: known from their leases alone, last seen at their newest lease renewal.
    expect(o.workers.map((w) => w.state)).toEqual(['remote', 'remote']);
    expect(o.at.getTime() - o.workers[1]!.lastSeen.getTime()).toBeGreaterThanOrEqual(9_000);
    expect(o.leases.map((l) => l.uid).sort()).toEqual([...soon].sort());

    const { html } = await page('/ui?namespace=delta');
    expect(html).toContain('so idle workers are listed too');
    expect(html).toContain('build-9:77:cafe');
    expect(html).toContain('remote / from leases');
    for (const uid of soon) expect(html).toContain(`href="/ui/tasks/${uid}"`);
    // Unfiltered, alpha's worker is there too.
    expect((await loadOverview(pool())).workers.map((w) => w.workerId)).toContain('host-x:1:aa');
  });

  /** A presence row as WorkerPresence writes it; `lastSeen` and `started` are SQL expressions. */
  async function presence(id: string, namespaces: string[], lastSeen: string, extra: { tasks?: string[]; concurrency?: number } = {}) {
    await pool().query(
      `insert into workers (id, host, pid, namespaces, tasks, concurrency, version, started_at, last_seen_at)
       values ($1, split_part($1, ':', 1), split_part($1, ':', 2)::int, $2, $3, $4, '0.1.0', now() - interval '2 hours', ${lastSeen})`,
      [id, namespaces, extra.tasks ?? ['job'], extra.concurrency ?? 4],
    );
  }

  it('lists idle workers from their presence rows, marks the ones gone quiet, and keeps lease-only workers', async () => {
    await presence('idle-1:101:aaaa', ['kappa'], `now() - interval '5 s'`, { tasks: ['a', 'b', 'c', 'd', 'e', 'f'], concurrency: 4 });
    await presence('busy-1:102:bbbb', ['kappa', 'other'], 'now()', { concurrency: 8 });
    await presence('quiet-1:103:cccc', ['kappa'], `now() - interval '5 min'`);
    // Past the hour: maintenance's to delete, no longer listed.
    await presence('ancient-1:104:dddd', ['kappa'], `now() - interval '2 hours'`);
    await presence('lambda-1:105:eeee', ['lambda'], 'now()');
    await seed('kappa', 'processing', 2, { worker_id: `'busy-1:102:bbbb'` });
    await seed('other', 'processing', 1, { worker_id: `'busy-1:102:bbbb'` });
    await seed('kappa', 'processing', 1, { worker_id: `'remote-1:106:ffff'`, updated_at: `now() - interval '2 s'` });

    const o = await loadOverview(pool(), { namespace: 'kappa' });
    // Newest last seen first; tasks held count every namespace, next to the concurrency they fill.
    expect(o.workers.map((w) => [w.workerId, w.state, w.tasks, w.concurrency])).toEqual([
      ['busy-1:102:bbbb', 'live', 3, 8],
      ['remote-1:106:ffff', 'remote', 1, null],
      ['idle-1:101:aaaa', 'live', 0, 4],
      ['quiet-1:103:cccc', 'quiet', 0, 4],
    ]);
    expect([o.workerCount, o.quietWorkerCount]).toEqual([4, 1]);
    const idle = o.workers.find((w) => w.workerId === 'idle-1:101:aaaa');
    expect(idle).toMatchObject({ host: 'idle-1', pid: 101, namespaces: ['kappa'], taskNames: ['a', 'b', 'c', 'd', 'e', 'f'] });
    expect(o.at.getTime() - idle!.startedAt!.getTime()).toBeGreaterThanOrEqual(7_000_000);
    const quiet = o.workers.find((w) => w.state === 'quiet');
    expect(o.at.getTime() - quiet!.lastSeen.getTime()).toBeGreaterThanOrEqual(299_000);
    // A remote worker's host is the first part of its id, its namespaces those of the tasks it holds.
    expect(o.workers.find((w) => w.state === 'remote')).toMatchObject({ host: 'remote-1', namespaces: ['kappa'], taskNames: null });
    expect(o.workers.find((w) => w.workerId === 'busy-1:102:bbbb')?.namespaces).toEqual(['kappa', 'other']);

    const { html } = await page('/ui?namespace=kappa');
    expect(html).toMatch(/<tr data-worker="quiet-1:103:cccc" data-state="quiet">.*?gone quiet<\/span>.*?5 min \d+ s ago/s);
    expect(html).toMatch(/<tr data-worker="remote-1:106:ffff" data-state="remote">.*?remote \/ from leases/s);
    expect(html).toMatch(
      /<tr data-worker="idle-1:101:aaaa" data-state="live">.*?a, b, c, d \+2 more.*?>0<\/span><span class="muted"> \/ 4<\/span>/s,
    );
    expect(html).toContain('live workers (1 gone quiet)');
    expect(html).not.toContain('ancient-1');
    expect(html).not.toContain('lambda-1');
    // Unfiltered, the lambda worker is there too.
    expect((await loadOverview(pool())).workers.map((w) => w.workerId)).toEqual(
      expect.arrayContaining(['lambda-1:105:eeee', 'idle-1:101:aaaa']),
    );
  });

  it('a real Worker with nothing to do is listed while it runs, and gone once stopped', async () => {
    const worker = new Worker({
      pool: pool(),
      tasks: [defineTask('mu.job', () => 1)],
      namespaces: ['mu'],
      concurrency: 3,
      listen: false,
      maintenance: false,
    });
    await worker.start();
    try {
      const o = await loadOverview(pool(), { namespace: 'mu' });
      expect(o.workers).toEqual([
        expect.objectContaining({
          workerId: worker.workerId,
          state: 'live',
          tasks: 0,
          concurrency: 3,
          namespaces: ['mu'],
          taskNames: ['mu.job'],
        }),
      ]);
    } finally {
      await worker.stop();
    }
    expect((await loadOverview(pool(), { namespace: 'mu' })).workers).toEqual([]);
  });

  it('groups the latest failures by error class, newest first, linking the newest task of each', async () => {
    const timeouts = [];
    for (const message of ['first', 'second', 'third']) {
      timeouts.push(...(await seed('eps', 'error', 1, { error: `'{"class": "TimeoutError", "message": "${message}"}'` })));
    }
    await seed('eps', 'error', 2, { error: `'{"class": "KeyError", "message": "k"}'` });
    await seed('eps', 'error', 1, { error: `'{"message": "no class"}'` });
    await seed('eps', 'cancelled', 1, { error: `'{"class": "Cancelled"}'` });
    await seed('eps', 'retry', 1, { error: `'{"class": "StillRetrying"}'` });

    const o = await loadOverview(pool(), { namespace: 'eps' });
    expect(o.failuresSampled).toBe(6);
    expect(o.failures.map((f) => [f.errorClass, f.count])).toEqual([
      ['(no class)', 1],
      ['KeyError', 2],
      ['TimeoutError', 3],
    ]);
    const timeout = o.failures.find((f) => f.errorClass === 'TimeoutError');
    expect(timeout).toMatchObject({ newestUid: timeouts[2], message: 'third', newestNamespace: 'eps' });

    // Across namespaces the groups merge every namespace's newest failures (alpha and gamma seeded some).
    const all = await loadOverview(pool());
    expect(all.failures.map((f) => f.errorClass)).toEqual(expect.arrayContaining(['TimeoutError', 'ValueError', 'KeyError']));
    expect(all.failures.find((f) => f.errorClass === 'TimeoutError')?.count).toBe(7);

    const { html } = await page('/ui?namespace=eps');
    expect(html).toContain(`href="/ui/tasks/${timeouts[2]}"`);
    expect(html).toContain('href="/ui/tasks?namespace=eps&amp;status=error"');
    expect(html).not.toContain('StillRetrying');
  });

  it("counts failed tasks live up to the cap, and above it takes the rollup's exact count", async () => {
    await seed('many', 'error', LIVE_FAILED_CAP + 1, { error: `'{"class": "BulkError"}'` });
    const before = await loadOverview(pool(), { namespace: 'many' });
    // The rollup ran before these were added: it cannot know them yet, so the page says "at least".
    expect(before.namespaces[0]).toMatchObject({ namespace: 'many', failed: LIVE_FAILED_CAP, failedSource: 'capped' });
    expect((await page('/ui?namespace=many')).html).toMatch(/status=error" title="At least 1,000 failed[^>]*>1,000\+<\/a>/);

    await refreshTaskRollup(pool(), { minAgeSeconds: 0 });
    const after = await loadOverview(pool(), { namespace: 'many' });
    expect(after.namespaces[0]).toMatchObject({ failed: LIVE_FAILED_CAP + 1, failedSource: 'rollup' });
    expect(after.totals).toMatchObject({ failed: LIVE_FAILED_CAP + 1, failedSource: 'rollup' });
    const { html } = await page('/ui?namespace=many');
    expect(html).toMatch(/status=error" title="More than 1,000 failed[^>]*>1,001\*<\/a>/);
    expect(html).toContain('those come from the rollup too');
    // Below the cap the count stays live, whatever the rollup says.
    expect((await loadOverview(pool(), { namespace: 'eps' })).namespaces[0]).toMatchObject({ failed: 6, failedSource: 'live' });
  });

  it('lets live refreshes of many tabs share one read, while a page load always reads afresh', async () => {
    const live = () => app.request('/ui?namespace=theta', { headers: { accept: 'text/html', 'x-eventix-live': '1' } });
    const first = await live();
    expect(first.headers.get('server-timing')).toMatch(/^db;dur=[\d.]+;desc="2 statements"/);
    await seed('theta', 'scheduled', 2);
    // Ten tabs refreshing now: none of them reads the database, all get the shared (older) read.
    const tabs = await Promise.all(Array.from({ length: 10 }, live));
    for (const res of tabs) {
      expect(res.headers.get('server-timing')).toMatch(/^db;dur=0\.0;desc="shared read", shared;dur=[\d.]+/);
      expect(await res.text()).not.toContain('data-namespace="theta"');
    }
    // A reload sees the new tasks at once, and the refreshes after it share that newer read.
    expect((await page('/ui?namespace=theta')).html).toContain('<tr data-namespace="theta">');
    expect(await (await live()).text()).toContain('<tr data-namespace="theta">');
    // Another filter is another read.
    expect((await app.request('/ui?namespace=iota', { headers: { 'x-eventix-live': '1' } })).headers.get('server-timing')).toMatch(
      /desc="2 statements"/,
    );
  });

  it('shows the next fires of enabled schedules, soonest first, linking each schedule', async () => {
    await createSchedule(pool(), { name: 'hourly-report', cron: '0 * * * *', task: 'report', namespace: 'zeta' });
    await createSchedule(pool(), { name: 'every-minute', cron: '* * * * *', task: 'ping', namespace: 'zeta' });
    await createSchedule(pool(), { name: 'paused-one', cron: '* * * * *', task: 'ping', namespace: 'zeta', enabled: false });
    // Fire times pinned, so that the order does not depend on the clock (at 23:59 both fire at 00:00).
    await pool().query(
      `update schedules set next_fire_at = now() + case name when 'every-minute' then interval '30 s' else interval '40 min' end
       where namespace = 'zeta'`,
    );
    const o = await loadOverview(pool(), { namespace: 'zeta' });
    expect(o.schedules.map((s) => s.name)).toEqual(['every-minute', 'hourly-report']);
    expect(o.schedules[0]!.nextFireAt.getTime()).toBeGreaterThan(o.at.getTime() - 1000);
    const { html } = await page('/ui?namespace=zeta');
    expect(html).toContain('href="/ui/schedules/every-minute"');
    expect(html).not.toContain('paused-one');
  });

  it('counts the tasks each worker holds through tasks_lease_idx, never a scan of the tasks table', async () => {
    const client = await pool().connect();
    try {
      await client.query('begin');
      // A history the planner would rather scan than probe for, if it could: 20,000 finished rows.
      await client.query(
        `insert into tasks (task, namespace, status, finished_at) select 'h', 'hist', 'done', now() from generate_series(1, 20000)`,
      );
      await client.query('analyze tasks');
      for (const namespace of [null, 'kappa']) {
        const { rows } = await client.query(`explain (format json) ${OVERVIEW_SQL}`, overviewParams(namespace));
        const nodes: { 'Node Type': string; 'Relation Name'?: string; 'Index Name'?: string }[] = [];
        const walk = (n: Record<string, unknown>) => {
          nodes.push(n as (typeof nodes)[number]);
          for (const c of (n.Plans as Record<string, unknown>[] | undefined) ?? []) walk(c);
        };
        walk((rows[0] as { 'QUERY PLAN': { Plan: Record<string, unknown> }[] })['QUERY PLAN'][0]!.Plan);
        expect(nodes.filter((n) => n['Relation Name'] === 'tasks' && n['Node Type'] === 'Seq Scan')).toEqual([]);
        // Two walks of it: the tasks held per worker, and the leases about to expire.
        expect(nodes.filter((n) => n['Index Name'] === 'tasks_lease_idx').length).toBeGreaterThanOrEqual(2);
      }
    } finally {
      await client.query('rollback');
      client.release();
    }
  });
});
