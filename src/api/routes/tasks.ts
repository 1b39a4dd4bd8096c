import { randomUUID } from 'node:crypto';
import { Hono } from 'hono';
import type { Database } from '../../db/client.ts';
import { cancel } from '../../queue/cancel.ts';
import { getTask, getTaskByUniqueKey } from '../../queue/get.ts';
import { listTasks } from '../../queue/list.ts';
import { removeTask } from '../../queue/remove.ts';
import { reschedule } from '../../queue/reschedule.ts';
import { type SubmitResult, submitNormalized } from '../../queue/submit.ts';
import { type NormalizedSubmit, normalizeWire } from '../../queue/submit-input.ts';
import { type AppEnv, operatorOf, requireScope } from '../auth.ts';
import { readJson, readQuery, readUid } from '../body.ts';
import { HttpProblem } from '../errors.ts';
import { batchBody, listQuery, rescheduleBody, type SubmitBody, submitBody } from '../schemas.ts';
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
  return normalizeWire(b, randomUUID());
}

export function taskRoutes(deps: TaskRoutesDeps) {
  const pool = deps.database.pool;
  const counted = (results: readonly SubmitResult[]) => deps.onSubmitted?.(results);

  return new Hono<AppEnv>()
    .post('/', requireScope('submit'), async (c) => {
      const body = await readJson(c, submitBody);
      const [result] = await submitNormalized(pool, [toNormalized(body, operatorOf(c, body.operator))]);
      if (!result) throw new Error('submit returned nothing');
      counted([result]);
      return c.json({ created: result.created, task: taskToJson(result.task) }, result.created ? 201 : 200);
    })
    .post('/batch', requireScope('submit'), async (c) => {
      const body = await readJson(c, batchBody);
      const results = await submitNormalized(
        pool,
        body.tasks.map((t) => toNormalized(t, operatorOf(c, t.operator))),
      );
      counted(results);
      return c.json({ results: results.map((r) => ({ created: r.created, task: taskToJson(r.task) })) }, 201);
    })
    .get('/', requireScope('read'), async (c) => {
      const q = readQuery(c, listQuery);
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
    })
    .get('/by-unique-key/:namespace/:unique_key', requireScope('read'), async (c) => {
      const task = await getTaskByUniqueKey(pool, c.req.param('namespace'), c.req.param('unique_key'));
      if (!task) {
        throw new HttpProblem(
          'NotFound',
          `No task with unique_key '${c.req.param('unique_key')}' in namespace '${c.req.param('namespace')}'`,
        );
      }
      return c.json(taskToJson(task));
    })
    .get('/:uid', requireScope('read'), async (c) => c.json(taskToJson(await getTask(pool, readUid(c)))))
    .post('/:uid/cancel', requireScope('submit'), async (c) => c.json(taskToJson(await cancel(pool, readUid(c)))))
    .post('/:uid/reschedule', requireScope('submit'), async (c) => {
      const uid = readUid(c);
      // The body is optional here: an empty POST reschedules for now. Content-Length is not always
      // sent (HTTP/2, an in-process Request), so without it a Content-Type also announces a body.
      const length = c.req.header('content-length');
      const hasBody = length !== undefined ? length !== '0' : Boolean(c.req.header('transfer-encoding') || c.req.header('content-type'));
      const body = hasBody ? await readJson(c, rescheduleBody) : {};
      return c.json(taskToJson(await reschedule(pool, uid, { eta: body.eta })));
    })
    .delete('/:uid', requireScope('admin'), async (c) => {
      await removeTask(pool, readUid(c));
      return c.body(null, 204);
    });
}
