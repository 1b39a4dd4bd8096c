import { directionOfUnit } from '../formats/github-action-benchmark.ts';
import type { Direction } from '../formats/normalized.ts';

/**
 * Which way is better for a series, decided in this order (the first that answers wins):
 *
 * 1. an explicit override (`overrides[metric]`, exact metric name), e.g. a per-series setting;
 * 2. the direction stored with the points (`higher`/`lower` from the results store);
 * 3. the metric name: `rps`, `throughput`, `ops` (and `qps`, `tps`, `*_per_sec`, `*ops/s`) are
 *    higher-is-better; anything containing `latency`, ending in `_ms`/`_us`/`_ns`/`_s`, or named
 *    `time`/`*_time`/`duration` is lower-is-better;
 * 4. the unit, by {@link directionOfUnit} (`ops/sec` higher, `ms` lower);
 * 5. otherwise unknown (`null`): change points are then labelled `change`, never `regression`.
 */
export interface DirectionInput {
  metric: string;
  unit?: string | null | undefined;
  stored?: Direction | null | undefined;
  overrides?: Readonly<Record<string, Direction | null>> | undefined;
}

const HIGHER_NAME = /(?:^|[_\-./\s])(?:rps|qps|tps|ops|throughput|bandwidth)(?:$|[_\-./\s])|_per_sec(?:ond)?$|ops\/s(?:ec)?$/i;
const LOWER_NAME = /latency|(?:^|[_\-.])(?:ms|us|ns|s)$|(?:^|[_\-./\s])(?:time|duration|elapsed)(?:$|[_\-./\s])/i;

/** The direction a metric's name implies, or null. Exported for the documentation's examples and tests. */
export function directionOfName(metric: string): Direction | null {
  if (LOWER_NAME.test(metric)) return 'lower';
  if (HIGHER_NAME.test(metric)) return 'higher';
  return null;
}

export function resolveDirection(input: DirectionInput): Direction | null {
  if (input.overrides && Object.hasOwn(input.overrides, input.metric)) return input.overrides[input.metric] ?? null;
  if (input.stored === 'higher' || input.stored === 'lower') return input.stored;
  const byName = directionOfName(input.metric);
  if (byName) return byName;
  if (input.unit) return directionOfUnit(input.unit) ?? null;
  return null;
}

export type ChangeKind = 'regression' | 'improvement' | 'change';

/** The label of a shift of `relativeChange` (after vs before) for a series of this direction. */
export function kindOf(relativeChange: number, direction: Direction | null | undefined): ChangeKind {
  if (direction !== 'higher' && direction !== 'lower') return 'change';
  if (relativeChange === 0) return 'change';
  const up = relativeChange > 0;
  return up === (direction === 'higher') ? 'improvement' : 'regression';
}
