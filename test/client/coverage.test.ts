import { beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.ts';
import { EventixClient } from '../../src/client/client.ts';
import { silentLogger } from '../../src/logger.ts';
import { useTestDatabase } from '../helpers/db.ts';

/*
 * Every operation of the OpenAPI document has a client method, and every client method calls an
 * operation of the document. The client's side is found by calling every function on the client and
 * on each of its groups (found by walking their prototypes), so a new route without a method fails
 * here, and so does a new method without a line in CALLS.
 */

const BASE = 'http://coverage.test';
/** Path parameters that must be escaped to stay one segment: a path built without seg() matches no route. */
const NAME = 'a/b ?#';
const UID = '00000000-0000-4000-8000-000000000000';
const LEASE = { worker_id: 'w', fencing_token: 1 };
const SHA = 'a'.repeat(40);

type Call = (c: EventixClient) => unknown;

/** One invocation of every client method, keyed `method` (the client's own) or `group.method`. */
const CALLS: Record<string, Call> = {
  submit: (c) => c.submit({ task: 't' }),
  submitBatch: (c) => c.submitBatch([{ task: 't' }]),
  get: (c) => c.get(UID),
  getByUniqueKey: (c) => c.getByUniqueKey(NAME, NAME),
  list: (c) => c.list({ status: ['done', 'error'], limit: 5 }),
  pages: (c) => c.pages(),
  iterate: (c) => c.iterate(),
  listAll: (c) => c.listAll(),
  cancel: (c) => c.cancel(UID),
  reschedule: (c) => c.reschedule(UID, new Date()),
  delete: (c) => c.delete(UID),
  stats: (c) => c.stats(),
  namespaces: (c) => c.namespaces(),
  health: (c) => c.health(),
  ready: (c) => c.ready(),
  version: (c) => c.version(),
  metrics: (c) => c.metrics(),
  claim: (c) => c.claim({ worker_id: 'w', tasks: ['t'] }),
  heartbeat: (c) => c.heartbeat(UID, LEASE),
  complete: (c) => c.complete(UID, LEASE),
  fail: (c) => c.fail(UID, { ...LEASE, error: { message: 'm' } }),
  release: (c) => c.release(UID, LEASE),

  'schedules.list': (c) => c.schedules.list({ enabled: true }),
  'schedules.iterate': (c) => c.schedules.iterate(),
  'schedules.create': (c) => c.schedules.create({ name: 's', cron: '* * * * *', task: 't' }),
  'schedules.get': (c) => c.schedules.get(NAME),
  'schedules.update': (c) => c.schedules.update(NAME, { priority: 1 }),
  'schedules.delete': (c) => c.schedules.delete(NAME),
  'schedules.pause': (c) => c.schedules.pause(NAME),
  'schedules.resume': (c) => c.schedules.resume(NAME),
  'schedules.run': (c) => c.schedules.run(NAME),

  'events.publish': (c) => c.events.publish({ name: 'e' }),
  'events.list': (c) => c.events.list({ name: 'e' }),
  'events.iterate': (c) => c.events.iterate(),

  'triggers.list': (c) => c.triggers.list({ event_name: 'e' }),
  'triggers.create': (c) => c.triggers.create({ name: 'tr', event_name: 'e', template: { task: 't' } }),
  'triggers.get': (c) => c.triggers.get(NAME),
  'triggers.put': (c) => c.triggers.put(NAME, { event_name: 'e', template: { task: 't' } }),
  'triggers.delete': (c) => c.triggers.delete(NAME),

  'commits.list': (c) => c.commits.list({ status: 'complete' }),
  'commits.iterate': (c) => c.commits.iterate(),
  'commits.determine': (c) => c.commits.determine({ repo: 'r', branch: 'main' }),
  'commits.mark': (c) => c.commits.mark({ repo: 'r', shas: ['HEAD'], status: 'complete' }),
  'commits.requeue': (c) => c.commits.requeue({ repo: 'r', sha: SHA }),
  'commits.cleanup': (c) => c.commits.cleanup(),
  'commits.stats': (c) => c.commits.stats(),
  'commits.export': (c) => c.commits.export(),
  'commits.import': (c) => c.commits.import({ records: [] }),

  'configs.list': (c) => c.configs.list(),
  'configs.get': (c) => c.configs.get(1),

  'benchmarks.push': (c) => c.benchmarks.push({ data: {} }),
  'benchmarks.runs': (c) => c.benchmarks.runs(),
  'benchmarks.iterateRuns': (c) => c.benchmarks.iterateRuns(),
  'benchmarks.series': (c) => c.benchmarks.series({ metric: 'rps', repo: 'r', tags: { command: ['GET', 'SET'] } }),
  'benchmarks.changes': (c) => c.benchmarks.changes({ metric: 'rps', repo: 'r' }),
  'benchmarks.nearest': (c) => c.benchmarks.nearest({ target: { tokens: 1 } }),
  'benchmarks.compare': (c) => c.benchmarks.compare({ baseline: 'b', commit: SHA }),

  'baselines.list': (c) => c.baselines.list(),
  'baselines.create': (c) => c.baselines.create({ repo: 'r', name: 'b', commit: SHA }),
  'baselines.get': (c) => c.baselines.get(NAME),
  'baselines.delete': (c) => c.baselines.delete(NAME, { repo: 'r' }),

  'snapshots.list': (c) => c.snapshots.list({ current: true }),
  'snapshots.iterate': (c) => c.snapshots.iterate(),
  'snapshots.record': (c) => c.snapshots.record({ repo: 'r', commit: SHA }),

  'alerts.list': (c) => c.alerts.list({ status: ['open'] }),
  'alerts.iterate': (c) => c.alerts.iterate(),
  'alerts.get': (c) => c.alerts.get(1),
  'alerts.update': (c) => c.alerts.update(1, { status: 'acknowledged' }),

  'sweeps.list': (c) => c.sweeps.list(),
  'sweeps.run': (c) => c.sweeps.run(NAME),
  'sweeps.runs': (c) => c.sweeps.runs(NAME, { limit: 5 }),
};

/** The functions of an object's classes (not Object's), found on its prototype chain. */
function methodsOf(obj: object): string[] {
  const names: string[] = [];
  for (let proto = Object.getPrototypeOf(obj); proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      if (name !== 'constructor' && typeof Object.getOwnPropertyDescriptor(proto, name)?.value === 'function') names.push(name);
    }
  }
  return names;
}

