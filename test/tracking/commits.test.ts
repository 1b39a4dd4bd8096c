import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.ts';
import { cancel, submit } from '../../src/queue/index.ts';
import { cleanupCommits, type MarkOptions, markCommits } from '../../src/tracking/commits.ts';
import { importCommits } from '../../src/tracking/commits-import.ts';
import { commitStats, exportCommits, getConfig, listConfigs, queryCommits } from '../../src/tracking/commits-read.ts';
import { type DetermineOptions, determineCommits } from '../../src/tracking/determine.ts';
import { commitTimes, refProblem, resolveCommit, resolveCommits, revList } from '../../src/tracking/git.ts';
import { useTestDatabase } from '../helpers/db.ts';
import { BASE_TIME, commitCommand, fastImport, git, linearRepo, type TestRepo, tempRepo } from '../helpers/git.ts';

/**
 * Commit-status tracking against real PostgreSQL and real git repositories. Each test gets its
 * own repository, and so its own rows (the repository path is part of every pair's key).
 */

const repos: TestRepo[] = [];
afterAll(() => {
  for (const r of repos) r.remove();
});
function repo(n = 5): TestRepo {
  const r = linearRepo(n);
  repos.push(r);
  return r;
}

async function validationFields(p: Promise<unknown>): Promise<string[]> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ValidationError) return err.issues.map((i) => i.field);
    throw err;
  }
  throw new Error('expected a ValidationError');
}

