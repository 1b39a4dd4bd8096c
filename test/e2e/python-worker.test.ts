import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EventixClient } from '../../src/client/client.ts';
import { collect, ROOT, spawnCli, waitForOutput } from '../helpers/cli.ts';
import { useTestDatabase } from '../helpers/db.ts';
import { pythonAvailable } from '../helpers/python.ts';
import { waitFor } from '../helpers/wait.ts';

const ADMIN = 'py-admin-token-0123456789abcdef';
const WORKER = 'py-worker-token-0123456789abcdef';
const SCRIPT = path.join(ROOT, 'examples/python-worker/worker.py');

const python = pythonAvailable('the Python worker example test');

/**
 * The README's Python worker (examples/python-worker/worker.py) against a real server (`eventix
 * start`, over TCP, with tokens): it completes a task, fails one, and at SIGTERM releases the one it
 * is running, which another claim then gets as its first attempt.
 */
describe.skipIf(!python)('examples/python-worker against a real server', () => {
  const db = useTestDatabase();
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });

  it('is standard-library Python under 100 lines', () => {
    const source = readFileSync(SCRIPT, 'utf8');
    expect(source.split('\n').filter((l, i, all) => l !== '' || i < all.length - 1).length).toBeLessThan(100);
    const imports = [...source.matchAll(/^import (.+)$/gm)].flatMap((m) => m[1]!.split(',').map((s) => s.trim()));
    expect(imports.sort()).toEqual(['json', 'os', 'signal', 'socket', 'threading', 'traceback', 'urllib.error', 'urllib.request']);
    expect(source).not.toMatch(/^from /m);
  });

  it('completes, fails and, at SIGTERM, releases a task without using up its attempt', async () => {
    const server = spawnCli(['start', '--port', '0'], {
      DATABASE_URL: db().url,
      EVENTIX_API_TOKENS: `ops:admin:${ADMIN},py:worker:${WORKER}`,
    });
    children.push(server);
    const [, address] = await waitForOutput(server, /listening on (http:\/\/\S+)/);
    const client = new EventixClient({ baseUrl: address as string, token: ADMIN });
    const namespace = 'py';
    const add = await client.submit({ task: 'py.add', namespace, args: [2, 3, 4] });
    const divide = await client.submit({ task: 'py.divide', namespace, args: [1, 0], max_retries: 0 });

    const worker = spawn('python3', [SCRIPT], {
      env: { ...process.env, EVENTIX_URL: address as string, EVENTIX_TOKEN: WORKER, EVENTIX_NAMESPACE: namespace },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(worker);
    const exited = collect(worker);

    const final = async (uid: string, statuses: string[]) =>
      waitFor(
        async () => {
          const t = await client.get(uid);
          return statuses.includes(t.status) ? t : undefined;
        },
        { timeoutMs: 20_000 },
      );
    expect(await final(add.task.uid, ['done'])).toMatchObject({ status: 'done', result: 9, attempts: 1 });
    const failed = await final(divide.task.uid, ['error']);
    expect(failed.error).toMatchObject({ class: 'ZeroDivisionError', message: 'division by zero' });
    expect(failed.error?.stack).toContain('Traceback');
    expect(failed.attempt_errors).toEqual([
      expect.objectContaining({ attempt: 1, error: expect.objectContaining({ class: 'ZeroDivisionError' }) }),
    ]);

    // A long task: running (processing, its attempt counted) when the worker is told to stop.
    const wait = await client.submit({ task: 'py.wait', namespace });
    const running = await final(wait.task.uid, ['processing']);
    expect(running.attempts).toBe(1);
    expect(running.worker_id).toMatch(/^py-/);
    worker.kill('SIGTERM');
    const { code, stdout, stderr } = await exited;
    expect(code, stderr).toBe(0);
    expect(stdout).toContain(`py.wait ${wait.task.uid}: released (scheduled)`);
    expect(stdout).toContain('stopped');
    const back = await client.get(wait.task.uid);
    expect(back).toMatchObject({ status: 'scheduled', attempts: 0, lease_expires_at: null });
    expect(Date.parse(back.eta)).toBeLessThanOrEqual(Date.now());

    // Due at once: a claim now takes it as its first attempt.
    const claimed = await new EventixClient({ baseUrl: address as string, token: WORKER }).claim({
      worker_id: 'next',
      namespace,
      tasks: ['py.wait'],
    });
    expect(claimed.tasks.map((t) => [t.uid, t.attempts])).toEqual([[wait.task.uid, 1]]);
  });
});
