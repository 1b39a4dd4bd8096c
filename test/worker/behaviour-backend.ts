import type { EventEmitter } from 'node:events';
import type { TaskDefinition } from '../../src/worker/registry.ts';
import type { WorkerState } from '../../src/worker/worker.ts';
import type { TestDatabase } from '../helpers/db.ts';

/** The backend a behaviour suite runs against (see behaviour.ts), and the helpers its parts share. */

/** What the suite needs of a worker: both classes have it. */
export interface BehaviourWorker extends EventEmitter {
  readonly workerId: string;
  readonly status: WorkerState;
  readonly active: number;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface BehaviourOptions {
  namespace: string;
  concurrency?: number;
  leaseSeconds?: number;
  shutdownGraceMs?: number;
  workerId?: string;
  /** Heartbeats a few times a second, for tests that wait for one. */
  fastHeartbeat?: boolean;
}

export interface WorkerBackend {
  name: string;
  db: () => TestDatabase;
  /** A worker, not started. No maintenance of its own: the tests rescue by hand when they mean to. */
  create(tasks: TaskDefinition[], opts: BehaviourOptions): BehaviourWorker;
  /** Reasons and messages, in each backend's words. */
  reasons: {
    /** 'task:lease-lost' when the outcome was refused: the task had been rescued and re-run. */
    reportRefused: RegExp;
    /** 'task:lease-lost' when a heartbeat found another owner. */
    heartbeatLost: RegExp;
    /** The failure message of a result that cannot be stored. */
    notJson: RegExp;
  };
}

/** A handler that runs until its signal aborts, then rejects with the abort reason. */
export const hang = (_a: unknown, _k: unknown, ctx: { signal: AbortSignal }) =>
  new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)));

/** A promise to await inside a handler, and the function that lets it through. */
export function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((r) => {
    open = r;
  });
  return { wait, open };
}

/** What the parts of the suite get from describeWorkerBehaviour: workers it stops after each test. */
export interface BehaviourContext {
  create(tasks: TaskDefinition[], opts: BehaviourOptions): BehaviourWorker;
  startWorker(tasks: TaskDefinition[], opts: BehaviourOptions): Promise<BehaviourWorker>;
  statusOf(uid: string): Promise<string>;
}
