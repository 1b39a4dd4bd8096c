import type { JsonValue } from './canonical.ts';

/**
 * Subset detection, by the seed's rules (valkey-perf-benchmark's postgres_track_commits.py):
 * a commit already benchmarked with a config that covers this one need not be benchmarked again.
 *
 * `covers(superset, subset)`:
 * - two objects: every key of the subset is present in the superset, and for each key
 *   - both values arrays: every element of the subset's array is (deep-)equal to some element of
 *     the superset's array (order and repetition do not matter);
 *   - otherwise: the values are deep-equal (a nested object must match exactly, not as a subset);
 * - two arrays (a config file that is a list of config objects): every object of the subset is
 *   covered, by the object rule, by some object of the superset; a non-object element covers and
 *   is covered by nothing;
 * - anything else (an object against an array, scalars): not covered. Identical configs are the
 *   same row, found by their hash, not by this function.
 *
 * Equality is JSON equality on canonical values: 1 and 1.0 are equal (canonicalisation made them
 * one number), true and 1 are not (Python's `True == 1` was an accident of the seed's language).
 */

type JsonObject = { [key: string]: JsonValue };

const isObject = (v: JsonValue): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

export function jsonEqual(a: JsonValue, b: JsonValue): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => jsonEqual(x, b[i] as JsonValue));
  if (isObject(a)) {
    if (!isObject(b)) return false;
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && jsonEqual(a[k] as JsonValue, b[k] as JsonValue));
  }
  return false;
}

/** Every element of `subset` equals some element of `superset`. */
export function listContained(subset: readonly JsonValue[], superset: readonly JsonValue[]): boolean {
  return subset.every((item) => superset.some((other) => jsonEqual(item, other)));
}

/** The seed's object rule: is `subset` covered by `superset`? */
export function objectCovered(subset: JsonValue, superset: JsonValue): boolean {
  if (!isObject(subset) || !isObject(superset)) return false;
  for (const [key, value] of Object.entries(subset)) {
    if (!Object.hasOwn(superset, key)) return false;
    const other = superset[key] as JsonValue;
    if (Array.isArray(value) && Array.isArray(other)) {
      if (!listContained(value, other)) return false;
    } else if (!jsonEqual(value, other)) {
      return false;
    }
  }
  return true;
}

/** The seed's array rule: each object of `subset` is covered by some object of `superset`. */
export function arrayCovered(subset: JsonValue, superset: JsonValue): boolean {
  if (!Array.isArray(subset) || !Array.isArray(superset)) return false;
  return subset.every((s) => superset.some((o) => objectCovered(s, o)));
}

/** Is a commit benchmarked with `superset` also benchmarked for `subset`? */
export function covers(superset: JsonValue, subset: JsonValue): boolean {
  if (Array.isArray(subset) && Array.isArray(superset)) return arrayCovered(subset, superset);
  if (isObject(subset) && isObject(superset)) return objectCovered(subset, superset);
  return false;
}
