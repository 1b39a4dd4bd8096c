import type { Context } from 'hono';
import { EventixError, type FieldIssue, ValidationError } from '../../errors.ts';
import type { Logger } from '../../logger.ts';
import { HttpProblem, problemFromError, statusOf, titleOf } from '../errors.ts';
import { problem } from '../problem.ts';

/**
 * Errors of the Python-Eventix compatible API, in a shape both kinds of client read: an RFC 9457
 * problem document (application/problem+json: type, title, status, code) whose other members are
 * the Python WebException's dict() at the top level: error_class, error_message,
 * error_status_code, error_traceback (always null), error_payload. The Python client's
 * raise_errors reads `detail` when there is one, else the whole body, for error_class and
 * error_payload, and raises that class with the payload as its arguments (NotFound(uid=…),
 * RevisionConflict(revision=…)); its by-unique-key lookup reads error_class at the top level. So
 * these answers have no `detail`: a string there would hide error_class from the Python client.
 * A 400 also lists its fields in `errors`, like every 400 of the API.
 *
 * Refusals at the HTTP level (401, 403, 413, 415, an unknown route), a database outage (503) and
 * unexpected errors (500) are the rest of the API's problem documents, unchanged: the Python
 * Eventix had no authentication, so no Python client expects anything of those.
 */

/** A Python Eventix exception, with the status and payload (its constructor's arguments) it had. */
export class CompatError extends Error {
  constructor(
    readonly pyClass: string,
    readonly status: 400 | 404 | 405 | 409 | 422,
    message: string,
    readonly payload: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = pyClass;
  }
}

/** Python's RevisionConflict: the write was based on a revision that is no longer the task's. */
export const revisionConflict = (revision: number | null, reason: string) =>
  new CompatError('RevisionConflict', 409, `revision changed to ${revision ?? 'none'}: ${reason}`, {
    revision: revision === null ? null : String(revision),
  });

/** Python's WrongTaskStatus: the change is not allowed from the task's status. */
export const wrongTaskStatus = (uid: string, status: string, why: string) =>
  new CompatError('WrongTaskStatus', 422, `Task ${uid} has wrong status: '${status}' (${why})`, { uid, status });

/** Python's TaskNotUnique: a task with this uid exists already. */
export const taskNotUnique = (uid: string) =>
  new CompatError('TaskNotUnique', 409, `Task with uid '${uid}' already exists and task unique is not activated for overwriting.`, { uid });

/** Python's NoTaskFoundForUniqueKey. */
export const noTaskForUniqueKey = (uniqueKey: string, stati: readonly string[]) =>
  new CompatError('NoTaskFoundForUniqueKey', 404, `No task for unique_key ${uniqueKey} and stati ${stati.join(', ')} found`, {
    unique_key: uniqueKey,
  });

const kebab = (s: string) => s.replace(/([a-z])([A-Z])/g, '$1-$2').toLowerCase();

function pythonProblem(
  c: Context,
  e: { pyClass: string; status: number; message: string; payload: Record<string, unknown>; errors?: FieldIssue[] },
): Response {
  return problem(c, {
    type: `urn:eventix:problem:compat:${kebab(e.pyClass)}`,
    title: titleOf(e.status),
    status: e.status,
    code: e.pyClass,
    error_class: e.pyClass,
    error_message: e.message,
    error_status_code: e.status,
    error_traceback: null,
    error_payload: e.payload,
    ...(e.errors ? { errors: e.errors } : {}),
  });
}

/** Our own domain errors under the name of the Python exception that meant the same. */
function fromEventixError(err: EventixError): { pyClass: string; status: number; payload: Record<string, unknown> } {
  const d = err.details ?? {};
  switch (err.code) {
    case 'TaskNotFound':
      return { pyClass: 'NotFound', status: 404, payload: { uid: d.uid } };
    case 'InvalidTransition':
      return { pyClass: 'WrongTaskStatus', status: 422, payload: { uid: d.uid, status: d.status } };
    case 'UniqueKeyConflict':
      return { pyClass: 'TaskUniqueKeyNotUnique', status: 409, payload: { unique_key: d.unique_key } };
    case 'LeaseLost':
      return { pyClass: 'RevisionConflict', status: 409, payload: { revision: null } };
    default:
      return { pyClass: err.code, status: statusOf(err.code), payload: d };
  }
}

/** The answer to an error raised by a compatible route (or by the parsing of its input). */
export function compatProblem(c: Context, err: unknown, logger: Logger): Response {
  if (err instanceof CompatError) {
    return pythonProblem(c, { pyClass: err.pyClass, status: err.status, message: err.message, payload: err.payload });
  }
  if (err instanceof ValidationError) {
    return pythonProblem(c, {
      pyClass: 'ValidationError',
      status: 400,
      message: err.message,
      payload: { errors: err.issues },
      errors: err.issues,
    });
  }
  if (err instanceof EventixError && !(err instanceof HttpProblem)) {
    const mapped = fromEventixError(err);
    if (mapped.status < 500) return pythonProblem(c, { ...mapped, message: err.message });
  }
  return problemFromError(c, err, logger);
}
