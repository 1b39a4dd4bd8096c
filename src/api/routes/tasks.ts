import type { Hono } from 'hono';
import type { Database } from '../../db/client.ts';
import { cancel } from '../../queue/cancel.ts';
import { getTask, getTaskByUniqueKey } from '../../queue/get.ts';
import { listTasks } from '../../queue/list.ts';
import { removeTask } from '../../queue/remove.ts';
import { reschedule } from '../../queue/reschedule.ts';
import { type SubmitResult, submitNormalized } from '../../queue/submit.ts';
import { type NormalizedSubmit, normalizeWire } from '../../queue/submit-input.ts';
import { newTaskUid } from '../../queue/uid.ts';
import { type AppEnv, operatorOf } from '../auth.ts';
import { HttpProblem } from '../errors.ts';
import { route, UID_PARAM } from '../route.ts';
import {
  batchBody,
  batchResultOut,
  listQuery,
  MAX_BATCH_HTTP,
  rescheduleBody,
  type SubmitBody,
  submitBody,
  submitResultOut,
  taskOut,
  taskPageOut,
} from '../schemas.ts';
import { taskToJson } from '../serialize.ts';

export interface TaskRoutesDeps {
  database: Database;
  onSubmitted?: (results: readonly SubmitResult[]) => void;
}

/**
 * A body the route's schema validated → what submit stores, without validating it again. The
 * operator comes from the token, not the body, when authenticated.
 */
function toNormalized(b: SubmitBody, operator: string | null): NormalizedSubmit {
  b.operator = operator;
  return normalizeWire(b, newTaskUid());
}

export function taskRoutes(app: Hono<AppEnv>, deps: TaskRoutesDeps): void {
  const pool = deps.database.pool;
  const counted = (results: readonly SubmitResult[]) => deps.onSubmitted?.(results);

  route(
    app,
    {
      method: 'post',
      path: '/tasks',
      summary: 'Submit a task',
      scope: 'submit',
      body: submitBody,
      ok: { status: 201, schema: submitResultOut, description: 'Created' },
      also: [{ status: 200, schema: submitResultOut, description: 'Merged into the waiting task with the same unique_key' }],
      errors: [400, 413, 415],
    },
    async (c, { body }) => {
      const [result] = await submitNormalized(pool, [toNormalized(body, operatorOf(c, body.operator))]);
      if (!result) throw new Error('submit returned nothing');
      counted([result]);
      return c.json({ created: result.created, task: taskToJson(result.task) }, result.created ? 201 : 200);
    },
  );

  route(
    app,
    {
      method: 'post',
      path: '/tasks/batch',
      summary: `Submit up to ${MAX_BATCH_HTTP} tasks atomically`,
      scope: 'submit',
      body: batchBody,
      ok: { status: 201, schema: batchResultOut },
      errors: [400, 413, 415],
    },
    async (c, { body }) => {
      const results = await submitNormalized(
        pool,
        body.tasks.map((t) => toNormalized(t, operatorOf(c, t.operator))),
      );
      counted(results);
      return c.json({ results: results.map((r) => ({ created: r.created, task: taskToJson(r.task) })) }, 201);
    },
  );

  route(
    app,
    {
      method: 'get',
      path: '/tasks',
      summary: 'List tasks, newest first, with keyset pagination',
      scope: 'read',
      query: listQuery,
      ok: { status: 200, schema: taskPageOut },
      errors: [400],
    },
    async (c, { query: q }) => {
      const page = await listTasks(pool, {
        namespace: q.namespace,
        statuses: q.status,
        task: q.task,
        uniqueKey: q.unique_key,
        createdAfter: q.created_after,
        createdBefore: q.created_before,
        updatedAfter: q.updated_after,
        updatedBefore: q.updated_before,
        limit: q.limit,
        cursor: q.cursor,
      });
      return c.json({ tasks: page.tasks.map(taskToJson), next_cursor: page.nextCursor });
    },
  );

  route(
    app,
    {
      method: 'get',
      path: '/tasks/{uid}',
      summary: 'Get a task',
      scope: 'read',
      params: { uid: UID_PARAM },
      ok: { status: 200, schema: taskOut },
      errors: [400, 404],
    },
    async (c, { params }) => c.json(taskToJson(await getTask(pool, params.uid))),
  );

  route(
    app,
    {
      method: 'get',
      path: '/tasks/by-unique-key/{namespace}/{unique_key}',
      summary: 'The live task holding a unique_key, else the most recent',
      scope: 'read',
      ok: { status: 200, schema: taskOut },
      errors: [404],
    },
    async (c, { params }) => {
      const task = await getTaskByUniqueKey(pool, params.namespace, params.unique_key);
      if (!task) {
        throw new HttpProblem('NotFound', `No task with unique_key '${params.unique_key}' in namespace '${params.namespace}'`);
      }
      return c.json(taskToJson(task));
    },
  );

  route(
    app,
    {
      method: 'post',
      path: '/tasks/{uid}/cancel',
      summary: 'Cancel a waiting task, or request cancellation of a running one',
      scope: 'submit',
      params: { uid: UID_PARAM },
      ok: { status: 200, schema: taskOut },
      errors: [400, 404, 409],
    },
    async (c, { params }) => c.json(taskToJson(await cancel(pool, params.uid))),
  );

  route(
    app,
    {
      method: 'post',
      path: '/tasks/{uid}/reschedule',
      summary: 'Put a task in error, retry or cancelled back in line',
      scope: 'submit',
      params: { uid: UID_PARAM },
      // Optional: an empty POST reschedules for now.
      body: rescheduleBody,
      bodyOptional: true,
      ok: { status: 200, schema: taskOut },
      errors: [400, 404, 409, 415],
    },
    async (c, { params, body }) => c.json(taskToJson(await reschedule(pool, params.uid, { eta: body?.eta }))),
  );

  route(
    app,
    {
      method: 'delete',
      path: '/tasks/{uid}',
      summary: 'Delete a task that is not running',
      scope: 'admin',
      params: { uid: UID_PARAM },
      ok: { status: 204, description: 'Deleted' },
      errors: [400, 404, 409],
    },
    async (c, { params }) => {
      await removeTask(pool, params.uid);
      return c.body(null, 204);
    },
  );
}
