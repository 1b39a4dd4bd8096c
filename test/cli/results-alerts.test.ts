import { describe, expect, it } from 'vitest';
import { listAlerts } from '../../src/tracking/alerts/store.ts';
import { pushResults } from '../../src/tracking/ingest.ts';
import { type StepSeries, shaOf, step, stepDocuments } from '../helpers/bench-series.ts';
import { cliHarness, collect, spawnCli, waitForOutput } from '../helpers/cli.ts';
import { useTestDatabase } from '../helpers/db.ts';
import { waitFor } from '../helpers/wait.ts';

describe('eventix results changes | alerts | evaluate', () => {
  const db = useTestDatabase();
  // No built-in worker runs in these processes' tests: evaluation happens only when asked for.
  const { cli, ok, json } = cliHarness(() => ({ DATABASE_URL: db().url }));
  const pushAll = async (s: StepSeries) => {
    for (const { doc } of stepDocuments(s)) await pushResults(db().pool, { data: doc });
  };

  it('evaluate opens alerts (with progress on stderr), changes shows them, alerts lists and changes their status', async () => {
    await pushAll({ repo: 'r/cli', from: 1, to: 40, level: step(25), tags: { command: 'SET' } });
    await pushAll({ repo: 'r/cli', from: 1, to: 40, level: () => 1000, tags: { command: 'GET' }, seed: 3 });

    const refused = await cli('results', 'evaluate');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('repo: pass --repo <repo> or --all');

    const evaluated = await ok('results', 'evaluate', '--repo', 'r/cli', '--json');
    const summary = JSON.parse(evaluated.stdout);
    expect(summary).toMatchObject({ groups: 1, series: 2, change_points: 1, regressions: 1, resolved: [], interrupted: false });
    expect(summary.opened).toHaveLength(1);
    // Not a terminal: a plain progress line, at least the final one.
    expect(evaluated.stderr).toContain('evaluated 1/1 series groups, 1 alert(s) opened');
    // Again: idempotent.
    expect(await json('results', 'evaluate', '--all')).toMatchObject({ opened: [], regressions: 1 });

    const changes = await json('results', 'changes', '--repo', 'r/cli', '--metric', 'rps', '--tag', 'command=SET');
    expect(changes.series).toHaveLength(1);
    expect(changes.series[0].change_points).toMatchObject([{ sha: shaOf(25), previous_sha: shaOf(24), kind: 'regression' }]);
    const text = await ok('results', 'changes', '--repo', 'r/cli', '--metric', 'rps');
    expect(text.stdout).toMatch(new RegExp(`regression  ${shaOf(24).slice(0, 12)}\\.\\.${shaOf(25).slice(0, 12)}  -(9\\.9|10\\.\\d)%`));
    expect(text.stdout).toContain('no change points');

    const list = await json('results', 'alerts', 'list', '--status', 'open', '--repo', 'r/cli');
    expect(list.alerts).toHaveLength(1);
    const id = list.alerts[0].id;
    expect(id).toBe(summary.opened[0]);
    expect(list.alerts[0]).toMatchObject({ first_bad_sha: shaOf(25), series: { tags: { command: 'SET' } } });

    const acked = await json('results', 'alerts', 'ack', String(id), '--note', 'bisecting');
    expect(acked).toMatchObject({ id, status: 'acknowledged', note: 'bisecting', revision: 2 });
    const stale = await cli('results', 'alerts', 'false-positive', String(id), '--revision', '1');
    expect(stale.code).toBe(1);
    expect(stale.stderr).toContain('revision 2');
    expect(await json('results', 'alerts', 'false-positive', String(id), '--revision', '2')).toMatchObject({ status: 'false_positive' });
    expect(await json('results', 'alerts', 'get', String(id))).toMatchObject({ id, status: 'false_positive' });

    const bad = await cli('results', 'alerts', 'list', '--status', 'closed');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('status.0');
  });

  it('eventix start and eventix worker serve the built-in evaluation by default', async () => {
    for (const [repo, args] of [
      ['r/served-by-start', ['start', '--port', '0']],
      ['r/served-by-worker', ['worker', '--tasks', 'test/fixtures/tasks-module.ts']],
    ] as const) {
      const child = spawnCli([...args], { DATABASE_URL: db().url });
      const done = collect(child);
      await waitForOutput(child, /listening|running/);
      await pushAll({ repo, from: 1, to: 40, level: step(25) });
      const alert = await waitFor(async () => (await listAlerts(db().pool, { repo })).alerts[0], { message: `an alert for ${repo}` });
      expect(alert.firstBadSha).toBe(shaOf(25));
      child.kill('SIGINT');
      const r = await done;
      expect(r.code, r.stderr).toBe(0);
    }
  });
});
