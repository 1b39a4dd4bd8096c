import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.ts';
import {
  MAX_RENDERED_CHARS,
  MAX_TEMPLATE_DEPTH,
  parseInterpolations,
  renderTemplate,
  templateField,
  templateSchema,
} from '../../src/events/template.ts';
import { normalizeSubmit } from '../../src/queue/submit-input.ts';

const payload = {
  branch: 'main',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: templates must treat ${…} as plain text, which is what these check
  commit: { sha: 'abc123', message: 'Fix {{it}} and ${that}', parents: ['p1', 'p2'], size: 42, merged: true },
  pr: null,
  labels: ['perf', 'ci'],
  'a/b': 'slash',
  'm~n': 'tilde',
  opts: { warmup: 3, suites: ['x'] },
  retries: 2,
};

/** Render one value: the template `{task: 't', kwargs: {v: value}}`, reading kwargs.v back. */
function renderValue(value: unknown, data: unknown = payload): unknown {
  const t = templateSchema.parse({ task: 't', kwargs: { v: value } });
  return (renderTemplate(t, data).kwargs as Record<string, unknown>).v;
}

function renderIssues(template: unknown, data: unknown = payload) {
  const t = templateSchema.parse(template);
  try {
    renderTemplate(t, data);
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return (err as ValidationError).issues;
  }
  throw new Error('expected the render to fail');
}

