import fc from 'fast-check';

/**
 * fast-check arbitraries derived from an OpenAPI 3.1 document: for every operation, requests with
 * path parameters, query parameters, headers and bodies that are schema-valid (with domain hints
 * for the fields a random string never satisfies: cron expressions, repositories, task names a
 * claim will find) or broken in one of the ways a server must refuse: a value of the wrong type
 * or out of range, NUL bytes, lone surrogates, numbers JSON.stringify cannot write, deep nesting,
 * unknown fields, invalid JSON, invalid UTF-8, duplicated keys, a wrong or missing content type,
 * a body over the size limit. Everything is built from fast-check primitives, so a failing
 * request shrinks.
 */

// ── the document ────────────────────────────────────────────────────────────────────────────

export type JsonSchema = Record<string, unknown>;

interface ParameterObject {
  name: string;
  in: string;
  required?: boolean;
  schema?: JsonSchema;
}

interface OperationObject {
  operationId?: string;
  security?: unknown[];
  'x-eventix-scope'?: string;
  'x-eventix-writes'?: boolean;
  parameters?: ParameterObject[];
  requestBody?: { required?: boolean; content?: Record<string, { schema?: JsonSchema }> };
  responses?: Record<string, unknown>;
}

export interface OpenApiDocument {
  paths: Record<string, Record<string, OperationObject>>;
  components?: { schemas?: Record<string, JsonSchema> };
}

export interface Operation {
  id: string;
  method: string;
  /** The template, e.g. /tasks/{uid}. */
  path: string;
  /** The scope it needs (x-eventix-scope), or 'public'. */
  scope: string;
  pathParams: ParameterObject[];
  queryParams: ParameterObject[];
  body: { schema: JsonSchema; required: boolean } | undefined;
  /** The statuses the document names for it. */
  statuses: Set<number>;
  /** A GET that changes state (x-eventix-writes: the compatible API's claim and reschedule). */
  writes: boolean;
}

const METHODS = new Set(['get', 'post', 'put', 'patch', 'delete']);

export function operationsOf(doc: OpenApiDocument): Operation[] {
  const out: Operation[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (!METHODS.has(method)) continue;
      const params = op.parameters ?? [];
      const json = op.requestBody?.content?.['application/json']?.schema;
      out.push({
        id: op.operationId ?? `${method} ${path}`,
        method: method.toUpperCase(),
        path,
        scope: op.security && op.security.length === 0 ? 'public' : (op['x-eventix-scope'] ?? 'read'),
        pathParams: params.filter((p) => p.in === 'path'),
        queryParams: params.filter((p) => p.in === 'query'),
        body: json ? { schema: json, required: op.requestBody?.required ?? false } : undefined,
        statuses: new Set(Object.keys(op.responses ?? {}).map(Number)),
        writes: op['x-eventix-writes'] === true,
      });
    }
  }
  return out;
}

// ── raw JSON tokens ─────────────────────────────────────────────────────────────────────────

/** A JSON token JSON.stringify cannot write (1e400, deep nesting), spliced in after stringify. */
export const raw = (token: string) => `\u0001RAW:${token}\u0001`;
const RAW_RE = /"\\u0001RAW:((?:[^"\\]|\\.)*?)\\u0001"/g;

/** JSON text of `value`, raw tokens spliced in; undefined stays undefined. */
export function serialize(value: unknown): string | undefined {
  const text = JSON.stringify(value);
  return text === undefined ? undefined : text.replace(RAW_RE, (_, t: string) => JSON.parse(`"${t}"`) as string);
}

/** Own property, even for `__proto__`. */
function define(o: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
}

// ── nasty values ────────────────────────────────────────────────────────────────────────────

const NASTY_NUMBERS: unknown[] = [
  -1,
  0,
  -0,
  0.5,
  -1.25,
  2 ** 31,
  -(2 ** 31) - 1,
  2 ** 53,
  2 ** 53 + 2,
  -(2 ** 53) - 2,
  2 ** 63,
  2 ** 64,
  Number.MAX_VALUE,
  -Number.MAX_VALUE,
  Number.MIN_VALUE,
  32768,
  -32769,
  1e21,
];
const RAW_NUMBERS = ['1e400', '-1e400', '1e-400', '-0.0', '123456789012345678901234567890', '1E2', '0.1e1', '9007199254740993'];
const NASTY_STRINGS = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\ud800',
  'x\udc00y',
  '\udbff',
  '\ud83d\ude00',
  '\ufeff',
  '\u202e',
  '\u2028',
  '\\u0000',
  'null',
  'undefined',
  'NaN',
  'Infinity',
  'true',
  '1',
  '-1',
  '1e999',
  '0x1F',
  '١٢',
  '2030-02-30T00:00:00Z',
  '2030-01-01T00:00:00',
  '0000-01-01T00:00:00Z',
  '9999-12-31T23:59:59-14:00',
  '+275760-09-13T00:00:00Z',
  '../../../etc/passwd',
  "'; drop table tasks; --",
  '%00',
  '$ptr',
  '__proto__',
  '-rf',
  '--output=/tmp/x',
  'HEAD~99999999999',
  'ü',
  '☃',
];
const ODD_CHARS = ['\u0000', '\u0001', '\u001f', '\u007f', '\ud800', '\udfff', '\ufffe', '\uffff', '\u200b', 'a', '"', '\\', '/', '%'];

