import type pg from 'pg';
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

/**
 * The states a target's `current` statement returns, as rows `{key, state}` for the keys given
 * (`$1`, a text array), by key. `shape` puts a state in its compared form (sorted lists).
 */
export async function readStates<S extends RowState>(
  client: Pick<pg.ClientBase, 'query'>,
  sql: string,
  keys: readonly string[],
  shape: (s: S) => RowState = (s) => s,
): Promise<Map<string, RowState>> {
  if (!keys.length) return new Map();
  const { rows } = await client.query<{ key: string; state: S }>(sql, [keys]);
  return new Map(rows.map((r) => [r.key, shape(r.state)]));
}
