import type pg from 'pg';
import { type Executor, run } from '../db/executor.ts';
import { withTransaction } from '../db/transaction.ts';
import { BaselineExists, BaselineNotFound, BenchmarkRunsNotFound, ValidationError } from '../errors.ts';
import { runOf, samplesAt } from './baseline-samples.ts';
import { FULL_SHA } from './git.ts';
import { baselineSnapshots, directionOf, type StoredSnapshot, writeSnapshots } from './snapshots.ts';

/**
 * Named baselines: `release-1.2` pins a commit of a repository (per series: every run of that
 * sha) or one run. Creating one records a snapshot (is_baseline) of every series with runs
 * there, so the baseline's numbers survive `eventix results prune`; compare reads the live runs
 * first and falls back to those snapshots (src/tracking/compare.ts).
 *
 * Baselines are never overwritten: a second create of a name answers BaselineExists; to move a
 * baseline, delete it and create it again. Deleting one deletes no run (the results store is
 * append-only) and no snapshot row: its snapshots lose the is_baseline flag but keep their
 * version and baseline_name as history.
 */

/** One path segment of the API and one shell word; the table's CHECK says the same. */
export const BASELINE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
const NAME_RULE = 'must be 1-100 letters, digits, . _ - (starting with a letter or digit)';

export interface BaselineRecord {
  id: number;
  repo: string;
  name: string;
  sha: string;
  runUid: string | null;
  description: string | null;
  createdAt: Date;
  createdBy: string | null;
  /** Series the baseline recorded a snapshot of. */
  series: number;
}

interface BaselineRaw {
  id: number;
  repo: string;
  name: string;
  sha: string;
  run_uid: string | null;
  description: string | null;
  created_at: Date;
  created_by: string | null;
  series: number;
}

const toBaseline = (r: BaselineRaw): BaselineRecord => ({
  id: r.id,
  repo: r.repo,
  name: r.name,
  sha: r.sha,
  runUid: r.run_uid,
  description: r.description,
  createdAt: r.created_at,
  createdBy: r.created_by,
  series: r.series,
});

const SELECT_SQL = `
select b.*, (select count(*)::int from benchmark_snapshots s where s.baseline_id = b.id and s.is_baseline) as series
from benchmark_baselines b
`;

export function assertBaselineName(name: string, field = 'name'): void {
  if (!BASELINE_NAME.test(name)) throw new ValidationError([{ field, message: NAME_RULE }]);
}

export interface CreateBaselineInput {
  repo: string;
  name: string;
  /** Pin every run of this commit (a full sha)… */
  sha?: string | undefined;
  /** …or this one run (its commit is recorded as the baseline's sha). */
  runUid?: string | undefined;
  description?: string | null | undefined;
  createdBy?: string | null | undefined;
}

/**
 * Create a baseline and snapshot every series with runs at its commit (or in its run), in one
 * transaction: a name already taken is BaselineExists (409), a commit or run with no results
 * is BenchmarkRunsNotFound (404), and either leaves nothing behind.
 */
