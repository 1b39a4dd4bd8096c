import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { z } from 'zod';
import { withTransaction } from '../db/transaction.ts';
import { type FieldIssue, ValidationError } from '../errors.ts';
import { issuesOf } from '../validation/zod.ts';
import { enqueueEvaluations } from './alerts/evaluate.ts';
import { canonicalConfig } from './canonical.ts';
import { upsertConfig } from './configs.ts';
import {
  architecture,
  branch,
  config,
  dateTime,
  environment,
  FORMATS,
  type Format,
  GAB_DIRECTIONS,
  type GabDirection,
  MAX_METRICS,
  MAX_RUNS,
  type NormalizedRun,
  parseResults,
  type RunField,
  repo,
  sha,
} from './formats/index.ts';
import { insertResults, type MetricRow, type RunRow } from './results.ts';

/**
 * Push benchmark results: parse a document in any supported format, fill each run's missing
 * run-level fields from the request, and store all runs and metric points in one transaction.
 * Everything is validated before anything is written, so a malformed document is refused whole
 * with every bad field named, and nothing of it is stored.
 *
 * Precedence: a field the file gives and the request gives too must agree (a file saying one
 * sha pushed as another is refused, naming both); a field only one of them gives is taken from
 * it; `repo` and `sha` must come from one or the other. Environment facts merge key by key, the
 * file's winning.
 */
export interface PushRequest {
  data: unknown;
  /** Absent or 'auto': detected from the document's shape. */
  format?: Format | 'auto' | undefined;
  /** github-action-benchmark only: which way is better for every entry. */
  direction?: GabDirection | undefined;
  repo?: string | undefined;
  sha?: string | undefined;
  branch?: string | undefined;
  config?: unknown;
  configName?: string | undefined;
  architecture?: string | undefined;
  environment?: Record<string, unknown> | undefined;
  /** Set by the sweep's benchmark.run task: the task that produced the results. */
  taskUid?: string | undefined;
  repeatIndex?: number | undefined;
  startedAt?: string | undefined;
  finishedAt?: string | undefined;
}

export interface PushNaming {
  /** Where the document sits in the request, prefixed to the paths of its issues (`data` in the API). */
  prefix?: string;
  /** How to name the document as a whole when there is no prefix (the CLI's `(file)`). */
  root?: string;
}

const requestSchema = z.object({
  format: z.enum([...FORMATS, 'auto']).optional(),
  direction: z.enum(GAB_DIRECTIONS).optional(),
  repo: repo.optional(),
  sha: sha.optional(),
  branch: branch.optional(),
  config: config.optional(),
  configName: z.string().min(1).max(200).optional(),
  architecture: architecture.optional(),
  environment: environment.optional(),
  taskUid: z.uuid().optional(),
  repeatIndex: z.number().int().min(0).max(1_000_000).optional(),
  startedAt: dateTime.optional(),
  finishedAt: dateTime.optional(),
});

export interface PreparedRun {
  run: Omit<RunRow, 'config_id'>;
  config: { value: unknown; canonical: string; hash: string; field: string } | undefined;
  metrics: Omit<MetricRow, 'run_uid'>[];
}

export interface PreparedResults {
  format: Format;
  runs: PreparedRun[];
  configName: string | undefined;
  /** Rows the format deliberately leaves out (valkey rows of failed benchmarks), with the reason. */
  skipped: FieldIssue[];
}