function protoObject(): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  define(o, '__proto__', { polluted: true });
  return o;
}

/** Values no schema field should take blindly. */
export function nastyValue(): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...NASTY_NUMBERS) },
    { weight: 2, arbitrary: fc.constantFrom(...RAW_NUMBERS).map(raw) },
    { weight: 4, arbitrary: fc.constantFrom(...NASTY_STRINGS) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) },
    { weight: 2, arbitrary: fc.array(fc.constantFrom(...ODD_CHARS), { minLength: 1, maxLength: 6 }).map((a) => a.join('')) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(199, 200, 201, 500, 501, 1000, 1001, 10_000, 100_001).map((n) => 'x'.repeat(n)),
    },
    {
      weight: 2,
      arbitrary: fc
        .constantFrom<() => unknown>(
          () => [],
          () => ({}),
          () => [null],
          () => [[]],
          () => ({ '': 1 }),
          () => ({ '\u0000': 1 }),
          () => ({ '\ud800': 1 }),
          protoObject,
          () => ({ constructor: { prototype: { polluted: true } } }),
        )
        .map((f) => f()),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.integer({ min: 32, max: 30_000 }), fc.boolean())
        .map(([n, array]) => raw(array ? `${'['.repeat(n)}${']'.repeat(n)}` : `${'{"a":'.repeat(n)}0${'}'.repeat(n)}`)),
    },
    { weight: 1, arbitrary: fc.constantFrom(1001, 10_001).map((n) => Array.from({ length: n }, (_, i) => `x${i}`)) },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
  );
}

// ── values from schemas ─────────────────────────────────────────────────────────────────────

export interface Hint {
  arb: fc.Arbitrary<unknown>;
  /** Only the hint, never a value from the schema (a long-poll's wait_seconds, say). */
  exclusive?: boolean;
}

const INT32 = 2 ** 31 - 1;

/**
 * Schema-valid values (as far as a JSON schema can say: patterns, ranges, lengths, required and
 * unknown fields, enums) for any schema of the document, following $refs. Recursion (JSON values,
 * nested filters) stops at `maxDepth`: deeper down only what is required is generated.
 */
export class SchemaValues {
  private readonly cache = new Map<string, fc.Arbitrary<unknown>>();
  private readonly hints = new Map<string, Hint>();

  constructor(
    private readonly doc: OpenApiDocument,
    private readonly maxDepth = 3,
  ) {}

  /**
   * Values for properties (and parameters) of this name come (mostly) from `hint`: `name` alone for
   * any owner, or `Owner.name` for the properties of one component schema (`Claim.tasks`) or the
   * parameters of one operation (`getCommits.sha`). A bare name skips enums and consts (the schema
   * already knows better). Set before building.
   */
  hint(name: string, hint: Hint): this {
    this.hints.set(name, hint);
    return this;
  }

  component(name: string): fc.Arbitrary<unknown> {
    return this.of({ $ref: `#/components/schemas/${name}` });
  }

  /** Values of `schema`; `key` is the property or parameter name and `owner` its schema or operation, for hints. */
  of(schema: JsonSchema, depth = 0, key?: string, owner?: string): fc.Arbitrary<unknown> {
    const precise = 'enum' in schema || 'const' in schema;
    const hint =
      key === undefined
        ? undefined
        : ((owner === undefined ? undefined : this.hints.get(`${owner}.${key}`)) ?? (precise ? undefined : this.hints.get(key)));
    if (hint?.exclusive) return hint.arb;
    const fromSchema = this.build(schema, depth, owner);
    return hint ? fc.oneof({ weight: 3, arbitrary: hint.arb }, { weight: 1, arbitrary: fromSchema }) : fromSchema;
  }

  private resolve(ref: string): JsonSchema {
    const m = /^#\/components\/schemas\/(.+)$/.exec(ref);
    const s = m ? this.doc.components?.schemas?.[m[1] as string] : undefined;
    if (!s) throw new Error(`unresolvable $ref ${ref}`);
    return s;
  }

  private build(s: JsonSchema, depth: number, owner?: string): fc.Arbitrary<unknown> {
    if (depth > this.maxDepth + 8) return fc.constant(null);
    if (typeof s.$ref === 'string') {
      const key = `${s.$ref}@${depth}`;
      let arb = this.cache.get(key);
      if (!arb) {
        arb = this.build(this.resolve(s.$ref), depth + 1, s.$ref.split('/').pop());
        this.cache.set(key, arb);
      }
      return arb;
    }
    if (Array.isArray(s.anyOf)) {
      let alternatives = s.anyOf as JsonSchema[];
      if (depth > this.maxDepth) {
        const leaves = alternatives.filter((a) => a.$ref === undefined && a.type !== 'array' && a.type !== 'object' && !a.anyOf);
        if (leaves.length) alternatives = leaves;
      }
      return fc.oneof(...alternatives.map((a) => this.build(a, depth, owner)));
    }
    if ('const' in s) return fc.constant(s.const);
    if (Array.isArray(s.enum)) return fc.constantFrom(...(s.enum as unknown[]));
    if (Array.isArray(s.type)) return fc.oneof(...(s.type as string[]).map((type) => this.build({ ...s, type }, depth, owner)));
    switch (s.type) {
      case 'string':
        return stringOf(s);
      case 'integer':
        return integerOf(s);
      case 'number':
        return numberOf(s);
      case 'boolean':
        return fc.boolean();
      case 'null':
        return fc.constant(null);
      case 'array':
        return this.arrayOf(s, depth, owner);
      case 'object':
        return this.objectOf(s, depth, owner);
      default:
        return fc.jsonValue({ maxDepth: Math.max(0, this.maxDepth - depth) });
    }
  }

