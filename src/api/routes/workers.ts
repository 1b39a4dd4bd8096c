import type { EventEmitter } from 'node:events';
import type { Hono } from 'hono';
import type { Database } from '../../db/client.ts';
import { claim } from '../../queue/claim.ts';
import { completeBatch } from '../../queue/complete.ts';
import { fail } from '../../queue/fail.ts';
import { heartbeat } from '../../queue/heartbeat.ts';
import { explainLoss } from '../../queue/ownership.ts';
import { release } from '../../queue/release.ts';
import type { ClaimedTask } from '../../queue/task.ts';
import type { AppEnv } from '../auth.ts';
import { route, UID_PARAM } from '../route.ts';
import { claimBody, claimOut, completeBody, failBody, failOut, heartbeatBody, heartbeatOut, releaseBody, releaseOut } from '../schemas.ts';
import { claimedToJson } from '../serialize.ts';

export interface WorkerRoutesDeps {
  database: Database;
  /** Emits 'notify' (namespace) when tasks become due; lets long-polls answer at once. Optional. */
  notifications?: EventEmitter | undefined;
  /** Backstop poll inside a long-poll, for deployments without LISTEN (PgBouncer). */
  longPollIntervalMs?: number;
  onClaimed?: (tasks: ClaimedTask[]) => void;
  onFinished?: (namespace: string, outcome: 'done' | 'retry' | 'error' | 'cancelled') => void;
}

const DEFAULT_LEASE = 30;

/**
 * Wake-ups of one long-poll. The listener is registered for the whole request, not only while it
 * sleeps: a NOTIFY that arrives while a claim runs may announce a task that claim's snapshot could
 * not see, and one listened for only during the sleep was lost, leaving the poll asleep until its
 * interval (seen in a test that terminates every connection: 30 s instead of at once).
 */
class Wakeups {
  private pending = false;
  private wake: (() => void) | undefined;
  private readonly onNotify = (ns: string) => {
    if (ns !== this.namespace && ns !== '*') return;
    this.pending = true;
    this.wake?.();
  };

  constructor(
    private readonly notifications: EventEmitter | undefined,
    private readonly namespace: string,
  ) {
    notifications?.on('notify', this.onNotify);
  }

  /** Forget earlier wake-ups: call just before a claim, which sees everything committed by then. */
  reset(): void {
    this.pending = false;
  }

  /** Sleep until a wake-up (or one that came since reset()), the interval, or the request's abort. */
  sleep(ms: number, signal: AbortSignal): Promise<void> {
    if (this.pending || signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = undefined;
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
      signal.addEventListener('abort', done, { once: true });
    });
  }

  close(): void {
    this.notifications?.off('notify', this.onNotify);
    this.wake?.();
  }
}

/** Remote workers: claim over HTTP, then heartbeat/complete/fail under the fencing token. */
export function claimRoutes(app: Hono<AppEnv>, deps: WorkerRoutesDeps): void {
  route(
    app,
    {
      method: 'post',
      path: '/workers/claim',
      summary: 'Claim due tasks for a remote worker (long-poll with wait_seconds)',
      scope: 'worker',
      body: claimBody,
      ok: { status: 200, schema: claimOut },
      errors: [400, 415],
    },
    async (c, { body }) => {
      const namespace = body.namespace ?? 'default';
      const deadline = Date.now() + (body.wait_seconds ?? 0) * 1000;
      const signal = c.req.raw.signal;
      const wakeups = new Wakeups(deps.notifications, namespace);
      try {
        for (;;) {
          // A client that hung up must not be handed tasks nobody will run.
          if (signal.aborted) return c.json({ tasks: [] });
          wakeups.reset();
          const tasks = await claim(deps.database.pool, {
            workerId: body.worker_id,
            namespaces: [namespace],
            tasks: body.tasks,
            limit: body.limit ?? 1,
            leaseSeconds: body.lease_seconds ?? DEFAULT_LEASE,
          });
          const remaining = deadline - Date.now();
          if (tasks.length || remaining <= 0) {
            if (tasks.length) deps.onClaimed?.(tasks);
            return c.json({ tasks: tasks.map(claimedToJson) });
          }
          await wakeups.sleep(Math.min(remaining, deps.longPollIntervalMs ?? 500), signal);
        }
      } finally {
        wakeups.close();
      }
    },
  );
}

