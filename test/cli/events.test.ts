import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getTask } from '../../src/queue/index.ts';
import { cliHarness } from '../helpers/cli.ts';
import { useTestDatabase } from '../helpers/db.ts';

describe('eventix triggers / eventix events', () => {
  const db = useTestDatabase();
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'eventix-cli-events-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const { cli, out: ok, json } = cliHarness(() => ({ DATABASE_URL: db().url }));

  it('puts a trigger from a JSON file, and publishing an event creates its task', async () => {
    const file = path.join(dir, 'sweep.json');
    await writeFile(
      file,
      JSON.stringify({
        name: 'cli-sweep',
        event_name: 'commit.landed',
        filter: { field: '/branch', eq: 'main' },
        template: { task: 'bench.sweep', args: [{ $ptr: '/sha' }], unique_key: 'sweep:{{/sha}}', priority: 5 },
      }),
    );
    const put = await json('triggers', 'put', file);
    expect(put).toMatchObject({ created: true, trigger: { name: 'cli-sweep', event_name: 'commit.landed', revision: 1 } });

    const published = await json('events', 'publish', 'commit.landed', '--payload', '{"branch":"main","sha":"abc"}', '--operator', 'ops');
    expect(published.event).toMatchObject({ name: 'commit.landed', operator: 'ops', payload: { branch: 'main', sha: 'abc' } });
    expect(published.tasks).toHaveLength(1);
    expect(published.tasks[0]).toMatchObject({ trigger: 'cli-sweep', created: true });
    const task = await getTask(db().pool, published.tasks[0].task.uid);
    expect(task).toMatchObject({
      task: 'bench.sweep',
      args: ['abc'],
      uniqueKey: 'sweep:abc',
      priority: 5,
      eventUid: published.event.uid,
      triggerName: 'cli-sweep',
      operator: 'ops',
    });

    // Human output names the trigger and says the same sha merged.
    const again = await ok('events', 'publish', 'commit.landed', '--payload', '{"branch":"main","sha":"abc"}');
    expect(again).toMatch(/stored; 1 task\(s\)/);
    expect(again).toContain(`cli-sweep -> ${task.uid} bench.sweep (merged into a waiting task)`);

    // A filtered-out payload from a file stores the event without tasks.
    const payloadFile = path.join(dir, 'payload.json');
    await writeFile(payloadFile, '{"branch":"dev","sha":"def"}');
    expect((await json('events', 'publish', 'commit.landed', '--payload-file', payloadFile)).tasks).toEqual([]);

    const listed = await json('events', 'list', '--name', 'commit.landed', '--limit', '2');
    expect(listed.events.map((e: { payload: { branch: string } }) => e.payload.branch)).toEqual(['dev', 'main']);
    expect(typeof listed.next_cursor).toBe('string');
    const rest = await json('events', 'list', '--name', 'commit.landed', '--cursor', listed.next_cursor);
    expect(rest.events.map((e: { uid: string }) => e.uid)).toEqual([published.event.uid]);
  });

  it('lists, gets, replaces and deletes triggers; --json output parses', async () => {
    const file = path.join(dir, 'notify.json');
    await writeFile(file, JSON.stringify({ event_name: 'release.tagged', template: { task: 'notify', kwargs: { tag: '{{/tag}}' } } }));
    expect(await json('triggers', 'put', file, '--name', 'cli-notify')).toMatchObject({ created: true });
    await writeFile(file, JSON.stringify({ event_name: 'release.tagged', enabled: false, template: { task: 'notify' } }));
    expect(await ok('triggers', 'put', file, '--name', 'cli-notify')).toMatch(/trigger 'cli-notify' replaced \(revision 2\)/);

    const list = await json('triggers', 'list', '--event-name', 'release.tagged');
    expect(list.triggers.map((t: { name: string; enabled: boolean }) => [t.name, t.enabled])).toEqual([['cli-notify', false]]);
    expect(await ok('triggers', 'list')).toMatch(/cli-notify {2}on release\.tagged {2}-> "notify" {2}disabled {2}revision 2/);
    expect(await json('triggers', 'get', 'cli-notify')).toMatchObject({ name: 'cli-notify', revision: 2, template: { task: 'notify' } });
    expect(await json('triggers', 'delete', 'cli-notify')).toEqual({ deleted: 'cli-notify' });

    const missing = await cli('triggers', 'get', 'cli-notify');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/No trigger named 'cli-notify'/);
  });

  it('reports bad input naming the field, and a failing trigger naming the trigger, exiting 1', async () => {
    const bad = path.join(dir, 'bad.json');
    await writeFile(
      bad,
      JSON.stringify({ name: 'cli-bad', event_name: 'x', filter: { field: 'branch', eq: 'main' }, template: { task: 'x' } }),
    );
    const [badFile, noName, badPayload, notJson] = await Promise.all([
      cli('triggers', 'put', bad),
      (async () => {
        const f = path.join(dir, 'noname.json');
        await writeFile(f, JSON.stringify({ event_name: 'x', template: { task: 'x' } }));
        return cli('triggers', 'put', f);
      })(),
      cli('events', 'publish', 'x', '--payload', '[1]'),
      cli('events', 'publish', 'x', '--payload', '{nope'),
    ]);
    expect(badFile.code).toBe(1);
    expect(badFile.stderr).toMatch(/filter\.field: must be a JSON pointer/);
    expect(noName.code).toBe(1);
    expect(noName.stderr).toMatch(/name: give the name in the file or with --name/);
    expect(badPayload.code).toBe(1);
    expect(badPayload.stderr).toMatch(/payload: must be a JSON object/);
    expect(notJson.code).toBe(1);
    expect(notJson.stderr).toMatch(/payload: malformed JSON/);

    const failing = path.join(dir, 'failing.json');
    await writeFile(
      failing,
      JSON.stringify({ name: 'cli-failing', event_name: 'cli.fail', template: { task: 'x', priority: { $ptr: '/p' } } }),
    );
    await ok('triggers', 'put', failing);
    const r = await cli('events', 'publish', 'cli.fail');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Trigger 'cli-failing' produced an invalid task for event 'cli.fail': priority: no value at \/p/);
    const { rows } = await db().pool.query(`select count(*)::int as n from events where name = 'cli.fail'`);
    expect(rows[0].n).toBe(0);
  });
});
