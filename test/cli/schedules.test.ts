import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createSchedule, getSchedule } from '../../src/scheduler/manage.ts';
import { collect, runCli, spawnCli, waitForOutput } from '../helpers/cli.ts';
import { useTestDatabase } from '../helpers/db.ts';
import { waitFor } from '../helpers/wait.ts';

describe('eventix scheduler and eventix schedules', () => {
  const db = useTestDatabase();
  const env = () => ({ DATABASE_URL: db().url });
  const dir = mkdtempSync(path.join(tmpdir(), 'eventix-schedules-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const tasksOf = async (name: string) =>
    (await db().pool.query<{ n: number }>('select count(*)::int as n from tasks where schedule_name = $1', [name])).rows[0]!.n;

  it('`eventix scheduler` fires a stored every-second schedule, then exits 0 on SIGTERM', async () => {
    await createSchedule(db().pool, { name: 'cli.every-second', cron: '*/1 * * * * *', task: 'tick' });
    const child = spawnCli(['scheduler', '--interval-ms', '200'], env());
    const done = collect(child);
    await waitForOutput(child, /Eventix scheduler running \(every 200 ms\)/);
    await waitFor(async () => (await tasksOf('cli.every-second')) > 0, { timeoutMs: 20_000, message: 'a task from the schedule' });
    child.kill('SIGTERM');
    const r = await done;
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Eventix scheduler stopped');
    const { rows } = await db().pool.query<{ ok: boolean }>(
      `select bool_and(schedule_fire_at = date_trunc('second', schedule_fire_at)) as ok from tasks where schedule_name = 'cli.every-second'`,
    );
    expect(rows[0]?.ok).toBe(true);
    await db().pool.query(`delete from schedules where name = 'cli.every-second'`);
  });

  it('`eventix schedules` create, list, get, update, pause, resume, run and delete, with --json', async () => {
    const json = async (args: string[]) => {
      const r = await runCli(['schedules', ...args, '--json'], env());
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
      return JSON.parse(r.stdout);
    };
    const created = await json([
      'create',
      'cli-nightly',
      '--cron',
      '0 3 * * *',
      '--task',
      'bench.sweep',
      '--timezone',
      'Europe/Berlin',
      '--kwargs',
      '{"grid":"full"}',
      '--options',
      '{"max_retries":2}',
      '--misfire',
      'all',
      '--overlap',
      'false',
    ]);
    expect(created).toMatchObject({
      name: 'cli-nightly',
      cron: '0 3 * * *',
      timezone: 'Europe/Berlin',
      kwargs: { grid: 'full' },
      options: { max_retries: 2 },
      misfire: 'all',
      overlap: false,
      enabled: true,
      source: 'api',
    });
    const [list, got, updated] = await Promise.all([
      json(['list']),
      json(['get', 'cli-nightly']),
      json(['update', 'cli-nightly', '--priority', '5', '--cron', '30 3 * * *']),
    ]);
    expect(list.schedules.map((s: { name: string }) => s.name)).toContain('cli-nightly');
    expect(got).toMatchObject({ name: 'cli-nightly' });
    expect(updated).toMatchObject({ priority: 5, cron: '30 3 * * *' });
    expect(updated.next_fire_at).not.toBe(created.next_fire_at);
    expect(await json(['pause', 'cli-nightly'])).toMatchObject({ enabled: false, next_fire_at: null });
    const run = await json(['run', 'cli-nightly']);
    expect(run.task).toMatchObject({ task: 'bench.sweep', schedule_name: 'cli-nightly', priority: 5, max_retries: 2 });
    expect((await json(['resume', 'cli-nightly'])).enabled).toBe(true);
    expect(await json(['delete', 'cli-nightly'])).toEqual({ deleted: 'cli-nightly' });

    const [missing, invalid, malformed] = await Promise.all([
      runCli(['schedules', 'get', 'cli-nightly'], env()),
      runCli(['schedules', 'create', 'cli-bad', '--cron', '0 0 30 2 *', '--task', 'x', '--timezone', 'Nowhere/Land'], env()),
      runCli(['schedules', 'create', 'cli-bad', '--cron', '* * * * *', '--task', 'x', '--args', '[1,'], env()),
    ]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("No schedule named 'cli-nightly'");
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toMatch(/timezone: unknown time zone/);
    expect(invalid.stderr).toMatch(/cron: never fires/);
    expect(malformed.code).toBe(1);
    expect(malformed.stderr).toMatch(/--args: malformed JSON/);
  });

  it('EVENTIX_SCHEDULES_FILE is upserted by name at start; a bad file stops start naming the file and field', async () => {
    const good = path.join(dir, 'schedules.json');
    writeFileSync(
      good,
      JSON.stringify({
        schedules: [
          { name: 'file.nightly', cron: '0 3 * * *', task: 'bench.sweep', timezone: 'America/New_York', kwargs: { grid: 'nightly' } },
          { name: 'file.hourly', cron: '0 * * * *', task: 'bench.quick', misfire: 'none', options: { timeout_seconds: 900 } },
        ],
      }),
    );
    const child = spawnCli(['scheduler'], { ...env(), EVENTIX_SCHEDULES_FILE: good });
    const done = collect(child);
    await waitForOutput(child, /Eventix scheduler running/);
    child.kill('SIGTERM');
    const r = await done;
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Schedules file ${good}: 2 created, 0 updated, 0 unchanged`);
    expect(await getSchedule(db().pool, 'file.nightly')).toMatchObject({
      source: 'file',
      timezone: 'America/New_York',
      kwargs: { grid: 'nightly' },
    });
    expect(await getSchedule(db().pool, 'file.hourly')).toMatchObject({ misfire: 'none', options: { timeoutSeconds: 900 } });

    // `eventix start` applies it too: nothing changed, so nothing is rewritten; its scheduler runs.
    const server = spawnCli(['start', '--port', '0'], { ...env(), EVENTIX_SCHEDULES_FILE: good });
    const serverDone = collect(server);
    await waitForOutput(server, /Scheduler running/);
    server.kill('SIGINT');
    const s = await serverDone;
    expect(s.code).toBe(0);
    expect(s.stdout).toContain('0 created, 0 updated, 2 unchanged');

    const bad = path.join(dir, 'bad.json');
    writeFileSync(
      bad,
      JSON.stringify({
        schedules: [
          { name: 'file.ok', cron: '* * * * *', task: 'x' },
          { name: 'file.broken', cron: '0 0 * * *', task: 'x', timezone: 'Mars/Base' },
        ],
      }),
    );
    const notJson = path.join(dir, 'not.json');
    writeFileSync(notJson, '{"schedules": [');
    const [b1, b2, b3] = await Promise.all([
      runCli(['scheduler'], { ...env(), EVENTIX_SCHEDULES_FILE: bad }),
      runCli(['start', '--port', '0'], { ...env(), EVENTIX_SCHEDULES_FILE: bad }),
      runCli(['scheduler', '--schedules-file', notJson], env()),
    ]);
    for (const b of [b1, b2]) {
      expect(b.code).toBe(2);
      expect(b.stderr).toContain(`EVENTIX_SCHEDULES_FILE ${bad}`);
      expect(b.stderr).toContain('schedules[1].timezone (schedule "file.broken"): unknown time zone');
    }
    expect(b3.code).toBe(2);
    expect(b3.stderr).toContain(`${notJson}: malformed JSON`);
    // Nothing of the bad file was written.
    await expect(getSchedule(db().pool, 'file.ok')).rejects.toThrow(/No schedule named/);
  });
});
