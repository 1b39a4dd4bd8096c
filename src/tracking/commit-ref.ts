import { ValidationError } from '../errors.ts';
import { FULL_SHA, refProblem, resolveCommit } from './git.ts';
import type { RepoAllowList } from './repos.ts';

/**
 * A commit as a user names it for baselines, snapshots and compare: a full sha is taken as is
 * (no git needed, so results pushed under any repository name work); anything else (`HEAD`,
 * `v1.2.0`, `main~3`, a short sha) is resolved by git, but only in a repository of
 * EVENTIX_REPOS: the results' repository when it is one, else `gitRepo`. Refs starting with '-'
 * or holding whitespace are refused before git sees them (src/tracking/git.ts).
 */
export async function resolveCommitRef(opts: {
  ref: string;
  /** The results' repository (a baseline's repo). */
  repo: string | undefined;
  /** Where to resolve it when the results' repository is not a local one. */
  gitRepo?: string | undefined;
  allowed: RepoAllowList;
  field: string;
  gitRepoField?: string;
}): Promise<string> {
  const lower = opts.ref.toLowerCase();
  if (FULL_SHA.test(lower)) return lower;
  const problem = refProblem(opts.ref);
  if (problem) throw new ValidationError([{ field: opts.field, message: problem }]);
  let dir: string;
  if (opts.gitRepo !== undefined) {
    dir = opts.allowed.resolve(opts.gitRepo, opts.gitRepoField ?? 'git_repo');
  } else {
    const key = opts.repo === undefined ? undefined : opts.allowed.keyOf(opts.repo);
    if (key === undefined || !opts.allowed.entries.some((e) => opts.allowed.keyOf(e) === key)) {
      throw new ValidationError([
        {
          field: opts.field,
          message:
            `${opts.ref} is not a full sha, and ${opts.repo ?? 'the repository'} is not a local repository of EVENTIX_REPOS ` +
            `to resolve it in: give a full sha, or name one with ${opts.gitRepoField ?? 'git_repo'}`,
        },
      ]);
    }
    dir = key;
  }
  return resolveCommit(dir, opts.ref, opts.field);
}