describe('renderTemplate: values', () => {
  it.each([
    ['a $ptr keeps a string', { $ptr: '/commit/sha' }, 'abc123'],
    ['a $ptr keeps a number', { $ptr: '/commit/size' }, 42],
    ['a $ptr keeps a boolean', { $ptr: '/commit/merged' }, true],
    ['a $ptr keeps null', { $ptr: '/pr' }, null],
    ['a $ptr keeps an array', { $ptr: '/labels' }, ['perf', 'ci']],
    ['a $ptr keeps an object', { $ptr: '/opts' }, { warmup: 3, suites: ['x'] }],
    ['a $ptr to an array item', { $ptr: '/commit/parents/1' }, 'p2'],
    ['a $ptr with ~1', { $ptr: '/a~1b' }, 'slash'],
    ['a $ptr with ~0', { $ptr: '/m~0n' }, 'tilde'],
    ['a $ptr to the whole payload', { $ptr: '' }, payload],
    ['$default when missing', { $ptr: '/nope', $default: 7 }, 7],
    ['$default null when missing', { $ptr: '/nope', $default: null }, null],
    ['$default ignored when present (even null)', { $ptr: '/pr', $default: 'x' }, null],
    ['an interpolation of a string', 'sweep-{{/branch}}', 'sweep-main'],
    ['several interpolations', '{{/branch}}@{{/commit/sha}}', 'main@abc123'],
    ['an interpolated number becomes its JSON text', 'n={{/commit/size}}', 'n=42'],
    ['an interpolated boolean', '{{/commit/merged}}', 'true'],
    ['an interpolated null', 'pr={{/pr}}', 'pr=null'],
    ['an interpolated object is JSON', '{{/opts}}', '{"warmup":3,"suites":["x"]}'],
    ['an interpolated array item', '{{/labels/0}}', 'perf'],
    ['an interpolation with ~1', '{{/a~1b}}', 'slash'],
    ['a default when missing', '{{/nope|fallback}}', 'fallback'],
    ['an empty default', 'x{{/nope|}}y', 'xy'],
    ['a default is ignored when present', '{{/branch|dev}}', 'main'],
    ['a default may hold spaces and |', '{{/nope|a | b}}', 'a | b'],
    // biome-ignore lint/suspicious/noTemplateCurlyInString: templates must treat ${…} as plain text, which is what these check
    ['interpolated text is not interpolated again', '{{/commit/message}}', 'Fix {{it}} and ${that}'],
    ['$literal keeps a $ptr object as is', { $literal: { $ptr: '/branch' } }, { $ptr: '/branch' }],
    ['$literal keeps {{…}} text as is', { $literal: 'a {{/branch}}' }, 'a {{/branch}}'],
    ['nested objects and arrays are walked', { a: [{ b: { $ptr: '/branch' } }, '{{/retries}}'] }, { a: [{ b: 'main' }, '2'] }],
    ['plain data passes through', { n: 1, f: 1.5, t: true, z: null, s: 'text' }, { n: 1, f: 1.5, t: true, z: null, s: 'text' }],
  ])('%s', (_label, template, expected) => {
    expect(renderValue(template)).toEqual(expected);
  });

  it.each([
    'process.exit(1)',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: templates must treat ${…} as plain text, which is what these check
    '${process.env.HOME}',
    '`rm -rf /`',
    "require('child_process').execSync('id')",
    '} }} {',
    'constructor',
    '__proto__',
  ])('treats %j as plain data', (text) => {
    expect(renderValue(text)).toBe(text);
    expect(renderValue([text, { k: text }])).toEqual([text, { k: text }]);
  });

  it('keeps a "__proto__" key a key, never a prototype', () => {
    // Rendered as stored (JSON.parse makes "__proto__" an own key), not through the schema, which drops it.
    const t = JSON.parse('{"task":"t","kwargs":{"__proto__":{"polluted":{"$ptr":"/branch"}}}}');
    const kwargs = renderTemplate(t, payload).kwargs as Record<string, unknown>;
    expect(Object.hasOwn(kwargs, '__proto__')).toBe(true);
    expect(Object.getPrototypeOf(kwargs)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(JSON.parse(JSON.stringify(kwargs))).toEqual(JSON.parse('{"__proto__":{"polluted":"main"}}'));
  });
});

describe('renderTemplate: the task', () => {
  it('maps every template field to the submit input, camelCase', () => {
    const t = templateSchema.parse({
      task: 'bench.{{/branch}}',
      namespace: 'ns-{{/branch}}',
      args: [{ $ptr: '/commit/sha' }, 'literal'],
      kwargs: { labels: { $ptr: '/labels' } },
      unique_key: 'sweep:{{/commit/sha}}',
      priority: { $ptr: '/commit/size' },
      retry: false,
      max_retries: { $ptr: '/retries' },
      error_eta_inc: 5,
      error_eta_max: 50,
      timeout_seconds: null,
      store_result: false,
      result_expires: 60,
      error_expires: null,
    });
    const input = renderTemplate(t, payload);
    expect(input).toEqual({
      task: 'bench.main',
      namespace: 'ns-main',
      args: ['abc123', 'literal'],
      kwargs: { labels: ['perf', 'ci'] },
      uniqueKey: 'sweep:abc123',
      priority: 42,
      retry: false,
      maxRetries: 2,
      errorEtaInc: 5,
      errorEtaMax: 50,
      timeoutSeconds: null,
      storeResult: false,
      resultExpires: 60,
      errorExpires: null,
    });
    // And it is a valid task: the very check submitMany applies.
    expect(normalizeSubmit(input, '00000000-0000-4000-8000-000000000000').unique_key).toBe('sweep:abc123');
  });

  it('leaves out what the template leaves out (the event fills namespace and priority)', () => {
    expect(renderTemplate(templateSchema.parse({ task: 'x' }), payload)).toEqual({ task: 'x' });
  });

  it('args and kwargs may be taken whole from the payload', () => {
    const t = templateSchema.parse({ task: 'x', args: { $ptr: '/labels' }, kwargs: { $ptr: '/opts' } });
    expect(renderTemplate(t, payload)).toMatchObject({ args: ['perf', 'ci'], kwargs: { warmup: 3, suites: ['x'] } });
  });

  it('a $ptr of the wrong type renders, and task validation then names the field', () => {
    const input = renderTemplate(templateSchema.parse({ task: 'x', unique_key: { $ptr: '/commit/size' } }), payload);
    expect(input.uniqueKey).toBe(42);
    expect(() => normalizeSubmit(input, '00000000-0000-4000-8000-000000000000')).toThrow(ValidationError);
    try {
      normalizeSubmit(input, '00000000-0000-4000-8000-000000000000', '[3]');
    } catch (err) {
      expect(templateField((err as ValidationError).issues[0]!.field)).toBe('unique_key');
    }
  });

  it('reports every missing value at once, naming template paths', () => {
    const issues = renderIssues({
      task: 'x',
      args: [{ $ptr: '/nope' }, 'ok'],
      kwargs: { sha: '{{/commit/missing}}', deep: [{ v: { $ptr: '/a/b/c' } }] },
      unique_key: 'k-{{/id}}',
      priority: { $ptr: '/p' },
    });
    expect(issues.map((i) => i.field)).toEqual(['args.0', 'kwargs.sha', 'kwargs.deep.0.v', 'unique_key', 'priority']);
    expect(issues[1]!.message).toMatch(/no value at \/commit\/missing in the payload/);
    expect(issues[0]!.message).toMatch(/\$default/);
  });

  it('refuses to render more than the size cap, however the template multiplies the payload', () => {
    const big = { blob: 'x'.repeat(1024 * 1024) };
    const many = Array.from({ length: 20 }, () => ({ $ptr: '/blob' }));
    const issues = renderIssues({ task: 'x', args: many }, big);
    expect(issues).toHaveLength(1);
    expect(issues[0]!.message).toMatch(new RegExp(`exceeds ${MAX_RENDERED_CHARS}`));
    const interpolated = renderIssues({ task: 'x', args: Array.from({ length: 20 }, () => '{{/blob}}') }, big);
    expect(interpolated[0]!.message).toMatch(/exceeds/);
    // Under the cap is fine.
    expect(renderTemplate(templateSchema.parse({ task: 'x', args: many.slice(0, 10) }), big).args).toHaveLength(10);
  });
});

describe('parseInterpolations', () => {
  it.each([
    ['plain', ['plain']],
    ['', []],
    ['{{/a}}', [{ pointer: '/a', fallback: undefined }]],
    ['x{{/a|d}}y', ['x', { pointer: '/a', fallback: 'd' }, 'y']],
    ['{{/a}}}', [{ pointer: '/a', fallback: undefined }, '}']],
    ['}} alone', ['}} alone']],
  ])('%j', (text, parts) => {
    expect(parseInterpolations(text)).toEqual(parts);
  });

  it.each([
    ['{{branch}}', /"\{\{branch\}\}" at character 1/],
    ['{{ /branch }}', /write \{\{\/json\/pointer\}\}/],
    ['{{}}', /write/],
    ['a {{/x', /unclosed "\{\{" at character 3/],
    ['{{/a~2}}', /write/],
  ])('refuses %j', (text, message) => {
    const r = parseInterpolations(text);
    expect('error' in r && r.error).toMatch(message);
  });
});

describe('templateSchema refuses bad templates, naming the exact path', () => {
  it.each([
    ['not an object', 'bench.run', '', /task template object/],
    ['no task', { args: [] }, 'task', /./],
    ['an unknown field', { task: 'x', eta: 'soon' }, '', /Unrecognized key/],
    ['a task name that is not a name', { task: 'bad name!' }, 'task', /letters, digits/],
    ['a bad interpolation in task', { task: 'bench.{{branch}}' }, 'task', /\{\{branch\}\}/],
    [
      'a bad interpolation deep in kwargs',
      { task: 'x', kwargs: { a: [1, { b: 'x {{y}}' }] } },
      'kwargs.a.1.b',
      /write \{\{\/json\/pointer/,
    ],
    ['a bad $ptr in args', { task: 'x', args: [{ $ptr: 'sha' }] }, 'args.0.$ptr', /JSON pointer/],
    ['a $ptr with extra keys', { task: 'x', kwargs: { a: { $ptr: '/a', fallback: 1 } } }, 'kwargs.a', /takes only \$default/],
    ['a $literal with extra keys', { task: 'x', args: [{ $literal: 1, x: 2 }] }, 'args.0.x', /no other key/],
    ['a reserved $ key', { task: 'x', kwargs: { q: { $set: 1 } } }, 'kwargs.q.$set', /reserved/],
    ['args that is an object', { task: 'x', args: { a: 1 } }, 'args', /JSON array or a \{"\$ptr"/],
    ['kwargs that is a list', { task: 'x', kwargs: [1] }, 'kwargs', /JSON object or a \{"\$ptr"/],
    ['a priority that is text', { task: 'x', priority: 'high' }, 'priority', /must be an integer or a \{"\$ptr"/],
    ['a priority out of range', { task: 'x', priority: 100_000 }, 'priority', /32767/],
    ['a bad $ptr as priority', { task: 'x', priority: { $ptr: 'p' } }, 'priority.$ptr', /JSON pointer/],
    ['retry that is not boolean', { task: 'x', retry: 'yes' }, 'retry', /true or false/],
    ['an empty unique_key', { task: 'x', unique_key: '' }, 'unique_key', /./],
    ['a bad interpolation in unique_key', { task: 'x', unique_key: 'k-{{sha}}' }, 'unique_key', /\{\{sha\}\}/],
    ['zero seconds', { task: 'x', error_eta_inc: 0 }, 'error_eta_inc', /./],
    ['a NUL in a string', { task: 'x', kwargs: { a: 'x\u0000' } }, 'kwargs.a', /NUL/],
    ['a NUL in the task', { task: 'x{{/a}}\u0000' }, 'task', /NUL/],
  ])('%s', (_label, value, path, message) => {
    const r = templateSchema.safeParse(value);
    expect(r.success).toBe(false);
    const found = r.error!.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
    expect(
      found.some((i) => i.path === path && message.test(i.message)),
      JSON.stringify(found),
    ).toBe(true);
  });

  it('refuses nesting deeper than the limit without overflowing the stack', () => {
    const deep = JSON.parse(`{"task":"x","args":${'['.repeat(100_000)}${']'.repeat(100_000)}}`);
    const r = templateSchema.safeParse(deep);
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]!.message).toBe(`is nested more than ${MAX_TEMPLATE_DEPTH} levels deep`);
  });
});
