import { type FieldIssue, NoCandidates, ValidationError } from '../../errors.ts';
import type { Logger } from '../../logger.ts';
import { isStorableText as storable } from '../../validation/storable.ts';
import { type BenchmarkRepository, type Candidate, stableJson } from './repository.ts';

/**
 * Nearest-profile lookup, as seed 002's `find_closest_benchmark` defines it: among the results
 * matching the exact tags (model, hardware, hardware count …), the one whose parameters (mean
 * input and output tokens; or clients and data size …) are closest to the target by relative
 * Euclidean distance, always taken however far (no rejection threshold), with the distance in
 * the answer and in the log.
 */

/** Most exact tags and target parameters one lookup may name. */
export const MAX_EXACT_TAGS = 32;
export const MAX_TARGETS = 16;

export interface NearestInput {
  /** Exact-match tags; numbers and booleans are matched through their text (`hardware_count: 1` ≡ `'1'`). */
  exact?: Readonly<Record<string, string | number | boolean>> | undefined;
  /** Target parameters, each > 0; strings must be decimal numbers ("512", "1.5e3"). */
  target: Readonly<Record<string, number | string>>;
  /** Only runs of this repository. */
  repo?: string | undefined;
}

export interface NearestQuery {
  exact: Record<string, string>;
  target: Record<string, number>;
  repo?: string | undefined;
}

export interface NearestNaming {
  /** Prefix of the issues about exact tags (`tags` in the API). Default `exact`. */
  exact?: string;
  /** Prefix of the issues about targets. Default `target`. */
  target?: string;
}

const NUMBER_TEXT = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/;

/**
 * Validate a lookup, naming each bad field (`target.mean_input_tokens`). A target must be a
 * finite number greater than 0: the distance divides by it, so 0 would make every candidate
 * infinitely far (or NaN away), and a negative one would flip the scale.
 */
export function nearestQuery(input: NearestInput, naming: NearestNaming = {}): NearestQuery {
  const ex = naming.exact ?? 'exact';
  const tg = naming.target ?? 'target';
  const issues: FieldIssue[] = [];
  const name = (prefix: string, key: string) => {
    if (key.length === 0 || key.length > 200 || !storable(key)) {
      issues.push({ field: `${prefix}.${key}`, message: 'names must have 1 to 200 characters, without NUL' });
      return false;
    }
    return true;
  };

  const exactEntries: [string, string][] = [];
  for (const [key, raw] of Object.entries(input.exact ?? {})) {
    if (!name(ex, key)) continue;
    const text = typeof raw === 'string' ? raw : typeof raw === 'number' || typeof raw === 'boolean' ? String(raw) : undefined;
    if (text === undefined || text.length > 1000 || !storable(text)) {
      issues.push({ field: `${ex}.${key}`, message: 'must be a string (at most 1000 characters, without NUL), a number or a boolean' });
    } else exactEntries.push([key, text]);
  }
  if (exactEntries.length > MAX_EXACT_TAGS) issues.push({ field: ex, message: `at most ${MAX_EXACT_TAGS} exact tags` });

  const targetEntries: [string, number][] = [];
  for (const [key, raw] of Object.entries(input.target ?? {})) {
    if (!name(tg, key)) continue;
    const n = typeof raw === 'number' ? raw : typeof raw === 'string' && NUMBER_TEXT.test(raw.trim()) ? Number(raw) : Number.NaN;
    if (!Number.isFinite(n)) {
      issues.push({ field: `${tg}.${key}`, message: `must be a finite number, not ${JSON.stringify(raw)}` });
    } else if (n <= 0) {
      issues.push({ field: `${tg}.${key}`, message: `must be greater than 0 (the distance divides by it), not ${n}` });
    } else if (input.exact && Object.hasOwn(input.exact, key)) {
      issues.push({
        field: `${tg}.${key}`,
        message: `is also an exact tag (${ex}.${key}): a field is matched exactly or by distance, not both`,
      });
    } else targetEntries.push([key, n]);
  }
  if (Object.keys(input.target ?? {}).length === 0) {
    issues.push({ field: tg, message: 'is required: give at least one target parameter (the distance is measured over them)' });
  }
  if (targetEntries.length > MAX_TARGETS) issues.push({ field: tg, message: `at most ${MAX_TARGETS} target parameters` });
  if (input.repo !== undefined && (input.repo.length === 0 || input.repo.length > 500 || !storable(input.repo))) {
    issues.push({ field: 'repo', message: 'must have 1 to 500 characters, without NUL' });
  }
  if (issues.length) throw new ValidationError(issues);
  return { exact: Object.fromEntries(exactEntries), target: Object.fromEntries(targetEntries), repo: input.repo };
}