  private arrayOf(s: JsonSchema, depth: number, owner: string | undefined): fc.Arbitrary<unknown> {
    const min = typeof s.minItems === 'number' ? s.minItems : 0;
    const cap = typeof s.maxItems === 'number' ? s.maxItems : Number.POSITIVE_INFINITY;
    if (depth > this.maxDepth && min === 0) return fc.constant([]);
    const items =
      s.items && typeof s.items === 'object' ? this.build(s.items as JsonSchema, depth + 1, owner) : fc.jsonValue({ maxDepth: 1 });
    const max = Math.min(cap, Math.max(min, depth > this.maxDepth ? min : 4));
    return fc.array(items, { minLength: min, maxLength: max });
  }

  private objectOf(s: JsonSchema, depth: number, owner: string | undefined): fc.Arbitrary<unknown> {
    const props = (s.properties ?? {}) as Record<string, JsonSchema>;
    const required = new Set(Array.isArray(s.required) ? (s.required as string[]) : []);
    const keys = Object.keys(props).filter((k) => required.has(k) || depth <= this.maxDepth);
    const record = fc.record(Object.fromEntries(keys.map((k) => [k, this.of(props[k] as JsonSchema, depth + 1, k, owner)])), {
      requiredKeys: keys.filter((k) => required.has(k)),
    });
    const extra = s.additionalProperties;
    if (!extra || typeof extra !== 'object' || depth > this.maxDepth) return record;
    const names = (s.propertyNames ?? { type: 'string' }) as JsonSchema;
    const dict = fc.dictionary(
      stringOf({ ...names, maxLength: Math.min(Number(names.maxLength ?? 12), 12) }),
      this.build(extra as JsonSchema, depth + 1, owner),
      {
        maxKeys: 3,
      },
    );
    if (keys.length === 0) return dict;
    return fc.tuple(record, dict).map(([r, d]) => ({ ...d, ...r }));
  }
}

function stringOf(s: JsonSchema): fc.Arbitrary<string> {
  const min = typeof s.minLength === 'number' ? s.minLength : 0;
  const max = typeof s.maxLength === 'number' ? s.maxLength : undefined;
  const fits = (v: string) => v.length >= min && (max === undefined || v.length <= max);
  if (s.format === 'uuid') return fc.uuid();
  if (s.format === 'date-time') return dateTime();
  if (typeof s.pattern === 'string') {
    try {
      return fc.stringMatching(new RegExp(s.pattern)).filter(fits);
    } catch {
      // A pattern fast-check cannot read: fall back to plain strings.
    }
  }
  const upTo = Math.max(min, Math.min(max ?? 24, 24));
  const plain = fc.string({
    minLength: min,
    maxLength: upTo,
    unit: fc.oneof(
      { weight: 8, arbitrary: fc.string({ minLength: 1, maxLength: 1 }) },
      { weight: 1, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }) },
    ),
  });
  if (max === undefined || max > 100_000) return plain;
  // The longest string allowed, now and then: limits are where the bugs live.
  return fc.oneof({ weight: 9, arbitrary: plain.filter(fits) }, { weight: 1, arbitrary: fc.constant('x'.repeat(max)) });
}

