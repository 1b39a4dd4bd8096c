import type pg from 'pg';
import { withTransaction } from '../db/transaction.ts';
import { type FieldIssue, TriggerFailed, ValidationError } from '../errors.ts';
import { submitMany } from '../queue/submit.ts';
import { normalizeSubmit, type SubmitInput } from '../queue/submit-input.ts';
import type { Task } from '../queue/task.ts';
import { newTaskUid } from '../queue/uid.ts';
import { checkCodeTriggers, type TriggerDefinition } from './define.ts';
import { type EventInput, type EventRecord, insertEvent, parseEventInput } from './events.ts';
import { filterSchema, matchesFilter } from './filter.ts';
import { renderTemplate, templateField, templateSchema } from './template.ts';
import { triggersForEvent } from './triggers.ts';

export interface PublishOptions {
  /** Triggers defined in code with defineTrigger(); they run after the stored triggers, in this order. */
  codeTriggers?: readonly TriggerDefinition[] | undefined;
}

export interface FiredTask {
  /** The trigger that asked for the task. */
  trigger: string;
  /** false when it merged into a waiting task with the same unique_key (from an earlier event, or this one). */
  created: boolean;
  task: Task;
}

export interface PublishResult {
  event: EventRecord;
  tasks: FiredTask[];
}

interface Planned {
  trigger: string;
  input: SubmitInput;
  /** How validation issues name fields: template paths for stored triggers, SubmitInput fields (`[i].…`) for code. */
  field: (field: string) => string;
}

/**
 * Store an event and submit the tasks of every trigger it fires, in one transaction: the event
 * and all its tasks exist afterwards, or (on any error, a trigger's invalid task included)
 * none of them do. Triggers run in name order, then code triggers in the order given; their
 * tasks go to the database in one submitMany statement, so unique_key merging applies across
 * triggers and across events. A trigger that cannot produce a valid task raises TriggerFailed.
 */
export async function publishEvent(pool: Pick<pg.Pool, 'connect'>, input: EventInput, opts: PublishOptions = {}): Promise<PublishResult> {
  parseEventInput(input); // refuse bad input before taking a connection
  const codeTriggers = checkCodeTriggers(opts.codeTriggers ?? []);
  return withTransaction(pool, async (client) => {
    const event = await insertEvent(client, input);
    const planned = [...(await planStoredTriggers(client, event)), ...(await planCodeTriggers(codeTriggers, event))];
    // The same validation submitMany applies, per task, so a failure can name its trigger.
    for (const p of planned) {
      try {
        normalizeSubmit(p.input, newTaskUid());
      } catch (err) {
        if (err instanceof ValidationError) throw failed(p.trigger, event, err.issues, p.field);
        throw err;
      }
    }
    const results = await submitMany(
      client,
      planned.map((p) => p.input),
    );
    return { event, tasks: results.map((r, i) => ({ trigger: (planned[i] as Planned).trigger, created: r.created, task: r.task })) };
  });
}

const failed = (trigger: string, event: EventRecord, issues: FieldIssue[], field: (f: string) => string) =>
  new TriggerFailed(
    trigger,
    event.name,
    issues.map((i) => ({ field: field(i.field), message: i.message })),
  );

/** Defaults from the event, and provenance no trigger can override. */
function withEvent(input: SubmitInput, event: EventRecord, trigger: string): SubmitInput {
  const given = (input !== null && typeof input === 'object' ? input : {}) as SubmitInput;
  return {
    ...given,
    namespace: given.namespace ?? event.namespace,
    priority: given.priority ?? event.priority,
    operator: given.operator === undefined ? event.operator : given.operator,
    eventUid: event.uid,
    triggerName: trigger,
  };
}

async function planStoredTriggers(client: pg.PoolClient, event: EventRecord): Promise<Planned[]> {
  const planned: Planned[] = [];
  for (const t of await triggersForEvent(client, event.name, event.namespace)) {
    // Stored rows are re-validated: a row written around the API must fail loudly, not half-work.
    const filter = t.filter === null ? { success: true as const, data: null } : filterSchema.safeParse(t.filter);
    if (!filter.success) {
      throw new TriggerFailed(
        t.name,
        event.name,
        filter.error.issues.map((i) => ({ field: ['filter', ...i.path].join('.'), message: `stored filter is invalid: ${i.message}` })),
      );
    }
    if (!matchesFilter(filter.data, event.payload)) continue;
    const template = templateSchema.safeParse(t.template);
    if (!template.success) {
      throw new TriggerFailed(
        t.name,
        event.name,
        template.error.issues.map((i) => ({
          field: ['template', ...i.path].join('.'),
          message: `stored template is invalid: ${i.message}`,
        })),
      );
    }
    let input: SubmitInput;
    try {
      input = renderTemplate(template.data, event.payload);
    } catch (err) {
      if (err instanceof ValidationError) throw failed(t.name, event, err.issues, templateField);
      throw err;
    }
    planned.push({ trigger: t.name, input: withEvent(input, event, t.name), field: templateField });
  }
  return planned;
}

async function planCodeTriggers(defs: readonly TriggerDefinition[], event: EventRecord): Promise<Planned[]> {
  const planned: Planned[] = [];
  for (const def of defs) {
    if (def.eventName !== event.name) continue;
    if (def.namespace !== null && def.namespace !== event.namespace) continue;
    if (!matchesFilter(def.filter, event.payload)) continue;
    let out: Awaited<ReturnType<TriggerDefinition['map']>>;
    try {
      // A copy: one mapper mutating its event must not change what the next one, or the caller, sees.
      out = await def.map(structuredClone(event));
    } catch (err) {
      if (err instanceof ValidationError) throw failed(def.name, event, err.issues, (f) => f);
      throw err;
    }
    if (out === null || out === undefined) continue;
    const many = Array.isArray(out);
    (many ? (out as readonly SubmitInput[]) : [out as SubmitInput]).forEach((input, i) => {
      const field = (f: string) => (many ? `[${i}]${f === '(body)' ? '' : `.${f}`}` : f);
      planned.push({ trigger: def.name, input: withEvent(input, event, def.name), field });
    });
  }
  return planned;
}
