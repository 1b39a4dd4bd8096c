import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { isConnectionError } from '../db/connection-errors.ts';
import { type ErrorCode, EventixError, type HttpErrorCode, ValidationError } from '../errors.ts';
import { coerceError, type Logger } from '../logger.ts';
import { problem } from './problem.ts';

/** The statuses the API answers with a problem body, and their reason phrases (RFC 9110 §15). */
const TITLES = {
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
} as const satisfies Record<number, string>;

export type ProblemStatus = keyof typeof TITLES;

/**
 * Domain error code → HTTP status. The one table where that mapping lives. `satisfies` makes it
 * exhaustive: a code added to ErrorCode without a line here fails typecheck, and every status
 * has a title.
 */
export const STATUS_BY_CODE = {
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
  ImportNotFound: 404,
  ImportConflict: 409,
  // The dashboard's own; its pages answer them (src/ui/pages/input-errors.tsx), never this table.
  CommitNotFound: 404,
  EventNotFound: 404,
  // A git failure is the server's (a missing or broken clone), and its stderr may name paths: a
  // logged 500 with no detail, as for any unexpected error.
  GitError: 500,
} as const satisfies Record<ErrorCode, ProblemStatus>;

/**
 * The status of a code. The table covers every ErrorCode, but an error from plain JavaScript or
 * another copy of the package may carry a code it does not know: that is a bug, so 500.
 */
export function statusOf(code: string): ProblemStatus {
  return Object.hasOwn(STATUS_BY_CODE, code) ? STATUS_BY_CODE[code as ErrorCode] : 500;
}

export const titleOf = (status: number): string => (TITLES as Record<number, string>)[status] ?? 'Error';

/**
 * Seconds a client should wait before retrying while the database is unreachable. A restart
 * typically takes about a second (see the README, "Database restarts and lost connections"); the
 * API's own pool reconnects on the first request after it.
 */
export const DATABASE_RETRY_AFTER_SECONDS = 1;

const kebab = (code: string) => code.replace(/([a-z])([A-Z])/g, '$1-$2').toLowerCase();

/**
 * A refusal at the HTTP level (auth, body limit, content type, routing). Thrown, or for an unknown
 * route handed, to problemFromError like any domain error, so every problem answer is built in
 * one place.
 */
export class HttpProblem extends EventixError {
  declare readonly code: HttpErrorCode;
  constructor(
    code: HttpErrorCode,
    message: string,
    readonly options: {
      /** Response headers the refusal needs (WWW-Authenticate on a 401). */
      headers?: Record<string, string>;
      /**
       * Nothing to say beyond the HTTP status (no such route): type `about:blank`, as RFC 9457
       * §4.2.1 has it, rather than an eventix problem type.
       */
      plain?: boolean;
    } = {},
  ) {
    super(code, message);
  }
}

export function problemFromError(c: Context, err: unknown, logger: Logger): Response {
  if (err instanceof EventixError) {
    const status = statusOf(err.code);
    if (status === 500) return internal(c, err, logger);
    if (err instanceof HttpProblem) for (const [name, value] of Object.entries(err.options.headers ?? {})) c.header(name, value);
    return problem(c, {
      // Details first: the standard members must win (InvalidTransition's details carry the task's
      // `status`, which would otherwise replace the HTTP status and answer 200 with a problem body).
      ...(err.details && !(err instanceof ValidationError) ? err.details : {}),
      type: err instanceof HttpProblem && err.options.plain ? 'about:blank' : `urn:eventix:problem:${kebab(err.code)}`,
      title: TITLES[status],
      status,
      detail: err.message,
      code: err.code,
      ...(err instanceof ValidationError ? { errors: err.issues } : {}),
    });
  }
  if (err instanceof HTTPException && err.status < 500) {
    return problem(c, { type: 'about:blank', title: titleOf(err.status), status: err.status, detail: err.message || undefined });
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
    title: TITLES[503],
    status: 503,
    code: 'DatabaseUnavailable',
    detail: 'The database is unreachable; retry shortly.',
  });
}

function internal(c: Context, err: unknown, logger: Logger): Response {
  // The cause goes to the log, never to the client: it may name tables, values or hosts.
  logger.error({ err: coerceError(err), method: c.req.method, path: c.req.path }, 'unhandled error');
  return problem(c, { type: 'about:blank', title: TITLES[500], status: 500 });
}