/** Parse and resolve without touching the database: what would be stored, or a ValidationError naming every bad field. */
export function prepareResults(request: PushRequest, naming: PushNaming = {}): PreparedResults {
  const { data, ...rest } = request;
  const req = requestSchema.safeParse(Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined)));
  if (!req.success) throw new ValidationError(issuesOf(req.error, '', '(request)'));
  const r = req.data;
  const parsed = parseResults(data, { format: r.format, direction: r.direction, prefix: naming.prefix, root: naming.root });
  const whole = naming.prefix || naming.root || '(file)';
  if (parsed.runs.length > MAX_RUNS) throw new ValidationError([{ field: whole, message: `at most ${MAX_RUNS} runs per push` }]);
  const points = parsed.runs.reduce((n, run) => n + run.metrics.length, 0);
  if (points > MAX_METRICS) throw new ValidationError([{ field: whole, message: `at most ${MAX_METRICS} metric points per push` }]);

  const issues: FieldIssue[] = [];
  const requestConfig = r.config === undefined ? undefined : canonicalConfig(r.config, 'config');
  const missing = new Set<string>();

  const runs = parsed.runs.map((run: NormalizedRun, i): PreparedRun => {
    const origin = parsed.origins[i] ?? {};
    // shas are both lowercase by now; every other field compares as written.
    const pick = (field: Exclude<RunField, 'config'>): string | undefined => {
      const fromFile = run[field];
      const fromRequest = r[field] || undefined;
      if (fromFile !== undefined && fromRequest !== undefined && fromFile !== fromRequest) {
        issues.push({
          field: origin[field] ?? field,
          message: `is ${JSON.stringify(fromFile)} but the request's ${field} is ${JSON.stringify(fromRequest)}`,
        });
      }
      return fromFile ?? fromRequest;
    };
    const repoValue = pick('repo');
    const shaValue = pick('sha');
    if (repoValue === undefined) missing.add('repo');
    if (shaValue === undefined) missing.add('sha');

    let cfg = requestConfig && { ...requestConfig, field: 'config' };
    if (run.config !== undefined) {
      const field = origin.config ?? 'config';
      const own = canonicalConfig(run.config, field);
      if (requestConfig && own.hash !== requestConfig.hash) {
        issues.push({ field, message: `is ${own.canonical} but the request's config is ${requestConfig.canonical}` });
      }
      cfg = { ...own, field };
    }

    return {
      run: {
        uid: randomUUID(),
        repo: repoValue ?? '',
        sha: shaValue ?? '',
        branch: pick('branch') ?? null,
        architecture: pick('architecture') ?? '',
        task_uid: run.task_uid ?? r.taskUid?.toLowerCase() ?? null,
        repeat_index: run.repeat_index ?? r.repeatIndex ?? 0,
        started_at: run.started_at ?? (r.startedAt ? new Date(r.startedAt).toISOString() : null),
        finished_at: run.finished_at ?? (r.finishedAt ? new Date(r.finishedAt).toISOString() : null),
        environment: { ...(r.environment ?? {}), ...(run.environment ?? {}) },
        format: parsed.format,
      },
      config: cfg && { value: cfg.value, canonical: cfg.canonical, hash: cfg.hash, field: cfg.field },
      metrics: run.metrics.map((m) => ({
        name: m.name,
        value: m.value,
        unit: m.unit ?? null,
        direction: m.direction ?? null,
        tags: m.tags ?? {},
      })),
    };
  });
  for (const field of missing) {
    issues.push({ field, message: `is required: the ${parsed.format} document does not give it, so the request must` });
  }
  if (issues.length) throw new ValidationError(issues.slice(0, 100));
  return { format: parsed.format, runs, configName: r.configName, skipped: parsed.skipped };
}

export interface PushedRun {
  uid: string;
  repo: string;
  sha: string;
  branch: string | null;
  architecture: string | null;
  config: { id: number; hash: string } | null;
  metrics: number;
  createdAt: Date;
}

export interface PushResult {
  format: Format;
  runs: PushedRun[];
  /** Metric points stored, over all runs. */
  metrics: number;
  skipped: FieldIssue[];
}

/**
 * Store prepared results with the caller's connection, inside the caller's transaction: one
 * upsert per distinct config (nearly always one), then one statement for every run and point, and
 * one that enqueues the re-evaluation of the series groups they touched (alerts/evaluate.ts).
 */
export async function storeResults(client: pg.ClientBase, prepared: PreparedResults): Promise<PushResult> {
  const configs = new Map<string, { id: number; hash: string }>();
  for (const p of prepared.runs) {
    if (p.config && !configs.has(p.config.hash)) {
      configs.set(p.config.hash, await upsertConfig(client, p.config.value, prepared.configName, p.config.field));
    }
  }
  const runs: RunRow[] = prepared.runs.map((p) => ({ ...p.run, config_id: p.config ? (configs.get(p.config.hash)?.id ?? null) : null }));
  const metrics: MetricRow[] = prepared.runs.flatMap((p) => p.metrics.map((m) => ({ run_uid: p.run.uid, ...m })));
  const inserted = await insertResults(client, runs, metrics);
  // The series these runs touched are re-evaluated by a task of our own queue, committed with the
  // runs: never inside this transaction's caller (a request, a push, a sweep), never lost.
  await enqueueEvaluations(
    client,
    runs.flatMap((r, i) =>
      (prepared.runs[i] as PreparedRun).metrics.map((m) => ({
        repo: r.repo,
        metric: m.name,
        configId: r.config_id,
        architecture: r.architecture,
      })),
    ),
  );
  return {
    format: prepared.format,
    runs: inserted.map((ins, i) => {
      const p = prepared.runs[i] as PreparedRun;
      return {
        uid: ins.uid,
        repo: p.run.repo,
        sha: p.run.sha,
        branch: p.run.branch,
        architecture: p.run.architecture || null,
        config: p.config ? (configs.get(p.config.hash) ?? null) : null,
        metrics: ins.metrics,
        createdAt: ins.createdAt,
      };
    }),
    metrics: inserted.reduce((n, r) => n + r.metrics, 0),
    skipped: prepared.skipped,
  };
}

/** Validate, then store in a transaction of its own: every run and point of the document, or nothing. */
export async function pushResults(pool: Pick<pg.Pool, 'connect'>, request: PushRequest, naming: PushNaming = {}): Promise<PushResult> {
  return pushPrepared(pool, prepareResults(request, naming)); // refuse bad input before taking a connection
}

/** Store results prepared (and so validated) earlier, in a transaction of their own. */
export async function pushPrepared(pool: Pick<pg.Pool, 'connect'>, prepared: PreparedResults): Promise<PushResult> {
  return withTransaction(pool, (client) => storeResults(client, prepared));
}
