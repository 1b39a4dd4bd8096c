import type { Context, Hono } from 'hono';
import { z } from 'zod';
import type { Database } from '../../db/client.ts';
import type { TriggerDefinition } from '../../events/define.ts';
import { publishEvent } from '../../events/publish.ts';
import { claim, claimAnyTask } from '../../queue/claim.ts';
import { getTask } from '../../queue/get.ts';
import { listTasks } from '../../queue/list.ts';
import { removeTask } from '../../queue/remove.ts';
import { reschedule } from '../../queue/reschedule.ts';
import { type SubmitResult, submitNormalized } from '../../queue/submit.ts';
import type { ClaimedTask, Task } from '../../queue/task.ts';
import { isStorableText } from '../../validation/storable.ts';
import { type AppEnv, operatorOf } from '../auth.ts';
import { HttpProblem } from '../errors.ts';
import { type Declaration, type Input, route, UID_PARAM } from '../route.ts';
import { tasksByStatus } from './by-status.ts';
import { CompatError, noTaskForUniqueKey, revisionConflict, taskNotUnique, wrongTaskStatus } from './errors.ts';
import { negate, pyStatusOf, statusesOf, submitOf, toPyTask } from './model.ts';
import { putTask, revisionOf } from './put-task.ts';
import {
  byKeyNamespacedQuery,
  byKeyQuery,
  byStatusBody,
  byStatusOut,
  nextScheduledQuery,
  PY_LEASE_SECONDS,
  type PyStatus,
  pyEventBody,
  pyTaskBody,
  pyTaskListOut,
  pyTaskOut,
  rescheduleQuery,
} from './schemas.ts';
import { pythonTimeToIso } from './time.ts';

/**
 * The Python-Eventix compatible API: the routes of the Python Eventix (v4, its last HTTP API) in
 * its wire format, over our queue, so that its client and its HTTP workers run unchanged. Mounted
 * at /compat/eventix/v4, and at the root too with EVENTIX_COMPAT_ROOT=true (its paths are `/task`,
 * singular, and `/tasks/next_scheduled` and `/tasks/by_status`, which our `/tasks/{uid}` would take
 * for a uid: createApp registers the root copy before our task routes, so they are found first).
 *
 * Every route is declared with route(), so it has its scope and is in /openapi.json (group
 * Compat). The MIGRATION_GUIDE section "The Python-Eventix compatible API" documents each one, the
 * wire format, and every decision taken where Python and Eventix differ.
 */

export const COMPAT_PREFIX = '/compat/eventix/v4';

export interface CompatRoutesDeps {
  database: Database;
  /** COMPAT_PREFIX, or '' for the root mount. */
  prefix: string;
  codeTriggers?: readonly TriggerDefinition[] | undefined;
  onSubmitted?: (results: readonly SubmitResult[]) => void;
  onClaimed?: (tasks: ClaimedTask[]) => void;
  onFinished?: (namespace: string, outcome: 'done' | 'retry' | 'error' | 'cancelled') => void;
}

/** Which requests a mount serves: their errors are answered in the Python shape (see errors.ts). */
export interface CompatMount {
  handles(method: string, path: string): boolean;
}

type Handler<D extends Declaration> = (
  c: Context<AppEnv>,
  input: Omit<Input<D>, 'params'> & { params: Record<string, string> },
) => Response | Promise<Response>;

const pattern = (path: string) => new RegExp(`^${path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{\w+\}/g, '[^/]+')}$`);

const ERROR_TEXT = {
  400: 'Invalid input; `errors` names each offending field (error_class ValidationError)',
  404: 'No such task: error_class NotFound (or NoTaskFoundForUniqueKey), Python’s exception, in the body',
  405: 'HEAD on a GET that changes the task',
  409: 'RevisionConflict (a stale write-back or edit), TaskNotUnique (the uid exists) or TaskUniqueKeyNotUnique',
  422: 'WrongTaskStatus: the change is not allowed from the task’s status (or TriggerFailed, for an event)',
} as const;

/** GETs that change the task: never HEAD (whose answer is dropped), never on a dashboard session's cookie alone. */
function writingGet(c: Context<AppEnv>): void {
  if (c.req.method === 'HEAD') throw new CompatError('MethodNotAllowed', 405, `HEAD ${c.req.path} would change the task: send GET`);
  if (c.get('principal') && !/^Bearer\s/i.test(c.req.header('authorization') ?? '')) {
    throw new HttpProblem('Forbidden', 'this GET changes the task: it needs Authorization: Bearer <token>, not a dashboard session');
  }
}

/** A revision from the wire (digits or a number) as our integer. */

/** Could a task hold this key (text PostgreSQL can store)? A key it cannot store matches no task. */
const storableKey = (s: string) => s.length <= 500 && isStorableText(s);

const DEFAULT_STATI: PyStatus[] = ['scheduled', 'retry'];