export function dateTime(): fc.Arbitrary<string> {
  return fc
    .tuple(
      fc.date({ min: new Date('1990-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true }),
      fc.constantFrom('Z', '+00:00', '+02:00', '-08:00', '+05:30', '+14:00'),
      fc.boolean(),
    )
    .map(([d, zone, millis]) => {
      const iso = d.toISOString().replace(millis ? /Z$/ : /\.\d{3}Z$/, '');
      if (zone === 'Z') return `${iso}Z`;
      // Same instant, written in that zone.
      const sign = zone[0] === '-' ? -1 : 1;
      const [h, m] = zone.slice(1).split(':').map(Number) as [number, number];
      const local = new Date(d.getTime() + sign * (h * 60 + m) * 60_000).toISOString();
      return `${millis ? local.slice(0, 23) : local.slice(0, 19)}${zone}`;
    });
}

function integerOf(s: JsonSchema): fc.Arbitrary<number> {
  const lo = Math.max(typeof s.minimum === 'number' ? Math.ceil(s.minimum) : -1e12, Number.MIN_SAFE_INTEGER);
  const hi = Math.min(typeof s.maximum === 'number' ? Math.floor(s.maximum) : 1e12, Number.MAX_SAFE_INTEGER);
  const inner =
    lo >= -INT32 - 1 && hi <= INT32 ? fc.integer({ min: lo, max: hi }) : fc.bigInt({ min: BigInt(lo), max: BigInt(hi) }).map(Number);
  const edges = [lo, hi, ...(lo < 0 && hi > 0 ? [0] : [])];
  return fc.oneof({ weight: 5, arbitrary: inner }, { weight: 1, arbitrary: fc.constantFrom(...edges) });
}

function numberOf(s: JsonSchema): fc.Arbitrary<number> {
  const min = typeof s.minimum === 'number' ? s.minimum : -1e12;
  const max = typeof s.maximum === 'number' ? s.maximum : 1e12;
  return fc.oneof(
    { weight: 2, arbitrary: fc.double({ min, max, noNaN: true, noDefaultInfinity: true }) },
    { weight: 1, arbitrary: integerOf(s) },
  );
}

// ── mutations of a valid value ──────────────────────────────────────────────────────────────

export interface Mutation {
  kind: 'replace' | 'delete' | 'unknown' | 'wrap';
  /** Which node (index into the value's nodes, modulo their number). */
  at: number;
  value: unknown;
  key: string;
}

export function mutation(): fc.Arbitrary<Mutation> {
  return fc.record({
    kind: fc.constantFrom<Mutation['kind']>('replace', 'replace', 'replace', 'replace', 'delete', 'delete', 'unknown', 'unknown', 'wrap'),
    at: fc.nat(),
    value: nastyValue(),
    key: fc.oneof(
      fc.constantFrom('x', 'extra', '__proto__', 'constructor', '', '\u0000', 'Task', 'uniqueKey', 'workerId', 'maxRetries', 'id', '$ptr'),
      fc.string({ minLength: 1, maxLength: 8 }),
    ),
  });
}

type PathPart = string | number;
interface Node {
  path: PathPart[];
  value: unknown;
}

function nodesOf(value: unknown, path: PathPart[] = [], out: Node[] = []): Node[] {
  out.push({ path, value });
  if (out.length > 2_000) return out;
  if (Array.isArray(value)) for (const [i, v] of value.entries()) nodesOf(v, [...path, i], out);
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) nodesOf(v, [...path, k], out);
  return out;
}

const pointer = (path: PathPart[]) =>
  path.length ? `/${path.map((p) => String(p).replace(/~/g, '~0').replace(/\//g, '~1')).join('/')}` : '(root)';
export const preview = (v: unknown, n = 60) => {
  const s = typeof v === 'string' && !v.startsWith('\u0001RAW:') ? JSON.stringify(v) : (serialize(v) ?? String(v));
  return s.length > n ? `${s.slice(0, n)}…(${s.length} chars)` : s;
};

/** `value` with one node replaced, deleted, wrapped or given an unknown field; and what was done. */
export function applyMutation(value: unknown, m: Mutation): { value: unknown; fault: string } {
  const copy = structuredClone(value);
  const nodes = nodesOf(copy);
  const pick = (candidates: Node[]) => candidates[m.at % candidates.length] as Node;
  const setAt = (path: PathPart[], v: unknown): unknown => {
    if (path.length === 0) return v;
    let parent = copy as Record<PathPart, unknown>;
    for (const p of path.slice(0, -1)) parent = parent[p] as Record<PathPart, unknown>;
    const last = path[path.length - 1] as PathPart;
    if (Array.isArray(parent)) parent[last as number] = v;
    else define(parent as Record<string, unknown>, String(last), v);
    return copy;
  };
  switch (m.kind) {
    case 'delete': {
      const inner = nodes.filter((n) => n.path.length > 0);
      if (!inner.length) return { value: undefined, fault: 'no value at all' };
      const n = pick(inner);
      let parent = copy as Record<PathPart, unknown>;
      for (const p of n.path.slice(0, -1)) parent = parent[p] as Record<PathPart, unknown>;
      const last = n.path[n.path.length - 1] as PathPart;
      if (Array.isArray(parent)) parent.splice(last as number, 1);
      else delete parent[last];
      return { value: copy, fault: `delete ${pointer(n.path)}` };
    }
    case 'unknown': {
      const objects = nodes.filter((n) => n.value && typeof n.value === 'object' && !Array.isArray(n.value));
      if (!objects.length) {
        const o: Record<string, unknown> = {};
        define(o, m.key, m.value);
        return { value: o, fault: `replace (root) with an object of unknown field ${JSON.stringify(m.key)}` };
      }
      const n = pick(objects);
      define(n.value as Record<string, unknown>, m.key, m.value);
      return { value: copy, fault: `unknown field ${JSON.stringify(m.key)} at ${pointer(n.path)} = ${preview(m.value)}` };
    }
    case 'wrap': {
      const n = pick(nodes);
      const wrapped = m.at % 2 ? [n.value] : { value: n.value };
      return { value: setAt(n.path, wrapped), fault: `wrap ${pointer(n.path)} in ${Array.isArray(wrapped) ? 'an array' : 'an object'}` };
    }
    default: {
      const n = pick(nodes);
      return { value: setAt(n.path, m.value), fault: `replace ${pointer(n.path)} with ${preview(m.value)}` };
    }
  }
}

// ── bodies ──────────────────────────────────────────────────────────────────────────────────

export type Damage =
  | 'none'
  | 'duplicate-key'
  | 'truncate'
  | 'trailing'
  | 'bom'
  | 'invalid-utf8'
  | 'control-byte'
  | 'single-quotes'
  | 'literal'
  | 'empty'
  | 'whitespace'
  | 'oversize';

const DAMAGES: Damage[] = [
  'duplicate-key',
  'truncate',
  'trailing',
  'bom',
  'invalid-utf8',
  'control-byte',
  'single-quotes',
  'literal',
  'empty',
  'whitespace',
  'oversize',
];
const LITERALS = [
  'NaN',
  'Infinity',
  'undefined',
  "{'a':1}",
  '{a:1}',
  '[1,]',
  '{"a":1,}',
  '01',
  '-',
  '.5',
  '"\\ud800"',
  '"\\u0000"',
  '"\\x00"',
  '{"__proto__":{"polluted":true}}',
  'null',
  'true',
  '0',
  '""',
  '[]',
  '{}',
  '{"":{"":{"":[]}}}',
  '/* comment */ {}',
];
const BAD_UTF8 = [[0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82]];

export interface Encoded {
  bytes: Buffer | undefined;
  /** What makes it unacceptable, if anything is meant to. */
  fault?: string;
  /** What is odd about it but may well be accepted. */
  noise?: string;
}

/** The bytes of a JSON body of `value`, damaged as `damage` says (`n` picks where and how). */
export function encodeBody(value: unknown, damage: Damage, n: number, maxBody: number): Encoded {
  const text = serialize(value) ?? '';
  const bytes = (s: string) => Buffer.from(s, 'utf8');
  switch (damage) {
    case 'none':
      return { bytes: text ? bytes(text) : undefined, ...(text ? {} : { fault: 'no body' }) };
    case 'duplicate-key': {
      const m = /^\{"((?:[^"\\]|\\.)*)":/.exec(text);
      if (!m) return { bytes: bytes(text), noise: 'duplicate key (none to duplicate)' };
      const other = serialize(NASTY_NUMBERS[n % NASTY_NUMBERS.length]) ?? 'null';
      // Before the original (the original wins in JSON.parse) or after it (the duplicate wins).
      const doubled = n % 2 ? `{"${m[1]}":${other},${text.slice(1)}` : `${text.slice(0, -1)},"${m[1]}":${other}}`;
      return { bytes: bytes(doubled), noise: `duplicate key ${m[1]} = ${other} ${n % 2 ? 'first' : 'last'}` };
    }
    case 'truncate':
      if (text.length < 2) return { bytes: bytes('{'), fault: 'truncated JSON' };
      return { bytes: bytes(text.slice(0, 1 + (n % (text.length - 1)))), fault: 'truncated JSON' };
    case 'trailing': {
      const junk = ['x', ',', '}', ' {}', '\u0000', '// c', ']', '\n{"a":1}'][n % 8] as string;
      return { bytes: bytes(text + junk), fault: `trailing ${JSON.stringify(junk)}` };
    }
    case 'bom':
      return { bytes: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), bytes(text)]), noise: 'UTF-8 BOM' };
    case 'invalid-utf8': {
      const b = bytes(text);
      const at = b.length ? n % b.length : 0;
      const bad = Buffer.from(BAD_UTF8[n % BAD_UTF8.length] as number[]);
      return {
        bytes: Buffer.concat([b.subarray(0, at), bad, b.subarray(at)]),
        noise: `invalid UTF-8 ${bad.toString('hex')} at byte ${at}`,
      };
    }
    case 'control-byte': {
      const b = bytes(text);
      const at = b.length ? n % b.length : 0;
      const c = [0x00, 0x01, 0x08, 0x0b, 0x1f, 0x7f][n % 6] as number;
      return {
        bytes: Buffer.concat([b.subarray(0, at), Buffer.from([c]), b.subarray(at)]),
        noise: `raw byte 0x${c.toString(16)} at byte ${at}`,
      };
    }
    case 'single-quotes':
      return text.includes('"')
        ? { bytes: bytes(text.replaceAll('"', "'")), fault: 'single quotes' }
        : { bytes: bytes(text), noise: 'nothing to quote' };
    case 'literal': {
      const l = LITERALS[n % LITERALS.length] as string;
      return { bytes: bytes(l), noise: `body ${l}` };
    }
    case 'empty':
      return { bytes: Buffer.alloc(0), noise: 'empty body' };
    case 'whitespace':
      return { bytes: bytes(` \n\t${text}\r\n `), noise: 'whitespace around' };
    case 'oversize': {
      const size = maxBody + 1 + (n % 8192);
      const pad = Math.max(0, size - text.length - 12);
      return {
        bytes: bytes(`{"pad":"${'x'.repeat(pad)}","v":${text || 'null'}}`.slice(0, Math.max(size, 1))),
        fault: `over the body limit (${size} bytes)`,
      };
    }
  }
}

