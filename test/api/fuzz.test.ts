import { randomInt } from 'node:crypto';
import { Writable } from 'node:stream';
import { beforeAll, describe, expect, it } from 'vitest';
import { type App, createApp } from '../../src/api/app.ts';
import { createLogger } from '../../src/logger.ts';
import { cancel, claim, complete, fail, submit } from '../../src/queue/index.ts';
import { type ApiResponse, prng, type Rng, send } from '../helpers/api.ts';
import { useTestDatabase } from '../helpers/db.ts';

/**
 * Throw thousands of random and malformed requests at every route that changes something, and
 * check that each one is refused as the client's fault (4xx, problem+json) while the tasks table
 * stays exactly as it was. Bodies are built to be invalid in at least one way the API must catch
 * (a valid submission would be written, which is not what this test is about), and the requests
 * that are well-formed name tasks that do not exist, or that cannot make that move, or hold no lease.
 *
 * The generator is seeded; a failure prints the seed: EVENTIX_FUZZ_SEED=<seed> replays it.
 */

const SEED = Number(process.env.EVENTIX_FUZZ_SEED ?? randomInt(2 ** 31));
const MAX_BODY = 256 * 1024;
const PLAN: Record<string, number> = {
  submit: 600,
  batch: 350,
  cancel: 250,
  reschedule: 300,
  delete: 200,
  claim: 450,
  heartbeat: 250,
  complete: 300,
  fail: 300,
  release: 200,
};
const CONCURRENCY = 8;

// ── random JSON ─────────────────────────────────────────────────────────────────────────────

/** Marks a raw JSON token (a number JSON.stringify cannot write, deep nesting) to splice in after stringify. */
const raw = (token: string) => `\u0001RAW:${token}\u0001`;
// A raw token may hold quotes (deep objects: {"d":{"d":0}}), which JSON.stringify escapes; the
// pattern steps over escapes and the token is unescaped back, so such a token too is spliced in
// raw instead of being sent as an ordinary (and valid) string.
const RAW_RE = /"\\u0001RAW:((?:[^"\\]|\\.)*?)\\u0001"/g;
const serialize = (value: unknown) => JSON.stringify(value).replace(RAW_RE, (_, t: string) => JSON.parse(`"${t}"`) as string);

const deep = (depth: number, kind: 'array' | 'object') =>
  raw(kind === 'array' ? `${'['.repeat(depth)}${']'.repeat(depth)}` : `${'{"d":'.repeat(depth)}0${'}'.repeat(depth)}`);

const NAN_ISH = [
  'NaN',
  'Infinity',
  '-Infinity',
  'nan',
  'null',
  'undefined',
  '',
  ' ',
  '1e999',
  '0x1F',
  '-0',
  '1_000',
  '١٢',
  'true',
  '{}',
  '[]',
];
const ODD_STRINGS = [
  'a\u0000b',
  '\u0000',
  '\ud800',
  'x\udc00y',
  '\udbff',
  '\ud83d\ude00',
  'ü',
  '☃',
  '\u202e',
  '\\u0000',
  '%00',
  "'; drop table tasks; --",
  '<script>',
  '\n\r\t',
  '../..',
];
const RAW_NUMBERS = [
  '1e400',
  '-1e400',
  '-0',
  '1e-400',
  '123456789012345678901234567890',
  '-123456789012345678901234567890',
  '0.1e1',
  '1E2',
];

function randString(r: Rng): string {
  switch (r.int(0, 5)) {
    case 0:
      return r.pick(NAN_ISH);
    case 1:
      return r.pick(ODD_STRINGS);
    case 2:
      return 'x'.repeat(r.pick([0, 1, 199, 200, 201, 500, 501, 5_000, 100_001]));
    case 3:
      return String.fromCharCode(...Array.from({ length: r.int(1, 20) }, () => r.int(0, 0xffff)));
    default:
      return Math.floor(r.next() * 36 ** 6).toString(36);
  }
}

function randNumber(r: Rng): number | string {
  switch (r.int(0, 6)) {
    case 0:
      return r.int(-10, 10);
    case 1:
      return r.pick([
        2 ** 31,
        -(2 ** 31) - 1,
        2 ** 53,
        2 ** 53 + 2,
        2 ** 63,
        2 ** 64,
        -(2 ** 63),
        Number.MAX_VALUE,
        -Number.MAX_VALUE,
        32768,
        -32769,
      ]);
    case 2:
      return (r.next() - 0.5) * 10 ** r.int(0, 12);
    case 3:
      return raw(r.pick(RAW_NUMBERS));
    case 4:
      return Number.MIN_VALUE;
    default:
      return r.int(-1_000_000, 1_000_000);
  }
}

