import type { AlertRow as StoredAlertRow } from '../tracking/alerts/store.ts';
import type { Verdict } from './bisect-plan.ts';
import type { Sweep } from './config.ts';

/** A bisection's persisted state (the alert's `bisection` column) and the step's result (bisect.ts). */

export const BISECTION_STATUSES = ['running', 'found', 'ambiguous', 'exhausted', 'failed', 'disabled', 'cancelled'] as const;
export type BisectionStatus = (typeof BISECTION_STATUSES)[number];

/** A commit of the range that got a verdict (or was skipped). */
export interface BisectionStep {
  sha: string;
  /** The run that measured it, when this bisection submitted or waited for one. */
  task_uid: string | null;
  /** Whether this bisection created that run (it then counts in runs_used). */
  submitted: boolean;
  median: number | null;
  samples: number;
  verdict: Verdict | 'untestable';
  reason: string | null;
  at: string;
}

/** The alert's `bisection` column (snake_case: GET /benchmarks/alerts shows it as stored). */
export interface BisectionState {
  version: 1;
  status: BisectionStatus;
  sweep: string;
  /** Where the steps run: the sweep's namespace. */
  namespace: string;
  /** The range as it stands: the last commit at the old level and the first at the new one. */
  good_sha: string | null;
  bad_sha: string | null;
  /** The alert's range when the bisection started; `note` says why `initial` differs from it. */
  alert_range?: { good_sha: string; bad_sha: string; note: string | null } | null;
  /**
   * The range the bisection started from, and how many commits lay strictly between: the alert's,
   * moved to the measured commits' own verdicts when they disagree with it (anchorRange).
   */
  initial: { good_sha: string; bad_sha: string; unmeasured: number } | null;
  /** The medians a commit is compared with (the alert's before and after medians at the start). */
  levels: { good: number; bad: number } | null;
  max_runs: number;
  runs_used: number;
  /** Testable commits still strictly between good_sha and bad_sha. */
  remaining: number | null;
  /** The run the bisection waits for. */
  pending: { sha: string; task_uid: string; submitted: boolean } | null;
  steps: BisectionStep[];
  untestable: string[];
  culprit_sha: string | null;
  /** `ambiguous`: the commits one of which is the culprit. */
  candidates: string[] | null;
  reason: string | null;
  started_at: string;
  updated_at: string;
  finished_at: string | null;
}

export interface BisectStepResult {
  alert_id: number;
  status: BisectionStatus | null;
  runs_used?: number;
  max_runs?: number;
  good_sha?: string | null;
  bad_sha?: string | null;
  pending_sha?: string | null;
  culprit_sha?: string | null;
  note?: string;
}

/** The columns of an alert a bisection reads (ALERT_SQL): the row type is the alert store's. */
export type AlertRow = Pick<
  StoredAlertRow,
  | 'id'
  | 'series_hash'
  | 'repo'
  | 'metric'
  | 'config_id'
  | 'config_hash'
  | 'architecture'
  | 'tags'
  | 'status'
  | 'last_good_sha'
  | 'first_bad_sha'
  | 'before_median'
  | 'after_median'
  | 'culprit_sha'
  | 'bisection'
>;

export const ALERT_SQL = `
select id, series_hash, repo, metric, config_id, config_hash, architecture, tags, status, last_good_sha, first_bad_sha,
  before_median, after_median, culprit_sha, bisection
from benchmark_alerts where id = $1
`;

export const SAVE_SQL = `
update benchmark_alerts set bisection = $2::jsonb, culprit_sha = coalesce($3, culprit_sha), updated_at = now()
where id = $1
`;

export function newState(sweep: Sweep, now: string): BisectionState {
  return {
    version: 1,
    status: 'running',
    sweep: sweep.name,
    namespace: sweep.namespace,
    good_sha: null,
    bad_sha: null,
    initial: null,
    levels: null,
    max_runs: sweep.bisect.maxRuns,
    runs_used: 0,
    remaining: null,
    pending: null,
    steps: [],
    untestable: [],
    culprit_sha: null,
    candidates: null,
    reason: null,
    started_at: now,
    updated_at: now,
    finished_at: null,
  };
}

/** Ours when it says so; anything else in the column is left alone. */
export function ownState(v: Record<string, unknown> | null): BisectionState | null | 'foreign' {
  if (v === null) return null;
  return v.version === 1 && typeof v.status === 'string' && (BISECTION_STATUSES as readonly string[]).includes(v.status)
    ? (v as unknown as BisectionState)
    : 'foreign';
}

export const summary = (id: number, s: BisectionState, note?: string): BisectStepResult => ({
  alert_id: id,
  status: s.status,
  runs_used: s.runs_used,
  max_runs: s.max_runs,
  good_sha: s.good_sha,
  bad_sha: s.bad_sha,
  pending_sha: s.pending?.sha ?? null,
  culprit_sha: s.culprit_sha,
  ...(note ? { note } : {}),
});

export function stepEntry(
  sha: string,
  run: { task_uid: string; submitted: boolean } | null,
  m: number | null,
  samples: number,
  verdict: BisectionStep['verdict'],
  reason: string | null,
): BisectionStep {
  return {
    sha,
    task_uid: run?.task_uid ?? null,
    submitted: run?.submitted ?? false,
    median: m,
    samples,
    verdict,
    reason,
    at: new Date().toISOString(),
  };
}

export function skip(state: BisectionState, sha: string, run: { task_uid: string; submitted: boolean } | null, reason: string): void {
  if (!state.untestable.includes(sha)) state.untestable.push(sha);
  state.steps.push(stepEntry(sha, run, null, 0, 'untestable', reason));
}
