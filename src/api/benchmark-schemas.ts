import { z } from 'zod';
import {
  architecture,
  branch,
  config,
  dateTime,
  environment,
  FORMATS,
  GAB_DIRECTIONS,
  metricName,
  repo,
  sha,
} from '../tracking/formats/index.ts';
import type { PushResult } from '../tracking/ingest.ts';
import type { StoredRun } from '../tracking/runs.ts';
import type { SeriesPoint } from '../tracking/series.ts';
import { jsonValue } from '../validation/json.ts';
import { storable } from '../validation/zod.ts';
import { EXAMPLE, example, OUT, OUT_NULLABLE } from './examples.ts';

/**
 * The wire format of the benchmark results API (snake_case, like the rest of the API): request
 * schemas that validate and document, and the serializers behind the answers. `eventix results
 * push --json` prints what POST /benchmarks/results answers.
 */

export const resultsPushBody = z
  .strictObject({
    format: z
      .enum([...FORMATS, 'auto'])
      .optional()
      .describe('Format of `data`; absent or auto: detected from its shape.'),
    direction: z
      .enum(GAB_DIRECTIONS)
      .optional()
      .describe('github-action-benchmark only: which way is better for every entry (else guessed from units).'),
    repo: example(repo, EXAMPLE.repo).optional().describe("The runs' repository, unless `data` names it."),
    sha: sha.optional().describe('The commit benchmarked, a full sha, unless `data` names it.'),
    branch: example(branch, EXAMPLE.branch).optional(),
    config: config.optional().describe('The benchmark config (a JSON object or array), identified by its canonical JSON.'),
    architecture: example(architecture, EXAMPLE.architecture).optional(),
    environment: environment
      .optional()
      .describe('Facts about the machine (kernel, cpu_model, cores, hostname); merged under those in `data`.'),
    data: jsonValue,
  })
  .meta({
    id: 'BenchmarkResultsPush',
    description:
      '`data` is a results document: BenchmarkResultsEventix, valkey-perf-benchmark metrics.json rows, GithubActionBenchmarkResults, ' +
      "or seed 002's LLM benchmark records (llm-profile). " +
      'A field `data` gives and the request gives too must agree. A malformed document is refused whole: nothing is stored.',
  });
export type ResultsPushBody = z.infer<typeof resultsPushBody>;

const issueOut = z.object({ field: OUT.field, message: OUT.message });

export const pushResultOut = z
  .object({
    format: z.enum(FORMATS),
    runs: z.array(
      z.object({
        uid: OUT.uid,
        repo: OUT.repo,
        sha: OUT.sha,
        branch: OUT_NULLABLE.branch,
        architecture: OUT_NULLABLE.architecture,
        config: z.object({ id: z.number().int(), hash: OUT.configHash }).nullable(),
        metrics: z.number().int().describe('Metric points stored for this run.'),
        created_at: OUT.at,
      }),
    ),
    metrics: z.number().int(),
    skipped: z.array(issueOut).describe('Rows left out on purpose (valkey rows of failed benchmarks).'),
  })
  .meta({ id: 'BenchmarkPushResult' });

/** An id (digits) or a sha256 hash (64 hex digits). */
const configRef = z
  .string()
  .regex(/^(?:\d{1,15}|[0-9a-fA-F]{64})$/, { error: 'must be a config id or its 64-hex-digit hash' })
  .describe('A config id, or the sha256 of its canonical JSON.');

export const runsQuery = z.strictObject({
  repo: example(repo, EXAMPLE.repo).optional(),
  sha: sha.optional(),
  config: configRef.optional(),
  architecture: example(architecture, EXAMPLE.architecture).optional().describe('Empty: runs without an architecture.'),
  since: dateTime.optional().describe('Stored at or after this instant.'),
  until: dateTime.optional().describe('Stored before this instant.'),
  limit: z.coerce.number().int().min(1).max(500).optional(),
  cursor: z.string().min(1).max(200).optional(),
});

/** A tag filter of a query: tag → accepted values. Storable text only: PostgreSQL refuses NUL (a 500 otherwise). */
export const tagFilter = z.record(storable(z.string().min(1).max(200)), z.array(storable(z.string().max(1000))).min(1));