function randJson(r: Rng, depth = 0): unknown {
  const kind = r.int(0, depth > 3 ? 4 : 7);
  switch (kind) {
    case 0:
      return null;
    case 1:
      return r.chance(0.5);
    case 2:
      return randNumber(r);
    case 3:
    case 4:
      return randString(r);
    case 5:
      return Array.from({ length: r.int(0, 4) }, () => randJson(r, depth + 1));
    case 6: {
      const o: Record<string, unknown> = {};
      for (let i = r.int(0, 4); i > 0; i--) o[r.chance(0.2) ? r.pick(ODD_STRINGS) : randString(r)] = randJson(r, depth + 1);
      return o;
    }
    default:
      return r.chance(0.5) ? deep(r.int(10, 3_000), r.chance(0.5) ? 'array' : 'object') : randJson(r, depth + 1);
  }
}

/** Anything but a string. */
function nonString(r: Rng, allowNull = true): unknown {
  for (;;) {
    const v = randJson(r);
    if (typeof v === 'string' && !v.startsWith('\u0001RAW:')) continue;
    if (v === null && !allowNull) continue;
    return v;
  }
}

/** Anything but a number (a raw token may still be a non-number like deep nesting). */
function nonNumber(r: Rng, allowNull = true): unknown {
  for (;;) {
    const v = randJson(r);
    if (typeof v === 'number') continue;
    if (typeof v === 'string' && RAW_NUMBERS.some((n) => v === raw(n))) continue;
    if (v === null && !allowNull) continue;
    return v;
  }
}

/** A JSON value PostgreSQL cannot store, somewhere inside. */
function poison(r: Rng): unknown {
  const bad = r.pick<() => unknown>([
    () => r.pick(['a\u0000b', '\u0000', '\ud800', 'x\udc00', '\udbff']),
    () => ({ [r.pick(['\u0000', 'k\u0000', '\ud800'])]: 1 }),
    () => raw(r.pick(['1e400', '-1e400'])),
    () => deep(r.int(50_000, 100_000), r.chance(0.5) ? 'array' : 'object'),
  ])();
  // Bury it a few levels down, sometimes.
  let v: unknown = bad;
  for (let i = r.int(0, 3); i > 0; i--) v = r.chance(0.5) ? [randClean(r), v] : { k: v };
  return v;
}

/** Random JSON PostgreSQL can store. */
function randClean(r: Rng): unknown {
  return r.pick<unknown>([null, true, 0, -1.5, 'text', 'ü ☃ 😀', [1, 'two'], { a: { b: [null] } }, 'x'.repeat(r.int(0, 300))]);
}

const nameChars = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:/-';
function validName(r: Rng): string {
  return Array.from({ length: r.int(1, 30) }, () => nameChars[r.int(0, nameChars.length - 1)]).join('');
}
const BAD_NAMES = ['', ' ', 'a b', 'x'.repeat(201), 'ü', 'a\u0000', '\ud800', 'task?', 'a#b', 'tab\t', 'a,b', 'a;b'];
const badName = (r: Rng) => (r.chance(0.6) ? r.pick(BAD_NAMES) : nonString(r));

const VALID_ETAS = [
  '2030-01-01T00:00:00Z',
  '2031-06-15T12:30:45.123+02:00',
  '2024-02-29T23:59:59.999999-08:00',
  '2001-01-01T00:00:00+00:00',
];
const BAD_ETAS = [
  'tomorrow',
  '',
  'NaN',
  '2030-01-01',
  '2030-01-01T00:00:00',
  '2030-02-30T00:00:00Z',
  '2030-13-01T00:00:00Z',
  '2030-01-01T24:00:00Z',
  '2030-01-01T00:00:60Z',
  '0000-01-01T00:00:00Z',
  '0001-01-01T00:00:00+01:00',
  '9999-12-31T23:59:59-14:00',
  '+012345-01-01T00:00:00Z',
  '2030-01-01T00:00:00+25:00',
  '2030-01-01T00:00:00.Z',
  'Tue, 01 Jan 2030 00:00:00 GMT',
];
const badEta = (r: Rng) => (r.chance(0.7) ? r.pick(BAD_ETAS) : nonString(r));

type Body = Record<string, unknown>;
type Mutation = (r: Rng, b: Body) => void;

/** A mutation setting one field (of the body, or of its `error` object) to a generated value. */
const set =
  (field: string, value: (r: Rng) => unknown): Mutation =>
  (r, b) => {
    b[field] = value(r);
  };
const setError =
  (field: string, value: (r: Rng) => unknown): Mutation =>
  (r, b) => {
    errorOf(b)[field] = value(r);
  };

const unknownField: Mutation = (r, b) => {
  b[`x${validName(r).replace(/[^a-z0-9]/gi, '')}`] = randJson(r);
};

