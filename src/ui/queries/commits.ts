import { z } from 'zod';
import { cursorOrderAt, jsonCursor } from '../../db/cursor.ts';
import { type Executor, run } from '../../db/executor.ts';
import { type Alert, type AlertRow, toAlert } from '../../tracking/alerts/store.ts';
import type { CommitStatus } from '../../tracking/commits.ts';
import { FULL_SHA, runGit } from '../../tracking/git.ts';
import { gitDirectory } from '../../tracking/series-samples.ts';

/**
 * The dashboard's reads of commit status that the library has no function for: the commit ×
 * config matrix (paged by commit, not by pair), the filter choices, a sha prefix resolved over
 * both tables, the alerts naming a commit, and the subjects git knows. Every value is a parameter.
 */

export interface MatrixFilter {
  repo?: string | undefined;
  /** A sha or a prefix (4–64 lowercase hex digits; checked by the caller's schema). */
  sha?: string | undefined;
  configId?: number | undefined;
  /** Commits with at least one pair in one of these statuses. */
  statuses?: readonly CommitStatus[] | undefined;
  architecture?: string | undefined;
  cursor?: string | undefined;
  limit?: number | undefined;
}

export interface MatrixPair {
  config_id: number;
  architecture: string;
  status: CommitStatus;
  attempts: number;
  error: string | null;
  task_uid: string | null;
  updated_at: string;
}

export interface MatrixRow {
  repo: string;
  sha: string;
  committedAt: Date | null;
  pairs: MatrixPair[];
}

/**
 * Rows are commits, newest first (committer time, undated commits last, then repo and sha: a
 * total order, so the keyset cursor neither skips nor repeats). The status filter picks commits
 * having a pair in that status, and the row then shows all of its pairs, as a CI matrix does; the
 * config and architecture filters narrow the columns too.
 */
const MATRIX_SQL = `
with page as (
  select s.repo, s.sha, max(s.committed_at) as committed_at,
    coalesce(max(s.committed_at), '-infinity'::timestamptz) as order_at
  from commit_status s
  where ($1::text is null or s.repo = $1)
    and ($2::text is null or s.sha like $2 || '%')
    and ($3::bigint is null or s.config_id = $3)
    and ($4::text[] is null or s.status = any($4::text[]))
    and ($5::text is null or s.architecture = $5)
  group by s.repo, s.sha
  having $6::timestamptz is null
    or (coalesce(max(s.committed_at), '-infinity'::timestamptz), s.repo, s.sha) < ($6::timestamptz, $7::text, $8::text)
  order by order_at desc, s.repo desc, s.sha desc
  limit $9
)
select p.repo, p.sha, p.committed_at, p.order_at::text as order_text,
  jsonb_agg(jsonb_build_object('config_id', s.config_id, 'architecture', s.architecture, 'status', s.status,
    'attempts', s.attempts, 'error', s.error, 'task_uid', s.task_uid, 'updated_at', s.updated_at)
    order by s.config_id, s.architecture) as pairs
from page p join commit_status s on s.repo = p.repo and s.sha = p.sha
where ($3::bigint is null or s.config_id = $3) and ($5::text is null or s.architecture = $5)
group by p.repo, p.sha, p.committed_at, p.order_at
order by p.order_at desc, p.repo desc, p.sha desc
`;

/** Ordered by (order_at, repo, sha) descending: the matrix pages by commit, not by pair. */
const matrixCursor = jsonCursor(
  z.object({ a: cursorOrderAt, r: z.string(), s: z.string().regex(/^[0-9a-f]{4,64}$/) }),
  'is not a cursor this page issued (start again from the first page)',
);

