import { execFileSync } from 'node:child_process';

/**
 * A linear git history of `n` commits on `main` in `dir`, one minute apart (committer times from
 * 2020-09-13 on), written in one `git fast-import`: seconds for 10,000 commits, where a commit per
 * `git commit` takes minutes. Returns the shas newest first, as `git rev-list` lists them.
 */
export function linearHistory(dir: string, n: number): string[] {
  const env = { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' };
  execFileSync('git', ['init', '--quiet', '--initial-branch=main'], { cwd: dir, env });
  const parts: string[] = [];
  for (let i = 1; i <= n; i++) {
    const msg = `commit ${i}\n`;
    parts.push(
      `commit refs/heads/main\nmark :${i}\ncommitter Bench <bench@example.com> ${1_600_000_000 + i * 60} +0000\n` +
        `data ${Buffer.byteLength(msg)}\n${msg}M 644 inline f\ndata ${String(i).length}\n${i}\n\n`,
    );
  }
  execFileSync('git', ['fast-import', '--quiet', '--done'], { cwd: dir, env, input: `${parts.join('')}done\n`, maxBuffer: 1 << 28 });
  return execFileSync('git', ['rev-list', 'main'], { cwd: dir, env, encoding: 'utf8', maxBuffer: 1 << 28 })
    .split('\n')
    .filter(Boolean);
}
