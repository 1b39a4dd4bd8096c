import type pg from 'pg';

/**
 * medbilldozer's benchmark store (seed 001) as the MIGRATION_GUIDE documents it: the two tables
 * push_to_supabase.py fills through `upsert_benchmark_result`, with the benchmark_type column of
 * the later migration. `push` does what that function does: append the transaction, retire the
 * configuration's current snapshot, and add the next snapshot_version as current.
 */
export const MEDBILLDOZER_SCHEMA = `
create table benchmark_transactions (
  id uuid primary key default gen_random_uuid(),
  created_at timestamptz not null default now(),
  commit_sha text not null,
  branch_name text,
  model_version text not null,
  model_provider text,
  dataset_version text not null,
  dataset_size integer,
  prompt_version text not null,
  environment text not null check (environment in ('github-actions', 'local', 'staging', 'production')),
  run_id text,
  triggered_by text,
  metrics jsonb not null,
  duration_seconds numeric(10, 2),
  error_count integer default 0,
  success_count integer default 0,
  tags text[],
  notes text,
  benchmark_type text not null default 'standard' check (benchmark_type in ('standard', 'patient_cross_document'))
);
create table benchmark_snapshots (
  id uuid primary key default gen_random_uuid(),
  snapshot_version integer not null,
  created_at timestamptz not null default now(),
  model_version text not null,
  dataset_version text not null,
  prompt_version text not null,
  environment text not null,
  transaction_id uuid not null references benchmark_transactions(id),
  commit_sha text not null,
  metrics jsonb not null,
  precision_score numeric(5, 4),
  recall_score numeric(5, 4),
  f1_score numeric(5, 4),
  latency_ms numeric(10, 2),
  cost_per_analysis numeric(10, 6),
  is_current boolean default true,
  is_baseline boolean default false,
  is_active boolean default true,
  benchmark_type text not null default 'standard',
  unique (model_version, dataset_version, prompt_version, environment, snapshot_version)
);`;

export const SHA = {
  one: '1f3a9c0b2d4e6f8091a2b3c4d5e6f708192a3b4c',
  two: '2b4c6d8e0f1a2b3c4d5e6f708192a3b4c5d6e7f8',
  three: '3c5d7e9f1a2b3c4d5e6f708192a3b4c5d6e7f809',
  four: '4d6e8f0a1b2c3d4e5f60718293a4b5c6d7e8f90a',
};

export interface Push {
  id: string;
  at: string;
  sha: string;
  model: string;
  environment?: string;
  benchmarkType?: string;
  metrics: Record<string, unknown>;
  duration?: number | null;
}

/** A result as convert_benchmark_to_monitoring.py shapes it, with the advanced metrics of later runs. */
export function metrics(f1: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    precision: Number(Math.min(1, f1 + 0.1).toFixed(4)),
    recall: Number(Math.max(0, f1 - 0.05).toFixed(4)),
    f1,
    latency_ms: 2100 + Math.round(f1 * 1000),
    analysis_cost: 0.0042,
    total_documents: 12,
    total_issues_detected: 9,
    total_issues_expected: 15,
    ...extra,
  };
}

/**
 * One push_to_supabase.py run: the transaction and the configuration's next, current snapshot.
 * As in the legacy, a patient_cross_document result shares the configuration's versions and its
 * one current snapshot with the standard results: the unique key never got benchmark_type.
 */
