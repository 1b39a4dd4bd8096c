import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { EventixError, ValidationError } from '../errors.ts';
import { coerceError, type Logger } from '../logger.ts';
import { problem } from './problem.ts';

/** Domain error code → HTTP status. The one table where that mapping lives. */
const STATUS_BY_CODE: Record<string, number> = {
  ValidationError: 400,
  Unauthorized: 401,
  Forbidden: 403,
  TaskNotFound: 404,
  NotFound: 404,
  LeaseLost: 409,
  InvalidTransition: 409,
  UniqueKeyConflict: 409,
  ScheduleNotFound: 404,
  ScheduleExists: 409,
  PayloadTooLarge: 413,
  UnsupportedMediaType: 415,
  TriggerNotFound: 404,
  TriggerExists: 409,
  TriggerFailed: 422,
  ConfigNotFound: 404,
  InvalidRecords: 422,
  SweepNotFound: 404,
};

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  500: 'Internal Server Error',
};

const kebab = (code: string) => code.replace(/([a-z])([A-Z])/g, '$1-$2').toLowerCase();

/** An HTTP-level error with a problem code, for auth and body handling. */
export class HttpProblem extends EventixError {}

export function problemFromError(c: Context, err: unknown, logger: Logger): Response {
  if (err instanceof EventixError) {
    const status = STATUS_BY_CODE[err.code] ?? 500;
    if (status === 500) return internal(c, err, logger);
    return problem(c, {
      // Details first: the standard members must win (InvalidTransition's details carry the task's
      // `status`, which would otherwise replace the HTTP status and answer 200 with a problem body).
      ...(err.details && !(err instanceof ValidationError) ? err.details : {}),
      type: `urn:eventix:problem:${kebab(err.code)}`,
      title: TITLES[status] ?? 'Error',
      status,
      detail: err.message,
      code: err.code,
      ...(err instanceof ValidationError ? { errors: err.issues } : {}),
    });
  }
  if (err instanceof HTTPException && err.status < 500) {
    return problem(c, { type: 'about:blank', title: TITLES[err.status] ?? 'Error', status: err.status, detail: err.message || undefined });
  }
  return internal(c, err, logger);
}

function internal(c: Context, err: unknown, logger: Logger): Response {
  // The cause goes to the log, never to the client: it may name tables, values or hosts.
  logger.error({ err: coerceError(err), method: c.req.method, path: c.req.path }, 'unhandled error');
  return problem(c, { type: 'about:blank', title: 'Internal Server Error', status: 500 });
}
