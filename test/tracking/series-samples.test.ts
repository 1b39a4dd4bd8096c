import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { upsertConfig } from '../../src/tracking/configs.ts';
import { pushResults } from '../../src/tracking/ingest.ts';
import { directionWithSource, loadSeries, seriesHash } from '../../src/tracking/series-samples.ts';
import { shaOf } from '../helpers/bench-series.ts';
import { useTestDatabase } from '../helpers/db.ts';
import { BASE_TIME, commitCommand, fastImport, git, tempRepo } from '../helpers/git.ts';

describe('benchmark series for change detection', () => {
  const db = useTestDatabase();

  const push = (repo: string, sha: string, values: number[], opts: { startedAt?: string; branch?: string; metric?: string } = {}) =>
    pushResults(db().pool, {
      data: {
        format: 'eventix',
        version: 1,
        runs: values.map((value, i) => ({
          repo,
          sha,
          ...(opts.branch ? { branch: opts.branch } : {}),
          repeat_index: i,
          ...(opts.startedAt ? { started_at: opts.startedAt } : {}),
          metrics: [{ name: opts.metric ?? 'rps', value, tags: { command: 'SET', data_size: 16 } }],
        })),
      },
    });

  const track = async (repo: string, sha: string, committedAt: Date) => {
    const cfg = await upsertConfig(db().pool, { tracking: true });
    await db().pool.query(`insert into commit_status (repo, sha, config_id, committed_at, status) values ($1, $2, $3, $4, 'complete')`, [
      repo,
      sha,
      cfg.id,
      committedAt,
    ]);
  };

  it('keeps every repeated run of a commit as a sample, and orders commits by committer time, else first run', async () => {
    const repo = 'r/fallback';
    const [a, b, c, d] = [shaOf(1), shaOf(2), shaOf(3), shaOf(4)];
    // Pushed in another order than history; c and d are not tracked, so their first run places them.
    await push(repo, b, [20, 21], { startedAt: '2026-01-01T09:00:00Z' });
    await push(repo, c, [30], { startedAt: '2026-01-01T10:05:00Z' });
    await push(repo, a, [10, 11, 12], { startedAt: '2026-01-01T12:00:00Z' });
    await push(repo, b, [22], { startedAt: '2026-01-01T12:30:00Z' });
    await push(repo, d, [40], { startedAt: '2026-01-01T10:05:00Z' });
    await track(repo, a, new Date('2026-01-01T10:00:00Z'));
    await track(repo, b, new Date('2026-01-01T10:10:00Z'));

    const { series } = await loadSeries(db().pool, { repo, metric: 'rps' });
    expect(series).toHaveLength(1);
    const s = series[0];
    expect(s?.order).toEqual({ by: 'committer-time', ref: null, note: null });
    // a (10:00), then c and d at 10:05 (a tie, broken by sha), then b (10:10).
    expect(s?.commits.map((x) => x.sha)).toEqual([a, c, d, b]);
    expect(s?.commits.map((x) => x.samples)).toEqual([[10, 11, 12], [30], [40], [20, 21, 22]]);
    expect(s?.samples).toBe(8);
    expect(s?.hash).toBe(seriesHash({ repo, metric: 'rps', config: null, architecture: '', tags: { data_size: 16, command: 'SET' } }));
  });

  it('splits points into one series per exact tag set, config and architecture', async () => {
    const repo = 'r/split';
    const doc = (tags: Record<string, unknown>, architecture?: string) => ({
      repo,
      sha: shaOf(9),
      ...(architecture ? { architecture } : {}),
      metrics: [{ name: 'rps', value: 1, tags }],
    });
    await pushResults(db().pool, {
      data: {
        format: 'eventix',
        version: 1,
        runs: [doc({ command: 'SET' }), doc({ command: 'GET' }), doc({ command: 'SET' }, 'aarch64'), doc({ command: 'SET', extra: 1 })],
      },
    });
    const all = await loadSeries(db().pool, { repo, metric: 'rps' });
    expect(all.series).toHaveLength(4);
    expect(new Set(all.series.map((s) => s.hash)).size).toBe(4);
    // A tag filter narrows, as GET /benchmarks/series does; each tag set stays its own series.
    const set = await loadSeries(db().pool, { repo, metric: 'rps', tags: { command: ['SET'] }, architecture: '' });
    expect(set.series.map((s) => s.key.tags)).toHaveLength(2);
    expect(set.series.map((s) => s.key.tags)).toEqual(expect.arrayContaining([{ command: 'SET' }, { command: 'SET', extra: 1 }]));
  });

  describe('with the repository in EVENTIX_REPOS', () => {
    let dir: string;
    const marks = { c1: 1, c2: 2, c3: 3, merge: 4, c5: 5, side1: 10, side2: 11 };
    /** The committer minute of each commit, as given to fast-import below. */
    const minutes = { c1: 1, c2: 2, c3: 30, merge: 10, c5: 40, side1: 5, side2: 6 };
    const sha: Record<string, string> = {};
    beforeAll(() => {
      dir = tempRepo();
      // main: c1 - c2 - c3 - merge - c5, with side1 - side2 branched from c2 and merged. Committer
      // times disagree with the history on purpose: c3 is dated after the merge.
      fastImport(
        dir,
        commitCommand('refs/heads/main', 1, 1) +
          commitCommand('refs/heads/main', 2, 2) +
          commitCommand('refs/heads/side', 10, 5, { from: 2 }) +
          commitCommand('refs/heads/side', 11, 6) +
          commitCommand('refs/heads/main', 3, 30, { from: 2 }) +
          commitCommand('refs/heads/main', 4, 10, { from: 3, merge: 11 }) +
          commitCommand('refs/heads/main', 5, 40),
      );
      const bySubject = new Map(
        git(dir, ['log', '--all', '--format=%H %s'])
          .trim()
          .split('\n')
          .map((line) => [line.slice(41), line.slice(0, 40)] as const),
      );
      for (const [name, mark] of Object.entries(marks)) sha[name] = bySubject.get(`commit ${mark}`) as string;
    });
    afterAll(async () => {
      const { rmSync } = await import('node:fs');
      rmSync(dir, { recursive: true, force: true });
    });

    it('orders commits by the first-parent history of the runs’ branch and leaves other commits out', async () => {
      const names = ['c5', 'side2', 'c1', 'merge', 'side1', 'c3', 'c2'];
      for (const [i, name] of names.entries()) {
        await push(dir, sha[name] as string, [i, i + 0.5], { branch: 'main', startedAt: '2026-01-01T00:00:00Z' });
        await track(dir, sha[name] as string, new Date((BASE_TIME + minutes[name as keyof typeof minutes] * 60) * 1000));
      }
      const inGit = await loadSeries(db().pool, { repo: dir, metric: 'rps' }, { repos: [dir] });
      const s = inGit.series[0];
      expect(s?.order).toEqual({ by: 'git-first-parent', ref: 'main', note: null });
      expect(s?.commits.map((c) => c.sha)).toEqual(['c1', 'c2', 'c3', 'merge', 'c5'].map((n) => sha[n]));
      expect(s?.excludedCommits).toBe(2);

      // Not listed: the committer-time fallback, which puts c3 after the merge and keeps the side branch.
      const byTime = await loadSeries(db().pool, { repo: dir, metric: 'rps' });
      expect(byTime.series[0]?.order.by).toBe('committer-time');
      expect(byTime.series[0]?.commits.map((c) => c.sha)).toEqual(['c1', 'c2', 'side1', 'side2', 'merge', 'c3', 'c5'].map((n) => sha[n]));

      // A ref git does not know falls back too, and says why.
      const unknown = await loadSeries(db().pool, { repo: dir, metric: 'rps', branch: 'nope' }, { repos: [dir] });
      expect(unknown.series).toHaveLength(0);
      await push(dir, sha.c1 as string, [1], { branch: 'nope', metric: 'other' });
      const fallback = await loadSeries(db().pool, { repo: dir, metric: 'other' }, { repos: [dir] });
      expect(fallback.series[0]?.order).toMatchObject({ by: 'committer-time', note: expect.stringContaining('nope') });
    });
  });

  it('takes direction and unit from the stored metric, else the documented rule, else unknown', () => {
    expect(directionWithSource('rps', null, null)).toEqual({ direction: 'higher', source: 'name' });
    expect(directionWithSource('throughput', null, null)).toEqual({ direction: 'higher', source: 'name' });
    expect(directionWithSource('ops', null, null)).toEqual({ direction: 'higher', source: 'name' });
    expect(directionWithSource('p99_latency', null, null)).toEqual({ direction: 'lower', source: 'name' });
    expect(directionWithSource('build_ms', null, null)).toEqual({ direction: 'lower', source: 'name' });
    expect(directionWithSource('time', null, null)).toEqual({ direction: 'lower', source: 'name' });
    expect(directionWithSource('score', 'ms', null)).toEqual({ direction: 'lower', source: 'unit' });
    expect(directionWithSource('rps', 'req/s', 'lower')).toEqual({ direction: 'lower', source: 'stored' });
    expect(directionWithSource('widgets', null, null)).toEqual({ direction: null, source: null });
    expect(directionWithSource('widgets', null, null, { widgets: 'higher' })).toEqual({ direction: 'higher', source: 'override' });
    expect(directionWithSource('rps', null, 'higher', { rps: null })).toEqual({ direction: null, source: null });
  });
});
