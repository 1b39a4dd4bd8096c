import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Executor } from '../db/executor.ts';
import type { Logger } from '../logger.ts';
import { type SubmitResult, submit } from '../queue/submit.ts';
import type { SubmitInput } from '../queue/submit-input.ts';
import { NAME_PATTERN } from '../validation/names.ts';

export interface TaskContext {
  uid: string;
  task: string;
  namespace: string;
  /** 1 on the first run, 2 on the first retry, and so on. */
  attempt: number;
  /**
   * This attempt's fencing token: every claim of the task draws a new, larger one. The uid stays
   * the same across retries, so a write of the handler's own that must not outlive its lease
   * checks, in the same statement, that the task is still `processing` under this token: an
   * attempt that lost its lease (and is about to be aborted) then changes nothing.
   */
  fencingToken: number;
  /**
   * Aborted when the attempt must stop: its timeout passed, it was cancelled, the worker lost the
   * lease, or the worker is shutting down past its grace period. `signal.reason` says which.
   * Pass it to fetch, child processes and anything else that accepts one.
   */
  signal: AbortSignal;
  logger: Logger;
}

export type TaskHandler<A extends unknown[] = unknown[], K extends Record<string, unknown> = Record<string, unknown>> = (
  args: A,
  kwargs: K,
  ctx: TaskContext,
) => unknown;

/** Submit options a definition applies to every task it submits, plus the run-time timeout. */
export type TaskDefaults = Omit<SubmitInput, 'task' | 'args' | 'kwargs' | 'eta' | 'uniqueKey' | 'operator'>;

export interface TaskDefinition<A extends unknown[] = unknown[], K extends Record<string, unknown> = Record<string, unknown>> {
  readonly kind: 'eventix.task';
  readonly name: string;
  // Method syntax on purpose: it lets a TaskDefinition<[number]> stand where a TaskDefinition of
  // unknown[] is expected (a worker's task list), which a function-typed property would refuse.
  handler(args: A, kwargs: K, ctx: TaskContext): unknown;
  readonly defaults: TaskDefaults;
  /** Submit a task of this kind with the definition's defaults; `input` overrides them. */
  submit(ex: Executor, input?: Omit<SubmitInput, 'task' | 'args' | 'kwargs'> & { args?: A; kwargs?: K }): Promise<SubmitResult>;
}

export function defineTask<A extends unknown[] = unknown[], K extends Record<string, unknown> = Record<string, unknown>>(
  name: string,
  handler: TaskHandler<A, K>,
  defaults: TaskDefaults = {},
): TaskDefinition<A, K> {
  if (!NAME_PATTERN.test(name))
    throw new TypeError(`defineTask: invalid task name ${JSON.stringify(name)} (1-200 of letters, digits, _ . : / -)`);
  if (typeof handler !== 'function') throw new TypeError(`defineTask(${name}): handler must be a function`);
  return Object.freeze({
    kind: 'eventix.task' as const,
    name,
    handler,
    defaults,
    submit: (ex: Executor, input = {}) => submit(ex, { ...defaults, ...input, task: name } as SubmitInput),
  });
}

export function isTaskDefinition(value: unknown): value is TaskDefinition {
  return Boolean(value) && typeof value === 'object' && (value as TaskDefinition).kind === 'eventix.task';
}

/** name → definition, refusing duplicates, which would make "which handler ran?" ambiguous. */
export function buildRegistry(defs: readonly TaskDefinition[]): Map<string, TaskDefinition> {
  const registry = new Map<string, TaskDefinition>();
  for (const def of defs) {
    if (!isTaskDefinition(def)) throw new TypeError('tasks must be created with defineTask()');
    if (registry.has(def.name) && registry.get(def.name) !== def) throw new TypeError(`task '${def.name}' is defined twice`);
    registry.set(def.name, def);
  }
  return registry;
}

/**
 * Load a module of task definitions for `eventix worker --tasks`: every defineTask() result it
 * exports by name, and those in a default-exported array (or a default-exported definition).
 * `.ts` modules are compiled on the fly with tsx.
 */
export async function loadTaskModule(file: string, cwd = process.cwd()): Promise<TaskDefinition[]> {
  const abs = path.resolve(cwd, file);
  if (/\.[cm]?tsx?$/.test(abs)) {
    const { register } = await import('tsx/esm/api');
    register();
  }
  const mod = (await import(pathToFileURL(abs).href)) as Record<string, unknown>;
  const found: TaskDefinition[] = [];
  for (const [key, value] of Object.entries(mod)) {
    if (isTaskDefinition(value)) found.push(value);
    else if (key === 'default' && Array.isArray(value)) found.push(...value.filter(isTaskDefinition));
  }
  const unique = [...buildRegistry(found).values()];
  if (unique.length === 0)
    throw new Error(`${file} exports no task definitions (export the results of defineTask(), or a default array of them)`);
  return unique;
}
