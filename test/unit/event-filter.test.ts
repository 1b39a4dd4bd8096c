import { describe, expect, it } from 'vitest';
import { type Filter, filterSchema, MAX_FILTER_DEPTH, matchesFilter } from '../../src/events/filter.ts';
import { jsonEqual } from '../../src/events/json.ts';
import { isPointer, parsePointer, resolvePointer } from '../../src/events/pointer.ts';

const payload = {
  branch: 'main',
  repo: 'eventix',
  ref: 'refs/tags/v1.2.0',
  commit: { sha: 'abc123', parents: ['p1', 'p2'], stats: { files: 3 } },
  pr: null,
  draft: false,
  count: 0,
  'a/b': 'slash',
  'm~n': 'tilde',
  '': 'empty key',
  files: [{ path: 'src/a.ts' }, { path: 'README.md' }],
};

describe('JSON pointers (RFC 6901)', () => {
  it.each([
    ['', []],
    ['/branch', ['branch']],
    ['/commit/sha', ['commit', 'sha']],
    ['/a~1b', ['a/b']],
    ['/m~0n', ['m~n']],
    ['/~01', ['~1']], // ~1 is decoded after ~0 would be wrong: "~01" is the key "~1"
    ['/', ['']],
    ['/files/0/path', ['files', '0', 'path']],
  ])('parses %j', (pointer, tokens) => {
    expect(isPointer(pointer)).toBe(true);
    expect(parsePointer(pointer)).toEqual(tokens);
  });

  it.each(['branch', '/a~2', '/a~', 'a/b', '~1'])('refuses %j', (pointer) => {
    expect(isPointer(pointer)).toBe(false);
    expect(() => parsePointer(pointer)).toThrow(/not a JSON pointer/);
  });

  it.each([
    ['', payload],
    ['/branch', 'main'],
    ['/commit/parents/1', 'p2'],
    ['/commit/stats', { files: 3 }],
    ['/a~1b', 'slash'],
    ['/m~0n', 'tilde'],
    ['/', 'empty key'],
    ['/pr', null],
    ['/files/1/path', 'README.md'],
  ])('resolves %j', (pointer, value) => {
    expect(resolvePointer(payload, pointer)).toEqual({ found: true, value });
  });

  it.each([
    '/missing',
    '/commit/sha/x', // into a string
    '/commit/parents/2', // past the end
    '/commit/parents/-', // "-" names the element after the last: nothing
    '/commit/parents/01', // not a canonical index
    '/commit/parents/length',
    '/constructor', // never Object.prototype
    '/__proto__',
    '/branch/length',
    '/pr/x', // into null
  ])('finds nothing at %j', (pointer) => {
    expect(resolvePointer(payload, pointer)).toEqual({ found: false });
  });
});

describe('jsonEqual', () => {
  it.each([
    [1, 1, true],
    ['1', 1, false],
    [null, null, true],
    [null, {}, false],
    [{ a: 1, b: [1, 2] }, { b: [1, 2], a: 1 }, true],
    [{ a: 1 }, { a: 1, b: undefined }, false],
    [[1, 2], [2, 1], false],
    [[], {}, false],
    [{ a: { b: null } }, { a: { b: null } }, true],
  ])('%j vs %j → %s', (a, b, expected) => {
    expect(jsonEqual(a, b)).toBe(expected);
  });
});

describe('matchesFilter', () => {
  const cases: [string, Filter | null, boolean][] = [
    ['no filter matches everything', null, true],
    ['eq on a string', { field: '/branch', eq: 'main' }, true],
    ['eq on a different string', { field: '/branch', eq: 'dev' }, false],
    ['eq compares JSON types: "0" is not 0', { field: '/count', eq: '0' }, false],
    ['eq on 0', { field: '/count', eq: 0 }, true],
    ['eq on false', { field: '/draft', eq: false }, true],
    ['eq on null', { field: '/pr', eq: null }, true],
    ['eq on null does not match a missing field', { field: '/missing', eq: null }, false],
    ['eq deep on an object, key order ignored', { field: '/commit/stats', eq: { files: 3 } }, true],
    ['eq deep on an array, order matters', { field: '/commit/parents', eq: ['p2', 'p1'] }, false],
    ['eq through an array index', { field: '/files/0/path', eq: 'src/a.ts' }, true],
    ['eq through escaped keys ~1', { field: '/a~1b', eq: 'slash' }, true],
    ['eq through escaped keys ~0', { field: '/m~0n', eq: 'tilde' }, true],
    ['in: member', { field: '/repo', in: ['a', 'eventix'] }, true],
    ['in: not a member', { field: '/repo', in: ['a', 'b'] }, false],
    ['in: deep members', { field: '/commit/stats', in: [{ files: 2 }, { files: 3 }] }, true],
    ['in on a missing field', { field: '/missing', in: [null] }, false],
    ['prefix', { field: '/ref', prefix: 'refs/tags/' }, true],
    ['prefix not matching', { field: '/ref', prefix: 'refs/heads/' }, false],
    ['prefix on a non-string', { field: '/count', prefix: '0' }, false],
    ['prefix on a missing field', { field: '/missing', prefix: '' }, false],
    ['empty prefix matches any string', { field: '/branch', prefix: '' }, true],
    ['exists', { field: '/commit/sha', exists: true }, true],
    ['exists counts null', { field: '/pr', exists: true }, true],
    ['exists: false on a missing field', { field: '/nope', exists: false }, true],
    ['exists: false on a present field', { field: '/branch', exists: false }, false],
    ['exists never reaches the prototype', { field: '/toString', exists: true }, false],
    ['the whole payload exists', { field: '', exists: true }, true],
    [
      'all: every one holds',
      {
        all: [
          { field: '/branch', eq: 'main' },
          { field: '/repo', in: ['eventix'] },
        ],
      },
      true,
    ],
    [
      'all: one fails',
      {
        all: [
          { field: '/branch', eq: 'main' },
          { field: '/repo', in: ['x'] },
        ],
      },
      false,
    ],
    [
      'any: one holds',
      {
        any: [
          { field: '/branch', eq: 'dev' },
          { field: '/ref', prefix: 'refs/tags/' },
        ],
      },
      true,
    ],
    [
      'any: none holds',
      {
        any: [
          { field: '/branch', eq: 'dev' },
          { field: '/ref', prefix: 'x' },
        ],
      },
      false,
    ],
    ['not', { not: { field: '/branch', eq: 'dev' } }, true],
    ['not on a missing field holds', { not: { field: '/missing', eq: 1 } }, true],
    ['not not', { not: { not: { field: '/branch', eq: 'main' } } }, true],
    [
      'nesting: all of any and not',
      {
        all: [
          {
            any: [
              { field: '/branch', eq: 'main' },
              { field: '/branch', prefix: 'release/' },
            ],
          },
          { not: { field: '/draft', eq: true } },
          { field: '/commit/parents/0', exists: true },
        ],
      },
      true,
    ],
    [
      'nesting: any of alls, none holding',
      {
        any: [
          {
            all: [
              { field: '/branch', eq: 'main' },
              { field: '/draft', eq: true },
            ],
          },
          { all: [{ field: '/repo', eq: 'x' }] },
        ],
      },
      false,
    ],
  ];

  it.each(cases)('%s', (_label, filter, expected) => {
    // Every filter in the table is also one the schema accepts, unchanged.
    if (filter) expect(filterSchema.parse(filter)).toEqual(filter);
    expect(matchesFilter(filter, payload)).toBe(expected);
  });
});

