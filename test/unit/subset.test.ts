import { describe, expect, it } from 'vitest';
import type { JsonValue } from '../../src/tracking/canonical.ts';
import { spread } from '../../src/tracking/determine.ts';
import { covers, jsonEqual } from '../../src/tracking/subset.ts';

describe('subset detection: covers(superset, subset), the seed’s rules', () => {
  const cases: [string, JsonValue, JsonValue, boolean][] = [
    // Objects: every key present, lists contained, other values equal.
    ['list contained', { data_sizes: [16, 64, 256], 'io-threads': 1 }, { data_sizes: [16, 64], 'io-threads': 1 }, true],
    ['list order does not matter', { data_sizes: [256, 64, 16] }, { data_sizes: [16, 64] }, true],
    ['equal lists', { data_sizes: [16] }, { data_sizes: [16] }, true],
    ['list not contained', { data_sizes: [16, 64] }, { data_sizes: [16, 128] }, false],
    [
      'extra keys in the superset are fine',
      { data_sizes: [16, 64], 'io-threads': 1, tls: true },
      { data_sizes: [16], 'io-threads': 1 },
      true,
    ],
    ['a key missing from the superset', { data_sizes: [16, 64] }, { data_sizes: [16], tls: true }, false],
    ['scalar differs', { data_sizes: [16, 64], 'io-threads': 2 }, { data_sizes: [16], 'io-threads': 1 }, false],
    ['scalar against a list', { pipeline: [1, 10] }, { pipeline: 1 }, false],
    ['list against a scalar', { pipeline: 1 }, { pipeline: [1] }, false],
    ['nested objects must be equal, not subsets', { server: { a: 1, b: 2 } }, { server: { a: 1 } }, false],
    ['nested objects equal', { server: { b: 2, a: 1 } }, { server: { a: 1, b: 2 } }, true],
    ['list elements compared deeply', { clients: [{ n: 1 }, { n: 2 }] }, { clients: [{ n: 2 }] }, true],
    ['true is not 1', { tls: 1 }, { tls: true }, false],
    ['null equals null', { x: null }, { x: null }, true],
    ['empty object is covered by any object', { a: 1 }, {}, true],
    // Arrays of config objects: each subset object covered by some superset object.
    ['array: each object covered', [{ data_sizes: [16, 64, 256], 'io-threads': 1 }], [{ data_sizes: [16, 64], 'io-threads': 1 }], true],
    [
      'array: objects matched by different superset objects',
      [
        { cluster: false, data_sizes: [16, 64] },
        { cluster: true, data_sizes: [16, 64] },
      ],
      [
        { cluster: true, data_sizes: [64] },
        { cluster: false, data_sizes: [16] },
      ],
      true,
    ],
    [
      'array: one object uncovered',
      [{ cluster: false, data_sizes: [16] }],
      [{ cluster: false, data_sizes: [16] }, { cluster: true }],
      false,
    ],
    ['array: different values', [{ data_sizes: [16], 'io-threads': 1 }], [{ data_sizes: [64, 128], 'io-threads': 2 }], false],
    ['array: non-object elements cover nothing', [1, 2, 3], [1], false],
    ['empty array is covered by any array', [{ a: 1 }], [], true],
    // Mixed shapes never cover.
    ['object against array', { data_sizes: [16] }, [{ data_sizes: [16] }], false],
    ['array against object', [{ data_sizes: [16] }], { data_sizes: [16] }, false],
    ['scalars', 1, 1, false],
  ];
  it.each(cases)('%s', (_name, superset, subset, expected) => {
    expect(covers(superset, subset)).toBe(expected);
  });

  it('jsonEqual is deep and exact', () => {
    expect(jsonEqual({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] })).toBe(true);
    expect(jsonEqual({ a: 1 }, { a: 1, b: undefined as unknown as JsonValue })).toBe(false);
    expect(jsonEqual([1, 2], [2, 1])).toBe(false);
    expect(jsonEqual('1', 1)).toBe(false);
  });
});

describe('spread', () => {
  const items = Array.from({ length: 10 }, (_, i) => i);
  const cases: [number, number[]][] = [
    [1, [0]],
    [2, [0, 9]],
    [3, [0, 5, 9]],
    [4, [0, 3, 6, 9]],
    [10, items],
    [20, items],
  ];
  it.each(cases)('%i of 10', (count, expected) => {
    expect(spread(items, count)).toEqual(expected);
  });
  it('never repeats an item', () => {
    for (let n = 2; n < 60; n++) {
      for (let k = 1; k < n; k++) {
        const picked = spread(
          Array.from({ length: n }, (_, i) => i),
          k,
        );
        expect(new Set(picked).size).toBe(k);
      }
    }
  });
});
