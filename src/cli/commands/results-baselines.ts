import type { Command } from 'commander';
import { baselineToJson, snapshotToJson } from '../../api/baseline-schemas.ts';
import type { FieldIssue } from '../../errors.ts';
import { createBaseline, deleteBaseline, getBaseline, listBaselines } from '../../tracking/baselines.ts';
import { listSnapshots, recordSnapshots } from '../../tracking/snapshots.ts';
import { printJson } from '../with-database.ts';
import { SNAPSHOT_HEADER, snapshotRows, table } from './results-baselines-format.ts';
import {
  BASELINE_EXIT,
  collect,
  commitFlag,
  configFlag,
  oneCandidate,
  repoFlag,
  runCommand,
  tagFlags,
  throwIssues,
  usageExitsTwo,
} from './results-command.ts';

/**
 * `eventix results baseline create|list|show|delete` and `eventix results snapshot record|list`.
 * What `results compare` shares with them (exit codes, runner, flag parsing) is in
 * results-command.ts; their human-readable tables are in results-baselines-format.ts.
 */

// ── commands ────────────────────────────────────────────────────────────────────────────────

interface CreateFlags {
  repo: string;
  commit?: string;
  run?: string;
  gitRepo?: string;
  description?: string;
  createdBy?: string;
  json?: boolean;
}

interface NamedFlags {
  repo?: string;
  json?: boolean;
}

interface SnapshotRecordFlags {
  repo: string;
  commit?: string;
  run?: string;
  gitRepo?: string;
  metric?: string[];
  tag?: string[];
  config?: string;
  architecture?: string;
  createdBy?: string;
  json?: boolean;
}

interface SnapshotListFlags {
  repo?: string;
  metric?: string;
  current?: boolean;
  baseline?: string;
  sha?: string;
  seriesKey?: string;
  limit?: string;
  cursor?: string;
  json?: boolean;
}

/** `baseline show|delete <name>`: one baseline by name, --repo only to tell apart same-named ones. */
function namedCommand(baseline: Command, spec: string, description: string, json: string): Command {
  return usageExitsTwo(
    baseline
      .command(spec)
      .description(description)
      .option('--repo <repo>', 'the repository (needed only when several have a baseline of this name)')
      .option('--json', json),
  );
}