// ── requests ────────────────────────────────────────────────────────────────────────────────

export interface FuzzRequest {
  /** operationId, or 'unrouted' for a method or path the document does not name. */
  op: string;
  method: string;
  path: string;
  headers: [string, string][];
  body: Buffer | undefined;
  chunked: boolean;
  lane: number;
  /** What is meant to make it refused; empty: meant to be accepted. */
  faults: string[];
  /** Oddities that may or may not be refused. */
  noise: string[];
  /** How the request breaks HTTP itself (a raw non-ASCII byte in the request target): Node's parser answers, not the API. */
  violation?: string;
}

export const READ_ONLY_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function describeRequest(r: FuzzRequest, bodyChars = 300): string {
  const shownHeaders = r.headers.map(([k, v]) => `${k}: ${v.length > 80 ? `${v.slice(0, 80)}…` : v}`).join('; ');
  let body = 'no body';
  if (r.body) {
    const text = r.body.toString('utf8');
    const printable = Buffer.from(text, 'utf8').equals(r.body);
    const shown = printable
      ? JSON.stringify(text.length > bodyChars ? `${text.slice(0, bodyChars)}…` : text)
      : `hex ${r.body.subarray(0, bodyChars / 2).toString('hex')}`;
    body = `${r.body.length} bytes${r.chunked ? ' chunked' : ''}: ${shown}`;
  }
  const path = r.path.length > 300 ? `${r.path.slice(0, 300)}…(${r.path.length} chars)` : r.path;
  return (
    `${r.method} ${path} [${r.op}, lane ${r.lane}] {${shownHeaders}} ${body}` +
    (r.faults.length ? ` faults: ${r.faults.join('; ')}` : '') +
    (r.noise.length ? ` noise: ${r.noise.join('; ')}` : '') +
    (r.violation ? ` breaks HTTP: ${r.violation}` : '')
  );
}

