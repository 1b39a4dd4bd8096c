import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { TriggerExists, TriggerFailed, TriggerNotFound, ValidationError } from '../../src/errors.ts';
import { defineTrigger } from '../../src/events/define.ts';
import { listEvents, pruneEvents } from '../../src/events/events.ts';
import { publishEvent } from '../../src/events/publish.ts';
import {
  createTrigger,
  deleteTrigger,
  getTrigger,
  listTriggers,
  putTrigger,
  type TriggerInput,
  triggersForEvent,
} from '../../src/events/triggers.ts';
import { silentLogger } from '../../src/logger.ts';
import { claim } from '../../src/queue/index.ts';
import { Maintenance } from '../../src/worker/maintenance.ts';
import { useTestDatabase } from '../helpers/db.ts';

describe('publishEvent', () => {
  const db = useTestDatabase();
  const pool = () => db().pool;

  // Each test uses its own event name, so triggers and events of one never meet another's.
  let counter = 0;
  const fresh = (label: string) => `ev.${label}.${++counter}`;

  async function trigger(input: Partial<TriggerInput> & Pick<TriggerInput, 'name' | 'eventName'>) {
    return createTrigger(pool(), { template: { task: 'bench.run' }, ...input });
  }

  async function count(sql: string, params: unknown[]): Promise<number> {
    const { rows } = await pool().query<{ n: number }>(`select count(*)::int as n from ${sql}`, params);
    return rows[0]!.n;
  }

  it('fires every matching trigger, in name order, in one transaction with the event', async () => {
    const name = fresh('several');
    await trigger({ name: `${name}-b-main`, eventName: name, filter: { field: '/branch', eq: 'main' } });
    await trigger({ name: `${name}-a-all`, eventName: name, template: { task: 'notify' } });
    await trigger({ name: `${name}-c-tags`, eventName: name, filter: { field: '/ref', prefix: 'refs/tags/' } });
    await trigger({ name: `${name}-d-repos`, eventName: name, filter: { field: '/repo', in: ['eventix', 'other'] } });
    await trigger({ name: 'unrelated', eventName: fresh('other') });

    const r = await publishEvent(pool(), { name, payload: { branch: 'main', ref: 'refs/heads/main', repo: 'eventix' } });

    expect(r.tasks.map((t) => t.trigger)).toEqual([`${name}-a-all`, `${name}-b-main`, `${name}-d-repos`]);
    expect(r.tasks.map((t) => t.task.task)).toEqual(['notify', 'bench.run', 'bench.run']);
    expect(r.tasks.every((t) => t.created && t.task.eventUid === r.event.uid)).toBe(true);
    expect(r.tasks.map((t) => t.task.triggerName)).toEqual(r.tasks.map((t) => t.trigger));
    expect(r.event).toMatchObject({ name, namespace: 'default', priority: 0, operator: null, payload: { branch: 'main' } });
    expect(r.event.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(await count('tasks where event_uid = $1', [r.event.uid])).toBe(3);
    expect(await count('events where uid = $1', [r.event.uid])).toBe(1);

    // A payload no filter selects still stores the event, with the unfiltered trigger's task only.
    const quiet = await publishEvent(pool(), { name, payload: { branch: 'dev' } });
    expect(quiet.tasks.map((t) => t.trigger)).toEqual([`${name}-a-all`]);
  });

  it('stores an event no trigger listens to, with no tasks', async () => {
    const r = await publishEvent(pool(), { name: fresh('lonely') });
    expect(r.tasks).toEqual([]);
    expect(r.event.payload).toEqual({});
    expect(await count('events where uid = $1', [r.event.uid])).toBe(1);
  });

  it('maps the payload into args, kwargs and unique_key; the event supplies namespace, priority and operator', async () => {
    const name = fresh('mapping');
    await trigger({
      name: `${name}-t`,
      eventName: name,
      template: {
        task: 'bench.sweep',
        args: [{ $ptr: '/commit/sha' }, '{{/branch}}', { $ptr: '/commit/count' }],
        kwargs: {
          files: { $ptr: '/commit/files' },
          title: 'Sweep of {{/commit/sha}} on {{/branch}}',
          draft: { $ptr: '/draft', $default: false },
        },
        unique_key: 'sweep:{{/commit/sha}}',
        max_retries: 1,
      },
    });
    await trigger({ name: `${name}-u`, eventName: name, template: { task: 'other', namespace: 'elsewhere', priority: -5 } });

    const r = await publishEvent(pool(), {
      name,
      namespace: 'benchmarks',
      priority: 7,
      operator: 'ci',
      payload: { branch: 'main', commit: { sha: 'f00d', count: 3, files: ['a.ts', 'b.ts'] } },
    });
    const [sweep, other] = r.tasks.map((t) => t.task);
    expect(sweep).toMatchObject({
      task: 'bench.sweep',
      namespace: 'benchmarks',
      priority: 7,
      operator: 'ci',
      args: ['f00d', 'main', 3],
      kwargs: { files: ['a.ts', 'b.ts'], title: 'Sweep of f00d on main', draft: false },
      uniqueKey: 'sweep:f00d',
      maxRetries: 1,
      status: 'scheduled',
    });
    expect(other).toMatchObject({ task: 'other', namespace: 'elsewhere', priority: -5, operator: 'ci', uniqueKey: null });
    // They are real tasks: a worker can claim the sweep.
    const [claimed] = await claim(pool(), {
      workerId: 'w',
      namespaces: ['benchmarks'],
      tasks: ['bench.sweep'],
      limit: 1,
      leaseSeconds: 30,
    });
    expect(claimed?.uid).toBe(sweep!.uid);
  });

  it('dedupes by unique_key across events: a second event with the same sha merges into the waiting task', async () => {
    const name = fresh('dedupe');
    await trigger({ name: `${name}-t`, eventName: name, template: { task: 'bench.sweep', namespace: name, unique_key: 'sweep:{{/sha}}' } });

    const first = await publishEvent(pool(), { name, payload: { sha: 'abc' } });
    const second = await publishEvent(pool(), { name, payload: { sha: 'abc' }, priority: 3 });
    const third = await publishEvent(pool(), { name, payload: { sha: 'def' } });

    expect(first.tasks[0]).toMatchObject({ created: true });
    expect(second.tasks[0]).toMatchObject({ created: false });
    expect(second.tasks[0]!.task.uid).toBe(first.tasks[0]!.task.uid);
    expect(second.tasks[0]!.task.priority).toBe(3); // the merge keeps the highest priority
    expect(third.tasks[0]).toMatchObject({ created: true });
    expect(await count(`tasks where namespace = $1 and unique_key = 'sweep:abc' and status = 'scheduled'`, [name])).toBe(1);
    expect(await count('tasks where namespace = $1', [name])).toBe(2);
    // Both events are kept, whatever their tasks became.
    expect(await count('events where name = $1', [name])).toBe(3);
  });

  it('dedupes within one event: two triggers rendering the same key make one task', async () => {
    const name = fresh('dedupe-one');
    const template = { task: 'bench.sweep', namespace: name, unique_key: 'k-{{/sha}}' };
    await trigger({ name: `${name}-a`, eventName: name, template });
    await trigger({ name: `${name}-b`, eventName: name, template });
    const r = await publishEvent(pool(), { name, payload: { sha: '1' } });
    expect(r.tasks.map((t) => [t.trigger, t.created])).toEqual([
      [`${name}-a`, true],
      [`${name}-b`, false],
    ]);
    expect(r.tasks[0]!.task.uid).toBe(r.tasks[1]!.task.uid);
    expect(await count('tasks where namespace = $1', [name])).toBe(1);
  });

  describe('atomicity: a failing trigger stores neither the event nor any task', () => {
    async function expectNothingStored(name: string) {
      expect(await count('events where name = $1', [name])).toBe(0);
      expect(await count(`tasks where trigger_name like $1`, [`${name}-%`])).toBe(0);
    }

    it('a rendered task that fails validation (priority from the payload is text)', async () => {
      const name = fresh('atomic-invalid');
      await trigger({ name: `${name}-a-good`, eventName: name, template: { task: 'fine', namespace: name } });
      await trigger({ name: `${name}-b-bad`, eventName: name, template: { task: 'x', priority: { $ptr: '/level' } } });
      await trigger({ name: `${name}-c-good`, eventName: name, template: { task: 'fine', namespace: name } });

      const err = await publishEvent(pool(), { name, payload: { level: 'high' } }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TriggerFailed);
      expect(err).toMatchObject({ code: 'TriggerFailed', trigger: `${name}-b-bad`, issues: [{ field: 'priority' }] });
      expect((err as Error).message).toMatch(/Trigger '.*-b-bad' produced an invalid task for event/);
      await expectNothingStored(name);
    });

    it('a pointer that names nothing', async () => {
      const name = fresh('atomic-missing');
      await trigger({ name: `${name}-a`, eventName: name, template: { task: 'fine' } });
      await trigger({ name: `${name}-b`, eventName: name, template: { task: 'x', kwargs: { sha: { $ptr: '/commit/sha' } } } });
      await expect(publishEvent(pool(), { name, payload: { commit: {} } })).rejects.toMatchObject({
        trigger: `${name}-b`,
        issues: [{ field: 'kwargs.sha', message: expect.stringMatching(/no value at \/commit\/sha/) }],
      });
      await expectNothingStored(name);
      // With the value present, the same event goes through.
      expect((await publishEvent(pool(), { name, payload: { commit: { sha: 's' } } })).tasks).toHaveLength(2);
    });

    it('an interpolated task name that is not a valid name', async () => {
      const name = fresh('atomic-name');
      await trigger({ name: `${name}-t`, eventName: name, template: { task: 'bench.{{/suite}}' } });
      await expect(publishEvent(pool(), { name, payload: { suite: 'has spaces' } })).rejects.toMatchObject({
        trigger: `${name}-t`,
        issues: [{ field: 'task' }],
      });
      await expectNothingStored(name);
    });

    it('a code trigger that throws, after the event row was written', async () => {
      const name = fresh('atomic-code');
      await trigger({ name: `${name}-stored`, eventName: name, template: { task: 'fine' } });
      const boom = defineTrigger(`${name}-code`, name, () => {
        throw new Error('mapper bug');
      });
      await expect(publishEvent(pool(), { name }, { codeTriggers: [boom] })).rejects.toThrow('mapper bug');
      await expectNothingStored(name);
    });

    it('a trigger row written around the API (invalid stored template) fails loudly', async () => {
      const name = fresh('atomic-stored');
      await pool().query(`insert into triggers (name, event_name, template) values ($1, $2, '{"task": 5}')`, [`${name}-raw`, name]);
      await expect(publishEvent(pool(), { name })).rejects.toMatchObject({
        trigger: `${name}-raw`,
        issues: [{ field: 'template.task', message: expect.stringMatching(/stored template is invalid/) }],
      });
      await expectNothingStored(name);
    });

    it('returns the connection to the pool every time', async () => {
      const name = fresh('atomic-pool');
      await trigger({ name: `${name}-bad`, eventName: name, template: { task: 'x', priority: { $ptr: '/p' } } });
      for (let i = 0; i < 30; i++) await expect(publishEvent(pool(), { name })).rejects.toBeInstanceOf(TriggerFailed);
      expect(pool().idleCount + pool().waitingCount).toBe(pool().totalCount);
      expect(pool().waitingCount).toBe(0);
    });
  });

  it('ignores disabled triggers', async () => {
    const name = fresh('disabled');
    await trigger({ name: `${name}-on`, eventName: name });
    await trigger({ name: `${name}-off`, eventName: name, enabled: false, template: { task: 'x', priority: { $ptr: '/missing' } } });
    const r = await publishEvent(pool(), { name });
    expect(r.tasks.map((t) => t.trigger)).toEqual([`${name}-on`]);
  });

  it('matches namespaces: a trigger without one hears every namespace, one with a namespace only its own', async () => {
    const name = fresh('ns');
    await trigger({ name: `${name}-any`, eventName: name });
    await trigger({ name: `${name}-prod`, eventName: name, namespace: 'prod' });
    const fired = async (namespace?: string) => (await publishEvent(pool(), { name, namespace })).tasks.map((t) => t.trigger);
    expect(await fired('prod')).toEqual([`${name}-any`, `${name}-prod`]);
    expect(await fired('staging')).toEqual([`${name}-any`]);
    expect(await fired()).toEqual([`${name}-any`]);
    expect((await triggersForEvent(pool(), name, 'prod')).map((t) => t.name)).toEqual([`${name}-any`, `${name}-prod`]);
  });

  describe('code triggers (defineTrigger)', () => {
    it('run in process after the stored triggers, and their tasks share the transaction', async () => {
      const name = fresh('code');
      await trigger({ name: `${name}-stored`, eventName: name });
      const seen: unknown[] = [];
      const fanOut = defineTrigger(`${name}-fan`, name, (event) => {
        seen.push(event);
        const suites = event.payload.suites as string[];
        return suites.map((suite) => ({ task: 'bench.suite', args: [suite], uniqueKey: `${event.payload.sha}:${suite}` }));
      });
      const skip = defineTrigger(`${name}-skip`, name, () => null);
      const filtered = defineTrigger(`${name}-filtered`, name, () => ({ task: 'never' }), { filter: { field: '/branch', eq: 'release' } });
      const otherNs = defineTrigger(`${name}-ns`, name, () => ({ task: 'never' }), { namespace: 'elsewhere' });
      const asyncOne = defineTrigger(`${name}-async`, name, async (event) => ({ task: 'notify', kwargs: { uid: event.uid }, priority: 9 }));

      const r = await publishEvent(
        pool(),
        { name, priority: 2, operator: 'alice', payload: { sha: 'abc', suites: ['cpu', 'io'], branch: 'main' } },
        { codeTriggers: [fanOut, skip, filtered, otherNs, asyncOne] },
      );
      expect(r.tasks.map((t) => [t.trigger, t.task.task])).toEqual([
        [`${name}-stored`, 'bench.run'],
        [`${name}-fan`, 'bench.suite'],
        [`${name}-fan`, 'bench.suite'],
        [`${name}-async`, 'notify'],
      ]);
      expect(r.tasks[1]!.task).toMatchObject({ args: ['cpu'], uniqueKey: 'abc:cpu', priority: 2, operator: 'alice', namespace: 'default' });
      expect(r.tasks[3]!.task).toMatchObject({ kwargs: { uid: r.event.uid }, priority: 9 });
      expect(r.tasks.every((t) => t.task.eventUid === r.event.uid && t.task.triggerName === t.trigger)).toBe(true);
      expect(seen).toHaveLength(1);
      expect(seen[0]).toMatchObject({ uid: r.event.uid, name, namespace: 'default', priority: 2, operator: 'alice' });
    });

    it('get a copy of the event: a mapper mutating it changes nothing else', async () => {
      const name = fresh('code-mutate');
      const mutate = defineTrigger(`${name}-m`, name, (event) => {
        event.payload.branch = 'hacked';
        return null;
      });
      const read = defineTrigger(`${name}-r`, name, (event) => ({ task: 'x', args: [event.payload.branch ?? null] }));
      const r = await publishEvent(pool(), { name, payload: { branch: 'main' } }, { codeTriggers: [mutate, read] });
      expect(r.tasks[0]!.task.args).toEqual(['main']);
      expect(r.event.payload).toEqual({ branch: 'main' });
    });

    it('an invalid task from a code trigger is TriggerFailed, naming the item; nothing is stored', async () => {
      const name = fresh('code-invalid');
      const bad = defineTrigger(`${name}-bad`, name, () => [{ task: 'ok' }, { task: 'ok', priority: 'high' as unknown as number }]);
      await expect(publishEvent(pool(), { name }, { codeTriggers: [bad] })).rejects.toMatchObject({
        code: 'TriggerFailed',
        trigger: `${name}-bad`,
        issues: [{ field: '[1].priority' }],
      });
      expect(await count('events where name = $1', [name])).toBe(0);
    });

    it('defineTrigger refuses bad definitions; publishEvent refuses two of one name', async () => {
      expect(() => defineTrigger('has/slash', 'e', () => null)).toThrow(/invalid trigger name/);
      expect(() => defineTrigger('ok', 'bad event', () => null)).toThrow(/invalid event name/);
      expect(() => defineTrigger('ok', 'e', 'nope' as never)).toThrow(/map must be a function/);
      expect(() => defineTrigger('ok', 'e', () => null, { filter: { field: 'branch', eq: 1 } as never })).toThrow(/filter\.field/);
      const a = defineTrigger('same', 'e', () => null);
      await expect(publishEvent(pool(), { name: 'e' }, { codeTriggers: [a, a] })).rejects.toThrow(/defined twice/);
      await expect(publishEvent(pool(), { name: 'e' }, { codeTriggers: [{ name: 'x' } as never] })).rejects.toThrow(/defineTrigger/);
    });
  });

  it('refuses a bad event before touching the database', async () => {
    const err = await publishEvent(pool(), { name: 'bad name', payload: [] as never, priority: 1.5 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).issues.map((i) => i.field).sort()).toEqual(['name', 'payload', 'priority']);
  });

  describe('trigger storage', () => {
    it('create, get, list, put (revision), delete', async () => {
      const name = fresh('crud');
      const created = await trigger({ name: `${name}-t`, eventName: name, filter: { field: '/a', exists: true } });
      expect(created).toMatchObject({ name: `${name}-t`, eventName: name, namespace: null, enabled: true, revision: 1 });
      await expect(trigger({ name: `${name}-t`, eventName: name })).rejects.toBeInstanceOf(TriggerExists);
      expect(await getTrigger(pool(), `${name}-t`)).toEqual(created);
      const replaced = await putTrigger(pool(), { name: `${name}-t`, eventName: name, template: { task: 'y' }, enabled: false });
      expect(replaced.created).toBe(false);
      expect(replaced.trigger).toMatchObject({ revision: 2, enabled: false, filter: null, template: { task: 'y' } });
      expect(replaced.trigger.updatedAt.getTime()).toBeGreaterThanOrEqual(created.updatedAt.getTime());
      const other = await putTrigger(pool(), { name: `${name}-u`, eventName: name, template: { task: 'z' } });
      expect(other.created).toBe(true);
      expect((await listTriggers(pool(), { eventName: name })).map((t) => t.name)).toEqual([`${name}-t`, `${name}-u`]);
      await deleteTrigger(pool(), `${name}-t`);
      await expect(getTrigger(pool(), `${name}-t`)).rejects.toBeInstanceOf(TriggerNotFound);
      await expect(deleteTrigger(pool(), `${name}-t`)).rejects.toBeInstanceOf(TriggerNotFound);
    });

    it('validates what it stores', async () => {
      const err = await createTrigger(pool(), {
        name: 'x/y',
        eventName: 'e',
        filter: { all: [{ field: 'a', eq: 1 }] },
        template: { task: 'x', kwargs: { a: '{{b}}' } },
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).issues.map((i) => i.field)).toEqual(['name', 'filter.all.0.field', 'template.kwargs.a']);
    });
  });

  describe('listing and retention', () => {
    it('lists newest first with a cursor, by name, namespace and since', async () => {
      const name = fresh('list');
      const uids: string[] = [];
      for (let i = 0; i < 5; i++)
        uids.push((await publishEvent(pool(), { name, namespace: i % 2 ? 'odd' : 'even', payload: { i } })).event.uid);
      const page1 = await listEvents(pool(), { name, limit: 2 });
      const page2 = await listEvents(pool(), { name, limit: 2, cursor: page1.nextCursor! });
      const page3 = await listEvents(pool(), { name, limit: 2, cursor: page2.nextCursor! });
      expect([...page1.events, ...page2.events, ...page3.events].map((e) => e.uid)).toEqual([...uids].reverse());
      expect(page3.nextCursor).toBeNull();
      expect((await listEvents(pool(), { name, namespace: 'odd' })).events.map((e) => e.payload.i)).toEqual([3, 1]);
      const third = (await listEvents(pool(), { name })).events[2]!;
      const since = await listEvents(pool(), { name, since: third.createdAt.toISOString() });
      expect(since.events.length).toBeGreaterThanOrEqual(3);
      expect(since.events.every((e) => e.createdAt >= third.createdAt)).toBe(true);
      await expect(listEvents(pool(), { cursor: 'garbage' })).rejects.toBeInstanceOf(ValidationError);
    });

    it('pruneEvents deletes events past retention, and Maintenance runs it', async () => {
      const name = fresh('retention');
      const old = await publishEvent(pool(), { name, payload: { age: 'old' } });
      const older = await publishEvent(pool(), { name, payload: { age: 'older' } });
      const recent = await publishEvent(pool(), { name, payload: { age: 'new' } });
      await pool().query(`update events set created_at = now() - interval '40 days' where uid = $1`, [old.event.uid]);
      await pool().query(`update events set created_at = now() - interval '400 days' where uid = $1`, [older.event.uid]);

      // Retention 0 (or null) in Maintenance keeps everything.
      const keep = new Maintenance({ pool: pool(), logger: silentLogger, intervalMs: 60_000, eventRetentionSeconds: 0 });
      expect((await keep.runOnce()).eventsPruned).toBe(0);

      expect(await pruneEvents(pool(), 100 * 86400)).toBe(1);
      const remaining = async () => (await listEvents(pool(), { name })).events.map((e) => e.uid);
      expect(await remaining()).toEqual([recent.event.uid, old.event.uid]);

      const maintenance = new Maintenance({ pool: pool(), logger: silentLogger, intervalMs: 60_000 }); // default: 30 days
      const pruned: number[] = [];
      maintenance.on('events:pruned', (n) => pruned.push(n));
      expect((await maintenance.runOnce()).eventsPruned).toBeGreaterThanOrEqual(1);
      expect(pruned.length).toBe(1);
      expect(await remaining()).toEqual([recent.event.uid]);
      await expect(pruneEvents(pool(), -1)).rejects.toThrow(RangeError);
    });

    it('EVENTIX_EVENT_RETENTION_DAYS: default 30, 0 keeps events, negative or fractional refused', () => {
      expect(loadConfig({}).events.retentionDays).toBe(30);
      expect(loadConfig({ EVENTIX_EVENT_RETENTION_DAYS: '0' }).events.retentionDays).toBe(0);
      expect(loadConfig({ EVENTIX_EVENT_RETENTION_DAYS: '365' }).events.retentionDays).toBe(365);
      for (const bad of ['-1', '1.5', 'forever']) {
        expect(() => loadConfig({ EVENTIX_EVENT_RETENTION_DAYS: bad })).toThrow(ConfigError);
      }
    });
  });
});
