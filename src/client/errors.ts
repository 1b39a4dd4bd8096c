import type { z } from 'zod';
import type { problemOut } from '../api/schemas.ts';

/*
 * The client's errors: a non-2xx answer as EventixApiError, with its RFC 9457 problem body. Network
 * failures are not wrapped: they propagate as fetch raised them.
 */

/** RFC 9457 problem details; domain errors add `code` (e.g. 'LeaseLost') and their details. */
export type ProblemJson = z.infer<typeof problemOut> & { code?: string; [extension: string]: unknown };

/**
 * A non-2xx answer of the API. `problem` is the parsed problem+json body, so callers can switch on
 * `err.problem.code` (`'LeaseLost'`, `'TaskNotFound'`, `'InvalidTransition'`, …) or `err.status`, and
 * read `err.problem.errors` for the fields a 400 rejected. Network failures are not wrapped: they
 * propagate as fetch raised them.
 */
export class EventixApiError extends Error {
  readonly status: number;
  readonly problem: ProblemJson;
  readonly method: string;
  readonly path: string;

  constructor(method: string, path: string, status: number, problem: ProblemJson) {
    const fields = problem.errors?.length ? ` (${problem.errors.map((e) => `${e.field}: ${e.message}`).join('; ')})` : '';
    super(`${method} ${path} → ${status} ${problem.title}${problem.detail ? `: ${problem.detail}` : ''}${fields}`);
    this.name = 'EventixApiError';
    this.status = status;
    this.problem = problem;
    this.method = method;
    this.path = path;
  }

  /** The domain error code (`problem.code`), when the server gave one. */
  get code(): string | undefined {
    return this.problem.code;
  }
}

export function isEventixApiError(err: unknown, code?: string): err is EventixApiError {
  return err instanceof EventixApiError && (code === undefined || err.problem.code === code);
}

/** The problem body of an error answer, or one made up from the status when a proxy answered instead. */
export function problemOf(res: Response, text: string): ProblemJson {
  try {
    const parsed = JSON.parse(text) as unknown;
    if (parsed && typeof parsed === 'object' && typeof (parsed as ProblemJson).title === 'string') {
      const p = parsed as ProblemJson;
      // The HTTP status is the truth; a body's own `status` could disagree.
      return { ...p, type: typeof p.type === 'string' ? p.type : 'about:blank', status: res.status };
    }
  } catch {
    // not JSON: fall through
  }
  return {
    type: 'about:blank',
    title: res.statusText || `HTTP ${res.status}`,
    status: res.status,
    ...(text ? { detail: text.slice(0, 500) } : {}),
  };
}
