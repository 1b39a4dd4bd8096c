import { type Executor, run } from '../db/executor.ts';
import { EventixError, type FieldIssue } from '../errors.ts';
import { isStorableText } from '../validation/storable.ts';
import { CanonicalJsonError, canonicalize } from './canonical.ts';
import { COMMIT_STATUSES, type CommitStatus, isCommitStatus } from './commits.ts';
import { FULL_SHA } from './git.ts';

/**
 * Import commit status from the export format (`[{sha, timestamp, status, config, repo?,
 * architecture?, attempts?, error?}]`) or from the seed's legacy completed_commits.json
 * (`[{sha, timestamp, status}]`), whose records name no config: `config` (the --config-file) then
 * stands for all of them, and `repo` for records that name none.
 *
 * - Every record is validated first. With any invalid record nothing is imported (unless
 *   `skipInvalid`), and each problem is reported as `{index, field, message}`.
 * - Import never overwrites: a pair already in the table keeps its row (skipped: `exists`); the
 *   second of two records for one pair is skipped (`duplicate`); in_progress and
 *   benchmark_complete records are skipped (`transient`): no task owns them here, and the seed's
 *   own workflow deleted such rows before every run.
 * - One statement writes everything, so the import is atomic. `dryRun` runs a read-only
 *   statement instead, and reports the very same counts.
 */

export interface ImportOptions {
  /** Config for records without one (legacy completed_commits.json). */
  config?: unknown;
  /** Repository for records without one. */
  repo?: string | undefined;
  /** Architecture for records without one; absent is ''. */
  architecture?: string | undefined;
  dryRun?: boolean | undefined;
  skipInvalid?: boolean | undefined;
}

export interface ImportReport {
  total: number;
  imported: number;
  skipped: number;
  invalid: number;
  dry_run: boolean;
  skipped_reasons: { exists: number; duplicate: number; transient: number };
  /** At most MAX_ERRORS problems, in record order. */
  errors: (FieldIssue & { index: number })[];
}

const MAX_ERRORS = 1000;

/** An import with invalid records, refused whole; `errors` name `records.<index>.<field>`. */
export class InvalidRecords extends EventixError {
  declare readonly code: 'InvalidRecords';
  constructor(readonly report: ImportReport) {
    super('InvalidRecords', `${report.invalid} of ${report.total} records are invalid; nothing was imported`, {
      errors: report.errors.map((e) => ({ field: e.index < 0 ? e.field : `records.${e.index}.${e.field}`, message: e.message })),
      report,
    });
  }
}
const KNOWN = new Set(['sha', 'timestamp', 'status', 'config', 'repo', 'architecture', 'attempts', 'error']);
const ISO = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;

interface Pair {
  repo: string;
  sha: string;
  hash: string;
  canonical: string;
  architecture: string;
  committedAt: string | null;
  status: CommitStatus;
  attempts: number;
  error: string | null;
}

const text = (v: unknown) => typeof v === 'string' && isStorableText(v);

function validate(raw: unknown, opts: ImportOptions, defaultConfig: { hash: string; canonical: string } | undefined) {
  const issues: FieldIssue[] = [];
  const bad = (field: string, message: string) => issues.push({ field, message });
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    bad('(record)', 'must be an object');
    return { issues };
  }
  const r = raw as Record<string, unknown>;
  for (const k of Object.keys(r)) if (!KNOWN.has(k)) bad(k, 'unknown field');
  if (typeof r.sha !== 'string' || !FULL_SHA.test(r.sha)) bad('sha', 'must be a full sha: 40 or 64 lowercase hex digits');
  let committedAt: string | null = null;
  // The seed's from-results wrote "" when it knew no date.
  if (r.timestamp !== undefined && r.timestamp !== null && r.timestamp !== '') {
    const year = typeof r.timestamp === 'string' ? new Date(r.timestamp).getUTCFullYear() : Number.NaN;
    if (typeof r.timestamp !== 'string' || !ISO.test(r.timestamp) || !(year >= 1 && year <= 9999)) {
      bad('timestamp', 'must be an ISO 8601 date-time with a time zone (or empty)');
    } else committedAt = new Date(r.timestamp).toISOString();
  }
  if (!isCommitStatus(r.status)) bad('status', `must be one of ${COMMIT_STATUSES.join(', ')}`);
  let config = defaultConfig;
  if (r.config !== undefined) {
    try {
      config = canonicalize(r.config);
    } catch (err) {
      if (!(err instanceof CanonicalJsonError)) throw err;
      bad(err.path ? `config.${err.path}` : 'config', err.message.replace(/^[^:]*: /, ''));
    }
  } else if (!defaultConfig) bad('config', 'missing: this record names no config, so give one for the whole file (--config-file)');
  const repo = r.repo ?? opts.repo;
  if (!text(repo) || (repo as string).length === 0 || (repo as string).length > 1000) {
    bad('repo', r.repo === undefined ? 'missing: this record names no repository, so give one (--repo)' : 'must be a non-empty string');
  }
  const architecture = r.architecture ?? opts.architecture ?? '';
  if (!text(architecture) || (architecture as string).length > 100) bad('architecture', 'must be a string of at most 100 characters');
  const attempts = r.attempts ?? (r.status === 'failed' ? 1 : 0);
  if (!Number.isSafeInteger(attempts) || (attempts as number) < 0 || (attempts as number) > 1_000_000) {
    bad('attempts', 'must be a whole number ≥ 0');
  }
  if (r.error !== undefined && r.error !== null && !text(r.error)) bad('error', 'must be a string');
  if (issues.length || !config) return { issues };
  const pair: Pair = {
    repo: repo as string,
    sha: r.sha as string,
    hash: config.hash,
    canonical: config.canonical,
    architecture: architecture as string,
    committedAt,
    status: r.status as CommitStatus,
    attempts: attempts as number,
    error: (r.error as string | null | undefined) ?? null,
  };
  return { issues, pair };
}

