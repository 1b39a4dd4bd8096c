import type { Command } from 'commander';
import { configFilter } from '../../api/benchmark-schemas.ts';
import type { Config } from '../../config.ts';
import type { Database } from '../../db/client.ts';
import { connect } from '../../db/connect.ts';
import { EventixError, type FieldIssue, ValidationError } from '../../errors.ts';
import { coerceError } from '../../logger.ts';
import { resolveCommitRef } from '../../tracking/commit-ref.ts';
import { RepoAllowList } from '../../tracking/repos.ts';
import { loadRuntime } from '../runtime.ts';

/**
 * What `results baseline|snapshot` (results-baselines.ts) and `results compare`
 * (results-compare.ts) share: the exit codes, the runner and the flag parsing.
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
  const { config, logger } = loadRuntime({}, { admin: true });
  let conn: Awaited<ReturnType<typeof connect>>;
  try {
    conn = await connect(config, logger, { joinRunning: true });
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
