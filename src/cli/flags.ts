import { coerceError } from '../logger.ts';

/** A flag the user got wrong: reported as `eventix: --flag: …`, naming it. */
export class UsageError extends Error {}

/** A JSON-valued flag (`--args '[1, 2]'`), or undefined when not given. */
export function parseJsonFlag(flag: string, value: string | undefined): unknown {
  if (value === undefined) return undefined;
  try {
    return JSON.parse(value);
  } catch (err) {
    throw new UsageError(`--${flag}: malformed JSON: ${coerceError(err).message}`);
  }
}

/** A whole-number flag (`--limit 50`), or undefined when not given. */
export function parseIntegerFlag(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^-?\d+$/.test(value)) throw new UsageError(`--${flag}: expected a whole number, got ${JSON.stringify(value)}`);
  return Number(value);
}