// ── submissions ─────────────────────────────────────────────────────────────────────────────

const SECONDS_FIELDS: [string, number, boolean][] = [
  ['error_eta_inc', 366 * 86400, false],
  ['error_eta_max', 366 * 86400, false],
  ['timeout_seconds', 7 * 86400, true],
  ['result_expires', 10 * 366 * 86400, true],
  ['error_expires', 10 * 366 * 86400, true],
];

function validSubmit(r: Rng): Body {
  const b: Body = { task: validName(r) };
  if (r.chance(0.5)) b.namespace = validName(r);
  if (r.chance(0.4)) b.args = [randClean(r), randClean(r)];
  if (r.chance(0.4)) b.kwargs = { a: randClean(r) };
  if (r.chance(0.3)) b.priority = r.int(-32768, 32767);
  if (r.chance(0.3)) b.eta = r.pick(VALID_ETAS);
  if (r.chance(0.3)) b.unique_key = r.chance(0.2) ? null : validName(r);
  if (r.chance(0.2)) b.retry = r.chance(0.5);
  if (r.chance(0.2)) b.max_retries = r.chance(0.2) ? null : r.int(0, 1000);
  if (r.chance(0.2)) b.timeout_seconds = r.int(1, 7 * 86400);
  if (r.chance(0.2)) b.store_result = r.chance(0.5);
  if (r.chance(0.2)) b.operator = r.chance(0.2) ? null : validName(r);
  return b;
}

/** Each leaves the submission invalid, whatever else is in it. */
const SUBMIT_BREAKERS: [string, Mutation][] = [
  ['unknown field', unknownField],
  [
    'camelCase field',
    (r, b) => {
      b[r.pick(['uniqueKey', 'maxRetries', 'errorEtaInc', 'storeResult', 'timeoutSeconds', 'resultExpires', 'Task'])] = 1;
    },
  ],
  ['task missing', (_, b) => delete b.task],
  ['task bad', set('task', (r) => badName(r))],
  ['namespace bad', set('namespace', (r) => badName(r))],
  ['args not an array', set('args', (r) => r.pick<unknown>([null, {}, 'a', 1, true, { 0: 'a' }]))],
  ['args poisoned', set('args', (r) => [randClean(r), poison(r)])],
  ['kwargs not an object', set('kwargs', (r) => r.pick<unknown>([null, [], ['a'], 'a', 1, false]))],
  [
    'kwargs poisoned',
    set('kwargs', (r) => ({ ok: randClean(r), [r.chance(0.5) ? 'p' : r.pick(['\u0000', 'a\u0000', '\udfff'])]: poison(r) })),
  ],
  [
    'priority bad',
    set('priority', (r) => r.pick<unknown>([0.5, -1.25, 32768, -32769, 2 ** 53, 1e300, raw('1e400'), raw('-1e400'), null, nonNumber(r)])),
  ],
  ['eta bad', set('eta', (r) => badEta(r))],
  ['unique_key bad', set('unique_key', (r) => r.pick<unknown>(['', 'k'.repeat(501), 'a\u0000', '\ud800', nonString(r, false)]))],
  ['retry bad', set('retry', (r) => r.pick<unknown>([null, 'true', 1, 0, [], {}]))],
  ['store_result bad', set('store_result', (r) => r.pick<unknown>([null, 'false', 1, 0, [], {}]))],
  ['max_retries bad', set('max_retries', (r) => r.pick<unknown>([-1, 1001, 1.5, '5', true, raw('1e400')]))],
  [
    'seconds bad',
    (r, b) => {
      const [field, max, nullable] = r.pick(SECONDS_FIELDS);
      const choices: unknown[] = [0, -1, max + 1, 1.5, '60', true, [], raw('1e400'), raw('-0'), 2 ** 64];
      if (!nullable) choices.push(null);
      b[field] = r.pick(choices);
    },
  ],
  [
    'error_eta_max below error_eta_inc',
    (r, b) => {
      if (r.chance(0.5)) {
        const inc = r.int(2, 366 * 86400);
        b.error_eta_inc = inc;
        b.error_eta_max = r.int(1, inc - 1);
      } else {
        delete b.error_eta_inc;
        b.error_eta_max = r.int(1, 14); // the default error_eta_inc is 15
      }
    },
  ],
  ['operator bad', set('operator', (r) => r.pick<unknown>(['', 'o'.repeat(201), 'a\u0000', '\ud800', nonString(r, false)]))],
];