/** The client's methods and those of every group it holds (a property that is an instance of a class). */
function clientMethods(client: EventixClient): string[] {
  const groups = Object.entries(client).filter(
    ([, v]) => typeof v === 'object' && v !== null && Object.getPrototypeOf(v) !== Object.prototype,
  );
  return [...methodsOf(client), ...groups.flatMap(([group, v]) => methodsOf(v).map((m) => `${group}.${m}`))];
}

type Doc = { paths: Record<string, Record<string, unknown>> };

/** `METHOD /path/{param}` of a request: the template of the document it matches, the most literal first. */
function templateOf(doc: Doc, method: string, url: string): string {
  const path = new URL(url).pathname;
  const matches = Object.entries(doc.paths)
    .filter(([template, ops]) => method.toLowerCase() in ops && pattern(template).test(path))
    .map(([template]) => template)
    .sort((a, b) => (a.match(/\{/g)?.length ?? 0) - (b.match(/\{/g)?.length ?? 0));
  return `${method} ${matches[0] ?? `(no operation) ${path}`}`;
}

const pattern = (template: string) => new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{\w+\}/g, '[^/]+')}$`);

/** A 200 any method can read: an empty last page of every listing, or text for /metrics. */
function answer(url: string): Response {
  if (new URL(url).pathname === '/metrics') return new Response('# no metrics\n', { headers: { 'content-type': 'text/plain' } });
  const empty = ['tasks', 'results', 'schedules', 'events', 'commits', 'runs', 'snapshots', 'alerts'];
  return Response.json({ ...Object.fromEntries(empty.map((k) => [k, []])), next_cursor: null });
}

async function settle(result: unknown): Promise<void> {
  if (result && typeof result === 'object' && Symbol.asyncIterator in result) {
    for await (const _ of result as AsyncIterable<unknown>);
  } else {
    await result;
  }
}

describe('EventixClient covers the API', () => {
  const db = useTestDatabase();
  let doc: Doc;
  beforeAll(async () => {
    const res = await createApp({ database: db(), logger: silentLogger }).request('/openapi.json');
    doc = (await res.json()) as Doc;
  });

  it('CALLS invokes every method of the client and of its groups, and only those', () => {
    const client = new EventixClient({ baseUrl: BASE, fetch: () => answer(BASE) });
    expect(clientMethods(client).sort()).toEqual(Object.keys(CALLS).sort());
  });

  it('the operations the client calls are exactly the operations of the OpenAPI document', async () => {
    // The Python-Eventix compatible API (src/api/compat/) is for Python clients, in their wire
    // format; the TypeScript client speaks ours, so it has no methods for those routes.
    const documented = Object.entries(doc.paths)
      .filter(([path]) => !path.startsWith('/compat/'))
      .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
    // The document's own pages (declared hidden) are not in it, so nothing needs leaving out.
    expect(documented.filter((op) => /\/openapi\.json$|\/docs(\/|$)/.test(op))).toEqual([]);

    const called = new Map<string, string[]>();
    for (const [name, call] of Object.entries(CALLS)) {
      const seen: string[] = [];
      const client = new EventixClient({
        baseUrl: BASE,
        fetch: (url, init) => {
          seen.push(templateOf(doc, init.method ?? 'GET', url));
          return answer(url);
        },
      });
      await settle(call(client));
      expect(seen.length, `${name} sent no request`).toBeGreaterThan(0);
      called.set(name, seen);
    }
    const operations = new Set([...called.values()].flat());
    expect([...operations].sort()).toEqual([...new Set(documented)].sort());
  });
});
