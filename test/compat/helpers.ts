import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import type { App } from '../../src/api/app.ts';
import { type ApiResponse, type Json, type SendOptions, send } from '../helpers/api.ts';

/** Where the compatible API is mounted unless EVENTIX_COMPAT_ROOT puts it at the root too. */
export const P = '/compat/eventix/v4';

/** A naive Python datetime (datetime.utcnow().isoformat()): microseconds, no offset. */
export const naive = (d: Date) => `${d.toISOString().slice(0, -1)}123`;

/**
 * A task as the Python client sends it: TEventixTask.model_dump(), every field, server-managed ones
 * included (BackendModel's too), with the Python defaults.
 */
export function pyTask(over: Record<string, unknown> = {}): Record<string, unknown> {
  const now = new Date();
  return {
    uid: randomUUID(),
    revision: null,
    version: 1,
    created_time: now.toISOString(),
    updated_time: now.toISOString(),
    unique_key: null,
    eta: naive(now),
    scheduled: naive(now),
    status: 'scheduled',
    priority: 0,
    namespace: 'default',
    task: 'compat.add',
    args: [2, 3],
    kwargs: {},
    worker_id: null,
    worker_expires: null,
    retry: true,
    max_retries: null,
    error_eta_inc: 15,
    error_eta_max: 300,
    store_result: true,
    result: null,
    error_expires: null,
    result_expires: 604800,
    expires: null,
    operator: 'unknown',
    ...over,
  };
}

export const put = (app: App, path: string, json: unknown, opts: SendOptions = {}) => send(app, 'PUT', path, { ...opts, json });

/**
 * A Python-shaped error: a problem document (application/problem+json, type, title, status) whose
 * top level is the Python WebException's dict, with no `detail` to hide it from raise_errors.
 */
export function expectPyError(res: ApiResponse, status: number, errorClass: string): Json {
  const context = `${res.status} ${res.text.slice(0, 500)}`;
  expect(res.status, context).toBe(status);
  expect(res.headers.get('content-type'), context).toBe('application/problem+json');
  expect(res.body, context).toMatchObject({
    status,
    error_class: errorClass,
    error_status_code: status,
    error_traceback: null,
    code: errorClass,
  });
  expect(res.body.type, context).toMatch(/^urn:eventix:problem:compat:/);
  expect(typeof res.body.title, context).toBe('string');
  expect(typeof res.body.error_message, context).toBe('string');
  expect(res.body, context).not.toHaveProperty('detail');
  return res.body;
}

/** The write-back a Python worker sends after running a claimed task (TaskWorker.task_set_result). */
export function done(claimed: Json, result: unknown): Json {
  return { ...claimed, status: 'done', result, worker_expires: null, expires: new Date(Date.now() + 604800_000).toISOString() };
}

/** The write-back of a failure with retries left (TaskWorker.task_set_error): Python clears worker_id. */
export function retry(claimed: Json, message = 'boom'): Json {
  return {
    ...claimed,
    status: 'retry',
    worker_id: null,
    worker_expires: null,
    max_retries: claimed.max_retries === null ? null : Math.max(claimed.max_retries - 1, 0),
    eta: new Date(Date.now() + 15_000).toISOString(),
    error_eta_inc: Math.min(claimed.error_eta_inc * 2, claimed.error_eta_max),
    result: {
      error_class: 'ValueError',
      error_message: message,
      error_status_code: 500,
      error_traceback: ['  File "tasks.py", line 3, in add\n', '    raise ValueError(x)\n'],
      error_payload: {},
    },
  };
}
