import { canonicalJson } from '../tracking/canonical.ts';
import type { RowState } from './types.ts';

/** Two row states hold the same values (key order aside). */
export function sameState(a: RowState, b: RowState): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

/** The fields whose values differ, for a refusal that says what changed. */
export function changedFields(a: RowState, b: RowState): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].filter((k) => canonicalJson(a[k] ?? null) !== canonicalJson(b[k] ?? null)).sort();
}

/**
 * A timestamp in the form states compare: ISO 8601, UTC, milliseconds. SQL writes the same form
 * with TS_SQL, so a row read back equals the state it was written from.
 */
export function isoState(value: Date | string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  return new Date(value).toISOString();
}

/** SQL for a timestamptz column in the form isoState gives. */
export const tsSql = (column: string) => `to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/** The value under `key`, created by `make` when absent: the grouping every part of an import does. */
export function getOrAdd<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let v = map.get(key);
  if (v === undefined) {
    v = make();
    map.set(key, v);
  }
  return v;
}