/**
 * sqrt(Σ ((candidate_i − target_i) / target_i)²) over the target's parameters: seed 002's
 * `traffic_distance`, for any number of parameters. Relative, so that 100 tokens off a 150-token
 * prompt weighs as much as 1000 off a 1500-token one. Every target must be > 0 (nearestQuery
 * checks; this throws a RangeError for a caller that skipped it).
 */
export function relativeDistance(candidate: Readonly<Record<string, number>>, target: Readonly<Record<string, number>>): number {
  let sum = 0;
  for (const [key, t] of Object.entries(target)) {
    if (!(t > 0) || !Number.isFinite(t)) throw new RangeError(`target ${key} must be a finite number > 0, not ${t}`);
    const c = candidate[key];
    if (c === undefined || !Number.isFinite(c)) throw new RangeError(`candidate has no numeric ${key}`);
    const d = (c - t) / t;
    sum += d * d;
  }
  return Math.sqrt(sum);
}

export interface NearestResult {
  source: BenchmarkRepository['source'];
  /** The query as validated: exact tags as text, targets as numbers. */
  exact: Record<string, string>;
  target: Record<string, number>;
  /** The chosen profile's distance to the target (0: an exact match). */
  distance: number;
  /** How many profiles matched the exact tags and had every parameter. */
  candidates: number;
  /** How many of them lay at exactly this distance (1: no tie). */
  ties: number;
  result: Candidate;
}

/**
 * The nearest candidate. Ties (the same distance, compared exactly) go to the smaller parameter
 * values, parameter by parameter in name order, then to the tag set whose sorted JSON sorts
 * first: a rule that depends on the data only, so the file and the database agree, and the same
 * query always gets the same answer. (Seed 002 took the first in file order, which a database
 * does not have.) No candidate throws NoCandidates; the distance is logged at info.
 */
export async function findNearest(
  repo: BenchmarkRepository,
  input: NearestInput & { logger?: Logger | undefined },
  naming: NearestNaming = {},
): Promise<NearestResult> {
  const q = nearestQuery(input, naming);
  const params = Object.keys(q.target).sort();
  const candidates = await repo.candidates({ exact: q.exact, params, repo: q.repo });
  if (candidates.length === 0) {
    input.logger?.info({ source: repo.source, exact: q.exact, target: q.target, repo: q.repo }, 'no benchmark matches the exact tags');
    throw new NoCandidates(q.exact, params, q.repo);
  }

  let best: { c: Candidate; d: number; key: string } | undefined;
  let ties = 0;
  for (const c of candidates) {
    const d = relativeDistance(c.parameters, q.target);
    const cmp = best === undefined ? -1 : compare({ c, d }, best, params);
    if (best === undefined || d < best.d) ties = 1;
    else if (d === best.d) ties++;
    if (cmp < 0) best = { c, d, key: stableJson(c.tags) };
  }
  const chosen = best as { c: Candidate; d: number };

  const show = (values: Record<string, number>) =>
    `(${Object.keys(q.target)
      .map((k) => `${k}=${values[k]}`)
      .join(', ')})`;
  input.logger?.info(
    {
      source: repo.source,
      exact: q.exact,
      target: q.target,
      parameters: chosen.c.parameters,
      distance: chosen.d,
      candidates: candidates.length,
      ties,
      ...(chosen.c.run ? { run_uid: chosen.c.run.uid } : { record: chosen.c.record }),
    },
    `using benchmark with ${show(chosen.c.parameters)} for requested ${show(q.target)}, distance=${chosen.d.toFixed(3)}`,
  );
  return {
    source: repo.source,
    exact: q.exact,
    target: q.target,
    distance: chosen.d,
    candidates: candidates.length,
    ties,
    result: chosen.c,
  };
}

function compare(a: { c: Candidate; d: number; key?: string }, b: { c: Candidate; d: number; key: string }, params: string[]): number {
  if (a.d !== b.d) return a.d - b.d;
  for (const p of params) {
    const diff = (a.c.parameters[p] as number) - (b.c.parameters[p] as number);
    if (diff !== 0) return diff;
  }
  const ka = a.key ?? stableJson(a.c.tags);
  return ka < b.key ? -1 : ka > b.key ? 1 : 0;
}
