import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { collect, spawnTsx } from '../helpers/cli.ts';

// `npm run bench:cost` end to end at a tiny size on the suite's PostgreSQL (DATABASE_URL, where it
// makes and drops a database per round), so that it cannot rot as the drivers change. CPU figures
// are machine-specific: they must be present and positive, nothing more.

const SCRIPT = 'bench/cost.ts';

async function databases(pattern: string): Promise<string[]> {
  const c = new pg.Client({ connectionString: inject('dbServerUrl') });
  await c.connect();
  try {
    const { rows } = await c.query<{ datname: string }>('select datname from pg_database where datname like $1', [pattern]);
    return rows.map((r) => r.datname);
  } finally {
    await c.end();
  }
}

interface SystemJson {
  system: string;
  rounds: { perSecond: number; nodeUsPerJob: number; postgresUsPerJob: number | null; walBytesPerJob: number }[];
  perSecond: number;
  nodeUsPerJob: number;
  postgresUsPerJob: number | null;
  totalUsPerJob: number | null;
}

describe('bench:cost (bench/cost.ts)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'eventix-bench-cost-test-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('measures Node and PostgreSQL CPU per job for each system, and drops its databases', async () => {
    const out = path.join(dir, 'cost.json');
    const child = spawnTsx(SCRIPT, ['--systems', 'eventix,graphile-tuned', '--n', '1500', '--rounds', '2', '--json', '--out', out], {
      DATABASE_URL: inject('dbServerUrl'),
    });
    const r = await collect(child, 180_000);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(JSON.parse(await readFile(out, 'utf8'))).toEqual(report);
    expect(report.database).toMatch(/^DATABASE_URL /);
    expect(report.results.map((s: SystemJson) => s.system)).toEqual(['eventix', 'graphile-tuned']);
    for (const s of report.results as SystemJson[]) {
      expect(s.rounds).toHaveLength(2);
      for (const round of s.rounds) {
        expect(round.perSecond).toBeGreaterThan(0);
        expect(round.nodeUsPerJob).toBeGreaterThan(0);
        // The suite's server runs on this machine, so its backends are visible in /proc.
        expect(round.postgresUsPerJob).toBeGreaterThan(0);
        // Every job's claim and completion write WAL (row versions, index entries).
        expect(round.walBytesPerJob).toBeGreaterThan(100);
      }
      expect(s.totalUsPerJob).toBeGreaterThan(s.nodeUsPerJob);
    }
    // Rounds interleave, the order rotated: round 1 eventix first, round 2 graphile-tuned first.
    expect(r.stderr).toMatch(
      /round 1\/2 eventix[^\n]*\nround 1\/2 graphile-worker[^\n]*\nround 2\/2 graphile-worker[^\n]*\nround 2\/2 eventix/,
    );
    expect(await databases(`bench_cost_%_${child.pid}`)).toEqual([]);
  });

  it('prints the table without --json', async () => {
    const child = spawnTsx(SCRIPT, ['--systems', 'eventix', '--n', '300', '--rounds', '1', '--out', path.join(dir, 'table.json')], {
      DATABASE_URL: inject('dbServerUrl'),
    });
    const r = await collect(child, 120_000);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^system +processed\/s +Node µs\/job +PostgreSQL µs\/job +total µs\/job +total vs Eventix +WAL B\/job/m);
    expect(r.stdout).toMatch(/^eventix \S+ +[\d,]+ +\d+\.\d +\d+\.\d +\d+\.\d +[\d,]+$/m);
  });

  it('stops on Ctrl-C with exit 130 and drops its database', async () => {
    const child = spawnTsx(SCRIPT, ['--systems', 'eventix', '--n', '2000000', '--rounds', '1', '--out', path.join(dir, 'stopped.json')], {
      DATABASE_URL: inject('dbServerUrl'),
    });
    const done = collect(child, 90_000);
    const name = `bench_cost_eventix_${child.pid}`;
    // Poll with a deadline until the round's database exists (the enqueue of 2,000,000 jobs is then under way).
    const deadline = Date.now() + 60_000;
    while (!(await databases(name)).length) {
      if (Date.now() > deadline) throw new Error(`${name} never appeared`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    child.kill('SIGINT');
    const r = await done;
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr).toContain('SIGINT: stopping workers, dropping bench databases');
    expect(await databases(name)).toEqual([]);
  });

  it('refuses bad options with exit 2, naming the option', async () => {
    const r = await collect(spawnTsx(SCRIPT, ['--n', '0'], { DATABASE_URL: inject('dbServerUrl') }));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--n must be a positive integer');
    const u = await collect(spawnTsx(SCRIPT, ['--systems', 'eventix,nope'], { DATABASE_URL: inject('dbServerUrl') }));
    expect(u.code).toBe(2);
    expect(u.stderr).toContain('--systems: unknown nope');
  });
});
