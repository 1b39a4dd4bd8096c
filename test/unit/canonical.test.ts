import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.ts';
import { CanonicalJsonError, canonicalConfig, canonicalize, canonicalJson, configHash } from '../../src/tracking/canonical.ts';

describe('canonical JSON', () => {
  const cases: [string, unknown, string][] = [
    ['keys sorted', { b: 1, a: 2 }, '{"a":2,"b":1}'],
    ['nested keys sorted at every level', { z: { y: 1, x: [{ d: 1, c: 2 }] }, a: null }, '{"a":null,"z":{"x":[{"c":2,"d":1}],"y":1}}'],
    ['arrays keep their order', [3, 1, 2], '[3,1,2]'],
    ['code-unit order, not locale order', { b: 1, B: 2, ä: 3, a: 4 }, '{"B":2,"a":4,"b":1,"ä":3}'],
    ['1.0 is 1', JSON.parse('{"x":1.0}'), '{"x":1}'],
    ['1e0 is 1', JSON.parse('1e0'), '1'],
    ['-0 is 0', -0, '0'],
    ['-0 nested is 0', { x: [-0] }, '{"x":[0]}'],
    ['fractions as ECMAScript writes them', [0.1, 1.5, -2.25], '[0.1,1.5,-2.25]'],
    ['small exponents', [1e-7, 1.5e-300], '[1e-7,1.5e-300]'],
    ['largest safe integer', 9007199254740991, '9007199254740991'],
    ['strings escaped by JSON rules', { s: 'a"b\\c\n\u0001é' }, '{"s":"a\\"b\\\\c\\n\\u0001é"}'],
    ['booleans and null', [true, false, null], '[true,false,null]'],
    ['empty containers', { a: {}, b: [] }, '{"a":{},"b":[]}'],
    ['undefined members are dropped', { a: 1, b: undefined }, '{"a":1}'],
  ];
  it.each(cases)('%s', (_name, value, expected) => {
    expect(canonicalJson(value)).toBe(expected);
  });

  it('the same config in another key order or spelling has the same hash', () => {
    const a = canonicalize(JSON.parse('[{"io-threads": 1.0, "data_sizes": [16, 64], "tls": false}]'));
    const b = canonicalize(JSON.parse('[ { "tls":false, "data_sizes":[16,64], "io-threads":1 } ]'));
    expect(a.hash).toBe(b.hash);
    expect(a.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(a.hash).toBe(configHash(a.canonical));
    expect(a.value).toEqual([{ data_sizes: [16, 64], 'io-threads': 1, tls: false }]);
    expect(canonicalize([16, 64]).hash).not.toBe(canonicalize([64, 16]).hash);
  });

  const refused: [string, unknown, RegExp][] = [
    ['integer beyond 2^53', { n: 9007199254740992 }, /^n: integers beyond/],
    ['negative integer beyond 2^53', [-1e20], /^\[0\]: integers beyond/],
    ['a large exponent is an integer too', { x: 1e21 }, /integers beyond/],
    ['NaN', { x: Number.NaN }, /finite/],
    ['Infinity', Number.POSITIVE_INFINITY, /finite/],
    ['NUL in a string', { s: 'a\u0000' }, /NUL/],
    ['NUL in a key', { 'a\u0000': 1 }, /NUL/],
    ['lone surrogate', ['\ud800'], /surrogate/],
    ['a function', { f: () => 1 }, /function/],
    ['a Date', { d: new Date(0) }, /plain JSON object/],
    ['a bigint', 1n, /bigint/],
  ];
  it.each(refused)('refuses %s, naming where', (_name, value, message) => {
    expect(() => canonicalJson(value)).toThrow(CanonicalJsonError);
    expect(() => canonicalJson(value)).toThrow(message);
  });

  it('refuses nesting deeper than 64 levels', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100; i++) deep = [deep];
    expect(() => canonicalJson(deep)).toThrow(/nested more than 64/);
  });

  it('canonicalConfig reports a ValidationError on the field', () => {
    try {
      canonicalConfig({ a: { b: Number.NaN } }, 'config');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).issues[0]?.field).toBe('config.a.b');
    }
  });
});
