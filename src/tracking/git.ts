import { spawn } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { EventixError, ValidationError } from '../errors.ts';

/**
 * The few git commands commit tracking needs, run with execFile semantics: `git` and an argv
 * array, never a shell, with the repository as the working directory.
 *
 * User strings never become options: refs are checked (no leading '-', no control characters)
 * and placed after `--end-of-options`; dates are passed inside `--since=<date>`; many refs go to
 * git on stdin (`cat-file --batch-check`, `log --stdin`), one per line, where no option exists.
 * Lookups are batched: resolving or dating 10,000 commits costs one process each, not 10,000.
 */

/** Git failed in a way that is not the caller's input (missing binary, broken repository). */
export class GitError extends EventixError {
  declare readonly code: 'GitError';
  constructor(args: readonly string[], message: string) {
    super('GitError', `git ${args[0] ?? ''} failed: ${message}`, { command: args[0] });
  }
}

export interface GitResult {
  stdout: string;
  stderr: string;
  code: number | null;
}

/** 40 hex digits (SHA-1) or 64 (SHA-256 repositories). */
export const FULL_SHA = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

/** Output of a rev-list over a large history: 41 bytes a commit, so 1 GiB is ~25 million commits. */
const MAX_OUTPUT = 1024 * 1024 * 1024;

/** Run git; resolves with the exit code, rejects only when git could not be started. */
export function runGit(repo: string, args: readonly string[], input?: string): Promise<GitResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, {
      cwd: repo,
      shell: false,
      stdio: ['pipe', 'pipe', 'pipe'],
      // No pager, no prompts for credentials, no locale-dependent messages; the user's config stays.
      env: { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_PAGER: 'cat', LC_ALL: 'C' },
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let size = 0;
    child.stdout.on('data', (d: Buffer) => {
      size += d.length;
      if (size > MAX_OUTPUT) child.kill('SIGKILL');
      else out.push(d);
    });
    child.stderr.on('data', (d: Buffer) => {
      if (err.length < 64) err.push(d);
    });
    child.on('error', (e) => reject(new GitError(args, e.message)));
    child.on('close', (code) => {
      if (size > MAX_OUTPUT) return reject(new GitError(args, `output larger than ${MAX_OUTPUT} bytes`));
      resolve({ stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8').trim(), code });
    });
    // A git that exits before reading its stdin (bad repository) must not crash us with EPIPE.
    child.stdin.on('error', () => undefined);
    child.stdin.end(input ?? '');
  });
}

async function git(repo: string, args: readonly string[], input?: string): Promise<string> {
  const r = await runGit(repo, args, input);
  if (r.code !== 0) throw new GitError(args, r.stderr || `exit code ${r.code}`);
  return r.stdout;
}

/**
 * A revision a user may name: a branch, tag, sha, `HEAD~3`… Refused: empty, longer than 256
 * characters, a leading '-' (it would read as an option), control characters (a newline would
 * smuggle a second line into a --stdin batch) and whitespace.
 */
export function refProblem(ref: string): string | undefined {
  if (ref.length === 0) return 'must not be empty';
  if (ref.length > 256) return 'must be at most 256 characters';
  if (ref.startsWith('-')) return "must not start with '-'";
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point.
  if (/[\u0000-\u0020\u007f]/.test(ref)) return 'must not contain whitespace or control characters';
  return undefined;
}

export function assertRef(ref: string, field: string): void {
  const problem = refProblem(ref);
  if (problem) throw new ValidationError([{ field, message: problem }]);
}

/** Is `repo` the top of a git working tree or a bare repository? */
export async function assertRepository(repo: string, field = 'repo'): Promise<void> {
  // Checked first: spawn reports a missing working directory as ENOENT, just like a missing git.
  const isDir = await stat(repo).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (!isDir) throw new ValidationError([{ field, message: `${repo} is not a directory` }]);
  const r = await runGit(repo, ['rev-parse', '--git-dir']);
  if (r.code !== 0) throw new ValidationError([{ field, message: `${repo} is not a git repository` }]);
}