describe('filterSchema refuses bad filters, naming the exact path', () => {
  const issues = (value: unknown) => {
    const r = filterSchema.safeParse(value);
    expect(r.success, 'the schema must refuse this filter').toBe(false);
    return r.error?.issues.map((i) => ({ path: i.path.join('.'), message: i.message })) ?? [];
  };

  it.each([
    ['not an object', 'branch == "main"', '', /must be a filter/],
    ['an array', [{ field: '/a', eq: 1 }], '', /must be a filter/],
    ['empty object', {}, '', /needs one of all, any, not/],
    ['a field without operator', { field: '/a' }, 'field', /needs one operator/],
    ['two operators', { field: '/a', eq: 1, in: [1] }, 'field', /takes one operator, got eq and in/],
    ['an operator without field', { eq: 1 }, 'eq', /needs field/],
    ['a field that is not a pointer', { field: 'branch', eq: 'main' }, 'field', /JSON pointer/],
    ['a bad escape in a pointer', { field: '/a~2', eq: 1 }, 'field', /JSON pointer/],
    ['in that is not a list', { field: '/a', in: 'x' }, 'in', /array/],
    ['in that is empty', { field: '/a', in: [] }, 'in', /./],
    ['prefix that is not a string', { field: '/a', prefix: 1 }, 'prefix', /must be a string/],
    ['exists that is not boolean', { field: '/a', exists: 'yes' }, 'exists', /true or false/],
    ['all that is empty', { all: [] }, 'all', /at least one filter/],
    ['all that is not a list', { all: { field: '/a', eq: 1 } }, 'all', /array of filters/],
    [
      'a bad filter deep inside',
      { all: [{ field: '/a', eq: 1 }, { any: [{ not: { field: 'x', eq: 1 } }] }] },
      'all.1.any.0.not.field',
      /JSON pointer/,
    ],
    ['a combinator beside a condition', { all: [{ field: '/a', eq: 1 }], field: '/b', eq: 2 }, '', /has all and field/],
    ['two combinators', { any: [{ field: '/a', exists: true }], not: { field: '/a', exists: true } }, '', /has any and not/],
    ['an unknown key', { field: '/a', equals: 1 }, '', /Unrecognized key/],
    ['a NUL in a string', { field: '/a', prefix: 'x\u0000' }, 'prefix', /NUL/],
    ['a lone surrogate in a key of a value', { field: '/a', eq: { '\ud800': 1 } }, 'eq.\ud800', /lone surrogates/],
  ])('%s', (_label, value, path, message) => {
    const found = issues(value);
    expect(
      found.some((i) => i.path === path && message.test(i.message)),
      JSON.stringify(found),
    ).toBe(true);
  });

  it('refuses nesting deeper than the limit before recursing (no stack overflow)', () => {
    const deep = JSON.parse(`${'{"not":'.repeat(200_000)}{"field":"/a","exists":true}${'}'.repeat(200_000)}`);
    expect(issues(deep)).toEqual([{ path: '', message: `is nested more than ${MAX_FILTER_DEPTH} levels deep` }]);
    let ok: Filter = { field: '/a', exists: true };
    for (let i = 0; i < MAX_FILTER_DEPTH - 2; i++) ok = { not: ok };
    expect(filterSchema.safeParse(ok).success).toBe(true);
  });

  it('treats code-looking strings as plain data', () => {
    const filter = filterSchema.parse({ field: '/cmd', eq: 'process.exit(1)' });
    expect(matchesFilter(filter, { cmd: 'process.exit(1)' })).toBe(true);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: templates must treat ${…} as plain text, which is what these check
    expect(matchesFilter({ field: '/x', prefix: '${' }, { x: '${process.env.HOME}' })).toBe(true);
  });
});