function withToString(r: FuzzRequest): FuzzRequest {
  Object.defineProperty(r, fc.toStringMethod, { value: () => describeRequest(r), enumerable: false });
  return r;
}

export interface Tokens {
  admin: string;
  read: string;
  submit: string;
  worker: string;
}

const GRANTS: Record<string, string[]> = {
  read: ['read'],
  submit: ['read', 'submit'],
  worker: ['worker'],
  admin: ['read', 'submit', 'worker', 'admin'],
};

interface Auth {
  header: string | undefined;
  /** The scope it authenticates as; undefined when it does not authenticate. */
  as: string | undefined;
  label: string;
}

function authArb(t: Tokens): fc.Arbitrary<Auth> {
  const bad = (header: string | undefined, label: string): Auth => ({ header, as: undefined, label });
  return fc.oneof(
    { weight: 40, arbitrary: fc.constant<Auth>({ header: `Bearer ${t.admin}`, as: 'admin', label: 'admin' }) },
    {
      weight: 6,
      arbitrary: fc.constantFrom<Auth>(
        { header: `Bearer ${t.read}`, as: 'read', label: 'read token' },
        { header: `Bearer ${t.submit}`, as: 'submit', label: 'submit token' },
        { header: `Bearer ${t.worker}`, as: 'worker', label: 'worker token' },
        { header: `bearer   ${t.admin}  `, as: 'admin', label: 'admin, odd spacing' },
      ),
    },
    {
      weight: 4,
      arbitrary: fc.constantFrom<Auth>(
        bad(undefined, 'no token'),
        bad('Bearer', 'Bearer without a token'),
        bad('Bearer ', 'Bearer and a space'),
        bad(`Bearer ${t.admin}x`, 'wrong token'),
        bad(`Bearer ${t.admin.slice(0, -1)}`, 'token one short'),
        bad(`Basic ${Buffer.from(`admin:${t.admin}`).toString('base64')}`, 'Basic auth'),
        bad(t.admin, 'token without Bearer'),
        bad(`Bearer ${t.admin} ${t.admin}`, 'two tokens'),
        bad(`Bearer ${'x'.repeat(8000)}`, 'huge token'),
        bad('Bearer \u00fc\u00ff', 'latin-1 token'),
        bad('Bearer\t\t', 'tabs'),
      ),
    },
  );
}

function nastySegment(): fc.Arbitrary<string> {
  return fc.oneof(
    fc.constantFrom(
      '',
      '%00',
      '%ZZ',
      '%',
      '%E0%A4%A',
      '..',
      '.',
      '%2e%2e',
      'a%2Fb',
      '%2F',
      '%5C',
      '%ED%A0%80',
      '%F0%9F%98%80',
      '%C0%80',
      '%FF',
      "'%20or%20'1'%3D'1",
      '\u00fc',
      'null',
      '-1',
      '0',
      '1e3',
      '99999999999999999999999',
      'by-unique-key',
      'batch',
      '%20',
      '+',
      ';x=1',
      'x'.repeat(3000),
    ),
    fc.string({ unit: 'binary', minLength: 1, maxLength: 10 }).map((s) => encodeURIComponent(s.toWellFormed())),
  );
}

const encodeQuery = (s: string) => encodeURIComponent(s.toWellFormed());

/** A value as query or path text: strings as they are, raw tokens unwrapped, anything else as JSON. */
function scalarText(v: unknown): string {
  if (typeof v === 'string') return v.startsWith('\u0001RAW:') ? (serialize(v) ?? '') : v;
  return serialize(v) ?? '';
}

/**
 * Longest request target sent: Node refuses a header section over 16 KiB with a bare 431 and
 * destroys the socket with the rest unread, which the client sees as a reset. That is a limit of
 * the HTTP layer, not the API's (which sets its own for bodies): stay clear of it.
 */
export const MAX_TARGET = 8_000;

