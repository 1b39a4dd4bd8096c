import { z } from 'zod';
import { ValidationError } from '../../errors.ts';
import { issuesOf } from '../../validation/zod.ts';
import { type Direction, MAX_METRICS, metricName, type ParsedResults, unit } from './normalized.ts';

/**
 * github-action-benchmark's custom format (tools `customBiggerIsBetter` and
 * `customSmallerIsBetter`): a JSON array of `{name, value, unit}` with optional `range` and
 * `extra` strings.
 *
 * ```json
 * [{"name": "claim 1000 tasks", "value": 41.7, "unit": "ms", "range": "± 2.1", "extra": "30 samples"}]
 * ```
 *
 * The whole file is one run. That tool knows which way is better from the tool name only, so
 * the push takes it as `direction: bigger-is-better | smaller-is-better` for every entry; without
 * it, each entry's direction is guessed from its unit ({@link directionOfUnit}), and stays
 * unknown when the unit says nothing. `range` and `extra` are validated but not stored: they
 * describe one measurement, and as tags they would split every series by their changing text.
 */

export const GAB_DIRECTIONS = ['bigger-is-better', 'smaller-is-better'] as const;
export type GabDirection = (typeof GAB_DIRECTIONS)[number];

export const gabEntry = z
  .strictObject({
    name: metricName,
    value: z.number({ error: 'must be a finite JSON number' }),
    unit,
    range: z.string().max(1000).optional(),
    extra: z.string().max(10_000).optional(),
  })
  .meta({ id: 'GithubActionBenchmarkEntry' });

export const gabResults = z
  .array(gabEntry, { error: 'must be a JSON array of {name, value, unit}' })
  .min(1, { error: 'must hold at least one entry' })
  .max(MAX_METRICS, { error: `at most ${MAX_METRICS} entries per push` })
  .meta({ id: 'GithubActionBenchmarkResults', description: 'github-action-benchmark custom format (format "github-action-benchmark")' });

// Rates (per second, operations, hertz) are better higher; durations and sizes lower.
const RATE = /(?:\/\s*(?:s|sec|secs|second|seconds)$|\bper\s*(?:s|sec|second)$|\b(?:ops|qps|rps|tps|hz|khz|mhz|ghz)\b)/i;
const TIME = /^(?:ns|nsec|us|usec|µs|μs|ms|msec|s|sec|secs|seconds?|min|minutes?|h|hours?)(?:\s*\/\s*[a-z]+)?$/i;
const SIZE = /^(?:b|bytes?|kb|kib|mb|mib|gb|gib|allocs?)(?:\s*\/\s*[a-z]+)?$/i;

/** Which way is better for a unit, when the unit makes it plain: `ops/sec` higher, `ns/iter` lower. */
export function directionOfUnit(u: string): Direction | undefined {
  const t = u.trim();
  if (RATE.test(t)) return 'higher';
  if (TIME.test(t) || SIZE.test(t)) return 'lower';
  return undefined;
}

export function parseGithubActionBenchmark(
  data: unknown,
  opts: { direction?: GabDirection } = {},
  prefix = '',
  root = '(file)',
): ParsedResults {
  const parsed = gabResults.safeParse(data);
  if (!parsed.success) throw new ValidationError(issuesOf(parsed.error, prefix, prefix || root));
  const forced: Direction | undefined =
    opts.direction === 'bigger-is-better' ? 'higher' : opts.direction === 'smaller-is-better' ? 'lower' : undefined;
  const metrics = parsed.data.map((e) => {
    const d = forced ?? directionOfUnit(e.unit);
    return { name: e.name, value: e.value, ...(e.unit ? { unit: e.unit } : {}), ...(d ? { direction: d } : {}) };
  });
  return { runs: [{ metrics }], origins: [{}], skipped: [] };
}
