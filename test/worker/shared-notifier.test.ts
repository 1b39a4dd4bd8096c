import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/logger.ts';
import { submit } from '../../src/queue/index.ts';
import { Notifier } from '../../src/worker/notifier.ts';
import { defineTask } from '../../src/worker/registry.ts';
import { Worker, type WorkerOptions } from '../../src/worker/worker.ts';
import { useTestDatabase } from '../helpers/db.ts';
import { nextEvent, waitFor } from '../helpers/wait.ts';

/** Far beyond every deadline below: a task claimed in time was claimed through NOTIFY, not a poll. */
const NO_POLL_MS = 600_000;

/**
 * One LISTEN connection per process (issue 13): workers given a Notifier subscribe to it while
 * they run, and leave it to its owner to start and stop.
 */
describe('a Notifier shared by several workers', () => {
  const db = useTestDatabase();
  const workers: Worker[] = [];
  const notifiers: Notifier[] = [];
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop()));
    await Promise.all(notifiers.splice(0).map((n) => n.stop()));
    // A closed connection's backend ends a moment later: the next test counts from zero.
    await waitFor(async () => (await listenerBackends()) === 0, { message: 'every LISTEN backend gone' });
  });

  async function sharedNotifier(): Promise<Notifier> {
    const n = new Notifier(db().connection, silentLogger);
    notifiers.push(n);
    await n.start();
    return n;
  }

  function worker(opts: Omit<WorkerOptions, 'pool'>): Worker {
    const w = new Worker({ pool: db().pool, maintenance: false, presence: false, ...opts });
    workers.push(w);
    return w;
  }

  /** LISTEN backends of this test's database that have run their LISTEN. */
  const listenerBackends = async () =>
    (
      await db().pool.query<{ n: number }>(
        "select count(*)::int as n from pg_stat_activity where datname = $1 and application_name = 'eventix-listener' and query ilike 'listen%'",
        [db().name],
      )
    ).rows[0]?.n;

  it('two workers given one Notifier both wake on NOTIFY, over one LISTEN connection', async () => {
    const notifier = await sharedNotifier();
    const a = worker({ tasks: [defineTask('sn.a', () => 'a')], namespaces: ['sn-a'], pollIntervalMs: NO_POLL_MS, notifier });
    const b = worker({ tasks: [defineTask('sn.b', () => 'b')], namespaces: ['sn-b'], pollIntervalMs: NO_POLL_MS, notifier });
    await a.start();
    await b.start();
    expect(await listenerBackends()).toBe(1);
    const doneA = nextEvent<{ result: unknown }>(a, 'task:completed', 10_000);
    const doneB = nextEvent<{ result: unknown }>(b, 'task:completed', 10_000);
    await submit(db().pool, { task: 'sn.a', namespace: 'sn-a' });
    await submit(db().pool, { task: 'sn.b', namespace: 'sn-b' });
    expect((await doneA).result).toBe('a');
    expect((await doneB).result).toBe('b');
  });

  it('workers subscribe while they run and unsubscribe on stop, leaving the Notifier listening', async () => {
    const notifier = await sharedNotifier();
    const before = { notify: notifier.listenerCount('notify'), lost: notifier.listenerCount('listen:lost') };
    const def = defineTask('sn.count', () => 1);
    const a = worker({ tasks: [def], namespaces: ['sn-count'], notifier });
    const b = worker({ tasks: [def], namespaces: ['sn-count'], notifier });
    const never = worker({ tasks: [def], namespaces: ['sn-count'], notifier });
    const deaf = worker({ tasks: [def], namespaces: ['sn-count'], notifier, listen: false });
    // Built but not started: not subscribed, so a worker that never runs cannot leak a listener.
    expect(notifier.listenerCount('notify')).toBe(before.notify);
    await a.start();
    await b.start();
    await deaf.start();
    expect(notifier.listenerCount('notify')).toBe(before.notify + 2);
    expect(notifier.listenerCount('listen:lost')).toBe(before.lost + 2);
    await Promise.all([a.stop(), b.stop(), never.stop(), deaf.stop()]);
    expect(notifier.listenerCount('notify')).toBe(before.notify);
    expect(notifier.listenerCount('listen:lost')).toBe(before.lost);
    // Its owner stops it, not the workers.
    expect(notifier.listening).toBe(true);
    expect(await listenerBackends()).toBe(1);
  });

  it('a worker without a Notifier makes its own from `connection`, else from its pool, and closes it on stop', async () => {
    const def = defineTask('sn.own', () => 1);
    const own = worker({ tasks: [def], namespaces: ['sn-own'] });
    await own.start();
    expect(await listenerBackends()).toBe(1);
    await own.stop();
    await waitFor(async () => (await listenerBackends()) === 0, { message: 'the worker’s own LISTEN closed' });

    // `connection` is what the LISTEN connection is made from: a port nobody listens on fails it, the pool works on.
    const elsewhere = worker({
      tasks: [def],
      namespaces: ['sn-own'],
      connection: { connectionString: 'postgres://eventix@127.0.0.1:1/none', connectionTimeoutMillis: 2_000 },
    });
    const errors: string[] = [];
    elsewhere.on('worker:error', (e) => errors.push(e.during));
    await elsewhere.start();
    expect(errors).toContain('listen');
    const done = nextEvent(elsewhere, 'task:completed');
    await def.submit(db().pool, { namespace: 'sn-own' });
    await done;
  });
});