export async function createBaseline(
  pool: pg.Pool,
  input: CreateBaselineInput,
): Promise<{ baseline: BaselineRecord; snapshots: StoredSnapshot[] }> {
  assertBaselineName(input.name);
  if (input.sha === undefined && input.runUid === undefined) {
    throw new ValidationError([{ field: 'commit', message: 'name a commit (or run_uid) for the baseline to pin' }]);
  }
  if (input.sha !== undefined && !FULL_SHA.test(input.sha.toLowerCase())) {
    throw new ValidationError([{ field: 'commit', message: 'must be a full commit sha (40 or 64 hex digits)' }]);
  }
  return withTransaction(pool, async (client) => {
    let sha = input.sha?.toLowerCase();
    if (input.runUid !== undefined) {
      const found = await runOf(client, input.repo, input.runUid);
      if (!found) throw new BenchmarkRunsNotFound(input.repo, { runUid: input.runUid });
      if (sha !== undefined && sha !== found.sha) {
        throw new ValidationError([{ field: 'commit', message: `run ${input.runUid} is of commit ${found.sha}, not ${sha}` }]);
      }
      sha = found.sha;
    }
    // ON CONFLICT DO NOTHING waits for a concurrent creator of the same name, then yields to it.
    const inserted = await run<{ id: number }>(
      client,
      `insert into benchmark_baselines (repo, name, sha, run_uid, description, created_by) values ($1, $2, $3, $4, $5, $6)
       on conflict (repo, name) do nothing returning id`,
      [input.repo, input.name, sha, input.runUid ?? null, input.description ?? null, input.createdBy ?? null],
    );
    const id = inserted[0]?.id;
    if (id === undefined) throw new BaselineExists(input.name, input.repo);
    const series = await samplesAt(client, { repo: input.repo, sha: input.runUid === undefined ? sha : undefined, runUid: input.runUid });
    if (series.length === 0) throw new BenchmarkRunsNotFound(input.repo, { sha, runUid: input.runUid });
    const snapshots = await writeSnapshots(
      client,
      series.map((s) => ({ series: s, runUid: input.runUid ?? null, direction: directionOf(s) })),
      { repo: input.repo, current: false, baseline: { id, name: input.name }, createdBy: input.createdBy },
    );
    const [row] = await run<BaselineRaw>(client, `${SELECT_SQL} where b.id = $1`, [id]);
    return { baseline: toBaseline(row as BaselineRaw), snapshots };
  });
}

export async function listBaselines(ex: Executor, f: { repo?: string | undefined } = {}): Promise<BaselineRecord[]> {
  const rows = await run<BaselineRaw>(ex, `${SELECT_SQL} where ($1::text is null or b.repo = $1) order by b.repo, b.name`, [
    f.repo ?? null,
  ]);
  return rows.map(toBaseline);
}

/**
 * The baseline `name` of `repo`; without a repo, the one repository that has a baseline of that
 * name (several: a ValidationError naming `repo`, listing them).
 */
export async function findBaseline(
  ex: Executor,
  q: { name: string; repo?: string | undefined },
  fields: { name?: string; repo?: string } = {},
): Promise<BaselineRecord> {
  assertBaselineName(q.name, fields.name ?? 'name');
  const rows = await run<BaselineRaw>(ex, `${SELECT_SQL} where b.name = $1 and ($2::text is null or b.repo = $2) order by b.repo`, [
    q.name,
    q.repo ?? null,
  ]);
  if (rows.length === 0) throw new BaselineNotFound(q.name, q.repo);
  if (rows.length > 1) {
    throw new ValidationError([
      {
        field: fields.repo ?? 'repo',
        message: `baseline ${q.name} exists in several repositories (${rows.map((r) => r.repo).join(', ')}): name one`,
      },
    ]);
  }
  return toBaseline(rows[0] as BaselineRaw);
}

export async function getBaseline(
  ex: Executor,
  q: { name: string; repo?: string | undefined },
): Promise<{ baseline: BaselineRecord; snapshots: StoredSnapshot[] }> {
  const baseline = await findBaseline(ex, q);
  return { baseline, snapshots: await baselineSnapshots(ex, baseline.id) };
}

/** Delete a baseline: its snapshots stay, unflagged; no run is touched. Returns what was deleted. */
export async function deleteBaseline(pool: pg.Pool, q: { name: string; repo?: string | undefined }): Promise<BaselineRecord> {
  return withTransaction(pool, async (client) => {
    const baseline = await findBaseline(client, q);
    // Unflag first: the CHECK wants a flagged snapshot to name its baseline, and the foreign key
    // sets baseline_id null when the row goes.
    await run(client, 'update benchmark_snapshots set is_baseline = false where baseline_id = $1 and is_baseline', [baseline.id]);
    const deleted = await run<{ id: number }>(client, 'delete from benchmark_baselines where id = $1 returning id', [baseline.id]);
    // A concurrent delete got there first.
    if (deleted.length === 0) throw new BaselineNotFound(baseline.name, baseline.repo);
    return baseline;
  });
}
