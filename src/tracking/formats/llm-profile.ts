import { type FieldIssue, ValidationError } from '../../errors.ts';
import { isStorableText as storable } from '../../validation/storable.ts';
import { joinPath, MAX_METRICS, MAX_RUNS, type NormalizedMetric, type NormalizedRun, type ParsedResults } from './normalized.ts';

/**
 * LLM serving benchmarks in seed 002's `benchmarks.json` schema (the one aligned with its
 * PostgreSQL `exported_summaries` table): a JSON array of flat records, or `{"benchmarks": […]}`,
 * one record per (model, hardware, hardware count, traffic profile):
 *
 * ```json
 * {"benchmarks": [{"model_hf_repo": "meta-llama/Llama-3.1-8B-Instruct", "hardware": "H100", "hardware_count": 1,
 *   "framework": "vllm", "framework_version": "0.6.2",
 *   "mean_input_tokens": 512, "mean_output_tokens": 256, "prompt_tokens": 512, "prompt_tokens_stdev": 40,
 *   "ttft_mean": 61.2, "ttft_p90": 80.4, "itl_mean": 9.1, "itl_p90": 11.8, "e2e_mean": 2391, "e2e_p90": 3100,
 *   "tokens_per_second": 4210.5, "requests_per_second": 16.4}]}
 * ```
 *
 * Each record becomes one run (the file names no repo or commit: the push gives them). Fields:
 * - `model_hf_repo`, `hardware` (strings) and `hardware_count` (a whole number ≥ 1) are required,
 *   and with `framework` and `framework_version` are the exact-match fields of a lookup: tags;
 * - the traffic characteristics `mean_input_tokens`, `mean_output_tokens` (both required),
 *   `prompt_tokens*` and `output_tokens*` (a finite number ≥ 0) are the parameters a
 *   nearest-profile lookup measures distance over: numeric tags, so that a lookup and
 *   `GET /benchmarks/series?tags[…]` can both select on them;
 * - `ttft_*`, `itl_*`, `e2e_*` (mean, median, min, max, stdev, pNN) → metrics in ms, lower is
 *   better; `tokens_per_second` → tokens/s and `requests_per_second` → req/s, higher is better.
 *   At least one metric per record;
 * - any other string, number or boolean (max_num_seqs, a record id, …) → a tag too, as the
 *   valkey format does with its unknown fields; `null` is absent; objects and arrays are refused,
 *   since a tag is matched as one value;
 * - the names seed 002 renamed (`model_id`, `gpu_type`, `tensor_parallel`, `tpot_*`,
 *   `ttft_p50_ms`, `throughput_tokens_per_sec`, `max_qps`) are refused with the new name, rather
 *   than stored as tags a lookup would never match.
 *
 * Every tag goes on every metric of its record: a record's metrics share one tag set, which is
 * the profile a lookup identifies (src/tracking/nearest/).
 */

export const LLM_EXACT_FIELDS = ['model_hf_repo', 'hardware', 'hardware_count', 'framework', 'framework_version'] as const;
const REQUIRED_STRINGS = ['model_hf_repo', 'hardware'] as const;
const OPTIONAL_STRINGS = ['framework', 'framework_version'] as const;
const REQUIRED_TRAFFIC = ['mean_input_tokens', 'mean_output_tokens'] as const;
const TRAFFIC = /^(?:mean_input_tokens|mean_output_tokens|(?:prompt|output)_tokens(?:_(?:stdev|min|max|mean|median|p\d{1,2}))?)$/;
const LATENCY = /^(?:ttft|itl|e2e)_(?:mean|median|min|max|stdev|p\d{1,2}(?:\.\d+)?)$/;
const THROUGHPUT: Record<string, string> = { tokens_per_second: 'tokens/s', requests_per_second: 'req/s' };
const MAX_TAG_NAME = 200;

/** Seed 002's phase-1 renames: an old file is refused naming the field to rename, not half-imported. */
const RENAMED: [RegExp, (name: string) => string][] = [
  [/^model_id$/, () => 'model_hf_repo'],
  [/^gpu_type$/, () => 'hardware'],
  [/^tensor_parallel$/, () => 'hardware_count'],
  [/^tpot_(.+)$/, (n) => `itl_${n.slice('tpot_'.length)}`],
  [/^ttft_p50_ms$/, () => 'ttft_mean'],
  [/^throughput_tokens_per_sec$/, () => 'tokens_per_second'],
  [/^max_qps$/, () => 'requests_per_second'],
];

// JSON.stringify writes NaN as null: say what the value is.
const show = (v: unknown) => (typeof v === 'number' ? String(v) : JSON.stringify(v));
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A seed-002 record, by the one field every record has and no other format uses. */
export function looksLikeLlmProfileRow(v: unknown): boolean {
  return isObject(v) && 'model_hf_repo' in v;
}

/** `{"benchmarks": [...]}`, the wrapper seed 002's benchmarks.json has. */
export function looksLikeLlmProfileDocument(v: unknown): boolean {
  return isObject(v) && (Array.isArray(v.benchmarks) || v.format === 'llm-profile');
}

