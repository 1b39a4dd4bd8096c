import { Hono } from 'hono';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { HttpProblem, problemFromError, STATUS_BY_CODE, statusOf, titleOf } from '../../src/api/errors.ts';
import {
  BaselineExists,
  BaselineNotFound,
  BenchmarkRunsNotFound,
  type ErrorCode,
  EventixError,
  InvalidTransition,
  LeaseLost,
  NoCandidates,
  ScheduleExists,
  ScheduleNotFound,
  TaskNotFound,
  TriggerExists,
  TriggerFailed,
  TriggerNotFound,
  UniqueKeyConflict,
  ValidationError,
} from '../../src/errors.ts';
import { silentLogger } from '../../src/logger.ts';
import { SweepNotFound } from '../../src/sweeps/config.ts';
import { AlertConflict, AlertNotFound } from '../../src/tracking/alerts/store.ts';
import { InvalidRecords } from '../../src/tracking/commits-import.ts';
import { ConfigNotFound } from '../../src/tracking/commits-read.ts';
import { GitError } from '../../src/tracking/git.ts';
import { PairNotFailed } from '../../src/tracking/requeue.ts';

const CODES = Object.keys(STATUS_BY_CODE) as ErrorCode[];

/** One app whose only route throws `err`, answered by the API's own error handler. */
async function answer(err: Error): Promise<{ res: Response; body: Record<string, unknown> }> {
  const app = new Hono().get('/', () => {
    throw err;
  });
  app.onError((e, c) => problemFromError(c, e, silentLogger));
  const res = await app.request('/');
  return { res, body: (await res.json()) as Record<string, unknown> };
}

describe('error codes', () => {
  it('are a closed union that the status table covers exactly (checked by tsc)', () => {
    expectTypeOf<keyof typeof STATUS_BY_CODE>().toEqualTypeOf<ErrorCode>();
    expectTypeOf<EventixError['code']>().toEqualTypeOf<ErrorCode>();
    // @ts-expect-error: a code outside ErrorCode does not compile.
    const unknown = new EventixError('NoSuchCode', 'made up');
    // @ts-expect-error: HttpProblem takes only the HTTP-level codes.
    new HttpProblem('TaskNotFound', 'not an HTTP-level refusal');
    // At run time (plain JavaScript, another copy of the package) an unknown code is a bug: 500.
    expect(statusOf(unknown.code)).toBe(500);
    expect(statusOf('__proto__')).toBe(500);
  });

  it('map every code to a 4xx or 5xx status with its reason phrase', () => {
    expect(CODES.length).toBeGreaterThan(20);
    for (const code of CODES) {
      const status = statusOf(code);
      expect(status, code).toBeGreaterThanOrEqual(400);
      expect(status, code).toBeLessThan(600);
      expect(titleOf(status), code).not.toBe('Error');
    }
    expect(titleOf(413)).toBe('Content Too Large');
    expect(titleOf(418)).toBe('Error');
  });

  it('of every error class are in the table, each answered with its own status', async () => {
    const errors: [EventixError, number][] = [
      [new ValidationError([{ field: 'task', message: 'is required' }]), 400],
      [new TaskNotFound('u'), 404],
      [new LeaseLost('u', 'expired'), 409],
      [new InvalidTransition('u', 'done', 'cancel', ['scheduled']), 409],
      [new UniqueKeyConflict('default', 'k'), 409],
      [new ScheduleNotFound('s'), 404],
      [new ScheduleExists('s'), 409],
      [new TriggerNotFound('t'), 404],
      [new TriggerExists('t'), 409],
      [new TriggerFailed('t', 'push', [{ field: 'kwargs.sha', message: 'is required' }]), 422],
      [new NoCandidates({ model: 'm' }, ['batch']), 404],
      [new BaselineNotFound('b'), 404],
      [new BaselineExists('b', 'r'), 409],
      [new BenchmarkRunsNotFound('r', { sha: 'abc' }), 404],
      [new ConfigNotFound('#1'), 404],
      [
        new InvalidRecords({
          total: 1,
          imported: 0,
          skipped: 0,
          invalid: 1,
          dry_run: false,
          skipped_reasons: { exists: 0, duplicate: 0, transient: 0 },
          errors: [{ index: 0, field: 'sha', message: 'is required' }],
        }),
        422,
      ],
      [new PairNotFailed({ repo: 'r', sha: 'a'.repeat(40), config_id: 1, architecture: 'x86_64' }, 'complete'), 409],
      [new AlertNotFound(1), 404],
      [new AlertConflict(1, 1, 2, 'open'), 409],
      [new SweepNotFound('w'), 404],
      [new HttpProblem('Unauthorized', 'no token'), 401],
      [new HttpProblem('Forbidden', 'scope'), 403],
      [new HttpProblem('NotFound', 'no route'), 404],
      [new HttpProblem('PayloadTooLarge', 'big'), 413],
      [new HttpProblem('UnsupportedMediaType', 'text'), 415],
    ];
    for (const [err, status] of errors) {
      const { res, body } = await answer(err);
      expect(res.status, err.code).toBe(status);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      expect(body, err.code).toMatchObject({ status, title: titleOf(status), code: err.code, detail: err.message });
      expect(body.type, err.code).toMatch(/^urn:eventix:problem:[a-z-]+$/);
    }
  });

  it('a GitError answers the generic 500 without its message (it may name paths)', async () => {
    const { res, body } = await answer(new GitError(['rev-parse'], 'fatal: /srv/secret/repo is not a git repository'));
    expect(res.status).toBe(500);
    expect(body).toEqual({ type: 'about:blank', title: 'Internal Server Error', status: 500 });
  });

  it('an HttpProblem carries its headers, and a plain one has type about:blank', async () => {
    const auth = await answer(new HttpProblem('Unauthorized', 'no token', { headers: { 'WWW-Authenticate': 'Bearer realm="eventix"' } }));
    expect(auth.res.headers.get('www-authenticate')).toBe('Bearer realm="eventix"');
    expect(auth.body.type).toBe('urn:eventix:problem:unauthorized');
    const route = await answer(new HttpProblem('NotFound', 'No route for GET /x', { plain: true }));
    expect(route.body).toEqual({ type: 'about:blank', title: 'Not Found', status: 404, code: 'NotFound', detail: 'No route for GET /x' });
  });
});
