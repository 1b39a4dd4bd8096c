import { type FieldIssue, ValidationError } from '../../errors.ts';
import { jsonValue } from '../../validation/json.ts';
import {
  compact,
  joinPath,
  MAX_METRICS,
  type NormalizedMetric,
  type NormalizedRun,
  type ParsedResults,
  type RunField,
  SHA_PATTERN,
} from './normalized.ts';

/**
 * valkey-perf-benchmark's `metrics.json`: a JSON array of flat rows, one per (command, data size,
 * pipeline, clients, …) measured on one commit, as its MetricsProcessor writes them:
 *
 * ```json
 * [{"timestamp": "2026-05-19T22:02:03-04:00", "commit": "<sha>", "repository": null,
 *   "command": "SET", "data_size": 16, "pipeline": 10, "clients": 50, "cluster_mode": false, "tls": false,
 *   "rps": 182000.5, "avg_latency_ms": 0.261, "p50_latency_ms": 0.255, "p99_latency_ms": 0.415, …,
 *   "requests": 10000000, "benchmark_mode": "requests", "architecture": "x86_64", "env_kernel_version": "6.8.0"}]
 * ```
 *
 * Each field becomes:
 * - `rps` → metric `rps`, unit `req/s`, higher is better (required in every successful row);
 * - every `*_latency_ms` → a metric of that name, unit `ms`, lower is better (a number, as rps);
 * - `commit` → the run's sha when it is a full sha (the seed writes the literal `HEAD` when it
 *   ran without one; then the request's sha is used); `repository` → repo; `architecture` →
 *   architecture; `timestamp` (the commit's time, as the seed records it) → environment
 *   `commit_time`; each `env_<key>` → environment `<key>` (`env_kernel_version` → `kernel`);
 * - `status` decides whether the row is kept: a row whose status is present and not `success`
 *   is a failed benchmark, left out and reported as skipped;
 * - every other field (command, data_size, pipeline, clients, cluster_mode, tls, requests,
 *   io_threads, warmup, test_id, …) → a tag of every metric of the row. Other `null` fields are absent.
 *
 * Rows of one commit (same commit, repository and architecture) form one run; a file holding
 * rows of several commits gives several runs.
 */

const RUN_FIELDS = new Set(['commit', 'repository', 'architecture', 'timestamp', 'status']);
const LATENCY = /_latency_ms$/;
const ENV_RENAMES = new Map([['kernel_version', 'kernel']]);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function looksLikeValkeyRow(v: unknown): boolean {
  return isObject(v) && ('rps' in v || Object.keys(v).some((k) => LATENCY.test(k)) || ('command' in v && !('name' in v)));
}

interface Group {
  run: NormalizedRun;
  origin: Partial<Record<RunField, string>>;
}

export function parseValkey(data: unknown, prefix = '', root = '(file)'): ParsedResults {
  const here = (...path: (string | number)[]) => joinPath(prefix, ...path) || root;
  if (!Array.isArray(data)) throw new ValidationError([{ field: here(), message: 'must be a JSON array of metrics.json rows' }]);
  if (data.length === 0) throw new ValidationError([{ field: here(), message: 'must hold at least one row' }]);
  const storable = jsonValue.safeParse(data);
  if (!storable.success) {
    throw new ValidationError(storable.error.issues.map((i) => ({ field: here(...i.path.map(String)), message: i.message })));
  }

  const issues: FieldIssue[] = [];
  const skipped: FieldIssue[] = [];
  const groups = new Map<string, Group>();
  let points = 0;

  data.forEach((row: unknown, i) => {
    if (!isObject(row)) {
      issues.push({ field: here(i), message: 'must be a JSON object (a metrics.json row)' });
      return;
    }
    const str = (key: string): string | undefined => {
      const v = row[key];
      if (v === undefined || v === null) return undefined;
      if (typeof v !== 'string') {
        issues.push({ field: here(i, key), message: 'must be a string' });
        return undefined;
      }
      return v;
    };
    const status = str('status');
    const commit = str('commit');
    const repository = str('repository');
    const arch = str('architecture');
    const timestamp = str('timestamp');

    if (status !== undefined && status !== 'success') {
      skipped.push({ field: here(i), message: `status '${status}': a failed benchmark, not stored` });
      return;
    }

    const metrics: NormalizedMetric[] = [];
    // Entries, then fromEntries: a field named __proto__ stays a field instead of becoming a prototype.
    const tagEntries: [string, unknown][] = [];
    const envEntries: [string, unknown][] = [];
    const number = (key: string): number | undefined => {
      const v = row[key];
      if (typeof v === 'number' && Number.isFinite(v)) return v;
      issues.push({
        field: here(i, key),
        message: v === undefined ? 'is required: every successful row has rps' : `must be a finite JSON number, not ${JSON.stringify(v)}`,
      });
      return undefined;
    };

    const rps = number('rps');
    if (rps !== undefined) metrics.push({ name: 'rps', value: rps, unit: 'req/s', direction: 'higher' });
    for (const [key, value] of Object.entries(row)) {
      if (key === 'rps' || RUN_FIELDS.has(key)) continue;
      if (LATENCY.test(key)) {
        const v = number(key);
        if (v !== undefined) metrics.push({ name: key, value: v, unit: 'ms', direction: 'lower' });
      } else if (value === null) {
        // absent
      } else if (key.startsWith('env_') && key.length > 4) {
        const name = key.slice(4);
        envEntries.push([ENV_RENAMES.get(name) ?? name, value]);
      } else {
        tagEntries.push([key, value]);
      }
    }
    if (timestamp !== undefined) envEntries.push(['commit_time', timestamp]);
    const rowTags = Object.fromEntries(tagEntries);
    const env = Object.fromEntries(envEntries);
    points += metrics.length;

    const rowSha = commit !== undefined && SHA_PATTERN.test(commit) ? commit.toLowerCase() : undefined;
    const key = JSON.stringify([rowSha ?? null, repository ?? null, arch ?? null]);
    let group = groups.get(key);
    if (!group) {
      group = {
        run: compact({ repo: repository, sha: rowSha, architecture: arch || undefined, environment: {}, metrics: [] }),
        origin: compact({
          repo: repository !== undefined ? here(i, 'repository') : undefined,
          sha: rowSha !== undefined ? here(i, 'commit') : undefined,
          architecture: arch ? here(i, 'architecture') : undefined,
        }),
      };
      groups.set(key, group);
    }
    // Every row of a run repeats the environment; the first row's value of a key stands.
    group.run.environment = { ...env, ...group.run.environment };
    for (const m of metrics) group.run.metrics.push({ ...m, tags: { ...rowTags } });
  });

  if (issues.length) throw new ValidationError(issues.slice(0, 100));
  if (groups.size === 0) throw new ValidationError([{ field: here(), message: 'holds no successful row: every row was skipped' }]);
  if (points > MAX_METRICS) throw new ValidationError([{ field: here(), message: `at most ${MAX_METRICS} metric points per push` }]);
  const runs = [...groups.values()].map((g) => {
    const run = g.run;
    if (run.environment && Object.keys(run.environment).length === 0) delete run.environment;
    return run;
  });
  return { runs, origins: [...groups.values()].map((g) => g.origin), skipped };
}
