import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EventixClient } from '../../src/client/client.ts';
import { collect, runCli, spawnCli, waitForOutput } from '../helpers/cli.ts';
import { useTestDatabase } from '../helpers/db.ts';

const ADMIN = 'cli-admin-token-0123456789abcdef';
const READER = 'cli-read-token-0123456789abcdef0';

/**
 * `eventix tasks …` against a real server (`eventix start` on its own port, with tokens), the way
 * an operator runs it: human tables, --json, exit codes 0 / 1 unreachable or refused / 2 bad
 * input / 3 not found.
 */
describe('eventix tasks (over HTTP)', () => {
  const db = useTestDatabase();
  let server: ChildProcess;
  let url: string;
  let client: EventixClient;
  const tasks = (...args: string[]) => runCli(['tasks', ...args], { EVENTIX_URL: url, EVENTIX_TOKEN: ADMIN });

  beforeAll(async () => {
    server = spawnCli(['start', '--port', '0'], {
      DATABASE_URL: db().url,
      EVENTIX_API_TOKENS: `ops:admin:${ADMIN},look:read:${READER}`,
    });
    [, url] = (await waitForOutput(server, /listening on (http:\/\/\S+)/)) as unknown as [string, string];
    client = new EventixClient({ baseUrl: url, token: ADMIN });
  });
  afterAll(async () => {
    const done = collect(server);
    server.kill('SIGINT');
    await done;
  });

  it('submit, show, list (table and --json), cancel, reschedule, delete', async () => {
    const sub = await tasks(
      'submit',
      'cli.job',
      '--namespace',
      'cli',
      '--args',
      '[1, 2]',
      '--kwargs',
      '{"a": "b"}',
      '--priority',
      '3',
      '--json',
    );
    expect(sub.code, sub.stderr).toBe(0);
    const { created, task } = JSON.parse(sub.stdout);
    expect(created).toBe(true);
    expect(task).toMatchObject({ task: 'cli.job', namespace: 'cli', args: [1, 2], kwargs: { a: 'b' }, priority: 3, status: 'scheduled' });

    const human = await tasks('submit', 'cli.job', '--namespace', 'cli');
    expect(human.stdout).toMatch(/^submitted [0-9a-f-]{36} \(cli\.job in cli\)\n$/);

    const list = await tasks('list', '--namespace', 'cli');
    expect(list.code).toBe(0);
    const lines = list.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^UID\s+STATUS\s+NAMESPACE\s+TASK\s+ATTEMPTS\s+CREATED\s+ERROR$/);
    expect(lines).toHaveLength(3);
    expect(lines.slice(1).every((l) => /^[0-9a-f-]{36}\s+scheduled\s+cli\s+cli\.job\s+0\s+/.test(l))).toBe(true);
    expect(JSON.parse((await tasks('list', '--namespace', 'cli', '--json')).stdout)).toHaveLength(2);

    const show = await tasks('show', task.uid);
    expect(show.stdout).toContain(`${task.uid}  scheduled`);
    expect(show.stdout).toContain('cli.job in cli, priority 3');
    expect(JSON.parse((await tasks('show', task.uid, '--json')).stdout).uid).toBe(task.uid);

    expect((await tasks('cancel', task.uid)).stdout).toBe(`${task.uid} cancelled\n`);
    expect((await client.get(task.uid)).status).toBe('cancelled');
    const again = await tasks('reschedule', task.uid);
    expect(again.stdout).toMatch(new RegExp(`^${task.uid} scheduled, due `));
    expect((await client.get(task.uid)).status).toBe('scheduled');
    expect((await tasks('delete', task.uid)).stdout).toBe(`deleted ${task.uid}\n`);
    expect((await tasks('show', task.uid)).code).toBe(3);
  });

  it('retry-failed reschedules every task in error (a dry run changes nothing), and show lists each failed attempt', async () => {
    const uids: string[] = [];
    for (let i = 0; i < 3; i++) uids.push((await client.submit({ task: 'cli.flaky', namespace: 'cli-retry', max_retries: 0 })).task.uid);
    const claimed = await client.claim({ worker_id: 'cli-worker', namespace: 'cli-retry', tasks: ['cli.flaky'], limit: 3 });
    for (const t of claimed.tasks) {
      await client.fail(t.uid, { worker_id: 'cli-worker', fencing_token: t.fencing_token, error: { class: 'Flaky', message: 'it broke' } });
    }
    const show = await tasks('show', uids[0]!);
    expect(show.stdout).toContain('error       Flaky: it broke');
    expect(show.stdout).toMatch(/attempt 1 .* cli-worker {2}Flaky: it broke/);

    const dry = await tasks('retry-failed', '--namespace', 'cli-retry', '--dry-run');
    expect(dry.stdout).toBe('would retry 3 failed tasks\n');
    for (const uid of uids) expect((await client.get(uid)).status).toBe('error');

    const real = await tasks('retry-failed', '--namespace', 'cli-retry', '--json');
    expect(real.code, real.stderr).toBe(0);
    expect(JSON.parse(real.stdout)).toEqual({ retried: expect.arrayContaining(uids), interrupted: false });
    for (const uid of uids) expect((await client.get(uid)).status).toBe('scheduled');
    expect((await tasks('retry-failed', '--namespace', 'cli-retry')).stdout).toBe('retried 0 failed tasks\n');
  });

  it('retry-failed stops at Ctrl-C after the task in hand: what it reports is exactly what left error', async () => {
    const namespace = 'cli-stop';
    const uids: string[] = [];
    for (let i = 0; i < 6; i++) uids.push((await client.submit({ task: 'cli.stop', namespace, max_retries: 0 })).task.uid);
    const claimed = await client.claim({ worker_id: 'cli-worker', namespace, tasks: ['cli.stop'], limit: 6 });
    for (const t of claimed.tasks) {
      await client.fail(t.uid, { worker_id: 'cli-worker', fencing_token: t.fencing_token, error: { message: 'down' } });
    }
    // A proxy in front of the server that holds the third reschedule (and any after it) until the
    // CLI has taken the Ctrl-C: the interrupt then lands with a request in flight, deterministically.
    let reschedules = 0;
    let holding = true;
    const held: (() => void)[] = [];
    let reachedThird!: () => void;
    const third = new Promise<void>((r) => {
      reachedThird = r;
    });
    const proxy = http.createServer((req, res) => {
      const forward = () => {
        const up = http.request(new URL(req.url ?? '/', url), { method: req.method, headers: req.headers }, (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        });
        req.pipe(up);
      };
      if (req.url?.endsWith('/reschedule') && ++reschedules >= 3 && holding) {
        held.push(forward);
        if (reschedules === 3) reachedThird();
        return;
      }
      forward();
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    try {
      const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
      const child = spawnCli(['tasks', 'retry-failed', '--namespace', namespace, '--url', proxyUrl], { EVENTIX_TOKEN: ADMIN });
      const done = collect(child);
      const stopping = new Promise<void>((resolve) => {
        let err = '';
        child.stderr?.on('data', (d) => {
          err += d;
          if (err.includes('stopping after the task in hand')) resolve();
        });
      });
      await third;
      child.kill('SIGINT');
      await stopping;
      holding = false;
      for (const f of held.splice(0)) f();
      const r = await done;
      expect(r.code, r.stderr).toBe(1);
      expect(r.stdout).toBe('retried 3 failed tasks (interrupted: the rest are still in error)\n');
      const statuses = await Promise.all(uids.map(async (uid) => (await client.get(uid)).status));
      expect(statuses.filter((st) => st === 'scheduled')).toHaveLength(3);
      expect(statuses.filter((st) => st === 'error')).toHaveLength(3);
      expect(reschedules).toBe(3);
    } finally {
      await new Promise((r) => proxy.close(r));
    }
  });

  it('eventix schedules --url: create, list, get, pause, run and delete through the API, with its scopes', async () => {
    const sched = (...args: string[]) => runCli(['schedules', ...args, '--url', url], { EVENTIX_TOKEN: ADMIN });
    const created = await sched('create', 'cli-nightly', '--cron', '0 2 * * *', '--task', 'cli.report', '--namespace', 'cli-s', '--json');
    expect(created.code, created.stderr).toBe(0);
    expect(JSON.parse(created.stdout)).toMatchObject({ name: 'cli-nightly', cron: '0 2 * * *', task: 'cli.report', enabled: true });
    // The server holds it: the API answers it too.
    expect((await client.schedules.get('cli-nightly')).namespace).toBe('cli-s');
    expect((await sched('list')).stdout).toMatch(/^cli-nightly\tenabled\t0 2 \* \* \*\tUTC\tcli\.report\tnext /m);
    expect((await sched('get', 'cli-nightly')).stdout).toContain('cli.report in cli-s, priority 0');
    expect((await sched('pause', 'cli-nightly')).stdout).toMatch(/^paused\ncli-nightly {2}paused/);
    const fired = await sched('run', 'cli-nightly', '--json');
    const { task } = JSON.parse(fired.stdout);
    expect((await client.get(task.uid)).schedule_name).toBe('cli-nightly');
    expect((await sched('delete', 'cli-nightly')).stdout).toBe('deleted cli-nightly\n');
    const gone = await sched('get', 'cli-nightly');
    expect(gone.code).toBe(3);
    const badCron = await sched('create', 'cli-bad', '--cron', 'every day', '--task', 't');
    expect(badCron.code).toBe(2);
    expect(badCron.stderr).toMatch(/^eventix: invalid input: cron: /);
    const reader = await runCli(['schedules', 'delete', 'anything', '--url', url, '--token', READER]);
    expect(reader.code).toBe(1);
    expect(reader.stderr).toMatch(/403/);
  });

  it('exit codes: 2 for bad input (flag or a field the server refuses), 3 not found, 1 refused or unreachable', async () => {
    const badJson = await tasks('submit', 'cli.job', '--args', '[1,');
    expect(badJson.code).toBe(2);
    expect(badJson.stderr).toMatch(/^eventix: --args: malformed JSON/);
    const badField = await tasks('submit', 'cli.job', '--eta', 'tomorrow');
    expect(badField.code).toBe(2);
    expect(badField.stderr).toMatch(/^eventix: 400 Bad Request: .*eta/);
    expect((await tasks('list', '--limit', 'ten')).code).toBe(2);
    const missing = await tasks('show', '00000000-0000-4000-8000-000000000000');
    expect(missing.code).toBe(3);
    expect(missing.stderr).toMatch(/404 Not Found/);

    const denied = await runCli(['tasks', 'delete', '00000000-0000-4000-8000-000000000000', '--url', url, '--token', READER]);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(/403/);
    expect(denied.stderr).not.toContain(READER);
    const anonymous = await runCli(['tasks', 'list', '--url', url], { EVENTIX_TOKEN: undefined });
    expect(anonymous.code).toBe(1);
    expect(anonymous.stderr).toMatch(/401/);
    const nowhere = await runCli(['tasks', 'list', '--url', 'http://127.0.0.1:9'], { EVENTIX_TOKEN: ADMIN });
    expect(nowhere.code).toBe(1);
    expect(nowhere.stderr).toMatch(/^eventix: cannot reach http:\/\/127\.0\.0\.1:9/);
  });
});

/**
 * The database-direct admin commands beside a running `eventix start` on embedded PostgreSQL: they
 * join its server (credentials.json, the port in postmaster.pid) instead of refusing, leave it
 * running, and print no log lines at the default level.
 */
describe('admin commands beside a running embedded server', () => {
  let dataDir: string;
  let server: ChildProcess;
  afterEach(async () => {
    if (server && server.exitCode === null && server.signalCode === null) {
      const done = collect(server);
      server.kill('SIGINT');
      await done;
    }
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('join its database, print only their answer, and the server keeps serving', async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'eventix-join-'));
    const env = { DATABASE_URL: undefined, EVENTIX_DATA_DIR: dataDir, EVENTIX_EMBEDDED_PORT: '0', EVENTIX_LOG_LEVEL: undefined };
    server = spawnCli(['start', '--port', '0'], env);
    const [, url] = (await waitForOutput(server, /listening on (http:\/\/\S+)/, 60_000)) as unknown as [string, string];
    const client = new EventixClient({ baseUrl: url });
    await client.submit({ task: 'join.job', namespace: 'join' });

    const list = await runCli(['schedules', 'list'], env);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toBe('no schedules\n');
    expect(list.stderr).toBe('');
    const migrate = await runCli(['migrate'], env);
    expect(migrate.code, migrate.stderr).toBe(0);
    expect(migrate.stdout).toMatch(/^migrations applied to embedded PostgreSQL of the running Eventix \(pid \d+\) on 127\.0\.0\.1:\d+\n$/);
    expect(migrate.stderr).toBe('');
    // Still serving, on the same data.
    expect((await client.ready()).status).toBe('ready');
    expect((await client.list({ namespace: 'join' })).tasks).toHaveLength(1);
  });
});