export function compatRoutes(app: Hono<AppEnv>, deps: CompatRoutesDeps): CompatMount {
  const pool = deps.database.pool;
  const { writeBack, editTask } = putTask(deps);
  const served: { method: string; path: RegExp }[] = [];

  /** route(), under the prefix, in the Compat group, with the compatible API's error texts. */
  const declare = <const D extends Declaration>(decl: D, handler: Handler<D>) => {
    const path = `${deps.prefix}${decl.path}`;
    served.push({ method: decl.method.toUpperCase(), path: pattern(path) });
    route(app, { ...decl, path, tag: 'Compat', errorText: { ...ERROR_TEXT, ...decl.errorText } }, handler as never);
  };

  const findByKey = async (namespace: string, uniqueKey: string, stati: readonly PyStatus[] | undefined): Promise<Task> => {
    const wanted = stati?.length ? stati : DEFAULT_STATI;
    if (storableKey(uniqueKey) && isStorableText(namespace)) {
      const page = await listTasks(pool, { namespace, uniqueKey, statuses: wanted.flatMap(statusesOf), limit: 1 });
      if (page.tasks[0]) return page.tasks[0];
    }
    throw noTaskForUniqueKey(uniqueKey, wanted);
  };

  declare(
    {
      method: 'post',
      path: '/task',
      summary: 'Submit a task (Python task_post); a unique_key held by a waiting task merges into it',
      scope: 'submit',
      body: pyTaskBody,
      ok: { status: 200, schema: pyTaskOut, description: 'The created task, or the waiting task it merged into' },
      errors: [400, 409],
    },
    async (c, { body }) => {
      const n = submitOf(body, operatorOf(c, body.operator ?? null));
      let results: SubmitResult[];
      try {
        results = await submitNormalized(pool, [n]);
      } catch (err) {
        const pg = err as { code?: string; constraint?: string; cause?: { constraint?: string } };
        if ((pg.constraint ?? pg.cause?.constraint) === 'tasks_uid_key') throw taskNotUnique(n.uid);
        throw err;
      }
      deps.onSubmitted?.(results);
      return c.json(toPyTask((results[0] as SubmitResult).task));
    },
  );

  declare(
    {
      method: 'get',
      path: '/task/{uid}',
      summary: 'Get a task',
      scope: 'read',
      params: { uid: UID_PARAM },
      ok: { status: 200, schema: pyTaskOut },
      errors: [400, 404],
    },
    async (c, { params }) => c.json(toPyTask(await getTask(pool, params.uid as string))),
  );

  declare(
    {
      method: 'put',
      path: '/task/{uid}',
      summary: 'Write a claimed task’s outcome back (status done, error or retry), or edit a waiting task (admin)',
      scope: 'worker',
      params: { uid: UID_PARAM },
      body: pyTaskBody,
      ok: { status: 200, schema: pyTaskOut },
      errors: [400, 404, 409, 422],
    },
    async (c, { params, body }) => {
      const uid = params.uid as string;
      const status = body.status ?? null;
      const revision = revisionOf(body.revision);
      const current = await getTask(pool, uid);
      const shown = pyStatusOf(current.status);
      const outcome = status === 'done' || status === 'error' || status === 'retry';
      // Running: only its worker's outcome changes it (guarded by worker_id and revision).
      if (current.status === 'processing') {
        if (outcome) return writeBack(c, uid, status, body, current);
        throw wrongTaskStatus(uid, shown, 'a running task changes only by its worker’s write-back (status done, error or retry)');
      }
      // Not running: an outcome is a late write-back, of a task rescued, released or already written back.
      const waiting = current.status === 'scheduled' || current.status === 'retry';
      const edit = status === null || (waiting && status === current.status);
      if (outcome && (!edit || (revision !== null && revision !== current.revision))) {
        throw revisionConflict(current.revision, `the task is '${shown}', not processing`);
      }
      if (status === 'processing') throw wrongTaskStatus(uid, shown, 'a PUT does not claim a task: GET /tasks/next_scheduled does');
      if (!waiting) throw wrongTaskStatus(uid, shown, 'only a waiting task (scheduled or retry) can be edited');
      if (!edit) throw wrongTaskStatus(uid, shown, 'an edit keeps the status; GET /task/{uid}/reschedule starts a retry task afresh');
      return editTask(c, uid, body, current);
    },
  );

  declare(
    {
      method: 'delete',
      path: '/task/{uid}',
      summary: 'Delete a task that is not running',
      scope: 'admin',
      params: { uid: UID_PARAM },
      ok: { status: 200, schema: z.null(), description: 'Deleted; the body is JSON null, as Python answered' },
      errors: [400, 404, 422],
    },
    async (c, { params }) => {
      await removeTask(pool, params.uid as string);
      return c.json(null);
    },
  );

  // Before /task/{uid}/reschedule: /task/by_unique_key/reschedule is a lookup of the key "reschedule".
  declare(
    {
      method: 'get',
      path: '/task/by_unique_key/{unique_key}',
      summary: 'The task holding a unique_key in a waiting status (or those of stati); namespace by query, default "default"',
      scope: 'read',
      query: byKeyQuery,
      ok: { status: 200, schema: pyTaskOut },
      errors: [400, 404],
    },
    async (c, { params, query }) =>
      c.json(toPyTask(await findByKey(query.namespace ?? 'default', params.unique_key as string, query.stati))),
  );

  declare(
    {
      method: 'get',
      path: '/task/by_unique_key/{namespace}/{unique_key}',
      summary: 'The task holding a unique_key in a namespace, in a waiting status (or those of stati)',
      scope: 'read',
      query: byKeyNamespacedQuery,
      ok: { status: 200, schema: pyTaskOut },
      errors: [400, 404],
    },
    async (c, { params, query }) => c.json(toPyTask(await findByKey(params.namespace as string, params.unique_key as string, query.stati))),
  );

  declare(
    {
      method: 'delete',
      path: '/task/by_unique_key/{unique_key}',
      summary: 'Delete the waiting task holding a unique_key (namespace by query, default "default")',
      scope: 'admin',
      query: byKeyQuery,
      ok: { status: 200, schema: z.null(), description: 'Deleted; the body is JSON null' },
      errors: [400, 404, 422],
    },
    async (c, { params, query }) => {
      const task = await findByKey(query.namespace ?? 'default', params.unique_key as string, query.stati);
      await removeTask(pool, task.uid);
      return c.json(null);
    },
  );

  declare(
    {
      method: 'get',
      path: '/task/{uid}/reschedule',
      summary: 'Put a task in error, retry or cancelled back in line (a GET, as Python had it); optional eta',
      scope: 'submit',
      writes: true,
      params: { uid: UID_PARAM },
      query: rescheduleQuery,
      ok: { status: 200, schema: pyTaskOut },
      errors: [400, 403, 404, 405, 409, 422],
    },
    async (c, { params, query }) => {
      writingGet(c);
      const eta = pythonTimeToIso(query.eta);
      return c.json(toPyTask(await reschedule(pool, params.uid as string, eta === null ? {} : { eta })));
    },
  );

  declare(
    {
      method: 'get',
      path: '/tasks/next_scheduled',
      summary: 'Claim the next due task of a namespace for a worker (lease 300 s by default); 204 when none is due',
      scope: 'worker',
      writes: true,
      query: nextScheduledQuery,
      ok: {
        status: 200,
        schema: pyTaskOut,
        description: 'The claimed task: processing, held by worker_id, at the revision to write back with',
      },
      also: [{ status: 204, description: 'No task is due (Python NoTaskFound): an empty body' }],
      errors: [400, 403, 405],
    },
    async (c, { query }) => {
      writingGet(c);
      // A client that hung up must not be handed a task nobody will run.
      if (c.req.raw.signal.aborted) return c.body(null, 204);
      const opts = {
        workerId: query.worker_id,
        namespaces: [query.namespace ?? 'default'],
        limit: 1,
        leaseSeconds: query.lease_seconds ?? PY_LEASE_SECONDS,
      };
      const [task] = query.tasks?.length ? await claim(pool, { ...opts, tasks: query.tasks }) : await claimAnyTask(pool, opts);
      if (!task) return c.body(null, 204);
      deps.onClaimed?.([task]);
      return c.json(toPyTask(task, { claimed: true }));
    },
  );

  declare(
    {
      method: 'put',
      path: '/tasks/by_status',
      summary: 'List tasks by status and namespace, newest first, by skip and limit (a PUT with a body, as Python had it)',
      scope: 'read',
      body: byStatusBody,
      ok: { status: 200, schema: byStatusOut },
      errors: [400],
    },
    async (c, { body }) => {
      const skip = body.skip ?? 0;
      const limit = body.limit ?? 25;
      const page = await tasksByStatus(pool, {
        statuses: body.status ? statusesOf(body.status) : undefined,
        namespace: body.namespace ?? undefined,
        skip,
        limit,
      });
      return c.json({ data: page.tasks.map((t) => toPyTask(t)), max_results: page.total, skip, limit, sort: body.sort ?? null });
    },
  );

  declare(
    {
      method: 'post',
      path: '/event',
      summary: 'Publish an event (Python post_event): answers the tasks its triggers created',
      scope: 'submit',
      body: pyEventBody,
      ok: { status: 200, schema: pyTaskListOut, description: 'The task each trigger created (or merged into), in the Python format' },
      errors: [400, 422],
    },
    async (c, { body }) => {
      const result = await publishEvent(
        pool,
        {
          name: body.name,
          namespace: body.namespace ?? 'default',
          payload: body.payload ?? {},
          priority: negate(body.priority ?? 0),
          operator: operatorOf(c, body.operator ?? null),
        },
        { codeTriggers: deps.codeTriggers ?? [] },
      );
      deps.onSubmitted?.(result.tasks);
      return c.json(result.tasks.map((t) => toPyTask(t.task)));
    },
  );

  // The Python client's ping() GETs /healthz under its base URL: at the root, ours answers it.
  if (deps.prefix) {
    declare(
      { method: 'get', path: '/healthz', summary: 'Liveness, for the Python client’s ping()', scope: 'public', ok: { status: 200 } },
      (c) => c.json({ status: 'ok' }),
    );
  }

  return {
    handles: (method, path) => served.some((r) => (r.method === method || (method === 'HEAD' && r.method === 'GET')) && r.path.test(path)),
  };
}