export function registerResultsBaselines(results: Command): void {
  const baseline = results
    .command('baseline')
    .description('named baselines (release-1.2): pin a commit or a run, with a snapshot of each series; compare against them');

  usageExitsTwo(
    baseline
      .command('create <name>')
      .description('pin a commit (every run of it, per series) or one run under a name, and snapshot each series with runs there')
      .requiredOption('--repo <repo>', "the results' repository, as the runs were stored under")
      .option('--commit <ref>', 'the commit: a full sha, or a ref (HEAD, v1.2.0) resolved in a repository of EVENTIX_REPOS')
      .option('--run <uid>', 'pin this one run instead')
      .option('--git-repo <path>', 'resolve --commit in this repository of EVENTIX_REPOS (when --repo is not a local path)')
      .option('--description <text>', 'what the baseline is')
      .option('--created-by <name>', 'recorded as the creator')
      .option('--json', 'print {baseline, snapshots} as POST /benchmarks/baselines answers'),
  ).action(async (name: string, f: CreateFlags) => {
    await runCommand(
      async (database, config) => {
        const repo = repoFlag(config, f.repo) as string;
        const r = await createBaseline(database.pool, {
          repo,
          name,
          sha: await commitFlag(config, f.commit, repo, f.gitRepo),
          runUid: f.run?.toLowerCase(),
          description: f.description,
          createdBy: f.createdBy,
        });
        if (f.json) printJson({ baseline: baselineToJson(r.baseline), snapshots: r.snapshots.map(snapshotToJson) });
        else {
          process.stdout.write(
            `created baseline ${r.baseline.name} of ${r.baseline.repo} at ${r.baseline.sha.slice(0, 12)}` +
              `${r.baseline.runUid ? ` (run ${r.baseline.runUid})` : ''}: ${r.snapshots.length} series\n`,
          );
        }
        return BASELINE_EXIT.ok;
      },
      {},
      () => {
        const issues: FieldIssue[] = [];
        oneCandidate(f.commit, f.run, issues);
        throwIssues(issues);
      },
    );
  });

  usageExitsTwo(
    baseline
      .command('list')
      .description('every baseline, by repository and name')
      .option('--repo <repo>', 'only this repository')
      .option('--json', 'print {baselines} as GET /benchmarks/baselines answers'),
  ).action(async (f: NamedFlags) => {
    await runCommand(async (database, config) => {
      const list = await listBaselines(database.pool, { repo: repoFlag(config, f.repo) });
      if (f.json) printJson({ baselines: list.map(baselineToJson) });
      else if (list.length === 0) process.stdout.write('no baselines\n');
      else {
        const rows = list.map((b) => [
          b.name,
          b.repo,
          b.sha.slice(0, 12),
          b.runUid ?? '-',
          String(b.series),
          b.createdAt.toISOString(),
          b.description ?? '',
        ]);
        process.stdout.write(`${table(['name', 'repo', 'sha', 'run', 'series', 'created', 'description'], rows)}\n`);
      }
      return BASELINE_EXIT.ok;
    });
  });

  namedCommand(
    baseline,
    'show <name>',
    'one baseline and the snapshots it recorded',
    'print {baseline, snapshots} as GET /benchmarks/baselines/{name} answers',
  ).action(async (name: string, f: NamedFlags) => {
    await runCommand(async (database, config) => {
      const r = await getBaseline(database.pool, { name, repo: repoFlag(config, f.repo) });
      if (f.json) return void printJson({ baseline: baselineToJson(r.baseline), snapshots: r.snapshots.map(snapshotToJson) });
      const b = r.baseline;
      process.stdout.write(
        `baseline ${b.name} of ${b.repo}: commit ${b.sha}${b.runUid ? `, run ${b.runUid}` : ''}, created ${b.createdAt.toISOString()}` +
          `${b.createdBy ? ` by ${b.createdBy}` : ''}${b.description ? `\n  ${b.description}` : ''}\n`,
      );
      process.stdout.write(`${table(SNAPSHOT_HEADER, snapshotRows(r.snapshots))}\n`);
      return BASELINE_EXIT.ok;
    });
  });

  namedCommand(
    baseline,
    'delete <name>',
    'delete a baseline: its snapshots stay (unflagged), no run is deleted',
    'print {deleted} as DELETE /benchmarks/baselines/{name} answers',
  ).action(async (name: string, f: NamedFlags) => {
    await runCommand(async (database, config) => {
      const deleted = await deleteBaseline(database.pool, { name, repo: repoFlag(config, f.repo) });
      if (f.json) printJson({ deleted: baselineToJson(deleted) });
      else
        process.stdout.write(`deleted baseline ${deleted.name} of ${deleted.repo} (its ${deleted.series} snapshot(s) kept, unflagged)\n`);
      return BASELINE_EXIT.ok;
    });
  });

  const snapshot = results
    .command('snapshot')
    .description('versioned snapshots of series values (one current per series), as the seed’s benchmark_snapshots');

  usageExitsTwo(
    snapshot
      .command('record')
      .description('snapshot every series with runs at a commit (or in one run): each becomes its series’ current snapshot, one version up')
      .requiredOption('--repo <repo>', "the results' repository")
      .option('--commit <ref>', 'the commit: a full sha, or a ref resolved in a repository of EVENTIX_REPOS')
      .option('--run <uid>', 'snapshot the series of this one run instead')
      .option('--git-repo <path>', 'resolve --commit in this repository of EVENTIX_REPOS')
      .option('--metric <name>', 'only this metric (repeat for several)', collect)
      .option('--tag <name=value>', 'only series with this tag value (repeat for several)', collect)
      .option('--config <id|hash>', 'only this config')
      .option('--architecture <arch>', 'only this architecture')
      .option('--created-by <name>', 'recorded as the creator')
      .option('--json', 'print {snapshots} as POST /benchmarks/snapshots answers'),
  ).action(async (f: SnapshotRecordFlags) => {
    const issues: FieldIssue[] = [];
    const tags = tagFlags(f.tag, issues);
    const config = configFlag(f.config, issues);
    await runCommand(
      async (database, cfg) => {
        const repo = repoFlag(cfg, f.repo) as string;
        const snapshots = await recordSnapshots(database.pool, {
          repo,
          sha: await commitFlag(cfg, f.commit, repo, f.gitRepo),
          runUid: f.run?.toLowerCase(),
          metrics: f.metric,
          tags,
          ...config,
          architecture: f.architecture,
          createdBy: f.createdBy,
        });
        if (f.json) printJson({ snapshots: snapshots.map(snapshotToJson) });
        else process.stdout.write(`recorded ${snapshots.length} snapshot(s)\n${table(SNAPSHOT_HEADER, snapshotRows(snapshots))}\n`);
        return BASELINE_EXIT.ok;
      },
      {},
      () => {
        oneCandidate(f.commit, f.run, issues);
        throwIssues(issues);
      },
    );
  });

  usageExitsTwo(
    snapshot
      .command('list')
      .description('snapshots, newest first')
      .option('--repo <repo>', 'only this repository')
      .option('--metric <name>', 'only this metric')
      .option('--current', 'only current snapshots (one per series)')
      .option('--baseline <name>', 'only the snapshots of this baseline')
      .option('--sha <sha>', 'only snapshots of this commit (a full sha)')
      .option('--series-key <key>', 'one series: every version of it')
      .option('--limit <n>', 'at most this many (default 100, at most 1000)')
      .option('--cursor <cursor>', 'the next page, as the previous one’s next_cursor')
      .option('--json', 'print {snapshots, next_cursor} as GET /benchmarks/snapshots answers'),
  ).action(async (f: SnapshotListFlags) => {
    const limit = f.limit === undefined ? undefined : /^\d{1,4}$/.test(f.limit) ? Number(f.limit) : Number.NaN;
    await runCommand(
      async (database, config) => {
        const page = await listSnapshots(database.pool, {
          repo: repoFlag(config, f.repo),
          metric: f.metric,
          current: f.current ? true : undefined,
          baseline: f.baseline,
          sha: f.sha,
          seriesKey: f.seriesKey,
          limit,
          cursor: f.cursor,
        });
        if (f.json) return void printJson({ snapshots: page.snapshots.map(snapshotToJson), next_cursor: page.nextCursor });
        process.stdout.write(
          `${table(
            ['id', ...SNAPSHOT_HEADER],
            page.snapshots.map((s, i) => [String(s.id), ...(snapshotRows(page.snapshots)[i] ?? [])]),
          )}\n`,
        );
        if (page.nextCursor) process.stdout.write(`more: --cursor ${page.nextCursor}\n`);
        return BASELINE_EXIT.ok;
      },
      {},
      () => {
        const issues: FieldIssue[] = [];
        if (limit !== undefined && !(limit >= 1 && limit <= 1000))
          issues.push({ field: '--limit', message: 'must be a whole number from 1 to 1000' });
        if (f.sha !== undefined && !/^(?:[0-9a-fA-F]{40}|[0-9a-fA-F]{64})$/.test(f.sha))
          issues.push({ field: '--sha', message: 'must be a full commit sha (40 or 64 hex digits)' });
        throwIssues(issues);
      },
    );
  });
}
