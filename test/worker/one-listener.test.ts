import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { getTask, submit } from '../../src/queue/index.ts';
import { type CliResult, collect, spawnCli, waitForOutput } from '../helpers/cli.ts';
import { useTestDatabase } from '../helpers/db.ts';
import { waitFor } from '../helpers/wait.ts';

const TASKS_MODULE = fileURLToPath(new URL('../fixtures/tasks-module.ts', import.meta.url));
/** Far beyond every deadline below: a task done in time was claimed through NOTIFY, not a poll. */
const NO_POLL_MS = '600000';

/**
 * A process holds one LISTEN connection, however many workers it runs (issue 13): `eventix start`
 * with a tasks module and a sweeps file runs the tasks worker, two sweep workers and two built-in
 * benchmark workers beside the API's long-polls, and used to open a LISTEN for each.
 */
describe('one LISTEN connection per process', () => {
  const db = useTestDatabase();
  const dir = mkdtempSync(path.join(tmpdir(), 'eventix-one-listener-'));
  const sweepsFile = path.join(dir, 'sweeps.json');
  writeFileSync(
    sweepsFile,
    JSON.stringify({
      work_dir: path.join(dir, 'work'),
      sweeps: [
        {
          name: 'one-listener',
          repo: path.join(dir, 'repo'),
          branch: 'main',
          configs: [{ config: { clients: 1 } }],
          max_commits: 5,
          command: ['bench'],
          timeout_seconds: 60,
          retry: { max_retries: 1 },
          namespace: 'default',
        },
      ],
    }),
  );
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  let exited: Promise<CliResult> | undefined;
  let kill: (() => void) | undefined;
  afterEach(async () => {
    kill?.();
    await exited;
    kill = undefined;
    exited = undefined;
  });

  const listenerBackends = async () =>
    (
      await db().pool.query<{ n: number }>(
        "select count(*)::int as n from pg_stat_activity where datname = $1 and application_name = 'eventix-listener' and query ilike 'listen%'",
        [db().name],
      )
    ).rows[0]?.n;

  for (const command of [
    { args: ['start', '--port', '0', '--tasks', TASKS_MODULE], ready: /Sweep workers on default/, stopped: 'Eventix stopped' },
    { args: ['worker', '--tasks', TASKS_MODULE], ready: /Sweep workers on default/, stopped: 'Eventix worker stopped' },
  ]) {
    it(`eventix ${command.args[0]} with a tasks module and a sweeps file: one LISTEN backend, and it wakes the worker`, async () => {
      const child = spawnCli(command.args, {
        DATABASE_URL: db().url,
        EVENTIX_SWEEPS_FILE: sweepsFile,
        EVENTIX_POLL_INTERVAL_MS: NO_POLL_MS,
      });
      exited = collect(child);
      kill = () => {
        if (child.exitCode === null) child.kill('SIGKILL');
      };
      await waitForOutput(child, command.ready);
      // Every worker of the process has started by now, and LISTEN was in place before the first.
      expect(await listenerBackends()).toBe(1);
      const { task } = await submit(db().pool, { task: 'cli.greet', args: ['one'] });
      await waitFor(async () => (await getTask(db().pool, task.uid)).status === 'done', {
        timeoutMs: 10_000,
        message: 'the task submitted after start done through NOTIFY',
      });
      expect(await listenerBackends()).toBe(1);
      child.kill('SIGINT');
      const r = await exited;
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain(command.stopped);
      // The server ends the backend a moment after the process closed its socket.
      await waitFor(async () => (await listenerBackends()) === 0, { message: 'the LISTEN backend gone' });
    });
  }
});
