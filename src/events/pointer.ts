/**
 * JSON Pointer (RFC 6901): how filters and templates name a place in an event's payload.
 * `""` is the whole payload, `/commit/sha` a nested field, `/files/0` the first array item;
 * `~1` stands for `/` and `~0` for `~` inside a key (`/a~1b` is the key `a/b`).
 */

/** "" or a sequence of `/token`, where `~` only appears as `~0` or `~1`. */
export const POINTER_PATTERN = /^(\/([^~/]|~[01])*)*$/;
export const POINTER_MESSAGE = 'must be a JSON pointer: "" or "/key/0/…", with ~0 for ~ and ~1 for / inside a key';

export function isPointer(p: string): boolean {
  return POINTER_PATTERN.test(p);
}

/** "/a~1b/0" → ["a/b", "0"]. Throws on text that is not a pointer (validate first). */
export function parsePointer(p: string): string[] {
  if (!isPointer(p)) throw new TypeError(`not a JSON pointer: ${JSON.stringify(p)}`);
  if (p === '') return [];
  // ~1 before ~0, as RFC 6901 §4 requires: "~01" is the key "~1", not "/".
  return p
    .slice(1)
    .split('/')
    .map((t) => t.replaceAll('~1', '/').replaceAll('~0', '~'));
}

export type Resolved = { found: true; value: unknown } | { found: false };

const INDEX = /^(0|[1-9]\d*)$/;

/**
 * The value `pointer` names in `doc`. Only own properties count: `/constructor` or `/__proto__`
 * never reach into Object.prototype, so a payload cannot make a filter or template see anything
 * but its own data. Array tokens must be canonical indexes ("-" and "01" name nothing).
 */
export function resolvePointer(doc: unknown, pointer: string | readonly string[]): Resolved {
  const tokens = typeof pointer === 'string' ? parsePointer(pointer) : pointer;
  let current: unknown = doc;
  for (const token of tokens) {
    if (Array.isArray(current)) {
      if (!INDEX.test(token)) return { found: false };
      const i = Number(token);
      if (i >= current.length) return { found: false };
      current = current[i];
    } else if (current !== null && typeof current === 'object') {
      if (!Object.hasOwn(current, token)) return { found: false };
      current = (current as Record<string, unknown>)[token];
    } else {
      return { found: false };
    }
  }
  return { found: true, value: current };
}
