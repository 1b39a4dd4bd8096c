import { z } from 'zod';
import type { FieldIssue } from '../../errors.ts';
import { jsonValue } from '../../validation/json.ts';
import { storable, text } from '../../validation/zod.ts';

/**
 * The one shape every ingestion format parses into. A parser is pure: it reads the file's JSON
 * and returns this, or field-level issues naming the path in the file (`runs.0.metrics.3.value`,
 * `3.rps`). Run-level fields a file does not carry (valkey rows and github-action-benchmark
 * entries have no repo, often no sha) are left out; the push fills them from the request.
 */

export type Direction = 'higher' | 'lower';

export interface NormalizedMetric {
  name: string;
  value: number;
  unit?: string;
  direction?: Direction;
  tags?: Record<string, unknown>;
}

export interface NormalizedRun {
  repo?: string;
  sha?: string;
  branch?: string;
  /** A JSON object or array; identified by its canonical JSON (src/tracking/configs.ts). */
  config?: unknown;
  architecture?: string;
  task_uid?: string;
  repeat_index?: number;
  started_at?: string;
  finished_at?: string;
  environment?: Record<string, unknown>;
  metrics: NormalizedMetric[];
}

export interface NormalizedResults {
  runs: NormalizedRun[];
}

/** Run-level fields a request may also give, and so may conflict with the file's. */
export type RunField = 'repo' | 'sha' | 'branch' | 'config' | 'architecture';

export interface ParsedResults extends NormalizedResults {
  /** Per run, where in the file each run-level field came from, to name it in a conflict. */
  origins: Partial<Record<RunField, string>>[];
  /** Rows deliberately left out (valkey rows of failed benchmarks), with the reason. */
  skipped: FieldIssue[];
}

export const FORMATS = ['eventix', 'valkey', 'github-action-benchmark', 'llm-profile'] as const;
export type Format = (typeof FORMATS)[number];

/** Most runs and metric points one push may carry; bigger histories go in several pushes. */
export const MAX_RUNS = 10_000;
export const MAX_METRICS = 200_000;

// ── field schemas shared by the formats and the request ─────────────────────────────────────

/** A full commit id (SHA-1 or SHA-256), stored lowercase so it joins commit_status exactly. */
export const SHA_PATTERN = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/i;
export const sha = z
  .string()
  .regex(SHA_PATTERN, { error: 'must be a full commit sha (40 or 64 hex digits)' })
  .transform((s) => s.toLowerCase());
export const repo = text(500);
export const branch = text(250);
/** The empty string is how absence is stored (one value for unique keys), so it means absent here too. */
export const architecture = storable(z.string().max(100));
export const config = jsonValue.refine((v) => typeof v === 'object' && v !== null, {
  error: 'must be a JSON object or array',
});
export const environment = z.record(z.string(), jsonValue, { error: 'must be a JSON object' });
export const metricName = text(200);
export const unit = storable(z.string().max(50));
export const direction = z.enum(['higher', 'lower']);
export const tags = z.record(text(200), jsonValue, { error: 'must be a JSON object' });
// Years 1-9999: PostgreSQL refuses year 0, and a later year prints in a form it cannot read back.
export const dateTime = z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time with a time zone' }).refine((v) => {
  const year = new Date(v).getUTCFullYear();
  return year >= 1 && year <= 9999;
}, 'must be between the years 1 and 9999');

/** `[prefix, ...path]` joined with dots, the way every validation error of the API names a field. */
export const joinPath = (...parts: (string | number | undefined)[]) =>
  parts
    .filter((p) => p !== undefined && p !== '')
    .map(String)
    .join('.');

/** Copy without the keys whose value is undefined, so parsed runs compare exactly. */
export function compact<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
