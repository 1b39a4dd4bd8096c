import type { Context } from 'hono';
import { ValidationError } from '../../errors.ts';
import { getTask } from '../../queue/get.ts';
import type { TaskStatus } from '../../queue/states.ts';
import type { Task } from '../../queue/task.ts';
import { type AppEnv, grants } from '../auth.ts';
import { HttpProblem } from '../errors.ts';
import { editWaiting } from './edit.ts';
import { CompatError, revisionConflict, wrongTaskStatus } from './errors.ts';
import { maxRetriesFor, negate, pyStatusOf, taskErrorOf, toPyTask } from './model.ts';
import type { CompatRoutesDeps } from './routes.ts';
import type { PyTaskBody } from './schemas.ts';
import { pythonTimeToIso } from './time.ts';
import { completeByRevision, explainStale, failByRevision } from './write-back.ts';

/** The revision a Python model carries (its `revision` is typed `str`), as a number. */
export const revisionOf = (r: PyTaskBody['revision']): number | null => (r === null || r === undefined ? null : Number(r));

/**
 * The two things `PUT /task/{uid}` can be, chosen by the route (routes.ts) from the task's status:
 * a worker's write-back of the task it claimed, and an operator's edit of a waiting task.
 */
export function putTask(deps: Pick<CompatRoutesDeps, 'database' | 'onFinished'>) {
  const pool = deps.database.pool;

  /** A worker's PUT of the task it claimed: see write-back.ts for the guard. */
  const writeBack = async (c: Context<AppEnv>, uid: string, status: 'done' | 'error' | 'retry', body: PyTaskBody, before: Task) => {
    const revision = revisionOf(body.revision);
    const workerId = body.worker_id ?? null;
    const issues = [
      ...(revision === null ? [{ field: 'revision', message: 'is required: send back the revision the claim answered' }] : []),
      ...(workerId === null && status !== 'retry' ? [{ field: 'worker_id', message: `is required for a ${status} write-back` }] : []),
    ];
    if (issues.length) throw new ValidationError(issues);
    const lease = { uid, workerId, revision: revision as number };
    let outcome: { namespace: string; status: TaskStatus } | undefined;
    if (status === 'done') {
      const namespace = await completeByRevision(pool, { ...lease, workerId: workerId as string, result: body.result });
      outcome = namespace === undefined ? undefined : { namespace, status: 'done' };
    } else {
      outcome = await failByRevision(pool, { ...lease, error: taskErrorOf(body.result), retryable: status === 'retry' });
    }
    if (!outcome) {
      const why = await explainStale(pool, lease);
      throw revisionConflict(why.revision, why.reason);
    }
    deps.onFinished?.(outcome.namespace, outcome.status as 'done' | 'retry' | 'error' | 'cancelled');
    const after = await getTask(pool, uid).catch(() => undefined);
    // store_result off: the completion deleted the row. Answer what it was when it finished.
    const answer = after ?? { ...before, status: 'done' as const, result: null, leaseExpiresAt: null, revision: before.revision + 1 };
    return c.json(toPyTask(answer));
  };

  /** An operator's PUT of a waiting task, under Python's optimistic lock (the revision). */
  const editTask = async (c: Context<AppEnv>, uid: string, body: PyTaskBody, current: Task) => {
    const principal = c.get('principal');
    if (principal && !grants(principal, 'submit')) {
      throw new HttpProblem(
        'Forbidden',
        `token '${principal.name}' has scope '${principal.scope}': a PUT that edits a waiting task needs 'worker' and 'submit', which only 'admin' grants`,
      );
    }
    const revision = revisionOf(body.revision);
    if (revision === null)
      throw new ValidationError([{ field: 'revision', message: 'is required: send the revision the task was read at' }]);
    const inc = body.error_eta_inc ?? current.errorEtaInc;
    const eta = pythonTimeToIso(body.eta);
    let edited: Task | undefined;
    try {
      edited = await editWaiting(pool, uid, revision, {
        task: body.task,
        namespace: body.namespace ?? current.namespace,
        eta: eta === null ? current.eta : new Date(eta),
        priority: body.priority === null || body.priority === undefined ? current.priority : negate(body.priority),
        args: body.args ?? current.args,
        kwargs: body.kwargs ?? current.kwargs,
        uniqueKey: body.unique_key === undefined ? current.uniqueKey : body.unique_key,
        retry: body.retry ?? current.retry,
        maxRetries: body.max_retries === undefined ? current.maxRetries : maxRetriesFor(body.max_retries, current),
        errorEtaInc: inc,
        errorEtaMax: Math.max(body.error_eta_max ?? current.errorEtaMax, inc),
        storeResult: body.store_result ?? current.storeResult,
        resultExpires: body.result_expires === undefined ? current.resultExpires : body.result_expires,
        errorExpires: body.error_expires === undefined ? current.errorExpires : body.error_expires,
      });
    } catch (err) {
      const pg = err as { constraint?: string; cause?: { constraint?: string } };
      if ((pg.constraint ?? pg.cause?.constraint) === 'tasks_unique_key_waiting_idx') {
        throw new CompatError('TaskUniqueKeyNotUnique', 409, `Task with unique_key ${body.unique_key} not unique`, {
          unique_key: body.unique_key,
        });
      }
      throw err;
    }
    if (!edited) {
      const now = await getTask(pool, uid);
      if (now.status !== 'scheduled' && now.status !== 'retry') {
        throw wrongTaskStatus(uid, pyStatusOf(now.status), 'only a waiting task can be edited');
      }
      throw revisionConflict(now.revision, `the edit was based on revision ${revision}`);
    }
    return c.json(toPyTask(edited));
  };

  return { writeBack, editTask };
}