function nastyQueryValue(): fc.Arbitrary<string> {
  return fc.oneof(
    fc
      .constantFrom(
        '',
        ' ',
        '-1',
        '0',
        '1.5',
        '1e3',
        '99999999999999999999',
        'NaN',
        'true',
        'null',
        '[]',
        '{}',
        'a,b,,c',
        ',',
        'x'.repeat(5000),
      )
      .map(encodeQuery),
    fc.constantFrom('%00', '%ZZ', '%', '%ED%A0%80', '%C0%80', '%FF', '+', '%2B', '\u00fc', '%0A', '%0D%0A'),
    nastyValue()
      .map((v) => encodeQuery(scalarText(v)))
      .filter((v) => v.length <= 2_000),
  );
}

export interface BuildOptions {
  tokens: Tokens;
  /** Largest body the server accepts (EVENTIX_MAX_BODY_BYTES). */
  maxBody: number;
  lanes: number;
  values: SchemaValues;
  /** Path parameter values by name (already encoded segments), used most of the time. */
  pathHints: Record<string, fc.Arbitrary<string>>;
  /** Extra paths, methods and bodies the document does not name. */
  unroutedPaths: string[];
  /** Adjust a generated body value of an operation before it is encoded (keep long-polls short, say). Deterministic. */
  adjust?: (op: string, value: unknown) => unknown;
}

const VALID_CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'APPLICATION/JSON',
  'application/problem+json',
  'application/vnd.eventix+json',
  'application/json;charset=UTF-8',
];
const WRONG_CONTENT_TYPES = [
  'text/plain',
  'text/plain; charset=utf-8',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/xml',
  'application/octet-stream',
  'json',
  'application/jsonp',
  'application/json5',
  '*/*',
  'application/',
  '',
];

interface BodyChoice {
  value: { value: unknown; fault?: string };
  damage: Damage;
  n: number;
  contentType: { type: string | undefined; valid: boolean };
  chunked: boolean;
}

function contentTypeArb(): fc.Arbitrary<{ type: string | undefined; valid: boolean }> {
  return fc.oneof(
    { weight: 12, arbitrary: fc.constant({ type: 'application/json', valid: true }) },
    { weight: 3, arbitrary: fc.constantFrom(...VALID_CONTENT_TYPES).map((type) => ({ type, valid: true })) },
    { weight: 2, arbitrary: fc.constantFrom(...WRONG_CONTENT_TYPES).map((type) => ({ type, valid: false })) },
    { weight: 1, arbitrary: fc.constant({ type: undefined, valid: false }) },
  );
}

function damageArb(): fc.Arbitrary<Damage> {
  return fc.oneof({ weight: 7, arbitrary: fc.constant<Damage>('none') }, { weight: 3, arbitrary: fc.constantFrom(...DAMAGES) });
}