export function leaseRoutes(app: Hono<AppEnv>, deps: WorkerRoutesDeps): void {
  const pool = deps.database.pool;
  route(
    app,
    {
      method: 'post',
      path: '/tasks/{uid}/heartbeat',
      summary: 'Renew a claimed task’s lease',
      scope: 'worker',
      params: { uid: UID_PARAM },
      body: heartbeatBody,
      ok: { status: 200, schema: heartbeatOut },
      errors: [400, 404, 409],
    },
    async (c, { params: { uid }, body }) => {
      const lease = { uid, workerId: body.worker_id, fencingToken: body.fencing_token };
      const r = await heartbeat(pool, body.worker_id, body.lease_seconds ?? null, [lease]);
      if (!r.renewed.has(uid)) throw await explainLoss(pool, lease);
      return c.json({ lease_expires_at: r.expiresAt.get(uid)?.toISOString() ?? null, cancel_requested: r.cancelRequested.has(uid) });
    },
  );

  route(
    app,
    {
      method: 'post',
      path: '/tasks/{uid}/complete',
      summary: 'Complete a claimed task',
      scope: 'worker',
      params: { uid: UID_PARAM },
      body: completeBody,
      ok: { status: 200 },
      errors: [400, 404, 409],
    },
    async (c, { params: { uid }, body }) => {
      const lease = { uid, workerId: body.worker_id, fencingToken: body.fencing_token };
      const done = await completeBatch(pool, body.worker_id, [{ ...lease, result: body.result }]);
      const namespace = done.get(uid);
      if (namespace === undefined) throw await explainLoss(pool, lease);
      deps.onFinished?.(namespace, 'done');
      return c.json({ status: 'done' });
    },
  );

  route(
    app,
    {
      method: 'post',
      path: '/tasks/{uid}/release',
      summary: 'Hand a claimed task back to the queue, due now, without using up an attempt (at shutdown)',
      scope: 'worker',
      params: { uid: UID_PARAM },
      body: releaseBody,
      ok: { status: 200, schema: releaseOut },
      errors: [400, 404, 409],
    },
    async (c, { params: { uid }, body }) => {
      const lease = { uid, workerId: body.worker_id, fencingToken: body.fencing_token };
      const released = (await release(pool, body.worker_id, [lease])).get(uid);
      if (released === undefined) throw await explainLoss(pool, lease);
      // Handed back is no outcome; a cancel requested meanwhile is one.
      if (released.status === 'cancelled') deps.onFinished?.(released.namespace, 'cancelled');
      return c.json({ status: released.status });
    },
  );

  route(
    app,
    {
      method: 'post',
      path: '/tasks/{uid}/fail',
      summary: 'Fail a claimed task’s attempt',
      scope: 'worker',
      params: { uid: UID_PARAM },
      body: failBody,
      ok: { status: 200, schema: failOut },
      errors: [400, 404, 409],
    },
    async (c, { params: { uid }, body }) => {
      const r = await fail(pool, {
        uid,
        workerId: body.worker_id,
        fencingToken: body.fencing_token,
        // Spread, not listed field by field: an absent stack or payload must be absent, not undefined,
        // or fail() finds the error not JSON and stores only its class and message.
        error: { ...body.error, class: body.error.class ?? 'Error' },
        retryable: body.retry !== false,
      });
      deps.onFinished?.(r.namespace, r.status as 'retry' | 'error' | 'cancelled');
      return c.json({ status: r.status, eta: r.eta.toISOString() });
    },
  );
}
