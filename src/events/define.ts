import type { SubmitInput } from '../queue/submit-input.ts';
import { NAME_PATTERN } from '../validation/names.ts';
import type { EventRecord } from './events.ts';
import { type Filter, filterSchema } from './filter.ts';
import { TRIGGER_NAME_PATTERN } from './triggers.ts';

/**
 * What a code trigger returns for an event: one task, several, or nothing (null/undefined: skip).
 * namespace, priority and operator default to the event's; eventUid and triggerName are set for you.
 */
export type TriggerOutput = SubmitInput | readonly SubmitInput[] | null | undefined;
export type TriggerMapper = (event: EventRecord) => TriggerOutput | Promise<TriggerOutput>;

/**
 * A trigger whose mapping lives in the application's own TypeScript, run in the process that
 * receives the event (the API process given `codeTriggers`, or whoever calls publishEvent) and
 * inside the event's transaction: keep it quick, and throw to reject the event. Its tasks are
 * created atomically with the event and with the data triggers' tasks.
 */
export interface TriggerDefinition {
  readonly kind: 'eventix.trigger';
  readonly name: string;
  readonly eventName: string;
  /** Only events of this namespace; null for all. */
  readonly namespace: string | null;
  /** The same data filter a stored trigger has, checked before `map` runs; null for all events. */
  readonly filter: Filter | null;
  map(event: EventRecord): TriggerOutput | Promise<TriggerOutput>;
}

export function defineTrigger(
  name: string,
  eventName: string,
  map: TriggerMapper,
  options: { namespace?: string | null; filter?: Filter | null } = {},
): TriggerDefinition {
  if (!TRIGGER_NAME_PATTERN.test(name))
    throw new TypeError(`defineTrigger: invalid trigger name ${JSON.stringify(name)} (1-200 of letters, digits, _ . : -)`);
  if (!NAME_PATTERN.test(eventName)) throw new TypeError(`defineTrigger(${name}): invalid event name ${JSON.stringify(eventName)}`);
  if (typeof map !== 'function') throw new TypeError(`defineTrigger(${name}): map must be a function`);
  const namespace = options.namespace ?? null;
  if (namespace !== null && !NAME_PATTERN.test(namespace))
    throw new TypeError(`defineTrigger(${name}): invalid namespace ${JSON.stringify(namespace)}`);
  let filter: Filter | null = null;
  if (options.filter != null) {
    const parsed = filterSchema.safeParse(options.filter);
    if (!parsed.success) {
      const where = parsed.error.issues.map((i) => `${['filter', ...i.path].join('.')}: ${i.message}`).join('; ');
      throw new TypeError(`defineTrigger(${name}): invalid filter: ${where}`);
    }
    filter = parsed.data;
  }
  return Object.freeze({ kind: 'eventix.trigger' as const, name, eventName, namespace, filter, map });
}

export function isTriggerDefinition(value: unknown): value is TriggerDefinition {
  return Boolean(value) && typeof value === 'object' && (value as TriggerDefinition).kind === 'eventix.trigger';
}

/** Refuse anything but defineTrigger() results, and two of one name, which would make trigger_name ambiguous. */
export function checkCodeTriggers(defs: readonly TriggerDefinition[]): readonly TriggerDefinition[] {
  const seen = new Set<string>();
  for (const def of defs) {
    if (!isTriggerDefinition(def)) throw new TypeError('code triggers must be created with defineTrigger()');
    if (seen.has(def.name)) throw new TypeError(`code trigger '${def.name}' is defined twice`);
    seen.add(def.name);
  }
  return defs;
}
