import type { ClaimedTask, Task } from '../queue/task.ts';
import type { ClaimedTaskJson, TaskJson } from './schemas.ts';

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** Library Task (camelCase, Dates) → wire format (snake_case, ISO strings). */
export function taskToJson(t: Task): TaskJson {
  return {
    uid: t.uid,
    task: t.task,
    namespace: t.namespace,
    status: t.status,
    priority: t.priority,
    eta: t.eta.toISOString(),
    args: t.args,
    kwargs: t.kwargs,
    unique_key: t.uniqueKey,
    retry: t.retry,
    max_retries: t.maxRetries,
    error_eta_inc: t.errorEtaInc,
    error_eta_max: t.errorEtaMax,
    timeout_seconds: t.timeoutSeconds,
    store_result: t.storeResult,
    result_expires: t.resultExpires,
    error_expires: t.errorExpires,
    result: t.result,
    error: t.error,
    expires_at: iso(t.expiresAt),
    attempts: t.attempts,
    worker_id: t.workerId,
    lease_expires_at: iso(t.leaseExpiresAt),
    cancel_requested: t.cancelRequested,
    operator: t.operator,
    schedule_name: t.scheduleName,
    schedule_fire_at: iso(t.scheduleFireAt),
    event_uid: t.eventUid,
    trigger_name: t.triggerName,
    revision: t.revision,
    created_at: t.createdAt.toISOString(),
    updated_at: t.updatedAt.toISOString(),
    started_at: iso(t.startedAt),
    finished_at: iso(t.finishedAt),
  };
}

export function claimedToJson(t: ClaimedTask): ClaimedTaskJson {
  return { ...taskToJson(t), fencing_token: t.fencingToken, lease_expires_at: t.leaseExpiresAt.toISOString() };
}