/** Requests for one operation of the document. */
export function operationRequests(op: Operation, o: BuildOptions): fc.Arbitrary<FuzzRequest> {
  const params = op.pathParams.map(
    (p) =>
      o.pathHints[`${op.id}.${p.name}`] ??
      o.pathHints[p.name] ??
      o.values.of(p.schema ?? { type: 'string' }, 0, p.name, op.id).map((v) => encodeURIComponent(scalarText(v).toWellFormed())),
  );
  const pathArb = fc.tuple(
    ...params.map((p) =>
      fc.oneof(
        { weight: 8, arbitrary: p.map((seg) => ({ seg, bad: false })) },
        { weight: 1, arbitrary: nastySegment().map((seg) => ({ seg, bad: true })) },
      ),
    ),
  );
  const queryArb = fc.tuple(
    fc.tuple(
      ...op.queryParams.map((p) =>
        fc.option(
          fc.oneof(
            {
              weight: 5,
              arbitrary: o.values.of(p.schema ?? { type: 'string' }, 0, p.name, op.id).map((v) => ({ v, bad: false as boolean })),
            },
            { weight: 2, arbitrary: nastyQueryValue().map((v) => ({ v: { raw: v }, bad: true as boolean })) },
          ),
          // A required parameter is left out now and then; an optional one half the time.
          { freq: p.required ? 12 : 2, nil: undefined },
        ),
      ),
    ),
    fc.oneof(
      { weight: 6, arbitrary: fc.constant<string[]>([]) },
      {
        weight: 1,
        arbitrary: fc.array(
          fc.constantFrom(
            'x=1',
            'limit',
            '=',
            '&',
            'limit=1&limit=2',
            '%ZZ=1',
            '%00=%00',
            'status=done&status=',
            'a[b]=c',
            'tags[k]=v',
            'cursor=',
            'limit=0x10',
          ),
          { minLength: 1, maxLength: 2 },
        ),
      },
    ),
  );
  const bodyArb: fc.Arbitrary<BodyChoice | undefined> = op.body
    ? fc.oneof(
        { weight: 1, arbitrary: fc.constant(undefined) },
        {
          weight: 14,
          arbitrary: fc.record({
            value: fc.oneof(
              { weight: 5, arbitrary: o.values.of(op.body.schema, 0, undefined, op.id).map((value) => ({ value })) },
              {
                weight: 5,
                arbitrary: fc.tuple(o.values.of(op.body.schema, 0, undefined, op.id), mutation()).map(([v, m]) => applyMutation(v, m)),
              },
            ),
            damage: damageArb(),
            n: fc.nat(),
            contentType: contentTypeArb(),
            chunked: fc.boolean(),
          }),
        },
      )
    : fc.oneof(
        { weight: 12, arbitrary: fc.constant(undefined) },
        {
          weight: 1,
          arbitrary: fc.record({
            value: fc.jsonValue({ maxDepth: 2 }).map((value) => ({ value })),
            damage: damageArb(),
            n: fc.nat(),
            contentType: contentTypeArb(),
            chunked: fc.boolean(),
          }),
        },
      );
  return fc
    .record({
      path: pathArb,
      query: queryArb,
      auth: authArb(o.tokens),
      body: bodyArb,
      lane: fc.nat({ max: o.lanes - 1 }),
      chunkedBias: fc.nat({ max: 4 }),
      close: fc.nat({ max: 49 }),
    })
    .map(({ path, query, auth, body, lane, chunkedBias, close }) => {
      const faults: string[] = [];
      const noise: string[] = [];
      let i = 0;
      const url = op.path.replace(/\{(\w+)\}/g, (_, name: string) => {
        const p = path[i++];
        if (p?.bad) noise.push(`path ${name} ${JSON.stringify(p.seg.length > 40 ? `${p.seg.slice(0, 40)}…` : p.seg)}`);
        return p?.seg ?? '';
      });
      const pairs: string[] = [];
      op.queryParams.forEach((p, k) => {
        const q = query[0][k];
        if (!q) return;
        const v = q.v as unknown;
        if (q.bad) {
          pairs.push(`${encodeQuery(p.name)}=${(v as { raw: string }).raw}`);
          noise.push(`query ${p.name}`);
        } else if (Array.isArray(v)) for (const item of v) pairs.push(`${encodeQuery(p.name)}=${encodeQuery(scalarText(item))}`);
        else if (v && typeof v === 'object')
          for (const [k2, v2] of Object.entries(v)) pairs.push(`${encodeQuery(p.name)}[${encodeQuery(k2)}]=${encodeQuery(scalarText(v2))}`);
        else pairs.push(`${encodeQuery(p.name)}=${encodeQuery(scalarText(v))}`);
      });
      for (const extra of query[1]) {
        pairs.push(extra);
        noise.push(`query ${extra}`);
      }
      const headers: [string, string][] = [];
      if (auth.header !== undefined) headers.push(['Authorization', auth.header]);
      if (op.scope !== 'public') {
        if (!auth.as) faults.push(auth.label);
        else if (!GRANTS[auth.as]?.includes(op.scope)) faults.push(`${auth.label} lacks scope ${op.scope}`);
      }
      if (close === 0) {
        headers.push(['Connection', 'close']);
        noise.push('Connection: close');
      }
      let bytes: Buffer | undefined;
      let chunked = false;
      if (body) {
        // A copy: fast-check keeps the generated value to shrink from, which must not change under it.
        const value = o.adjust ? o.adjust(op.id, structuredClone(body.value.value)) : body.value.value;
        if (body.value.fault) faults.push(body.value.fault);
        const e = encodeBody(value, body.damage, body.n, o.maxBody);
        if (e.fault) faults.push(e.fault);
        if (e.noise) noise.push(e.noise);
        bytes = e.bytes;
        if (body.contentType.type !== undefined) headers.push(['Content-Type', body.contentType.type]);
        if (!body.contentType.valid) (op.body ? faults : noise).push(`content type ${JSON.stringify(body.contentType.type ?? 'none')}`);
        if (!op.body) noise.push('a body the route takes none of');
        // One body in ten goes chunked: the server cannot know its size before reading it.
        chunked = body.chunked && chunkedBias === 0 && bytes !== undefined && bytes.length > 0;
      } else if (op.body?.required) faults.push('no body');
      while (pairs.length && url.length + pairs.join('&').length + 1 > MAX_TARGET) {
        pairs.pop();
        noise.push('query cut to stay under the header limit');
      }
      const target = pairs.length ? `${url}?${pairs.join('&')}` : url;
      return withToString({
        op: op.id,
        method: op.method,
        path: target,
        ...(/[^\x21-\x7e]/.test(target) ? { violation: 'a raw non-ASCII byte in the request target' } : {}),
        headers,
        body: bytes,
        chunked,
        lane,
        faults,
        noise,
      });
    });
}

/** Methods and paths the document does not name (or names for another method). */
export function unroutedRequests(o: BuildOptions): fc.Arbitrary<FuzzRequest> {
  return fc
    .record({
      method: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD'),
      path: fc.constantFrom(...o.unroutedPaths),
      auth: authArb(o.tokens),
      body: fc.option(fc.jsonValue({ maxDepth: 2 }), { freq: 3 }),
      lane: fc.nat({ max: o.lanes - 1 }),
    })
    .map(({ method, path, auth, body, lane }) => {
      const headers: [string, string][] = auth.header === undefined ? [] : [['Authorization', auth.header]];
      let bytes: Buffer | undefined;
      if (body !== null && method !== 'GET' && method !== 'HEAD') {
        bytes = Buffer.from(serialize(body) ?? 'null');
        headers.push(['Content-Type', 'application/json']);
      }
      return withToString({
        op: 'unrouted',
        method,
        path,
        headers,
        body: bytes,
        chunked: false,
        lane,
        faults: ['unrouted'],
        noise: [auth.label],
      });
    });
}
