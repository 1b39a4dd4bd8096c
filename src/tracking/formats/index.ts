import { ValidationError } from '../../errors.ts';
import { parseEventix } from './eventix.ts';
import { type GabDirection, parseGithubActionBenchmark } from './github-action-benchmark.ts';
import { looksLikeLlmProfileDocument, looksLikeLlmProfileRow, parseLlmProfile } from './llm-profile.ts';
import { FORMATS, type Format, type ParsedResults } from './normalized.ts';
import { looksLikeValkeyRow, parseValkey } from './valkey.ts';

export { directionOfUnit, GAB_DIRECTIONS, type GabDirection } from './github-action-benchmark.ts';
export { LLM_EXACT_FIELDS } from './llm-profile.ts';
export * from './normalized.ts';

export interface ParseOptions {
  /** The format, or absent (or 'auto') to detect it from the document's shape. */
  format?: Format | 'auto' | undefined;
  /** github-action-benchmark only: which way is better for every entry. */
  direction?: GabDirection | undefined;
  /** Where the document sits in the request, prefixed to every issue's path (`data` in the API). */
  prefix?: string;
  /** How an issue about the whole document is named when there is no prefix (the CLI's file). */
  root?: string;
}

/**
 * Which format a document is in, from its shape alone:
 * - an object with `runs` (or `"format": "eventix"`) is eventix;
 * - an array whose first row has `rps`, a `*_latency_ms` field, or `command` (and no `name`) is valkey;
 * - an array whose first entry has `name` and `value` is github-action-benchmark;
 * - an array whose first record has `model_hf_repo`, or an object with a `benchmarks` array, is
 *   llm-profile (seed 002's benchmarks.json). Checked first: such a record has no valkey field.
 * Anything else is refused with a request to say the format.
 */
export function detectFormat(data: unknown): Format | undefined {
  if (Array.isArray(data)) {
    const first: unknown = data[0];
    if (looksLikeLlmProfileRow(first)) return 'llm-profile';
    if (looksLikeValkeyRow(first)) return 'valkey';
    if (typeof first === 'object' && first !== null && 'name' in first && 'value' in first) return 'github-action-benchmark';
    return undefined;
  }
  if (looksLikeLlmProfileDocument(data)) return 'llm-profile';
  if (typeof data === 'object' && data !== null && ('runs' in data || (data as { format?: unknown }).format === 'eventix'))
    return 'eventix';
  return undefined;
}

/** Parse a results document in any supported format into runs of metric points, or throw naming each bad field. */
export function parseResults(data: unknown, opts: ParseOptions = {}): ParsedResults & { format: Format } {
  const prefix = opts.prefix ?? '';
  const root = opts.root ?? '(file)';
  const where = prefix || root;
  let format = opts.format === 'auto' ? undefined : opts.format;
  if (format === undefined) {
    if (Array.isArray(data) && data.length === 0) throw new ValidationError([{ field: where, message: 'is an empty array: no results' }]);
    format = detectFormat(data);
    if (format === undefined) {
      throw new ValidationError([
        { field: where, message: `is in no format Eventix recognizes; give the format (${FORMATS.join(', ')}) explicitly` },
      ]);
    }
  }
  if (opts.direction !== undefined && format !== 'github-action-benchmark') {
    throw new ValidationError([{ field: 'direction', message: 'applies only to the github-action-benchmark format' }]);
  }
  switch (format) {
    case 'eventix':
      return { format, ...parseEventix(data, prefix, root) };
    case 'valkey':
      return { format, ...parseValkey(data, prefix, root) };
    case 'github-action-benchmark':
      return { format, ...parseGithubActionBenchmark(data, { direction: opts.direction }, prefix, root) };
    case 'llm-profile':
      return { format, ...parseLlmProfile(data, prefix, root) };
    default:
      throw new ValidationError([{ field: 'format', message: `must be one of ${FORMATS.join(', ')}` }]);
  }
}
