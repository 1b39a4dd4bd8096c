import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { isConnectionError } from '../db/connection-errors.ts';
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
  AlertNotFound: 404,
  AlertConflict: 409,
  BaselineNotFound: 404,
  BaselineExists: 409,
  BenchmarkRunsNotFound: 404,
  NoCandidates: 404,
  PairNotFailed: 409,
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
  503: 'Service Unavailable',
};

/**
 * Seconds a client should wait before retrying while the database is unreachable. A restart
 * typically takes about a second (see the README, "Database restarts and lost connections"); the
 * API's own pool reconnects on the first request after it.
 */
export const DATABASE_RETRY_AFTER_SECONDS = 1;

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
  if (isConnectionError(err)) return databaseUnavailable(c, err, logger);
  return internal(c, err, logger);
}

/**
 * The database is unreachable (restarting, connections killed, refused, timed out): nothing is
 * wrong with the request, so 503 with Retry-After rather than 500. Whether a write that was in
 * flight committed is unknown; submit with a unique_key to retry safely.
 */
function databaseUnavailable(c: Context, err: unknown, logger: Logger): Response {
  logger.warn({ err: coerceError(err), method: c.req.method, path: c.req.path }, 'database unavailable');
  c.header('Retry-After', String(DATABASE_RETRY_AFTER_SECONDS));
  return problem(c, {
    type: 'urn:eventix:problem:database-unavailable',
    title: TITLES[503] as string,
    status: 503,
    code: 'DatabaseUnavailable',
    detail: 'The database is unreachable; retry shortly.',
  });
}

function internal(c: Context, err: unknown, logger: Logger): Response {
  // The cause goes to the log, never to the client: it may name tables, values or hosts.
  logger.error({ err: coerceError(err), method: c.req.method, path: c.req.path }, 'unhandled error');
  return problem(c, { type: 'about:blank', title: 'Internal Server Error', status: 500 });
}