describe('commit-status tracking', () => {
  const db = useTestDatabase();
  const pool = () => db().pool;
  const determine = (r: TestRepo, o: Partial<DetermineOptions> = {}) =>
    determineCommits(pool(), { repo: r.dir, branch: 'main', maxCommits: 10, ...o });
  const mark = (r: TestRepo, refs: string[], status: MarkOptions['status'], config: unknown, o: Partial<MarkOptions> = {}) =>
    markCommits(pool(), { repo: r.dir, refs, status, config, ...o });
  const rows = async (r: TestRepo) =>
    (
      await pool().query<{
        sha: string;
        status: string;
        attempts: number;
        error: string | null;
        task_uid: string | null;
        architecture: string;
      }>('select sha, status, attempts, error, task_uid, architecture from commit_status where repo = $1 order by sha', [r.dir])
    ).rows;
  const backdate = (r: TestRepo, seconds: number) =>
    pool().query(`update commit_status set updated_at = now() - make_interval(secs => $2) where repo = $1`, [r.dir, seconds]);

  describe('determine (the seed’s cases)', () => {
    it('returns every commit newest first, skips a complete one, and respects max commits', async () => {
      const r = repo(5);
      const config = [{ data_sizes: [16] }];
      expect((await determine(r, { config })).shas).toEqual(r.shas);
      const head = r.shas[0] as string;
      await mark(r, ['HEAD'], 'complete', config);
      const four = await determine(r, { config });
      expect(four.shas).toHaveLength(4);
      expect(four.shas).not.toContain(head);
      expect(four.shas).toEqual(r.shas.slice(1));
      expect((await determine(r, { config, maxCommits: 2 })).shas).toEqual(r.shas.slice(1, 3));
    });

    it('subset detection skips a commit complete under a covering list config', async () => {
      const r = repo(5);
      const head = r.shas[0] as string;
      await mark(r, [head], 'complete', [{ data_sizes: [16, 64, 256], 'io-threads': 1 }]);
      const result = await determine(r, { config: [{ data_sizes: [16, 64], 'io-threads': 1 }] });
      expect(result.shas).not.toContain(head);
      expect(result.shas).toHaveLength(4);
      expect(result.subsetSkipped).toBe(1);
      expect(result.supersetConfigIds).toHaveLength(1);
    });

    it('subset detection skips a commit complete under a covering dict config', async () => {
      const r = repo(5);
      const head = r.shas[0] as string;
      await mark(r, [head], 'complete', { data_sizes: [16, 64, 256], 'io-threads': 1, tls: true });
      expect((await determine(r, { config: { data_sizes: [16, 64], 'io-threads': 1 } })).shas).not.toContain(head);
    });

    it('a config that is not a subset is not skipped', async () => {
      const r = repo(5);
      const head = r.shas[0] as string;
      await mark(r, [head], 'complete', [{ data_sizes: [16], 'io-threads': 1 }]);
      const result = await determine(r, { config: [{ data_sizes: [64, 128], 'io-threads': 2 }] });
      expect(result.shas).toContain(head);
      expect(result.subsetSkipped).toBe(0);
    });

    it('--disable-subset-detection benchmarks the subset anyway', async () => {
      const r = repo(5);
      const head = r.shas[0] as string;
      await mark(r, [head], 'complete', [{ data_sizes: [16, 64, 256], 'io-threads': 1 }]);
      const result = await determine(r, { config: [{ data_sizes: [16, 64], 'io-threads': 1 }], subsetDetection: false });
      expect(result.shas).toContain(head);
    });

    it('only complete pairs of a covering config count; an in_progress superset does not', async () => {
      const r = repo(3);
      await mark(
        r,
        [r.shas[0] as string],
        'in_progress',
        { data_sizes: [16, 64] },
        { taskUid: (await submit(pool(), { task: 'b' })).task.uid },
      );
      expect((await determine(r, { config: { data_sizes: [16] } })).shas).toEqual(r.shas);
    });

    it('the same config in another key order is the same config', async () => {
      const r = repo(3);
      await mark(r, [r.shas[0] as string], 'complete', JSON.parse('{"b": [1, 2], "a": 1.0}'));
      expect((await determine(r, { config: JSON.parse('{"a":1,"b":[1,2]}'), subsetDetection: false })).shas).toEqual(r.shas.slice(1));
    });

    it('without a config, a commit complete under any config is done (the seed without --config-file)', async () => {
      const r = repo(4);
      await mark(r, [r.shas[1] as string], 'complete', { a: 1 });
      await mark(r, [r.shas[2] as string], 'complete', [{ b: 2 }]);
      expect((await determine(r, {})).shas).toEqual([r.shas[0], r.shas[3]]);
    });

    it('architectures are separate: complete on x86_64 is still to do on arm64', async () => {
      const r = repo(3);
      const config = { a: 1 };
      await mark(r, ['HEAD'], 'complete', config, { architecture: 'x86_64' });
      expect((await determine(r, { config, architecture: 'x86_64' })).shas).toEqual(r.shas.slice(1));
      expect((await determine(r, { config, architecture: 'arm64' })).shas).toEqual(r.shas);
      expect((await determine(r, { config })).shas).toEqual(r.shas);
    });
  });

  describe('determine: ownership, failures and options', () => {
    it('skips pairs in progress under a live task; a finished, deleted or missing owner counts as not done', async () => {
      const r = repo(5);
      const config = { owner: 'test' };
      const live = (await submit(pool(), { task: 'benchmark.run' })).task.uid;
      const dead = (await submit(pool(), { task: 'benchmark.run' })).task.uid;
      await cancel(pool(), dead);
      const [s0, s1, s2, s3, s4] = r.shas as [string, string, string, string, string];
      await mark(r, [s0], 'in_progress', config, { taskUid: live });
      await mark(r, [s1], 'in_progress', config, { taskUid: dead });
      await mark(r, [s2], 'benchmark_complete', config, { taskUid: live });
      await mark(r, [s3], 'in_progress', config, { taskUid: randomUUID() });
      expect((await determine(r, { config })).shas).toEqual([s1, s4]);
      // A missing owner may be a task not yet visible: it counts as live for a minute.
      await backdate(r, 120);
      expect((await determine(r, { config })).shas).toEqual([s1, s3, s4]);
    });

    it('an ownerless in_progress pair counts as running until it is older than staleSeconds', async () => {
      const r = repo(3);
      const config = { ownerless: true };
      await mark(r, ['HEAD'], 'in_progress', config);
      expect((await determine(r, { config })).shas).toEqual(r.shas.slice(1));
      expect((await determine(r, { config, staleSeconds: 3600 })).shas).toEqual(r.shas.slice(1));
      await backdate(r, 7200);
      expect((await determine(r, { config, staleSeconds: 3600 })).shas).toEqual(r.shas);
    });

    it('retries a failed pair while it failed fewer than maxAttempts times', async () => {
      const r = repo(2);
      const config = { retry: 1 };
      const head = r.shas[0] as string;
      await mark(r, [head], 'failed', config, { error: 'segfault' });
      expect((await rows(r))[0]).toMatchObject({ status: 'failed', attempts: 1, error: 'segfault' });
      expect((await determine(r, { config, maxAttempts: 3 })).shas).toContain(head);
      await mark(r, [head], 'in_progress', config);
      await mark(r, [head], 'failed', config, { error: 'timeout' });
      await mark(r, [head], 'failed', config, { error: 'oom' });
      expect((await rows(r))[0]).toMatchObject({ status: 'failed', attempts: 3, error: 'oom' });
      expect((await determine(r, { config, maxAttempts: 3 })).shas).not.toContain(head);
      expect((await determine(r, { config, maxAttempts: 4 })).shas).toContain(head);
      await mark(r, [head], 'complete', config);
      expect((await rows(r))[0]).toMatchObject({ status: 'complete', attempts: 3, error: null });
    });

    it('spread picks commits evenly over the eligible range, newest and oldest included', async () => {
      const r = repo(20);
      const config = { spread: 1 };
      await mark(r, r.shas.slice(0, 5), 'complete', config);
      const eligible = r.shas.slice(5);
      const result = await determine(r, { config, maxCommits: 4, strategy: 'spread' });
      expect(result.eligible).toBe(15);
      expect(result.shas).toEqual([eligible[0], eligible[5], eligible[9], eligible[14]]);
      expect((await determine(r, { config, maxCommits: 4 })).shas).toEqual(eligible.slice(0, 4));
    });

    it('--first-parent walks the branch’s own history; --since only later commits', async () => {
      const dir = tempRepo();
      repos.push({ dir, shas: [], remove: () => rmSync(dir, { recursive: true, force: true }) });
      fastImport(
        dir,
        commitCommand('refs/heads/main', 1, 1) +
          commitCommand('refs/heads/main', 2, 2) +
          commitCommand('refs/heads/side', 3, 3, { from: 1 }) +
          commitCommand('refs/heads/main', 4, 4, { from: 2, merge: 3 }),
      );
      const subjects = new Map(
        git(dir, ['log', '--all', '--format=%s %H'])
          .trim()
          .split('\n')
          .map((l) => [l.split(' ')[1], l.split(' ')[2]]),
      );
      const sha = (mark: number) => subjects.get(String(mark)) as string;
      const r: TestRepo = { dir, shas: [], remove: () => undefined };
      const all = await determine(r, {});
      expect(all.shas).toEqual([sha(4), sha(3), sha(2), sha(1)]);
      expect((await determine(r, { firstParent: true })).shas).toEqual([sha(4), sha(2), sha(1)]);
      expect((await determine(r, { since: new Date((BASE_TIME + 150) * 1000) })).shas).toEqual([sha(4), sha(3)]);
    });

    it('refuses a missing branch, a ref that looks like an option, and bad limits, naming the field', async () => {
      const r = repo(2);
      expect(await validationFields(determine(r, { branch: 'nope' }))).toEqual(['branch']);
      expect(await validationFields(determine(r, { branch: '--output=/tmp/x' }))).toEqual(['branch']);
      expect(await validationFields(determine(r, { maxCommits: 0 }))).toEqual(['max_commits']);
      expect(await validationFields(determine(r, { config: { x: Number.NaN } }))).toEqual(['config.x']);
    });

    it('uses the same number of SQL statements for 200 commits as for 20', async () => {
      const counts: number[] = [];
      for (const n of [20, 200]) {
        const r = repo(n);
        const config = [{ data_sizes: [16, 64], 'io-threads': 1 }];
        // Something of every kind for the statements to find.
        await mark(
          r,
          r.shas.filter((_, i) => i % 3 === 0),
          'complete',
          config,
        );
        await mark(
          r,
          r.shas.filter((_, i) => i % 5 === 1),
          'complete',
          [{ data_sizes: [16, 64, 256], 'io-threads': 1 }],
        );
        await mark(
          r,
          r.shas.filter((_, i) => i % 7 === 2),
          'failed',
          config,
          { error: 'x' },
        );
        await mark(
          r,
          r.shas.filter((_, i) => i % 11 === 4),
          'in_progress',
          config,
        );
        let statements = 0;
        const counting = {
          query: (text: string, values?: unknown[]) => {
            statements++;
            return pool().query(text, values);
          },
        };
        const result = await determineCommits(counting, { repo: r.dir, branch: 'main', config, maxCommits: n });
        expect(result.walked).toBe(n);
        expect(result.subsetSkipped).toBeGreaterThan(0);
        counts.push(statements);
      }
      expect(counts[0]).toBe(counts[1]);
      expect(counts[0]).toBeLessThanOrEqual(2);
    });
  });

  describe('mark', () => {
    it('upserts: one row per pair, status replaced; HEAD resolves to its sha with the committer date', async () => {
      const r = repo(5);
      const config = [{ data_sizes: [16, 64], 'io-threads': 1 }];
      const first = await mark(r, ['HEAD'], 'in_progress', config, { architecture: 'x86_64' });
      expect(first.marked).toEqual([{ ref: 'HEAD', sha: r.shas[0], created: true }]);
      const second = await mark(r, [r.shas[0] as string], 'complete', config, { architecture: 'x86_64' });
      expect(second.marked[0]?.created).toBe(false);
      expect(second.config).toEqual(first.config);
      const page = await queryCommits(pool(), { repo: r.dir });
      expect(page.commits).toHaveLength(1);
      expect(page.commits[0]).toMatchObject({
        sha: r.shas[0],
        status: 'complete',
        architecture: 'x86_64',
        committed_at: new Date((BASE_TIME + 5 * 60) * 1000).toISOString(),
        config,
      });
      expect((await queryCommits(pool(), { repo: r.dir, architecture: 'arm64' })).commits).toEqual([]);
    });

    it('marks many refs in one call, and refuses unknown ones all at once, writing nothing', async () => {
      const r = repo(5);
      const result = await mark(r, ['main', 'main~1', r.shas[2] as string, 'HEAD~3'], 'complete', { many: 1 });
      expect(result.marked.map((m) => m.sha)).toEqual(r.shas.slice(0, 4));
      const other = repo(2);
      expect(await validationFields(mark(other, ['HEAD', 'nope', 'HEAD~5', '-n'], 'complete', { many: 1 }))).toEqual(['shas.3']);
      expect(await validationFields(mark(other, ['HEAD', 'nope', 'HEAD~5'], 'complete', { many: 1 }))).toEqual(['shas.1', 'shas.2']);
      expect(await rows(other)).toEqual([]);
      expect(await validationFields(mark(other, ['HEAD'], 'bogus' as never, {}))).toEqual(['status']);
    });

    it('a missing config is {} as in the seed', async () => {
      const r = repo(1);
      const result = await markCommits(pool(), { repo: r.dir, refs: ['HEAD'], status: 'complete' });
      expect((await getConfig(pool(), { id: result.config.id })).config).toEqual({});
    });

    it('two concurrent claims of the same pairs: each pair goes to exactly one', async () => {
      for (let round = 0; round < 5; round++) {
        const r = repo(6);
        const config = { race: round };
        const [a, b] = await Promise.all(
          ['A', 'B'].map(async () => {
            const owner = (await submit(pool(), { task: 'benchmark.run' })).task.uid;
            return { owner, result: await mark(r, r.shas, 'in_progress', config, { claim: true, taskUid: owner }) };
          }),
        );
        const claimedA = a?.result.marked.map((m) => m.sha) ?? [];
        const claimedB = b?.result.marked.map((m) => m.sha) ?? [];
        expect(claimedA.filter((s) => claimedB.includes(s))).toEqual([]);
        expect(new Set([...claimedA, ...claimedB])).toEqual(new Set(r.shas));
        expect(a?.result.skipped.map((s) => s.sha).sort()).toEqual([...claimedB].sort());
        const owners = new Map((await rows(r)).map((x) => [x.sha, x.task_uid]));
        for (const s of claimedA) expect(owners.get(s)).toBe(a?.owner);
        for (const s of claimedB) expect(owners.get(s)).toBe(b?.owner);
      }
    });

    it('a claim takes new and retryable failed pairs only', async () => {
      const r = repo(4);
      const config = { claim: 1 };
      const [s0, s1, s2, s3] = r.shas as [string, string, string, string];
      await mark(r, [s0], 'complete', config);
      await mark(r, [s1], 'failed', config, { error: 'once' });
      for (let i = 0; i < 3; i++) await mark(r, [s2], 'failed', config, { error: 'thrice' });
      const owner = (await submit(pool(), { task: 'benchmark.run' })).task.uid;
      const claim = await mark(r, r.shas, 'in_progress', config, { claim: true, taskUid: owner, maxAttempts: 3 });
      expect(claim.marked.map((m) => m.sha)).toEqual([s1, s3]);
      expect(claim.skipped.map((m) => m.sha)).toEqual([s0, s2]);
      expect((await rows(r)).find((x) => x.sha === s1)).toMatchObject({
        status: 'in_progress',
        attempts: 1,
        task_uid: owner,
        error: 'once',
      });
      // A claim never takes a pair another claim holds, live or not: cleanup returns stale ones first.
      expect((await mark(r, [s3], 'in_progress', config, { claim: true })).skipped).toHaveLength(1);
      expect(await validationFields(mark(r, [s3], 'complete', config, { claim: true }))).toEqual(['claim']);
    });

    it('concurrent failure marks of one pair count every attempt', async () => {
      const r = repo(1);
      const config = { failures: 1 };
      await Promise.all(Array.from({ length: 10 }, (_, i) => mark(r, ['HEAD'], 'failed', config, { error: `e${i}` })));
      expect((await rows(r))[0]).toMatchObject({ status: 'failed', attempts: 10 });
    });
  });

  describe('cleanup', () => {
    it('returns stale pairs to waiting but never complete ones, nor ones a live task or a recent ownerless mark holds', async () => {
      const r = repo(8);
      const config = { cleanup: 1 };
      const live = (await submit(pool(), { task: 'benchmark.run' })).task.uid;
      const dead = (await submit(pool(), { task: 'benchmark.run' })).task.uid;
      await cancel(pool(), dead);
      const gone = randomUUID();
      const [s0, s1, s2, s3, s4, s5, s6, s7] = r.shas as [string, string, string, string, string, string, string, string];
      await mark(r, [s0], 'complete', config);
      await mark(r, [s1], 'in_progress', config, { taskUid: live });
      await mark(r, [s2], 'in_progress', config, { taskUid: dead });
      await mark(r, [s3], 'benchmark_complete', config, { taskUid: dead });
      await mark(r, [s4], 'in_progress', config); // ownerless, backdated below
      await mark(r, [s5], 'in_progress', config, { taskUid: gone }); // owner pruned, backdated below
      await mark(r, [s6], 'failed', config, { error: 'first try' });
      await mark(r, [s6], 'in_progress', config, { taskUid: dead }); // failed once before
      await backdate(r, 7200);
      await mark(r, [s7], 'in_progress', config); // ownerless, recent

      const result = await cleanupCommits(pool(), { olderThanSeconds: 3600, repo: r.dir });
      expect(result.reset).toBe(5);
      expect(result.deleted).toBe(4);
      expect(result.failed).toBe(1);
      expect(result.pairs.map((p) => p.sha).sort()).toEqual([s2, s3, s4, s5, s6].sort());
      const left = new Map((await rows(r)).map((x) => [x.sha, x]));
      expect([...left.keys()].sort()).toEqual([s0, s1, s6, s7].sort());
      expect(left.get(s0)?.status).toBe('complete');
      expect(left.get(s1)?.status).toBe('in_progress');
      expect(left.get(s6)).toMatchObject({ status: 'failed', attempts: 1, error: 'first try' });
      expect(left.get(s7)?.status).toBe('in_progress');
      expect((await determine(r, { config, staleSeconds: 3600 })).shas).toEqual([s2, s3, s4, s5, s6]);
      expect((await cleanupCommits(pool(), { olderThanSeconds: 3600, repo: r.dir })).reset).toBe(0);
      // The seed deleted every in_progress row; with age 0 the ownerless recent one goes too, the live one never.
      expect((await cleanupCommits(pool(), { olderThanSeconds: 0, repo: r.dir })).pairs.map((p) => p.sha)).toEqual([s7]);
      expect((await rows(r)).map((x) => x.sha).sort()).toEqual([s0, s1, s6].sort());
    });

    it('filters by config and architecture', async () => {
      const r = repo(2);
      await mark(r, ['HEAD'], 'in_progress', { c: 1 }, { architecture: 'arm64' });
      await mark(r, ['HEAD'], 'in_progress', { c: 2 }, { architecture: 'arm64' });
      await mark(r, ['HEAD'], 'in_progress', { c: 1 });
      const result = await cleanupCommits(pool(), { olderThanSeconds: 0, repo: r.dir, config: { c: 1 }, architecture: 'arm64' });
      expect(result.reset).toBe(1);
      expect(await rows(r)).toHaveLength(2);
    });
  });

  describe('query, stats, export and import', () => {
    it('query filters and pages newest commit first; stats count; configs list', async () => {
      const r = repo(6);
      await mark(r, r.shas.slice(0, 3), 'complete', { q: 1 }, { configName: 'q1' });
      await mark(r, r.shas.slice(2, 6), 'failed', { q: 2 }, { error: 'boom' });
      const all = [];
      let cursor: string | undefined;
      do {
        const page = await queryCommits(pool(), { repo: r.dir, limit: 2, cursor });
        all.push(...page.commits);
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      expect(all).toHaveLength(7);
      const dates = all.map((c) => c.committed_at as string);
      expect([...dates].sort().reverse()).toEqual(dates);
      expect((await queryCommits(pool(), { repo: r.dir, statuses: ['failed'] })).commits).toHaveLength(4);
      expect((await queryCommits(pool(), { repo: r.dir, sha: (r.shas[2] as string).slice(0, 8) })).commits).toHaveLength(2);
      const q1 = (await queryCommits(pool(), { repo: r.dir, sha: r.shas[0] })).commits[0];
      expect((await queryCommits(pool(), { repo: r.dir, configHash: q1?.config_hash })).commits).toHaveLength(3);
      expect(await commitStats(pool(), { repo: r.dir })).toEqual({
        total: 7,
        unique_commits: 6,
        unique_configs: 2,
        by_status: { in_progress: 0, benchmark_complete: 0, complete: 3, failed: 4 },
      });
      const configs = await listConfigs(pool());
      expect(configs.find((c) => c.id === q1?.config_id)).toMatchObject({ name: 'q1', config: { q: 1 }, pairs: 3 });
      expect(await validationFields(queryCommits(pool(), { sha: 'XYZ' }))).toEqual(['sha']);
      expect(await validationFields(queryCommits(pool(), { cursor: 'bogus' }))).toEqual(['cursor']);
    });

    it('export and import round-trip', async () => {
      const r = repo(5);
      await mark(r, r.shas.slice(0, 2), 'complete', [{ data_sizes: [16] }]);
      await mark(r, [r.shas[2] as string], 'failed', { rt: 1 }, { error: 'crashed', architecture: 'arm64' });
      await mark(r, [r.shas[3] as string], 'in_progress', { rt: 1 });
      const exported = await exportCommits(pool(), { repo: r.dir });
      expect(exported.map((e) => e.sha)).toEqual(r.shas.slice(0, 4));
      expect(exported[0]).toEqual({
        sha: r.shas[0],
        timestamp: new Date((BASE_TIME + 300) * 1000).toISOString(),
        status: 'complete',
        config: [{ data_sizes: [16] }],
        repo: r.dir,
      });
      expect(exported[2]).toMatchObject({ status: 'failed', architecture: 'arm64', attempts: 1, error: 'crashed' });
      // Into an empty table: everything but the transient in_progress comes back.
      await pool().query('delete from commit_status where repo = $1', [r.dir]);
      const report = await importCommits(pool(), JSON.parse(JSON.stringify(exported)));
      expect(report).toMatchObject({ total: 4, imported: 3, skipped: 1, invalid: 0, skipped_reasons: { transient: 1 } });
      expect(await exportCommits(pool(), { repo: r.dir })).toEqual(exported.filter((e) => e.status !== 'in_progress'));
      // Again: nothing is overwritten.
      expect(await importCommits(pool(), exported)).toMatchObject({
        imported: 0,
        skipped: 4,
        skipped_reasons: { exists: 3, transient: 1 },
      });
    });

    it('imports a legacy completed_commits.json with a config; --dry-run changes nothing; invalid records stop everything', async () => {
      const r = repo(4);
      const times = await commitTimes(r.dir, r.shas);
      const legacy = [
        { sha: r.shas[0], timestamp: times.get(r.shas[0] as string), status: 'complete' },
        { sha: r.shas[1], timestamp: times.get(r.shas[1] as string), status: 'complete' },
        { sha: r.shas[1], timestamp: times.get(r.shas[1] as string), status: 'complete' },
        { sha: r.shas[2], timestamp: '', status: 'in_progress' },
      ];
      const config = [{ data_sizes: [16, 64], legacy: true }];
      const dry = await importCommits(pool(), legacy, { config, repo: r.dir, dryRun: true });
      expect(dry).toMatchObject({
        total: 4,
        imported: 2,
        skipped: 2,
        invalid: 0,
        dry_run: true,
        skipped_reasons: { duplicate: 1, transient: 1 },
      });
      expect(await rows(r)).toEqual([]);

      const bad = [...legacy, { sha: 'HEAD', timestamp: 'yesterday', status: 'done', extra: 1 }, 'nope'];
      const refused = await importCommits(pool(), bad, { config, repo: r.dir });
      expect(refused).toMatchObject({ imported: 0, invalid: 2 });
      expect(refused.errors.map((e) => `${e.index}.${e.field}`)).toEqual(['4.extra', '4.sha', '4.timestamp', '4.status', '5.(record)']);
      expect(await rows(r)).toEqual([]);
      expect(await importCommits(pool(), legacy, { repo: r.dir })).toMatchObject({ imported: 0, invalid: 4 });

      const done = await importCommits(pool(), bad, { config, repo: r.dir, skipInvalid: true });
      expect(done).toMatchObject({ imported: 2, invalid: 2 });
      expect((await determine(r, { config })).shas).toEqual(r.shas.slice(2));
      expect((await exportCommits(pool(), { repo: r.dir }))[0]?.timestamp).toBe(
        new Date(times.get(r.shas[0] as string) as string).toISOString(),
      );
    });
  });

  describe('git', () => {
    it('resolves many refs with one process and dates many commits with another', async () => {
      const r = repo(3);
      expect(await resolveCommits(r.dir, ['HEAD', 'main~2', (r.shas[1] as string).slice(0, 10)])).toEqual([
        r.shas[0],
        r.shas[2],
        r.shas[1],
      ]);
      expect(await resolveCommit(r.dir, 'HEAD~1')).toBe(r.shas[1]);
      const times = await commitTimes(r.dir, r.shas);
      expect(times.get(r.shas[2] as string)).toBe(new Date((BASE_TIME + 60) * 1000).toISOString().replace('.000Z', '+00:00'));
      expect(await revList(r.dir, 'main', { maxCount: 2 })).toEqual(r.shas.slice(0, 2));
    });

    it.each([
      ['-x', "must not start with '-'"],
      ['--all', "must not start with '-'"],
      ['', 'must not be empty'],
      ['a b', 'whitespace'],
      ['a\nb', 'whitespace'],
      ['x'.repeat(257), 'at most 256'],
    ])('refuses the ref %j', (ref, message) => {
      expect(refProblem(ref)).toContain(message);
    });
    it.each(['main', 'HEAD~2', 'v1.0^{commit}', 'origin/feature-x', 'abc123'])('accepts the ref %j', (ref) => {
      expect(refProblem(ref)).toBeUndefined();
    });
  });
});