export async function commitMatrix(ex: Executor, f: MatrixFilter): Promise<{ rows: MatrixRow[]; nextCursor: string | null }> {
  const limit = f.limit ?? 50;
  const cursor = f.cursor ? matrixCursor.decode(f.cursor) : undefined;
  const rows = await run<{ repo: string; sha: string; committed_at: Date | null; order_text: string; pairs: MatrixPair[] }>(
    ex,
    MATRIX_SQL,
    [
      f.repo ?? null,
      f.sha ?? null,
      f.configId ?? null,
      f.statuses?.length ? f.statuses : null,
      f.architecture ?? null,
      cursor?.a ?? null,
      cursor?.r ?? null,
      cursor?.s ?? null,
      limit + 1,
    ],
  ).catch((err: unknown) => {
    throw cursor ? matrixCursor.queryError(err) : err;
  });
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return {
    rows: page.map((r) => ({ repo: r.repo, sha: r.sha, committedAt: r.committed_at, pairs: r.pairs })),
    nextCursor: rows.length > limit && last ? matrixCursor.encode({ a: last.order_text, r: last.repo, s: last.sha }) : null,
  };
}

/** The repositories and architectures commit status holds, for the filter menus. */
export async function commitFacets(ex: Executor): Promise<{ repos: string[]; architectures: string[] }> {
  const [row] = await run<{ repos: string[]; architectures: string[] }>(
    ex,
    `select array(select distinct repo from commit_status order by 1) as repos,
            array(select distinct architecture from commit_status where architecture <> '' order by 1) as architectures`,
  );
  return { repos: row?.repos ?? [], architectures: row?.architectures ?? [] };
}

/**
 * The commits a sha or prefix names, in commit status or in the results store (results can be
 * pushed for commits nobody tracks). Several answers mean the prefix is ambiguous.
 */
export async function findCommits(ex: Executor, prefix: string, repo: string | undefined): Promise<{ repo: string; sha: string }[]> {
  return run<{ repo: string; sha: string }>(
    ex,
    `select repo, sha from (
       select repo, sha from commit_status where sha like $1 || '%' and ($2::text is null or repo = $2)
       union
       select repo, sha from benchmark_runs where sha like $1 || '%' and ($2::text is null or repo = $2)
     ) found order by repo, sha limit 50`,
    [prefix, repo ?? null],
  );
}

/** Alerts whose range starts, ends or was bisected at this commit, newest first. */
export async function alertsAtCommit(ex: Executor, sha: string, repo: string | undefined): Promise<Alert[]> {
  const rows = await run<AlertRow>(
    ex,
    `select * from benchmark_alerts
     where (first_bad_sha = $1 or last_good_sha = $1 or culprit_sha = $1) and ($2::text is null or repo = $2)
     order by id desc limit 100`,
    [sha, repo ?? null],
  );
  return rows.map(toAlert);
}

export interface GitCommitInfo {
  subject: string;
  /** Committer time, ISO 8601 with the committer's offset. */
  committedAt: string;
}

/**
 * Subjects and committer times, when the repository is a local clone of EVENTIX_REPOS: one
 * `git log --stdin` for all of them, missing commits ignored. What git cannot answer is simply
 * not known; the pages show the sha alone then.
 */
export async function commitInfo(
  repo: string,
  repos: readonly string[] | undefined,
  shas: readonly string[],
): Promise<Map<string, GitCommitInfo>> {
  const info = new Map<string, GitCommitInfo>();
  const dir = gitDirectory(repo, repos);
  const full = [...new Set(shas)].filter((s) => FULL_SHA.test(s));
  if (dir === undefined || full.length === 0) return info;
  try {
    const r = await runGit(
      dir,
      ['log', '--no-walk=unsorted', '--stdin', '--ignore-missing', '--format=%H%x09%cI%x09%s'],
      `${full.join('\n')}\n`,
    );
    if (r.code !== 0) return info;
    for (const line of r.stdout.split('\n')) {
      const [sha, committedAt, ...subject] = line.split('\t');
      if (sha && committedAt) info.set(sha, { subject: subject.join('\t'), committedAt });
    }
  } catch {
    // git missing or the clone gone: nothing known.
  }
  return info;
}