export interface RevListOptions {
  /** Follow only the first parent of merges: the branch's own history. */
  firstParent?: boolean | undefined;
  /** Only commits more recent than this (committer date). */
  since?: Date | undefined;
  /** Stop after this many commits. */
  maxCount?: number | undefined;
}

/** `git rev-list <branch>`: full shas, newest first (git's default order). */
export async function revList(repo: string, branch: string, opts: RevListOptions = {}): Promise<string[]> {
  assertRef(branch, 'branch');
  const args = ['rev-list'];
  if (opts.firstParent) args.push('--first-parent');
  if (opts.since) args.push(`--since=${opts.since.toISOString()}`);
  if (opts.maxCount !== undefined) args.push(`--max-count=${Math.trunc(opts.maxCount)}`);
  args.push('--end-of-options', branch, '--');
  const r = await runGit(repo, args);
  if (r.code !== 0) {
    if (/unknown revision|bad revision|ambiguous argument|bad object/i.test(r.stderr)) {
      throw new ValidationError([{ field: 'branch', message: `${branch} is not a branch or commit of ${repo}` }]);
    }
    throw new GitError(args, r.stderr || `exit code ${r.code}`);
  }
  return r.stdout.split('\n').filter(Boolean);
}

/** `git rev-parse --verify <ref>^{commit}`: one ref to its full sha. */
export async function resolveCommit(repo: string, ref: string, field = 'ref'): Promise<string> {
  assertRef(ref, field);
  const r = await runGit(repo, ['rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`]);
  const sha = r.stdout.trim();
  if (r.code !== 0 || !FULL_SHA.test(sha)) throw new ValidationError([{ field, message: `${ref} is not a commit of ${repo}` }]);
  return sha;
}

/**
 * Many refs to full shas in one process: `git cat-file --batch-check` reads `<ref>^{commit}` per
 * line, the batched form of `rev-parse --verify <ref>^{commit}`. An unknown or ambiguous ref, or
 * one naming no commit, is a ValidationError naming `<field>.<index>`, all of them at once.
 */
export async function resolveCommits(repo: string, refs: readonly string[], field = 'shas'): Promise<string[]> {
  if (refs.length === 0) return [];
  const issues = refs.flatMap((ref, i) => {
    const problem = refProblem(ref);
    return problem ? [{ field: `${field}.${i}`, message: problem }] : [];
  });
  if (issues.length) throw new ValidationError(issues);
  const out = await git(repo, ['cat-file', '--batch-check=%(objectname) %(objecttype)'], refs.map((r) => `${r}^{commit}\n`).join(''));
  const lines = out.split('\n');
  const shas: string[] = [];
  refs.forEach((ref, i) => {
    const [sha = '', type = ''] = (lines[i] ?? '').split(' ');
    if (type === 'commit' && FULL_SHA.test(sha)) shas.push(sha);
    else issues.push({ field: `${field}.${i}`, message: `${ref} is not a commit of ${repo}` });
  });
  if (issues.length) throw new ValidationError(issues);
  return shas;
}

/**
 * Committer dates (`%cI`, strict ISO 8601 with the committer's offset) of many commits, from one
 * `git log --no-walk --stdin --format=%H %cI`. The shas must be full and exist.
 */
export async function commitTimes(repo: string, shas: readonly string[]): Promise<Map<string, string>> {
  const times = new Map<string, string>();
  const unique = [...new Set(shas)];
  if (unique.length === 0) return times;
  for (const sha of unique) if (!FULL_SHA.test(sha)) throw new ValidationError([{ field: 'sha', message: `${sha} is not a full sha` }]);
  const out = await git(repo, ['log', '--no-walk=unsorted', '--stdin', '--format=%H %cI'], `${unique.join('\n')}\n`);
  for (const line of out.split('\n')) {
    const space = line.indexOf(' ');
    if (space > 0) times.set(line.slice(0, space), line.slice(space + 1));
  }
  return times;
}

/** `git show -s --format=%cI <sha>`: one commit's committer date. */
export async function commitTime(repo: string, ref: string): Promise<string> {
  assertRef(ref, 'ref');
  return (await git(repo, ['show', '-s', '--format=%cI', '--end-of-options', ref, '--'])).trim();
}
