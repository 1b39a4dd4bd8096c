import { z } from 'zod';
import { type FieldIssue, ValidationError } from '../../errors.ts';
import { issuesOf } from '../../validation/zod.ts';
import {
  architecture,
  branch,
  compact,
  config,
  dateTime,
  direction,
  environment,
  joinPath,
  MAX_RUNS,
  metricName,
  type NormalizedRun,
  type ParsedResults,
  type RunField,
  repo,
  sha,
  tags,
  unit,
} from './normalized.ts';

/**
 * Eventix's own results format: the normalized shape itself, written as JSON.
 *
 * ```json
 * {
 *   "format": "eventix",
 *   "version": 1,
 *   "runs": [{
 *     "repo": "valkey-io/valkey", "sha": "<40 or 64 hex>", "branch": "unstable",
 *     "config": {"clients": 50}, "architecture": "x86_64",
 *     "task_uid": null, "repeat_index": 0,
 *     "started_at": "2026-01-02T03:04:05Z", "finished_at": "2026-01-02T03:09:05Z",
 *     "environment": {"kernel": "6.8.0", "cpu_model": "…", "cores": 16, "hostname": "bench-1"},
 *     "metrics": [{"name": "rps", "value": 182000.5, "unit": "req/s", "direction": "higher", "tags": {"command": "SET"}}]
 *   }]
 * }
 * ```
 *
 * Only `runs`, and per run `metrics` (at least one) with each metric's `name` and `value` (a
 * finite JSON number), are required; a run's `repo` and `sha` may come from the request
 * instead. Unknown fields are refused, `null` means absent, and `finished_at` may not precede
 * `started_at`.
 */

/** Optional, and `null` is absent too: scripts often write null for "not known". */
const absent = <T extends z.ZodType>(schema: T) => schema.nullish().transform((v) => v ?? undefined);

export const eventixMetric = z
  .strictObject({
    name: metricName,
    value: z.number({ error: 'must be a finite JSON number' }),
    unit: absent(unit),
    direction: absent(direction).describe("'higher' or 'lower' is better; absent when unknown."),
    tags: absent(tags).describe('What this point measures (command, clients…): the series key with the name.'),
  })
  .meta({ id: 'BenchmarkMetricPoint' });

export const eventixRun = z
  .strictObject({
    repo: absent(repo),
    sha: absent(sha),
    branch: absent(branch),
    config: absent(config),
    architecture: absent(architecture),
    task_uid: absent(z.uuid()),
    repeat_index: absent(z.number().int().min(0).max(1_000_000)),
    started_at: absent(dateTime),
    finished_at: absent(dateTime),
    environment: absent(environment),
    metrics: z.array(eventixMetric, { error: 'must be an array of metric points' }).min(1, { error: 'must hold at least one metric' }),
  })
  .superRefine((r, ctx) => {
    if (r.started_at && r.finished_at && Date.parse(r.finished_at) < Date.parse(r.started_at)) {
      ctx.addIssue({ code: 'custom', path: ['finished_at'], message: 'must not be before started_at' });
    }
  })
  .meta({ id: 'BenchmarkResultsRun' });

export const eventixResults = z
  .strictObject({
    format: z.literal('eventix').optional(),
    version: z.literal(1).optional(),
    runs: z
      .array(eventixRun, { error: 'must be an array of runs' })
      .min(1, { error: 'must hold at least one run' })
      .max(MAX_RUNS, { error: `at most ${MAX_RUNS} runs per push` }),
  })
  .meta({ id: 'BenchmarkResultsEventix', description: 'Eventix results format (format "eventix")' });

const toIso = (v: string | undefined) => (v === undefined ? undefined : new Date(v).toISOString());

/** Parse an eventix results document. Issues name paths under `prefix` (e.g. `data.runs.0.sha`). */
export function parseEventix(data: unknown, prefix = '', root = '(file)'): ParsedResults {
  const parsed = eventixResults.safeParse(data);
  if (!parsed.success) throw new ValidationError(issuesOf(parsed.error, prefix, prefix || root));
  const runs: NormalizedRun[] = [];
  const origins: Partial<Record<RunField, string>>[] = [];
  parsed.data.runs.forEach((r, i) => {
    runs.push(
      compact({
        repo: r.repo,
        sha: r.sha,
        branch: r.branch,
        config: r.config,
        architecture: r.architecture === '' ? undefined : r.architecture,
        task_uid: r.task_uid?.toLowerCase(),
        repeat_index: r.repeat_index,
        started_at: toIso(r.started_at),
        finished_at: toIso(r.finished_at),
        environment: r.environment,
        metrics: r.metrics.map((m) => compact({ name: m.name, value: m.value, unit: m.unit, direction: m.direction, tags: m.tags })),
      }),
    );
    const origin: Partial<Record<RunField, string>> = {};
    for (const f of ['repo', 'sha', 'branch', 'config', 'architecture'] as const) {
      if (r[f] !== undefined) origin[f] = joinPath(prefix, 'runs', i, f);
    }
    origins.push(origin);
  });
  return { runs, origins, skipped: [] as FieldIssue[] };
}
