import { createHash } from 'node:crypto';
import { ValidationError } from '../errors.ts';
import { isStorableText as storable } from '../validation/storable.ts';

/**
 * The identity of a benchmark config: its canonical JSON, and the sha256 of that text.
 *
 * - Object keys are sorted at every level, by UTF-16 code unit (never localeCompare: the order
 *   must not depend on the machine's locale). Arrays keep their order: [16, 64] and [64, 16] are
 *   two configs, as in the seed, where the stored jsonb compared arrays in order.
 * - Numbers are written the way ECMAScript writes them (the shortest text that reads back as the
 *   same double, as RFC 8785 does), after -0 becomes 0; so 1.0, 1 and 1e0 are one config.
 *   Integers beyond ±(2^53 − 1) are refused: JSON.parse has already rounded them, so two
 *   different configs could share one text. NaN and the infinities are not JSON and are refused.
 * - Strings are written by JSON.stringify. NUL characters and lone surrogates are refused, since
 *   PostgreSQL can store neither in text or jsonb.
 * - No whitespace anywhere.
 *
 * The results store (benchmark runs) names configs through the same rows, so it must hash with
 * these same functions.
 */

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export interface CanonicalConfig {
  /** The config after normalisation (-0 → 0): what canonical text parses back to. */
  value: JsonValue;
  canonical: string;
  /** sha256 of `canonical`, lowercase hex. */
  hash: string;
}

/** Deeper than this is refused rather than risk the stack; real configs are a few levels deep. */
const MAX_DEPTH = 64;

export class CanonicalJsonError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path || '(root)'}: ${message}`);
    this.name = 'CanonicalJsonError';
  }
}

const byCodeUnit = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function write(value: unknown, path: string, depth: number): string {
  if (depth > MAX_DEPTH) throw new CanonicalJsonError(path, `is nested more than ${MAX_DEPTH} levels deep`);
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number': {
      if (!Number.isFinite(value)) throw new CanonicalJsonError(path, 'numbers must be finite');
      if (Number.isInteger(value) && !Number.isSafeInteger(value)) {
        throw new CanonicalJsonError(path, 'integers beyond ±(2^53 − 1) cannot be kept exactly; write it as a string');
      }
      return JSON.stringify(Object.is(value, -0) ? 0 : value);
    }
    case 'string':
      if (!storable(value)) throw new CanonicalJsonError(path, 'strings must not contain NUL characters or lone surrogates');
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) return `[${value.map((v, i) => write(v, `${path}[${i}]`, depth + 1)).join(',')}]`;
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) throw new CanonicalJsonError(path, 'is not a plain JSON object');
      const keys = Object.keys(value).sort(byCodeUnit);
      const parts: string[] = [];
      for (const key of keys) {
        const v = (value as Record<string, unknown>)[key];
        if (v === undefined) continue;
        if (!storable(key)) throw new CanonicalJsonError(path, 'keys must not contain NUL characters or lone surrogates');
        parts.push(`${JSON.stringify(key)}:${write(v, path ? `${path}.${key}` : key, depth + 1)}`);
      }
      return `{${parts.join(',')}}`;
    }
    default:
      throw new CanonicalJsonError(path, `a config cannot hold a ${typeof value}`);
  }
}

/** The canonical JSON text of a value; throws CanonicalJsonError naming the offending place. */
export function canonicalJson(value: unknown): string {
  return write(value, '', 0);
}

export function configHash(canonical: string): string {
  return createHash('sha256').update(canonical, 'utf8').digest('hex');
}

/** Canonical text, hash and normalised value in one go. */
export function canonicalize(value: unknown): CanonicalConfig {
  const canonical = canonicalJson(value);
  return { value: JSON.parse(canonical) as JsonValue, canonical, hash: configHash(canonical) };
}

/** canonicalize, with a failure reported as a ValidationError on `field` (API bodies, CLI files). */
export function canonicalConfig(value: unknown, field = 'config'): CanonicalConfig {
  try {
    return canonicalize(value);
  } catch (err) {
    if (err instanceof CanonicalJsonError) {
      throw new ValidationError([{ field: err.path ? `${field}.${err.path}` : field, message: err.message.replace(/^[^:]*: /, '') }]);
    }
    throw err;
  }
}
