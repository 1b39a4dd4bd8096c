import { describe, expect, it } from 'vitest';
import { getTask, submit } from '../../src/queue/index.ts';
import { loadTaskModule } from '../../src/worker/registry.ts';
import { collect, runCli, spawnCli, waitForOutput } from '../helpers/cli.ts';
import { useTestDatabase } from '../helpers/db.ts';
import { waitFor } from '../helpers/wait.ts';

describe('task modules', () => {
  it('registers named exports and a default-exported array (.ts)', async () => {
    const defs = await loadTaskModule('test/fixtures/tasks-module.ts');
    expect(defs.map((d) => d.name).sort()).toEqual(['cli.greet', 'cli.shout']);
  });

  it('loads .mjs modules', async () => {
    const defs = await loadTaskModule('test/fixtures/tasks-module.mjs');
    expect(defs.map((d) => d.name)).toEqual(['cli.js']);
  });

  it('refuses a module without task definitions', async () => {
    await expect(loadTaskModule('src/version.ts')).rejects.toThrow(/exports no task definitions/);
  });
});

describe('eventix worker', () => {
  const db = useTestDatabase();
  /** Presence rows, of the workers serving `task` if given. */
  const presenceOf = async (task?: string) =>
    (
      await db().pool.query<{ namespaces: string[]; tasks: string[]; concurrency: number }>(
        'select namespaces, tasks, concurrency from workers where $1::text is null or $1 = any(tasks)',
        [task ?? null],
      )
    ).rows;

  it('runs the module’s tasks until SIGTERM, then exits 0', async () => {
    const a = await submit(db().pool, { task: 'cli.greet', args: ['world'] });
    const b = await submit(db().pool, { task: 'cli.shout', args: ['hey'] });
    const child = spawnCli(['worker', '--tasks', 'test/fixtures/tasks-module.ts', '--concurrency', '4', '--namespace', 'default'], {
      DATABASE_URL: db().url,
    });
    const done = collect(child);
    await waitForOutput(child, /running cli\.(greet|shout)/);
    await waitFor(
      async () => (await getTask(db().pool, b.task.uid)).status === 'done' && (await getTask(db().pool, a.task.uid)).status === 'done',
    );
    expect((await getTask(db().pool, a.task.uid)).result).toBe('hello world');
    expect((await getTask(db().pool, b.task.uid)).result).toBe('HEY');
    // Its presence row, for the dashboard; the built-in workers of the process have theirs too.
    expect(await presenceOf('cli.greet')).toMatchObject([{ namespaces: ['default'], concurrency: 4 }]);
    child.kill('SIGTERM');
    const r = await done;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Eventix worker stopped');
    // A clean stop deletes every row the process wrote.
    expect(await presenceOf()).toEqual([]);
  });

  it('exits 2 without --tasks', async () => {
    const r = await runCli(['worker'], { DATABASE_URL: db().url, EVENTIX_TASKS: undefined });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--tasks/);
  });

  it('eventix start --tasks runs a worker beside the API', async () => {
    const t = await submit(db().pool, { task: 'cli.greet', args: ['api'] });
    const child = spawnCli(['start', '--port', '0', '--tasks', 'test/fixtures/tasks-module.ts'], { DATABASE_URL: db().url });
    const done = collect(child);
    await waitForOutput(child, /Worker \S+ running/);
    await waitFor(async () => (await getTask(db().pool, t.task.uid)).status === 'done');
    expect(await presenceOf('cli.greet')).toHaveLength(1);
    child.kill('SIGINT');
    expect((await done).code).toBe(0);
    expect(await presenceOf()).toEqual([]);
  });
});