/** Noise: anything may happen to any field, valid or not. Applied before the breakers, never after. */
function noise(r: Rng, b: Body, fields: readonly string[]): void {
  for (let i = r.pick([0, 0, 0, 1, 2, 3]); i > 0; i--) {
    const f = r.pick(fields);
    if (r.chance(0.3)) delete b[f];
    else b[f] = randJson(r);
  }
}
const SUBMIT_FIELDS = [
  'task',
  'namespace',
  'args',
  'kwargs',
  'priority',
  'eta',
  'unique_key',
  'retry',
  'max_retries',
  'error_eta_inc',
  'error_eta_max',
  'timeout_seconds',
  'store_result',
  'result_expires',
  'error_expires',
  'operator',
];

function invalidSubmit(r: Rng): { body: unknown; why: string } {
  if (r.chance(0.1)) {
    // Not an object at all, or an object of unknown keys only.
    const v = r.chance(0.5) ? nonObjectJson(r) : { [`x${r.int(0, 1e6)}`]: randJson(r), ...(r.chance(0.5) ? { task: 'ok' } : {}) };
    return { body: v, why: 'not a submission' };
  }
  const b = validSubmit(r);
  noise(r, b, SUBMIT_FIELDS);
  const whys: string[] = [];
  for (let i = r.pick([1, 1, 1, 2]); i > 0; i--) {
    const [why, breaker] = r.pick(SUBMIT_BREAKERS);
    breaker(r, b);
    whys.push(why);
  }
  return { body: b, why: whys.join(' + ') };
}

function nonObjectJson(r: Rng): unknown {
  for (;;) {
    const v = randJson(r);
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
  }
}

// ── claims and leases ───────────────────────────────────────────────────────────────────────

const badWorkerId = (r: Rng) => r.pick<unknown>(['', 'w'.repeat(201), 'w\u0000', '\u0000', '\ud800', 'w\udfff', nonString(r)]);

function validClaim(r: Rng): Body {
  const b: Body = { worker_id: validName(r), tasks: Array.from({ length: r.int(1, 4) }, () => validName(r)) };
  if (r.chance(0.5)) b.namespace = r.chance(0.3) ? 'fuzz' : validName(r);
  if (r.chance(0.4)) b.limit = r.int(1, 1000);
  if (r.chance(0.4)) b.lease_seconds = r.int(5, 3600);
  if (r.chance(0.2)) b.wait_seconds = 0;
  return b;
}

const CLAIM_BREAKERS: [string, Mutation][] = [
  ['unknown field', unknownField],
  [
    'camelCase field',
    (r, b) => {
      b[r.pick(['workerId', 'leaseSeconds', 'waitSeconds', 'Tasks'])] = 5;
    },
  ],
  ['worker_id missing', (_, b) => delete b.worker_id],
  ['worker_id bad', set('worker_id', (r) => badWorkerId(r))],
  ['namespace bad', set('namespace', (r) => badName(r))],
  ['tasks missing', (_, b) => delete b.tasks],
  ['tasks empty', set('tasks', () => [])],
  ['tasks not an array', set('tasks', (r) => (r.chance(0.5) ? 'job' : nonObjectJsonNotArray(r)))],
  ['tasks bad name', set('tasks', (r) => [validName(r), badName(r)])],
  ['tasks too many', set('tasks', () => Array.from({ length: 1001 }, (_, i) => `t${i}`))],
  ['limit bad', set('limit', (r) => r.pick<unknown>([0, -1, 1001, 1.5, null, '5', raw('1e400'), nonNumber(r)]))],
  ['lease_seconds bad', set('lease_seconds', (r) => r.pick<unknown>([4, 3601, 0, 5.5, null, '30', raw('-0'), nonNumber(r)]))],
  ['wait_seconds bad', set('wait_seconds', (r) => r.pick<unknown>([-1, -0.001, 60.001, 61, null, '1', raw('1e400'), nonNumber(r)]))],
];
const CLAIM_FIELDS = ['worker_id', 'namespace', 'tasks', 'limit', 'lease_seconds'];

function nonObjectJsonNotArray(r: Rng): unknown {
  for (;;) {
    const v = randJson(r);
    if (!Array.isArray(v)) return v;
  }
}

function invalidClaim(r: Rng): { body: unknown; why: string } {
  if (r.chance(0.1)) return { body: r.chance(0.5) ? nonObjectJson(r) : { [`x${r.int(0, 1e6)}`]: randJson(r) }, why: 'not a claim' };
  const b = validClaim(r);
  noise(r, b, CLAIM_FIELDS);
  const [why, breaker] = r.pick(CLAIM_BREAKERS);
  breaker(r, b);
  // A long-poll would only slow the test down: never let a positive wait through.
  if (typeof b.wait_seconds === 'number' && b.wait_seconds > 0 && b.wait_seconds <= 60) b.wait_seconds = 61;
  return { body: b, why };
}

interface Fixtures {
  scheduled: string;
  processing: string;
  done: string;
  error: string;
  cancelled: string;
  workerId: string;
  token: number;
}