export async function push(c: pg.Client, p: Push): Promise<void> {
  const environment = p.environment ?? 'github-actions';
  const type = p.benchmarkType ?? 'standard';
  // The configuration a snapshot is versioned under; benchmark_type, added later, is not part of it.
  const config = [p.model, 'benchmark-set-v1', 'v1', environment];
  await c.query(
    `insert into benchmark_transactions (id, created_at, commit_sha, branch_name, model_version, model_provider, dataset_version,
       dataset_size, prompt_version, environment, run_id, triggered_by, metrics, duration_seconds, error_count, success_count, tags, notes, benchmark_type)
     values ($1, $2, $3, 'refs/heads/develop', $4, $5, 'benchmark-set-v1', 12, 'v1', $6, $7, 'github-actions[bot]', $8, $9, 0, 12, $10, null, $11)`,
    [
      p.id,
      p.at,
      p.sha,
      p.model,
      p.model.split('-')[0],
      environment,
      `run-${p.id.slice(0, 8)}`,
      JSON.stringify(p.metrics),
      p.duration === undefined ? 45.2 : p.duration,
      ['nightly'],
      type,
    ],
  );
  await c.query(
    `update benchmark_snapshots set is_current = false
     where model_version = $1 and dataset_version = $2 and prompt_version = $3 and environment = $4 and is_current`,
    config,
  );
  const num = (k: string) => (typeof p.metrics[k] === 'number' ? p.metrics[k] : null);
  await c.query(
    `insert into benchmark_snapshots (snapshot_version, created_at, model_version, dataset_version, prompt_version, environment, benchmark_type,
       transaction_id, commit_sha, metrics, precision_score, recall_score, f1_score, latency_ms, cost_per_analysis, is_current)
     values ((select coalesce(max(snapshot_version), 0) + 1 from benchmark_snapshots
              where model_version = $1 and dataset_version = $2 and prompt_version = $3 and environment = $4),
             $6, $1, $2, $3, $4, $5, $7, $8, $9, $10, $11, $12, $13, $14, true)`,
    [
      ...config,
      type,
      p.at,
      p.id,
      p.sha,
      JSON.stringify(p.metrics),
      num('precision'),
      num('recall'),
      num('f1'),
      num('latency_ms'),
      num('analysis_cost'),
    ],
  );
}

/** Transaction ids, for the assertions: `tx(6)` is the sixth push below. */
export const tx = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

/**
 * Three models over three commits, a local run, a patient cross-document run, and the bad rows
 * a real store accumulates: a short sha (push_to_supabase.py's own example passes 'abc123'), a
 * metric written as text. Then the flags an operator set by hand: two baselines for one
 * model_version, one snapshot soft-deleted.
 */
export async function fillMedbilldozer(c: pg.Client): Promise<void> {
  await c.query(MEDBILLDOZER_SCHEMA);
  const day = (d: number, h = 2) => `2026-02-0${d}T0${h}:00:00+00:00`;
  await push(c, { id: tx(1), at: day(1), sha: SHA.one, model: 'openai-v1.0', metrics: metrics(0.2) });
  await push(c, { id: tx(2), at: day(1, 3), sha: SHA.one, model: 'medgemma-v1.0', metrics: metrics(0.2222) });
  await push(c, { id: tx(3), at: day(1, 4), sha: SHA.one, model: 'baseline-v1.0', metrics: metrics(0.4), duration: null });
  await push(c, { id: tx(4), at: day(2), sha: SHA.two, model: 'openai-v1.0', metrics: metrics(0.25) });
  await push(c, { id: tx(5), at: day(2, 3), sha: SHA.two, model: 'medgemma-v1.0', metrics: metrics(0.3) });
  await push(c, {
    id: tx(6),
    at: day(3),
    sha: SHA.three,
    model: 'openai-v1.0',
    metrics: metrics(0.3, { risk_weighted_recall: 0.41, p95_latency_ms: 5120.5, inference_cost_usd: 0.051 }),
  });
  await push(c, { id: tx(7), at: day(3, 3), sha: SHA.three, model: 'openai-v1.0', environment: 'local', metrics: metrics(0.28) });
  await push(c, {
    id: tx(8),
    at: day(3, 4),
    sha: SHA.three,
    model: 'baseline-v1.0',
    metrics: metrics(0.4, { by_category: { upcoding: { recall: 0.5, detected: 3 }, duplicate_charge: { recall: 0.75, detected: 6 } } }),
  });
  await push(c, {
    id: tx(9),
    at: day(3, 5),
    sha: SHA.three,
    model: 'medgemma-v1.0',
    benchmarkType: 'patient_cross_document',
    metrics: metrics(0.35),
  });
  await push(c, { id: tx(10), at: day(4), sha: 'abc123', model: 'gemini-v1.0', metrics: metrics(0.1) });
  await push(c, { id: tx(11), at: day(4, 3), sha: SHA.three, model: 'gemini-v1.0', metrics: { ...metrics(0.1), f1: 'n/a' } });
  // The flags: openai's first github-actions result and its local one both marked, medgemma's latest; medgemma v1 soft-deleted.
  await c.query(`update benchmark_snapshots set is_baseline = true where transaction_id = any($1::uuid[])`, [[tx(1), tx(7), tx(5)]]);
  await c.query(`update benchmark_snapshots set is_active = false where transaction_id = $1`, [tx(2)]);
}
