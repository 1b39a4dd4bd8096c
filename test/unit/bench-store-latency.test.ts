import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { collect, spawnTsx } from '../helpers/cli.ts';

// `npm run bench:store` end to end at a tiny size, on the suite's PostgreSQL (through DATABASE_URL,
// where the bench makes and drops a database of its own), so that the bench cannot rot unnoticed
// as the store's functions change. Timings are machine-specific: nothing here asserts one.

const SCRIPT = 'bench/store-latency.ts';
const OPS = ['push_one', 'submit_one', 'push_batch', 'submit_batch', 'import_batch', 'get_task', 'get_run', 'commit_status', 'series'];

async function databaseExists(name: string): Promise<boolean> {
  const c = new pg.Client({ connectionString: inject('dbServerUrl') });
  await c.connect();
  try {
    const { rows } = await c.query('select 1 from pg_database where datname = $1', [name]);
    return rows.length > 0;
  } finally {
    await c.end();
  }
}

interface OpJson {
  count: number;
  ms: Record<'samples' | 'p50' | 'p95' | 'p99' | 'max', number>;
  perRecordMs?: Record<string, number>;
  pass: boolean;
}

describe('bench:store (bench/store-latency.ts)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'eventix-bench-store-test-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('runs every operation for every (records, clients) cell and reports them as JSON', async () => {
    const out = path.join(dir, 'store-latency.json');
    const child = spawnTsx(
      SCRIPT,
      [
        ...['--records', '3,7', '--clients', '1,2', '--samples', '5', '--batches', '3'],
        ...['--series-commits', '12', '--series-samples', '3', '--warmup', '1', '--json', '--out', out],
      ],
      { DATABASE_URL: inject('dbServerUrl') },
    );
    const r = await collect(child, 120_000);
    expect(r.code, r.stderr).toBe(0);

    const report = JSON.parse(r.stdout);
    expect(JSON.parse(await readFile(out, 'utf8'))).toEqual(report);
    expect(report.environment.database).toMatch(/^DATABASE_URL /);
    expect(report.operations.map((o: { key: string }) => o.key)).toEqual(OPS);
    expect(report.cells.map((c: { records: number; clients: number }) => [c.records, c.clients])).toEqual([
      [3, 1],
      [3, 2],
      [7, 1],
      [7, 2],
    ]);
    for (const cell of report.cells) {
      const calls = (total: number) => Math.ceil(total / cell.clients) * cell.clients;
      expect(Object.keys(cell.ops)).toEqual(OPS);
      for (const key of OPS) {
        const op = cell.ops[key] as OpJson;
        const expected = key.endsWith('_batch') ? calls(3) : key === 'series' ? calls(3) : calls(5);
        expect(op.count, `${key} in ${cell.records}×${cell.clients}`).toBe(expected);
        expect(op.ms.samples).toBe(expected);
        for (const q of ['p50', 'p95', 'p99', 'max'] as const) expect(Number.isFinite(op.ms[q])).toBe(true);
        expect(typeof op.pass).toBe('boolean');
        expect(op.perRecordMs !== undefined).toBe(key.endsWith('_batch'));
      }
      // What the cell stored: its own inserts, warm-ups included, and the seeded series.
      const runs = calls(5) + cell.clients + (calls(3) + cell.clients) * cell.records + 12;
      expect(cell.rows.runs).toBe(runs);
      expect(cell.rows.metrics).toBe(3 * runs);
      expect(cell.rows.commit_status).toBe(12);
    }
    expect(typeof report.allPass).toBe('boolean');
    expect(await databaseExists(`bench_store_${child.pid}`)).toBe(false);
  });

  it('prints the tables, one per operation, without --json', async () => {
    const out = path.join(dir, 'tables.json');
    const child = spawnTsx(
      SCRIPT,
      [
        '--records',
        '2',
        '--clients',
        '2',
        '--samples',
        '2',
        '--batches',
        '1',
        '--series-commits',
        '3',
        '--series-samples',
        '1',
        '--out',
        out,
      ],
      { DATABASE_URL: inject('dbServerUrl') },
    );
    const r = await collect(child, 120_000);
    expect(r.code, r.stderr).toBe(0);
    for (const title of ['pushResults, 1 run', 'submit, 1 task', 'submitNormalized, N tasks', 'getTask by uid', 'metricSeries']) {
      expect(r.stdout).toContain(title);
    }
    expect(r.stdout).toMatch(/\| N \| C \| count \| p50 ms \| p95 ms \| p99 ms \| max ms \|.*p99 < 100 ms \|/);
    expect(r.stdout).toMatch(/^\| 2 \| 2 \| 2 \|.*\| (PASS|FAIL) \|$/m);
    expect(r.stderr).toContain('[N=2 C=2]');
  });

  it('stops on Ctrl-C with exit 130 and drops its database', async () => {
    const child = spawnTsx(
      SCRIPT,
      ['--records', '5', '--clients', '2', '--samples', '100000', '--out', path.join(dir, 'interrupted.json')],
      {
        DATABASE_URL: inject('dbServerUrl'),
      },
    );
    const done = collect(child, 60_000);
    await new Promise<void>((resolve, reject) => {
      let seen = '';
      child.stderr?.on('data', (d) => {
        seen += d;
        if (seen.includes('timed calls')) resolve();
      });
      child.on('exit', (code) => reject(new Error(`exited with ${code} before the first timed operation:\n${seen}`)));
    });
    expect(await databaseExists(`bench_store_${child.pid}`)).toBe(true);
    child.kill('SIGINT');
    const r = await done;
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr).toContain('SIGINT: dropping the bench database');
    expect(await databaseExists(`bench_store_${child.pid}`)).toBe(false);
  });

  it('refuses bad options with exit 2', async () => {
    const r = await collect(spawnTsx(SCRIPT, ['--records', '0'], { DATABASE_URL: inject('dbServerUrl') }));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--records must be an integer');
  });
});