function leaseBody(r: Rng, fx: Fixtures, extra: Body = {}): Body {
  const workerId = r.chance(0.5) ? fx.workerId : validName(r);
  let token = r.pick([1, 2, r.int(1, 1_000_000), 2 ** 40, 2 ** 53 - 1]);
  // Never the real lease: the owner's id with its token would be a legitimate request.
  if (workerId === fx.workerId && token === fx.token) token += 1;
  return { worker_id: workerId, fencing_token: token, ...extra };
}

const LEASE_BREAKERS: [string, Mutation][] = [
  ['unknown field', unknownField],
  ['worker_id missing', (_, b) => delete b.worker_id],
  ['worker_id bad', set('worker_id', (r) => badWorkerId(r))],
  ['fencing_token missing', (_, b) => delete b.fencing_token],
  ['fencing_token bad', set('fencing_token', (r) => r.pick<unknown>([0, -1, 1.5, '1', null, true, raw('1e400'), raw('-0'), nonNumber(r)]))],
];

const HEARTBEAT_BREAKERS: [string, Mutation][] = [
  ...LEASE_BREAKERS,
  ['lease_seconds bad', set('lease_seconds', (r) => r.pick<unknown>([4, 3601, 0, 5.5, null, '30', nonNumber(r)]))],
];

const COMPLETE_BREAKERS: [string, Mutation][] = [...LEASE_BREAKERS, ['result poisoned', set('result', poison)]];

function validError(r: Rng): Body {
  const e: Body = { message: r.pick(['boom', '', 'ü ☃', 'x'.repeat(r.int(0, 1000))]) };
  if (r.chance(0.5)) e.class = validName(r);
  if (r.chance(0.3)) e.stack = 'at f (x.js:1:1)';
  if (r.chance(0.3)) e.payload = randClean(r);
  if (r.chance(0.2)) e.reason = r.pick(['timeout', 'cancelled']);
  return e;
}

const errorOf = (b: Body): Body => {
  if (!b.error || typeof b.error !== 'object' || Array.isArray(b.error)) b.error = { message: 'm' };
  return b.error as Body;
};

const FAIL_BREAKERS: [string, Mutation][] = [
  ...LEASE_BREAKERS,
  ['error missing', (_, b) => delete b.error],
  ['error not an object', set('error', (r) => (r.chance(0.5) ? 'boom' : nonObjectJson(r)))],
  ['error.message missing', (_, b) => delete errorOf(b).message],
  ['error.message bad', setError('message', (r) => r.pick<unknown>(['a\u0000', '\ud800', 'm'.repeat(100_001), nonString(r)]))],
  ['error.class bad', setError('class', (r) => r.pick<unknown>(['', 'c'.repeat(201), 'E\u0000', '\udfff', nonString(r)]))],
  ['error.stack bad', setError('stack', (r) => r.pick<unknown>(['at \u0000', '\ud800', 's'.repeat(100_001), nonString(r)]))],
  ['error.payload poisoned', setError('payload', (r) => poison(r))],
  ['error.reason bad', setError('reason', (r) => r.pick<unknown>(['bored', '', 'TIMEOUT', null, nonString(r)]))],
  [
    'error unknown field',
    (r, b) => {
      errorOf(b)[`x${r.int(0, 1e6)}`] = randJson(r);
    },
  ],
  ['retry bad', set('retry', (r) => r.pick<unknown>([null, 'false', 0, 1, [], {}]))],
];

// ── requests ────────────────────────────────────────────────────────────────────────────────

interface Req {
  n: number;
  route: string;
  method: 'POST' | 'DELETE';
  path: string;
  body?: string | Uint8Array;
  contentType: string | null;
  why: string;
}

const GARBAGE_UIDS = [
  '',
  'abc',
  '0',
  'null',
  'undefined',
  '00000000-0000-0000-0000-00000000000g',
  '00000000-0000-0000-0000-0000000000000',
  '{00000000-0000-0000-0000-000000000000}',
  '00000000000000000000000000000000',
  '%00',
  '%ZZ',
  '%',
  '..',
  '.',
  'a%2Fb',
  'batch',
  'by-unique-key',
  "1'%20or%20'1'='1",
  '%F0%9F%98%80',
  '%ED%A0%80',
  'x'.repeat(5000),
];

function uidFor(r: Rng, fx: Fixtures, statuses: readonly (keyof Fixtures)[]): { seg: string; why: string } {
  const roll = r.next();
  if (roll < 0.35) return { seg: randomUuidFrom(r), why: 'unknown uid' };
  if (roll < 0.65) {
    const s = r.pick(statuses);
    const uid = String(fx[s]);
    return { seg: r.chance(0.2) ? uid.toUpperCase() : uid, why: `${String(s)} task` };
  }
  if (r.chance(0.7)) return { seg: r.pick(GARBAGE_UIDS), why: 'garbage uid' };
  return { seg: encodeURIComponent(randString(r).toWellFormed()), why: 'random uid' };
}

