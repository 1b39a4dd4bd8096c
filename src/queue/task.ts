import type { TaskStatus } from './states.ts';

/** A task as the library and the API present it. */
export interface Task {
  uid: string;
  task: string;
  namespace: string;
  status: TaskStatus;
  priority: number;
  eta: Date;
  args: unknown[];
  kwargs: Record<string, unknown>;
  uniqueKey: string | null;
  retry: boolean;
  maxRetries: number | null;
  errorEtaInc: number;
  errorEtaMax: number;
  timeoutSeconds: number | null;
  storeResult: boolean;
  resultExpires: number | null;
  errorExpires: number | null;
  result: unknown;
  error: TaskError | null;
  expiresAt: Date | null;
  attempts: number;
  workerId: string | null;
  leaseExpiresAt: Date | null;
  cancelRequested: boolean;
  operator: string | null;
  /** The schedule and fire time that submitted this task, if any. */
  scheduleName: string | null;
  scheduleFireAt: Date | null;
  /** The event and trigger that submitted this task, if any. */
  eventUid: string | null;
  triggerName: string | null;
  revision: number;
  createdAt: Date;
  updatedAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

/** A task held by a worker: the fencing token must accompany every change it makes. */
export interface ClaimedTask extends Task {
  workerId: string;
  fencingToken: number;
  leaseExpiresAt: Date;
}

/** What a failed attempt records. */
export interface TaskError {
  class: string;
  message: string;
  stack?: string | undefined;
  payload?: unknown;
  /** Why the attempt ended, when not by the handler throwing: `timeout`, `lease_expired`, `cancelled`. */
  reason?: string;
}

/** The raw row, snake_case, as `returning *` gives it. */
export interface TaskRowRaw {
  uid: string;
  task: string;
  namespace: string;
  status: TaskStatus;
  priority: number;
  eta: Date;
  args: unknown[];
  kwargs: Record<string, unknown>;
  unique_key: string | null;
  retry: boolean;
  max_retries: number | null;
  error_eta_inc: number;
  error_eta_max: number;
  timeout_seconds: number | null;
  store_result: boolean;
  result_expires: number | null;
  error_expires: number | null;
  result: unknown;
  error: TaskError | null;
  expires_at: Date | null;
  attempts: number;
  worker_id: string | null;
  lease_expires_at: Date | null;
  fencing_token: number | null;
  cancel_requested: boolean;
  operator: string | null;
  schedule_name: string | null;
  schedule_fire_at: Date | null;
  event_uid: string | null;
  trigger_name: string | null;
  revision: number;
  created_at: Date;
  updated_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

export function toTask(r: TaskRowRaw): Task {
  return {
    uid: r.uid,
    task: r.task,
    namespace: r.namespace,
    status: r.status,
    priority: r.priority,
    eta: r.eta,
    args: r.args,
    kwargs: r.kwargs,
    uniqueKey: r.unique_key,
    retry: r.retry,
    maxRetries: r.max_retries,
    errorEtaInc: r.error_eta_inc,
    errorEtaMax: r.error_eta_max,
    timeoutSeconds: r.timeout_seconds,
    storeResult: r.store_result,
    resultExpires: r.result_expires,
    errorExpires: r.error_expires,
    result: r.result,
    error: r.error,
    expiresAt: r.expires_at,
    attempts: r.attempts,
    workerId: r.worker_id,
    leaseExpiresAt: r.lease_expires_at,
    cancelRequested: r.cancel_requested,
    operator: r.operator,
    scheduleName: r.schedule_name,
    scheduleFireAt: r.schedule_fire_at,
    eventUid: r.event_uid,
    triggerName: r.trigger_name,
    revision: r.revision,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
  };
}

export function toClaimedTask(r: TaskRowRaw): ClaimedTask {
  return {
    ...toTask(r),
    workerId: r.worker_id as string,
    fencingToken: r.fencing_token as number,
    leaseExpiresAt: r.lease_expires_at as Date,
  };
}

const TIMESTAMPS = [
  'eta',
  'expires_at',
  'lease_expires_at',
  'schedule_fire_at',
  'created_at',
  'updated_at',
  'started_at',
  'finished_at',
] as const;

/** A row that travelled as row_to_json: its timestamps are text; make them Dates like a normal row. */
export function rowFromJson(row: Record<string, unknown>): TaskRowRaw {
  for (const k of TIMESTAMPS) if (typeof row[k] === 'string') row[k] = new Date(row[k] as string);
  return row as unknown as TaskRowRaw;
}
