import type { Command } from 'commander';
import { baselineToJson, snapshotToJson } from '../../api/baseline-schemas.ts';
import { configFilter } from '../../api/benchmark-schemas.ts';
import { createBaseline, deleteBaseline, getBaseline, listBaselines } from '../../benchmarks/baselines.ts';
import { resolveCommitRef } from '../../benchmarks/commit-ref.ts';
import { RepoAllowList } from '../../benchmarks/repos.ts';
import { listSnapshots, recordSnapshots, type StoredSnapshot } from '../../benchmarks/snapshots.ts';
import type { Config } from '../../config.ts';
import type { Database } from '../../db/client.ts';
import { connect } from '../../db/connect.ts';
import { EventixError, type FieldIssue, ValidationError } from '../../errors.ts';
import { coerceError } from '../../logger.ts';
import { loadRuntime } from '../runtime.ts';
import { printJson } from '../with-database.ts';

/**
 * `eventix results baseline create|list|show|delete` and `eventix results snapshot record|list`,
 * plus what `results compare` (results-compare.ts) shares with them: the exit codes, the runner
 * and the flag parsing.
 */

/**
 * Exit codes of `results baseline`, `results snapshot` and `results compare`, documented in the
 * README. A CI gate can tell a regression (1) from a mistake in its own invocation (2) and from
 * an outage (3).
 */
export const BASELINE_EXIT = { ok: 0, regression: 1, badInput: 2, failure: 3 } as const;

/** Errors that are the invocation's fault: invalid flags, a baseline or commit that does not exist, a name taken. */
const INPUT_CODES = new Set(['ValidationError', 'BaselineNotFound', 'BaselineExists', 'BenchmarkRunsNotFound']);

/** Library field names (as the API reports them) → this command's flags. */
export type FlagNames = Record<string, string>;

const COMMON_FLAGS: FlagNames = {
  repo: '--repo',
  commit: '--commit',
  run_uid: '--run',
  runUid: '--run',
  git_repo: '--git-repo',
  name: '<name>',
  baseline: '--baseline',
  threshold: '--threshold',
  confidence: '--confidence',
  cursor: '--cursor',
};

function flagOf(field: string, names: FlagNames): string {
  const all = { ...COMMON_FLAGS, ...names };
  if (Object.hasOwn(all, field)) return all[field] as string;
  const dot = field.indexOf('.');
  if (dot > 0 && Object.hasOwn(all, `${field.slice(0, dot)}.*`)) return `${all[`${field.slice(0, dot)}.*`]} ${field.slice(dot + 1)}`;
  return field;
}

function report(err: unknown, names: FlagNames): void {
  const message =
    err instanceof ValidationError
      ? new ValidationError(err.issues.map((i) => ({ ...i, field: flagOf(i.field, names) }))).message
      : coerceError(err).message;
  process.stderr.write(`eventix: ${message}\n`);
}

const isInputError = (err: unknown) => err instanceof EventixError && INPUT_CODES.has(err.code);

/**
 * Run a command against the database and set the exit code: what `fn` returns (0 by default),
 * 2 for bad input (configuration errors included, as loadRuntime exits), 3 for anything else.
 * Unlike withDatabase, a failure is not 1: for `results compare`, 1 means a regression.
 */
export async function runCommand(
  fn: (database: Database, config: Config) => Promise<number | undefined>,
  names: FlagNames = {},
  before?: () => void,
): Promise<void> {
  try {
    // Flags are checked before connecting: bad input never waits for a database.
    before?.();
  } catch (err) {
    report(err, names);
    process.exitCode = isInputError(err) ? BASELINE_EXIT.badInput : BASELINE_EXIT.failure;
    return;
  }
  const { config, logger } = loadRuntime();
  let conn: Awaited<ReturnType<typeof connect>>;
  try {
    conn = await connect(config, logger);
  } catch (err) {
    report(err, names);
    process.exitCode = BASELINE_EXIT.failure;
    return;
  }
  try {
    process.exitCode = (await fn(conn.database, config)) ?? BASELINE_EXIT.ok;
  } catch (err) {
    report(err, names);
    process.exitCode = isInputError(err) ? BASELINE_EXIT.badInput : BASELINE_EXIT.failure;
  } finally {
    await conn.close().catch(() => undefined);
  }
}