export function parseLlmProfile(data: unknown, prefix = '', root = '(file)'): ParsedResults {
  const here = (...path: (string | number)[]) => joinPath(prefix, ...path) || root;
  let records: unknown = data;
  let base: (string | number)[] = [];
  if (isObject(data)) {
    // Other top-level keys (a description, a version) are metadata of the file, not results.
    if (data.format !== undefined && data.format !== 'llm-profile') {
      throw new ValidationError([{ field: here('format'), message: "must be 'llm-profile' when given" }]);
    }
    records = data.benchmarks;
    base = ['benchmarks'];
  }
  if (!Array.isArray(records)) {
    throw new ValidationError([{ field: here(...base), message: 'must be a JSON array of benchmark records (or {"benchmarks": [...]})' }]);
  }
  if (records.length === 0) throw new ValidationError([{ field: here(...base), message: 'must hold at least one record' }]);
  if (records.length > MAX_RUNS) throw new ValidationError([{ field: here(...base), message: `at most ${MAX_RUNS} records per push` }]);

  const issues: FieldIssue[] = [];
  const runs: NormalizedRun[] = [];
  let points = 0;

  records.forEach((record: unknown, i) => {
    const at = (key?: string) => (key === undefined ? here(...base, i) : here(...base, i, key));
    if (!isObject(record)) {
      issues.push({ field: at(), message: 'must be a JSON object (a benchmark record)' });
      return;
    }
    // Entries, then fromEntries: a field named __proto__ stays a field instead of becoming a prototype.
    const tags: [string, unknown][] = [];
    const metrics: NormalizedMetric[] = [];
    let metricFields = 0;
    // Token counts, latencies and rates are all measured quantities: negative is a broken record.
    const finite = (key: string, value: unknown): value is number => {
      if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return true;
      issues.push({ field: at(key), message: `must be a finite JSON number ≥ 0, not ${show(value)}` });
      return false;
    };

    for (const key of [...REQUIRED_STRINGS, ...REQUIRED_TRAFFIC, 'hardware_count']) {
      if (record[key] === undefined || record[key] === null) issues.push({ field: at(key), message: 'is required in every record' });
    }
    for (const [key, value] of Object.entries(record)) {
      if (value === null) continue;
      const renamed = RENAMED.find(([pattern]) => pattern.test(key));
      if (renamed) {
        issues.push({ field: at(key), message: `is seed 002's old name: rename it to ${renamed[1](key)}` });
      } else if ((REQUIRED_STRINGS as readonly string[]).includes(key) || (OPTIONAL_STRINGS as readonly string[]).includes(key)) {
        if (typeof value === 'string' && value.length > 0 && value.length <= 1000 && storable(value)) tags.push([key, value]);
        else issues.push({ field: at(key), message: 'must be a non-empty string of at most 1000 characters, without NUL' });
      } else if (key === 'hardware_count') {
        if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 1) tags.push([key, value]);
        else issues.push({ field: at(key), message: `must be a whole number ≥ 1, not ${show(value)}` });
      } else if (TRAFFIC.test(key)) {
        if (finite(key, value)) tags.push([key, value]);
      } else if (LATENCY.test(key)) {
        metricFields++;
        if (finite(key, value)) metrics.push({ name: key, value, unit: 'ms', direction: 'lower' });
      } else if (Object.hasOwn(THROUGHPUT, key)) {
        metricFields++;
        if (finite(key, value)) metrics.push({ name: key, value, unit: THROUGHPUT[key] as string, direction: 'higher' });
      } else if (key.length === 0 || key.length > MAX_TAG_NAME || !storable(key)) {
        issues.push({
          field: at(key),
          message: `field names must have 1 to ${MAX_TAG_NAME} characters, without NUL (the field becomes a tag)`,
        });
      } else if (typeof value === 'string') {
        if (storable(value)) tags.push([key, value]);
        else issues.push({ field: at(key), message: 'must not contain NUL characters or lone surrogates' });
      } else if (typeof value === 'number') {
        if (Number.isFinite(value)) tags.push([key, value]);
        else issues.push({ field: at(key), message: `must be a finite JSON number, not ${value}` });
      } else if (typeof value === 'boolean') {
        tags.push([key, value]);
      } else {
        issues.push({
          field: at(key),
          message: 'must be a string, number or boolean: an unknown field becomes a tag, matched as one value',
        });
      }
    }
    // A record whose only metrics are malformed has those named already.
    if (metricFields === 0) {
      issues.push({
        field: at(),
        message: 'has no metric: give at least one of ttft_*, itl_*, e2e_*, tokens_per_second, requests_per_second',
      });
    }
    const tagObject = Object.fromEntries(tags);
    points += metrics.length;
    runs.push({ metrics: metrics.map((m) => ({ ...m, tags: { ...tagObject } })) });
  });

  if (issues.length) throw new ValidationError(issues.slice(0, 100));
  if (points > MAX_METRICS) throw new ValidationError([{ field: here(...base), message: `at most ${MAX_METRICS} metric points per push` }]);
  return { runs, origins: runs.map(() => ({})), skipped: [] };
}