/** A v4-format UUID drawn from the PRNG (reproducible), which no task has. */
function randomUuidFrom(r: Rng): string {
  const hex = Array.from({ length: 32 }, () => r.int(0, 15).toString(16));
  hex[12] = '4';
  hex[16] = '89ab'[r.int(0, 3)] as string;
  const h = hex.join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

const WRONG_TYPES = [
  null,
  'text/plain',
  'text/plain; charset=utf-8',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/xml',
  'application/octet-stream',
  'json',
  'application/jsonp',
  '*/*',
];
const JSON_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'APPLICATION/JSON',
  'application/problem+json',
  'application/vnd.eventix+json',
];

/** Wrap a (possibly invalid) body into request bytes, sometimes damaged on the way. */
function encode(r: Rng, body: unknown, why: string): { body?: string | Uint8Array; contentType: string | null; why: string } {
  const text = serialize(body);
  const roll = r.next();
  if (roll < 0.08) return { body: text, contentType: r.pick(WRONG_TYPES), why: `${why}; wrong content type` };
  if (roll < 0.13 && text.length > 1)
    return { body: text.slice(0, r.int(0, text.length - 1)), contentType: 'application/json', why: `${why}; truncated` };
  if (roll < 0.16) {
    const bytes = Uint8Array.from({ length: r.int(1, 64) }, () =>
      r.pick([0xff, 0xfe, 0xc0, 0x80, 0xed, 0xa0, 0x00, 0x7b, 0x22, r.int(0, 255)]),
    );
    return { body: bytes, contentType: 'application/json', why: `${why}; raw bytes` };
  }
  if (roll < 0.18) return { body: `\ufeff${text}`, contentType: 'application/json', why: `${why}; BOM` };
  if (roll < 0.2)
    return { body: `${text}${r.pick(['x', ',', '}', ' {}', '\u0000'])}`, contentType: 'application/json', why: `${why}; trailing junk` };
  if (roll < 0.21)
    return { body: 'x'.repeat(MAX_BODY + r.int(1, 1000)), contentType: 'application/json', why: `${why}; over the size limit` };
  return { body: text, contentType: r.pick(JSON_TYPES), why };
}