/** The pairs as rows, from eight array parameters starting at $first. */
function pairColumns(first: number): string {
  const types = ['text', 'text', 'text', 'text', 'timestamptz', 'text', 'int', 'text'];
  return `unnest(${types.map((t, i) => `$${first + i}::${t}[]`).join(', ')})
  as x(repo, sha, hash, architecture, committed_at, status, attempts, error)`;
}

const IMPORT_SQL = `
with cfg as (
  insert into benchmark_configs as c (hash, canonical, config)
  select h, t, t::jsonb from unnest($1::text[], $2::text[]) as u(h, t)
  on conflict (hash) do update set name = c.name
  returning c.id, c.hash
)
insert into commit_status (repo, sha, config_id, architecture, committed_at, status, attempts, error)
select x.repo, x.sha, cfg.id, x.architecture, x.committed_at, x.status, x.attempts, x.error
from ${pairColumns(3)} join cfg on cfg.hash = x.hash
on conflict (repo, sha, config_id, architecture) do nothing
returning 1
`;

/** The dry run: how many of the pairs already exist. */
const EXISTING_SQL = `
select count(*)::int as n
from ${pairColumns(1)}
join benchmark_configs c on c.hash = x.hash
join commit_status s on s.repo = x.repo and s.sha = x.sha and s.config_id = c.id and s.architecture = x.architecture
`;

export async function importCommits(ex: Executor, records: readonly unknown[], opts: ImportOptions = {}): Promise<ImportReport> {
  const report: ImportReport = {
    total: records.length,
    imported: 0,
    skipped: 0,
    invalid: 0,
    dry_run: opts.dryRun ?? false,
    skipped_reasons: { exists: 0, duplicate: 0, transient: 0 },
    errors: [],
  };
  let defaultConfig: { hash: string; canonical: string } | undefined;
  if (opts.config !== undefined) {
    try {
      defaultConfig = canonicalize(opts.config);
    } catch (err) {
      if (!(err instanceof CanonicalJsonError)) throw err;
      report.invalid = records.length;
      report.errors.push({ index: -1, field: 'config', message: err.message });
      return report;
    }
  }
  const pairs: Pair[] = [];
  const seen = new Set<string>();
  records.forEach((raw, index) => {
    const { issues, pair } = validate(raw, opts, defaultConfig);
    if (issues.length || !pair) {
      report.invalid++;
      for (const i of issues) if (report.errors.length < MAX_ERRORS) report.errors.push({ index, ...i });
      return;
    }
    const key = JSON.stringify([pair.repo, pair.sha, pair.hash, pair.architecture]);
    if (pair.status === 'in_progress' || pair.status === 'benchmark_complete') report.skipped_reasons.transient++;
    else if (seen.has(key)) report.skipped_reasons.duplicate++;
    else {
      seen.add(key);
      pairs.push(pair);
    }
  });
  const local = report.skipped_reasons.transient + report.skipped_reasons.duplicate;
  if (report.invalid > 0 && !opts.skipInvalid) {
    report.skipped = local;
    return report;
  }
  const configs = new Map(pairs.map((p) => [p.hash, p.canonical]));
  const params = [
    [...configs.keys()],
    [...configs.values()],
    pairs.map((p) => p.repo),
    pairs.map((p) => p.sha),
    pairs.map((p) => p.hash),
    pairs.map((p) => p.architecture),
    pairs.map((p) => p.committedAt),
    pairs.map((p) => p.status),
    pairs.map((p) => p.attempts),
    pairs.map((p) => p.error),
  ];
  let imported = 0;
  if (pairs.length > 0) {
    if (opts.dryRun) {
      const [row] = await run<{ n: number }>(ex, EXISTING_SQL, params.slice(2));
      imported = pairs.length - (row?.n ?? 0);
    } else {
      imported = (await run(ex, IMPORT_SQL, params)).length;
    }
  }
  report.imported = imported;
  report.skipped_reasons.exists = pairs.length - imported;
  report.skipped = local + report.skipped_reasons.exists;
  return report;
}
