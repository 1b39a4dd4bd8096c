import type { ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { EventixApiError, EventixClient } from '../../src/client/client.ts';
import { RemoteWorker } from '../../src/client/remote-worker.ts';
import { defineTask } from '../../src/worker/registry.ts';
import { collect, spawnCli, waitForOutput } from '../helpers/cli.ts';
import { useTestDatabase } from '../helpers/db.ts';
import { nextEvent } from '../helpers/wait.ts';

const TOKEN = 'e2e-admin-token-0123456789abcdef';
const N = 1000;
const f = (i: number, k: number) => i * i + k;

describe('end to end over HTTP: eventix start + EventixClient + RemoteWorker', () => {
  const db = useTestDatabase();
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });

  it('submits 1,000 tasks, runs them with a remote worker, reads every result back, and shuts down cleanly', async () => {
    const child = spawnCli(['start', '--port', '0'], { DATABASE_URL: db().url, EVENTIX_API_TOKENS: `e2e:admin:${TOKEN}` });
    children.push(child);
    const exited = collect(child);
    const [, address] = await waitForOutput(child, /listening on (http:\/\/\S+)/);
    const client = new EventixClient({ baseUrl: address as string, token: TOKEN });
    expect(await client.ready()).toMatchObject({ status: 'ready' });

    // The token is required, and never echoed.
    const anonymous = new EventixClient({ baseUrl: address as string });
    const denied = await anonymous.list().catch((err: unknown) => err);
    expect(denied).toBeInstanceOf(EventixApiError);
    expect((denied as EventixApiError).status).toBe(401);

    // 900 in three batches, 100 one by one, all at once.
    const batches = [0, 300, 600].map((from) =>
      client.submitBatch(
        Array.from({ length: 300 }, (_, j) => ({ task: 'e2e.square', namespace: 'e2e', args: [from + j], kwargs: { k: 7 } })),
      ),
    );
    const singles = Array.from({ length: 100 }, (_, j) =>
      client.submit({ task: 'e2e.square', namespace: 'e2e', args: [900 + j], kwargs: { k: 7 } }),
    );
    const submitted = [...(await Promise.all(batches)).flat(), ...(await Promise.all(singles))];
    expect(submitted).toHaveLength(N);
    expect(submitted.every((r) => r.created && r.task.operator === 'e2e')).toBe(true);

    const ran = new Map<string, number>();
    const square = defineTask<[number], { k: number }>('e2e.square', async ([i], { k }, ctx) => {
      ran.set(ctx.uid, (ran.get(ctx.uid) ?? 0) + 1);
      await new Promise((r) => setImmediate(r));
      return f(i, k);
    });
    const worker = new RemoteWorker({ client, tasks: [square], namespace: 'e2e', concurrency: 16, waitSeconds: 5 });
    const errors: string[] = [];
    worker.on('worker:error', (e) => errors.push(`${e.during}: ${e.error.message}`));
    let completed = 0;
    const allDone = new Promise<void>((resolve) =>
      worker.on('task:completed', () => {
        if (++completed === N) resolve();
      }),
    );
    const started = nextEvent(worker, 'worker:started');
    await worker.start();
    await started;
    await allDone;
    await worker.stop();
    expect(errors).toEqual([]);
    expect(ran.size).toBe(N);
    expect([...ran.values()].every((n) => n === 1)).toBe(true);

    // Read every result back through the API, page by page.
    let seen = 0;
    const args = new Set<number>();
    for await (const t of client.iterate({ namespace: 'e2e', status: ['done'], limit: 200 })) {
      const [i] = t.args as [number];
      expect(t.result).toBe(f(i, 7));
      expect(t).toMatchObject({ attempts: 1, worker_id: worker.workerId });
      args.add(i);
      seen++;
    }
    expect(seen).toBe(N);
    expect(args.size).toBe(N);
    const ns = await client.namespaces();
    expect(ns.namespaces.find((n) => n.namespace === 'e2e')).toMatchObject({ total: N, counts: { done: N } });

    child.kill('SIGINT');
    const r = await exited;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Eventix stopped');
    expect(r.stdout + r.stderr).not.toContain(TOKEN);
  });
});
