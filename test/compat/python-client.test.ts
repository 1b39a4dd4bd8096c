import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EventixClient } from '../../src/client/client.ts';
import { collect, ROOT, spawnCli, waitForOutput } from '../helpers/cli.ts';
import { useTestDatabase } from '../helpers/db.ts';
import { pythonAvailable } from '../helpers/python.ts';

const ADMIN = 'compat-admin-token-0123456789abcdef';
const WORKER = 'compat-worker-token-0123456789abcdef';
const SCRIPT = path.join(ROOT, 'test/compat/python_client.py');
const EVENT = 'py.compat.event';

const python = pythonAvailable('the Python-Eventix client test');

/**
 * test/compat/python_client.py, a standard-library script that speaks the Python Eventix's wire
 * format the way its client and HTTP worker do, against a real server (`eventix start`, over TCP,
 * with tokens and EVENTIX_COMPAT_ROOT=true): once at /compat/eventix/v4 and once at the root.
 */
describe.skipIf(!python)('the Python-Eventix client against a real server', () => {
  const db = useTestDatabase();
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });

  const runScript = async (url: string, namespace: string) => {
    const child = spawn('python3', [SCRIPT], {
      env: { ...process.env, EVENTIX_URL: url, EVENTIX_TOKEN: ADMIN, EVENTIX_NAMESPACE: namespace, EVENTIX_EVENT: EVENT },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    return collect(child, 60_000);
  };

  it('submits, claims, completes, retries, reschedules, looks up by unique_key and publishes an event, at both mounts', async () => {
    const server = spawnCli(['start', '--port', '0'], {
      DATABASE_URL: db().url,
      EVENTIX_API_TOKENS: `ops:admin:${ADMIN},py:worker:${WORKER}`,
      EVENTIX_COMPAT_ROOT: 'true',
    });
    children.push(server);
    const [, address] = await waitForOutput(server, /listening on (http:\/\/\S+)/);
    const base = (address as string).replace(/\/$/, '');
    const client = new EventixClient({ baseUrl: base, token: ADMIN });
    await client.triggers.create({ name: 'py-compat', event_name: EVENT, template: { task: 'py.on-event', args: [{ $ptr: '/n' }] } });

    for (const [url, namespace] of [
      [`${base}/compat/eventix/v4`, 'py-prefixed'],
      [base, 'py-root'],
    ] as const) {
      const { code, stdout, stderr } = await runScript(url, namespace);
      expect(code, `${url}\n${stdout}\n${stderr}`).toBe(0);
      expect(stdout).toContain('ok submit');
      expect(stdout.trim().split('\n').at(-1)).toBe('ok');

      // What the script did, as our own API sees it: the priorities negated, the outcomes stored.
      const tasks = await client.listAll({ namespace });
      expect(tasks.map((t) => t.status).sort()).toEqual(['done', 'done', 'done']);
      const byArgs = new Map(tasks.map((t) => [JSON.stringify(t.args), t]));
      expect(byArgs.get('[2,3]')).toMatchObject({ priority: 5, result: 5, attempts: 1 });
      expect(byArgs.get('[20,22]')).toMatchObject({ priority: -5, result: 42, attempts: 1 });
      expect(byArgs.get('[7]')).toMatchObject({ task: 'py.on-event', priority: 2, result: 'handled' });
      expect(byArgs.get('[20,22]')?.attempt_errors).toEqual([
        expect.objectContaining({ attempt: 1, error: expect.objectContaining({ class: 'ValueError', message: 'not today' }) }),
      ]);
    }
  });
});
