import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/**
 * Real git repositories for tests, built with `git fast-import` in one process: 10,000 commits
 * take well under a second. Every commit has a fixed committer date (BASE_TIME + i minutes), so
 * shas, dates and rev-list order are the same on every run.
 */

export const BASE_TIME = 1_700_000_000;

const ENV = {
  ...process.env,
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_AUTHOR_NAME: 'Eventix Test',
  GIT_AUTHOR_EMAIL: 'test@example.com',
  GIT_COMMITTER_NAME: 'Eventix Test',
  GIT_COMMITTER_EMAIL: 'test@example.com',
};

export function git(dir: string, args: string[], input?: string): string {
  return execFileSync('git', args, { cwd: dir, env: ENV, input, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
}

export interface TestRepo {
  dir: string;
  /** Shas newest first, as rev-list walks them. */
  shas: string[];
  remove(): void;
}

export function tempRepo(prefix = 'eventix-git-'): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  git(dir, ['init', '--quiet', '--initial-branch=main']);
  return dir;
}

/** Feed a fast-import stream; `done` is appended. */
export function fastImport(dir: string, stream: string): void {
  git(dir, ['fast-import', '--quiet', '--done'], `${stream}done\n`);
}

/** One commit of a fast-import stream on `ref`, with mark `mark`, dated BASE_TIME + minute·60. */
export function commitCommand(ref: string, mark: number, minute: number, opts: { from?: number; merge?: number } = {}): string {
  const message = `commit ${mark}\n`;
  return (
    `commit ${ref}\nmark :${mark}\n` +
    `committer Eventix Test <test@example.com> ${BASE_TIME + minute * 60} +0000\n` +
    `data ${Buffer.byteLength(message)}\n${message}` +
    (opts.from !== undefined ? `from :${opts.from}\n` : '') +
    (opts.merge !== undefined ? `merge :${opts.merge}\n` : '') +
    // A file per commit, so no two commits share a tree by accident.
    `M 644 inline file.txt\ndata ${String(mark).length}\n${mark}\n\n`
  );
}

/** A repository whose branch `main` (HEAD) has `n` commits in a line. */
export function linearRepo(n: number): TestRepo {
  const dir = tempRepo();
  let stream = '';
  for (let i = 1; i <= n; i++) stream += commitCommand('refs/heads/main', i, i);
  fastImport(dir, stream);
  const shas = git(dir, ['rev-list', 'main']).split('\n').filter(Boolean);
  return { dir, shas, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