/** Commander's own usage errors (unknown option, missing value) exit 2 here, not its default 1 (a regression). */
export function usageExitsTwo(cmd: Command): Command {
  return cmd.exitOverride((err) => {
    process.exit(err.exitCode === 0 ? 0 : BASELINE_EXIT.badInput);
  });
}

export const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];

/** `--tag name=value`, repeatable; a name given again adds an accepted value. */
export function tagFlags(values: readonly string[] | undefined, issues: FieldIssue[]): Record<string, string[]> | undefined {
  if (!values || values.length === 0) return undefined;
  const out = new Map<string, string[]>();
  for (const v of values) {
    const at = v.indexOf('=');
    if (at <= 0) {
      issues.push({ field: '--tag', message: `must be <name>=<value>, not ${JSON.stringify(v)}` });
      continue;
    }
    const name = v.slice(0, at);
    out.set(name, [...(out.get(name) ?? []), v.slice(at + 1)]);
  }
  // Map, then fromEntries: a tag named __proto__ stays a tag.
  return Object.fromEntries(out);
}

export function configFlag(value: string | undefined, issues: FieldIssue[]): { configId?: number; configHash?: string } {
  if (value === undefined) return {};
  if (!/^(?:\d{1,15}|[0-9a-fA-F]{64})$/.test(value)) {
    issues.push({ field: '--config', message: 'must be a config id or its 64-hex-digit hash' });
    return {};
  }
  return configFilter(value);
}

/** --commit or --run, exactly one. */
export function oneCandidate(commit: string | undefined, run: string | undefined, issues: FieldIssue[]): void {
  if ((commit === undefined) === (run === undefined)) issues.push({ field: '--commit', message: 'give exactly one of --commit and --run' });
  if (run !== undefined && !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(run)) {
    issues.push({ field: '--run', message: 'must be a run uid (a UUID)' });
  }
}

export function throwIssues(issues: FieldIssue[]): void {
  if (issues.length) throw new ValidationError(issues);
}

/** A commit flag → a sha: a full sha as is; a ref resolved by git in a repository of EVENTIX_REPOS. */
export function commitFlag(
  config: Config,
  ref: string | undefined,
  repo: string,
  gitRepo: string | undefined,
): Promise<string | undefined> | undefined {
  if (ref === undefined) return undefined;
  const allowed = new RepoAllowList(config.commits.repos);
  return resolveCommitRef({ ref, repo, gitRepo, allowed, field: 'commit', gitRepoField: '--git-repo' });
}

/** The stored repository key a --repo names: an EVENTIX_REPOS entry as written maps to its real path. */
export const repoFlag = (config: Config, repo: string | undefined) =>
  repo === undefined ? undefined : (new RepoAllowList(config.commits.repos).keyOf(repo) as string);

// ── human output ────────────────────────────────────────────────────────────────────────────

/** Columns padded to their widest cell; the last column is not padded. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] as number)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

export const tagText = (tags: Record<string, unknown>) =>
  Object.entries(tags)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(',') || '-';

/** Four significant digits, without exponent noise for everyday magnitudes. */
export const num = (v: number | null) => (v === null ? '-' : Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(4))));

function snapshotRows(snapshots: readonly StoredSnapshot[]): string[][] {
  return snapshots.map((s) => [
    s.metric,
    s.config?.hash?.slice(0, 12) ?? '-',
    s.architecture ?? '-',
    tagText(s.tags),
    s.sha.slice(0, 12),
    String(s.n),
    num(s.mean),
    num(s.stddev),
    s.unit ?? '-',
    String(s.version),
    [s.isCurrent ? 'current' : '', s.isBaseline ? `baseline ${s.baselineName}` : ''].filter(Boolean).join(', ') || '-',
  ]);
}

const SNAPSHOT_HEADER = ['metric', 'config', 'arch', 'tags', 'sha', 'n', 'mean', 'stddev', 'unit', 'version', 'flags'];

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

  usageExitsTwo(
    baseline
      .command('show <name>')
      .description('one baseline and the snapshots it recorded')
      .option('--repo <repo>', 'the repository (needed only when several have a baseline of this name)')
      .option('--json', 'print {baseline, snapshots} as GET /benchmarks/baselines/{name} answers'),
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

  usageExitsTwo(
    baseline
      .command('delete <name>')
      .description('delete a baseline: its snapshots stay (unflagged), no run is deleted')
      .option('--repo <repo>', 'the repository (needed only when several have a baseline of this name)')
      .option('--json', 'print {deleted} as DELETE /benchmarks/baselines/{name} answers'),
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
