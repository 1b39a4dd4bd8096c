import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { GitError, runGit } from '../tracking/git.ts';

/**
 * Git for the benchmark runs: each run checks its commit out in a worktree of its own (two runs
 * on one machine never share a checkout, and the repository's own working tree is never touched),
 * removed afterwards whatever happened.
 */

async function git(repo: string, args: string[]): Promise<string> {
  const r = await runGit(repo, args);
  if (r.code !== 0) throw new GitError(args, r.stderr || `exit code ${r.code}`);
  return r.stdout;
}

/** `git fetch <remote>`: remote-tracking refs move; name the branch `origin/main` to sweep what was fetched. */
export async function fetchRemote(repo: string, remote: string): Promise<void> {
  await git(repo, ['fetch', '--quiet', '--end-of-options', remote]);
}

export async function hasCommit(repo: string, sha: string): Promise<boolean> {
  return (await runGit(repo, ['cat-file', '-e', '--end-of-options', `${sha}^{commit}`])).code === 0;
}

/** A detached worktree of `sha` at `dir` (which must not exist yet). */
export async function addWorktree(repo: string, dir: string, sha: string): Promise<void> {
  await git(repo, ['worktree', 'add', '--detach', '--quiet', dir, sha]);
}

/** Remove the worktree and its folder; a worktree git no longer knows is pruned. Never throws. */
export async function removeWorktree(repo: string, dir: string): Promise<void> {
  const r = await runGit(repo, ['worktree', 'remove', '--force', '--force', dir]).catch(() => undefined);
  await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  if (r?.code !== 0) await runGit(repo, ['worktree', 'prune']).catch(() => undefined);
}

/** Run folders are named `run-<pid>-<random>`: a folder whose process is gone was left by a killed worker. */
export const RUN_PREFIX = 'run-';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Remove run folders of dead processes under `workDir`, then let git forget their worktrees. A
 * worker killed mid-benchmark cannot clean up after itself; the next worker on the machine does.
 */
export async function removeLeftovers(workDir: string, repos: readonly string[]): Promise<number> {
  let entries: string[];
  try {
    entries = await readdir(workDir);
  } catch {
    return 0;
  }
  let removed = 0;
  for (const name of entries) {
    const m = /^run-(\d+)-/.exec(name);
    if (!m || alive(Number(m[1]))) continue;
    await rm(path.join(workDir, name), { recursive: true, force: true }).catch(() => undefined);
    removed++;
  }
  if (removed) for (const repo of repos) await runGit(repo, ['worktree', 'prune']).catch(() => undefined);
  return removed;
}
