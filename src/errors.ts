/**
 * Domain errors. Each has a literal `code`; the API maps codes to HTTP statuses in one table, and
 * library users can switch on `err.code` without instanceof across package copies.
 */

/**
 * Every code an EventixError carries. Closed on purpose: the API's status table
 * (src/api/errors.ts) must name each one, so a new code without a status fails typecheck instead
 * of answering 500 at run time. Grouped by where they are raised.
 */
export type ErrorCode =
  // The queue, schedules and triggers (this file).
  | 'ValidationError'
  | 'TaskNotFound'
  | 'LeaseLost'
  | 'InvalidTransition'
  | 'UniqueKeyConflict'
  | 'ScheduleNotFound'
  | 'ScheduleExists'
  | 'TriggerNotFound'
  | 'TriggerExists'
  | 'TriggerFailed'
  // Benchmarks, commit status and sweeps (this file and src/tracking, src/sweeps).
  | 'NoCandidates'
  | 'BaselineNotFound'
  | 'BaselineExists'
  | 'BenchmarkRunsNotFound'
  | 'ConfigNotFound'
  | 'InvalidRecords'
  | 'PairNotFailed'
  | 'AlertNotFound'
  | 'AlertConflict'
  | 'SweepNotFound'
  | 'GitError'
  // Imports (src/imports).
  | 'ImportNotFound'
  | 'ImportConflict'
  // Only the dashboard's pages raise these (src/ui/pages).
  | 'CommitNotFound'
  | 'EventNotFound'
  | HttpErrorCode;

/** Refusals at the HTTP level (auth, body handling, routing), raised as HttpProblem (src/api/errors.ts). */
export type HttpErrorCode = 'Unauthorized' | 'Forbidden' | 'NotFound' | 'PayloadTooLarge' | 'UnsupportedMediaType';

export class EventixError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = code;
  }
}

export interface FieldIssue {
  field: string;
  message: string;
}

/** Issues as one line, `field: message; field: message`: how every message and page names them. */
export function issuesText(issues: readonly FieldIssue[]): string {
  return issues.map((i) => `${i.field}: ${i.message}`).join('; ');
}

/** Input that cannot be accepted; nothing was written. */
export class ValidationError extends EventixError {
  declare readonly code: 'ValidationError';
  constructor(readonly issues: FieldIssue[]) {
    super('ValidationError', `Invalid input: ${issuesText(issues)}`);
  }
}

export class TaskNotFound extends EventixError {
  declare readonly code: 'TaskNotFound';
  constructor(uid: string) {
    super('TaskNotFound', `No task with uid ${uid}`, { uid });
  }
}

/**
 * The caller no longer owns the task: its lease expired and the task was rescued, re-claimed by
 * another worker (new fencing token), cancelled, or finished. Nothing was changed.
 */
export class LeaseLost extends EventixError {
  declare readonly code: 'LeaseLost';
  constructor(uid: string, reason: string) {
    super('LeaseLost', `Lease lost on task ${uid}: ${reason}`, { uid, reason });
  }
}

/** The requested change is not allowed from the task's current status. */
export class InvalidTransition extends EventixError {
  declare readonly code: 'InvalidTransition';
  constructor(uid: string, from: string, action: string, allowed: readonly string[]) {
    super('InvalidTransition', `Cannot ${action} task ${uid} in status '${from}' (allowed from: ${allowed.join(', ')})`, {
      uid,
      status: from,
      action,
      allowed,
    });
  }
}

/** Another waiting task already holds this unique_key in the namespace. */
export class UniqueKeyConflict extends EventixError {
  declare readonly code: 'UniqueKeyConflict';
  constructor(namespace: string, uniqueKey: string) {
    // Details use the wire format's snake_case: they become fields of the API's problem body.
    super('UniqueKeyConflict', `A waiting task with unique_key '${uniqueKey}' already exists in namespace '${namespace}'`, {
      namespace,
      unique_key: uniqueKey,
    });
  }
}