function generate(r: Rng, fx: Fixtures): Req[] {
  const reqs: Req[] = [];
  const add = (
    route: string,
    method: Req['method'],
    path: string,
    e: { body?: string | Uint8Array; contentType: string | null; why: string },
  ) => reqs.push({ n: reqs.length, route, method, path, ...e });
  for (const [route, count] of Object.entries(PLAN)) {
    for (let i = 0; i < count; i++) {
      switch (route) {
        case 'submit': {
          const { body, why } = invalidSubmit(r);
          add(route, 'POST', '/tasks', encode(r, body, why));
          break;
        }
        case 'batch': {
          const roll = r.next();
          if (roll < 0.7) {
            const tasks: unknown[] = Array.from({ length: r.int(0, 5) }, () => validSubmit(r));
            const bad = invalidSubmit(r);
            const at = r.int(0, tasks.length);
            tasks.splice(at, 0, bad.body);
            add(route, 'POST', '/tasks/batch', encode(r, { tasks }, `item ${at}: ${bad.why}`));
          } else if (roll < 0.8) {
            add(
              route,
              'POST',
              '/tasks/batch',
              encode(r, { tasks: r.pick<unknown>([[], {}, null, 'a', 1, nonObjectJson(r)]) }, 'tasks not a list'),
            );
          } else if (roll < 0.88) {
            const b: Body = { tasks: [validSubmit(r)] };
            unknownField(r, b);
            add(route, 'POST', '/tasks/batch', encode(r, b, 'unknown top-level field'));
          } else if (roll < 0.9) {
            add(route, 'POST', '/tasks/batch', encode(r, { tasks: Array.from({ length: 10_001 }, () => ({ task: 't' })) }, '10,001 tasks'));
          } else {
            add(route, 'POST', '/tasks/batch', encode(r, r.chance(0.5) ? nonObjectJson(r) : { task: 'x' }, 'not a batch'));
          }
          break;
        }
        case 'cancel': {
          // Cancelling works from scheduled/retry/processing: only final tasks, unknown or garbage uids here.
          const { seg, why } = uidFor(r, fx, ['done', 'error', 'cancelled']);
          const e = r.chance(0.5) ? encode(r, randJson(r), why) : { contentType: null, why };
          add(route, 'POST', `/tasks/${seg}/cancel`, e);
          break;
        }
        case 'reschedule': {
          // Rescheduling works from error/retry/cancelled: never those fixtures.
          const { seg, why } = uidFor(r, fx, ['scheduled', 'processing', 'done']);
          const roll = r.next();
          if (roll < 0.2) add(route, 'POST', `/tasks/${seg}/reschedule`, { contentType: null, why: `${why}; no body` });
          else if (roll < 0.4)
            add(
              route,
              'POST',
              `/tasks/${seg}/reschedule`,
              encode(r, r.chance(0.5) ? {} : { eta: r.pick(VALID_ETAS) }, `${why}; valid body`),
            );
          else if (roll < 0.7) add(route, 'POST', `/tasks/${seg}/reschedule`, encode(r, { eta: badEta(r) }, `${why}; bad eta`));
          else if (roll < 0.85) {
            const b: Body = r.chance(0.5) ? { eta: r.pick(VALID_ETAS) } : {};
            unknownField(r, b);
            add(route, 'POST', `/tasks/${seg}/reschedule`, encode(r, b, `${why}; unknown field`));
          } else add(route, 'POST', `/tasks/${seg}/reschedule`, encode(r, nonObjectJson(r), `${why}; not an object`));
          break;
        }
        case 'delete': {
          // Deleting works from anything but processing.
          const { seg, why } = uidFor(r, fx, ['processing']);
          const e = r.chance(0.3) ? encode(r, randJson(r), why) : { contentType: null, why };
          add(route, 'DELETE', `/tasks/${seg}`, e);
          break;
        }
        case 'claim': {
          const { body, why } = invalidClaim(r);
          add(route, 'POST', '/workers/claim', encode(r, body, why));
          break;
        }
        case 'heartbeat':
        case 'complete':
        case 'release':
        case 'fail': {
          const { seg, why: uidWhy } = uidFor(r, fx, ['processing', 'done', 'scheduled']);
          const extra: Body = {};
          if (route === 'heartbeat' && r.chance(0.3)) extra.lease_seconds = r.int(5, 3600);
          if (route === 'complete' && r.chance(0.6)) extra.result = r.chance(0.8) ? randClean(r) : randJson(r);
          if (route === 'fail') {
            extra.error = validError(r);
            if (r.chance(0.3)) extra.retry = r.chance(0.5);
          }
          const b = leaseBody(r, fx, extra);
          let why = `${uidWhy}; not the lease holder`;
          if (r.chance(0.6)) {
            const breakers =
              route === 'heartbeat'
                ? HEARTBEAT_BREAKERS
                : route === 'complete'
                  ? COMPLETE_BREAKERS
                  : route === 'release'
                    ? LEASE_BREAKERS
                    : FAIL_BREAKERS;
            const [w, breaker] = r.pick(breakers);
            breaker(r, b);
            why = `${uidWhy}; ${w}`;
          }
          add(route, 'POST', `/tasks/${seg}/${route}`, encode(r, r.chance(0.05) ? nonObjectJson(r) : b, why));
          break;
        }
      }
    }
  }
  return reqs;
}

// ── the test ────────────────────────────────────────────────────────────────────────────────

interface Snapshot {
  n: number;
  max_updated: string | null;
  revisions: string;
  checksum: string;
  fencing: string;
}