export const seriesQuery = z.strictObject({
  metric: example(metricName, EXAMPLE.metric),
  repo: example(repo, EXAMPLE.repo),
  config: configRef.optional(),
  architecture: example(architecture, EXAMPLE.architecture).optional().describe('Empty: runs without an architecture.'),
  branch: example(branch, EXAMPLE.branch).optional(),
  tags: tagFilter.optional().describe('Sent as tags[<name>]=<value>, repeated for any of several values; every tag named must match.'),
  since: dateTime.optional().describe('Commits ordered at or after this instant.'),
  until: dateTime.optional().describe('Commits ordered before this instant.'),
  limit: z.coerce.number().int().min(1).max(50_000).optional().describe('Newest points kept when more match (default 5000).'),
});
export type SeriesQueryWire = z.infer<typeof seriesQuery>;

const metricOut = z.object({
  name: OUT.metric,
  value: z.number(),
  unit: OUT_NULLABLE.unit,
  direction: z.enum(['higher', 'lower']).nullable(),
  tags: z.record(z.string(), z.unknown()),
});

export const runOut = z
  .object({
    uid: OUT.uid,
    repo: OUT.repo,
    sha: OUT.sha,
    branch: OUT_NULLABLE.branch,
    config: z.object({ id: z.number().int(), hash: OUT.configHash, name: OUT_NULLABLE.configName }).nullable(),
    architecture: OUT_NULLABLE.architecture,
    task_uid: OUT_NULLABLE.uid,
    repeat_index: z.number().int(),
    started_at: OUT_NULLABLE.at,
    finished_at: OUT_NULLABLE.at,
    environment: z.record(z.string(), z.unknown()),
    format: z.enum(FORMATS),
    created_at: OUT.at,
    metrics: z.array(metricOut),
  })
  .meta({ id: 'BenchmarkRunRecord' });

export const runPageOut = z.object({ runs: z.array(runOut), next_cursor: z.string().nullable() }).meta({ id: 'BenchmarkRunPage' });

export const seriesOut = z
  .object({
    metric: OUT.metric,
    repo: OUT.repo,
    points: z.array(
      z.object({
        sha: OUT.sha,
        committed_at: OUT_NULLABLE.at.describe('Committer time from commit tracking; null when the commit is not tracked.'),
        at: OUT.at.describe('The instant the commit is ordered by: committed_at, else its first run’s start.'),
        run_uid: OUT.uid,
        repeat_index: z.number().int(),
        architecture: OUT_NULLABLE.architecture,
        config_hash: OUT_NULLABLE.configHash,
        value: z.number(),
        unit: OUT_NULLABLE.unit,
        direction: z.enum(['higher', 'lower']).nullable(),
        tags: z.record(z.string(), z.unknown()),
      }),
    ),
    truncated: z.boolean().describe('More points matched than `limit`: the oldest were left out.'),
  })
  .meta({ id: 'BenchmarkSeries' });

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function pushResultToJson(r: PushResult): z.infer<typeof pushResultOut> {
  return {
    format: r.format,
    runs: r.runs.map((run) => ({
      uid: run.uid,
      repo: run.repo,
      sha: run.sha,
      branch: run.branch,
      architecture: run.architecture,
      config: run.config,
      metrics: run.metrics,
      created_at: run.createdAt.toISOString(),
    })),
    metrics: r.metrics,
    skipped: r.skipped,
  };
}

export function runToJson(r: StoredRun): z.infer<typeof runOut> {
  return {
    uid: r.uid,
    repo: r.repo,
    sha: r.sha,
    branch: r.branch,
    config: r.config,
    architecture: r.architecture,
    task_uid: r.taskUid,
    repeat_index: r.repeatIndex,
    started_at: iso(r.startedAt),
    finished_at: iso(r.finishedAt),
    environment: r.environment,
    format: r.format,
    created_at: r.createdAt.toISOString(),
    metrics: r.metrics,
  };
}

export function seriesPointToJson(p: SeriesPoint) {
  return {
    sha: p.sha,
    committed_at: iso(p.committedAt),
    at: p.at.toISOString(),
    run_uid: p.runUid,
    repeat_index: p.repeatIndex,
    architecture: p.architecture,
    config_hash: p.configHash,
    value: p.value,
    unit: p.unit,
    direction: p.direction,
    tags: p.tags,
  };
}

/** `config=<id or hash>` → the filter fields of the library. */
export function configFilter(ref: string | undefined): { configId?: number; configHash?: string } {
  if (ref === undefined) return {};
  return /^\d+$/.test(ref) ? { configId: Number(ref) } : { configHash: ref.toLowerCase() };
}