export class ScheduleNotFound extends EventixError {
  declare readonly code: 'ScheduleNotFound';
  constructor(name: string) {
    super('ScheduleNotFound', `No schedule named '${name}'`, { name });
  }
}

export class ScheduleExists extends EventixError {
  declare readonly code: 'ScheduleExists';
  constructor(name: string) {
    super('ScheduleExists', `A schedule named '${name}' already exists`, { name });
  }
}

/**
 * Thrown by a handler to fail at once, without using up the remaining retries.
 * `throw new NonRetryableError('bad input')`.
 */
export class NonRetryableError extends Error {
  readonly retryable = false;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'NonRetryableError';
  }
}

export class TriggerNotFound extends EventixError {
  declare readonly code: 'TriggerNotFound';
  constructor(name: string) {
    super('TriggerNotFound', `No trigger named '${name}'`, { name });
  }
}

export class TriggerExists extends EventixError {
  declare readonly code: 'TriggerExists';
  constructor(name: string) {
    super('TriggerExists', `A trigger named '${name}' already exists`, { name });
  }
}

/**
 * A trigger could not turn an event into a valid task: a pointer named nothing, a rendered value
 * failed task validation, or the stored trigger is itself invalid. The event was not stored and
 * no task was created. `issues` name template fields (`kwargs.sha`, `unique_key`).
 */
export class TriggerFailed extends EventixError {
  declare readonly code: 'TriggerFailed';
  constructor(
    readonly trigger: string,
    eventName: string,
    readonly issues: FieldIssue[],
  ) {
    super('TriggerFailed', `Trigger '${trigger}' produced an invalid task for event '${eventName}': ${issuesText(issues)}`, {
      trigger,
      event_name: eventName,
      errors: issues,
    });
  }
}

/**
 * A nearest-profile lookup found no stored result to be near to: none matches the exact tags,
 * or none that does holds every target parameter as a number. (A match, however far, is always
 * answered; only an empty candidate set is an error.)
 */
export class NoCandidates extends EventixError {
  declare readonly code: 'NoCandidates';
  constructor(tags: Record<string, string>, parameters: readonly string[], repo?: string) {
    const shown = Object.entries(tags).map(([k, v]) => `${k}=${v}`);
    super(
      'NoCandidates',
      `No benchmark result matches ${shown.length ? shown.join(', ') : 'any tags'}${repo === undefined ? '' : ` in ${repo}`} ` +
        `with numeric ${parameters.join(', ')}`,
      { tags, parameters: [...parameters], ...(repo === undefined ? {} : { repo }) },
    );
  }
}

/** No baseline of that name (in that repository). */
export class BaselineNotFound extends EventixError {
  declare readonly code: 'BaselineNotFound';
  constructor(name: string, repo?: string) {
    super('BaselineNotFound', `No baseline named '${name}'${repo === undefined ? '' : ` in ${repo}`}`, {
      name,
      ...(repo === undefined ? {} : { repo }),
    });
  }
}

/** A baseline of that name already exists in the repository; baselines are never overwritten. */
export class BaselineExists extends EventixError {
  declare readonly code: 'BaselineExists';
  constructor(name: string, repo: string) {
    super('BaselineExists', `A baseline named '${name}' already exists in ${repo}`, { name, repo });
  }
}

/** The commit (or run) named has no stored benchmark results to compare or snapshot. */
export class BenchmarkRunsNotFound extends EventixError {
  declare readonly code: 'BenchmarkRunsNotFound';
  constructor(repo: string, what: { sha?: string; runUid?: string }) {
    super(
      'BenchmarkRunsNotFound',
      what.runUid !== undefined
        ? `No benchmark run ${what.runUid} in ${repo}`
        : `No benchmark results for commit ${what.sha ?? '?'} in ${repo}`,
      { repo, ...(what.sha === undefined ? {} : { sha: what.sha }), ...(what.runUid === undefined ? {} : { run_uid: what.runUid }) },
    );
  }
}