describe('fuzz: malformed requests to every mutating route', () => {
  const db = useTestDatabase({ poolMax: 20 });
  const logs: string[] = [];
  let app: App;
  let fx: Fixtures;

  async function snapshot(): Promise<Snapshot> {
    const { rows } = await db().pool.query<Snapshot>(
      `select count(*)::int as n, max(updated_at)::text as max_updated, coalesce(sum(revision), 0)::text as revisions,
         md5(coalesce(string_agg(t::text, ',' order by id), '')) as checksum,
         (select last_value::text from tasks_fencing_token_seq) as fencing
       from tasks t`,
    );
    return rows[0]!;
  }

  beforeAll(async () => {
    const pool = db().pool;
    const logger = createLogger(
      'error',
      new Writable({
        write(chunk, _enc, cb) {
          logs.push(String(chunk));
          cb();
        },
      }),
    );
    app = createApp({ database: db(), logger, maxBodyBytes: MAX_BODY });
    const ns = 'fuzz';
    const day = new Date(Date.now() + 86_400_000);
    const scheduled = (await submit(pool, { task: 'fx.sched', namespace: ns, eta: day, uniqueKey: 'fx-key' })).task.uid;
    const mk = async (task: string) => (await submit(pool, { task, namespace: ns })).task.uid;
    const take = async (task: string) => {
      const [c] = await claim(pool, { workerId: 'fx-worker', namespaces: [ns], tasks: [task], limit: 1, leaseSeconds: 3600 });
      return c!;
    };
    await mk('fx.done');
    const d = await take('fx.done');
    await complete(pool, { uid: d.uid, workerId: d.workerId, fencingToken: d.fencingToken, result: { fixture: true } });
    await mk('fx.err');
    const e = await take('fx.err');
    await fail(pool, {
      uid: e.uid,
      workerId: e.workerId,
      fencingToken: e.fencingToken,
      error: { class: 'E', message: 'x' },
      retryable: false,
    });
    const cancelled = await mk('fx.cancel');
    await cancel(pool, cancelled);
    await mk('fx.run');
    const p = await take('fx.run');
    // A few unrelated rows too, so the checksum covers more than the fixtures.
    for (let i = 0; i < 20; i++) await submit(pool, { task: `bulk.${i % 3}`, namespace: `fuzz-bulk-${i % 4}`, args: [i], eta: day });
    fx = { scheduled, processing: p.uid, done: d.uid, error: e.uid, cancelled, workerId: 'fx-worker', token: p.fencingToken };
  });

  it(`${Object.values(PLAN).reduce((a, b) => a + b, 0)} random requests: every answer a 4xx problem, the tasks table untouched (seed ${SEED})`, async () => {
    console.log(`[fuzz] seed ${SEED} — replay with EVENTIX_FUZZ_SEED=${SEED}`);
    const r = prng(SEED);
    const reqs = generate(r, fx);
    const before = await snapshot();
    expect(before.n).toBe(25);

    const failures: string[] = [];
    const statuses = new Map<string, Map<number, number>>();
    const started = Date.now();
    let next = 0;
    async function lane(): Promise<void> {
      for (;;) {
        const req = reqs[next++];
        if (!req) return;
        let res: ApiResponse;
        try {
          res = await send(app, req.method, req.path, {
            ...(req.body !== undefined ? { body: req.body } : {}),
            contentType: req.contentType,
          });
        } catch (err) {
          failures.push(`#${req.n} ${req.method} ${req.path.slice(0, 80)} (${req.why}): threw ${String(err)}`);
          continue;
        }
        const byStatus = statuses.get(req.route) ?? new Map<number, number>();
        byStatus.set(res.status, (byStatus.get(res.status) ?? 0) + 1);
        statuses.set(req.route, byStatus);
        const problem = checkProblem(res);
        if (problem) {
          const shown = typeof req.body === 'string' ? req.body.slice(0, 300) : req.body ? `<${req.body.length} bytes>` : '<none>';
          failures.push(
            `#${req.n} ${req.method} ${req.path.slice(0, 80)} [${req.contentType}] (${req.why}): ${problem}\n    body: ${JSON.stringify(shown)}`,
          );
        }
      }
    }
    await Promise.all(Array.from({ length: CONCURRENCY }, lane));
    const elapsed = Date.now() - started;

    const summary = [...statuses].map(([route, m]) => `${route} ${[...m].map(([s, n]) => `${s}×${n}`).join(' ')}`).join('; ');
    console.log(`[fuzz] ${reqs.length} requests in ${elapsed} ms: ${summary}`);
    expect(
      failures,
      `seed ${SEED}: ${failures.length} bad answers, e.g.:\n${failures.slice(0, 15).join('\n')}\nserver log:\n${logs.slice(0, 5).join('')}`,
    ).toEqual([]);
    expect(logs, 'no unhandled error was logged').toEqual([]);
    expect(await snapshot()).toEqual(before);
    expect(reqs.length).toBe(Object.values(PLAN).reduce((a, b) => a + b, 0));
  });
});

/** What is wrong with an answer to garbage, or undefined if it is a proper 4xx problem. */
function checkProblem(res: ApiResponse): string | undefined {
  if (res.status < 400 || res.status > 499) return `status ${res.status}: ${res.text.slice(0, 300)}`;
  if (res.headers.get('content-type') !== 'application/problem+json') return `content-type ${res.headers.get('content-type')}`;
  const p = res.body as Record<string, unknown> | undefined;
  if (!p || typeof p !== 'object') return 'no problem body';
  if (typeof p.type !== 'string' || !p.type) return 'problem without type';
  if (typeof p.title !== 'string' || !p.title) return 'problem without title';
  if (p.status !== res.status) return `problem status ${String(p.status)} ≠ ${res.status}`;
  if (typeof p.detail !== 'string' || !p.detail) return 'problem without detail';
  if (res.status === 400) {
    const errors = p.errors as { field?: unknown; message?: unknown }[] | undefined;
    if (!Array.isArray(errors) || errors.length === 0) return '400 without errors[]';
    if (!errors.every((e) => typeof e.field === 'string' && e.field && typeof e.message === 'string' && e.message)) {
      return `malformed errors[]: ${JSON.stringify(errors).slice(0, 200)}`;
    }
  }
  return undefined;
}
