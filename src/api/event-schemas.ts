import { z } from 'zod';
import type { EventRecord } from '../events/events.ts';
import { eventInputSchema } from '../events/events.ts';
import { filterSchema } from '../events/filter.ts';
import type { PublishResult } from '../events/publish.ts';
import { templateSchema } from '../events/template.ts';
import { type Trigger, type TriggerInput, triggerName } from '../events/triggers.ts';
import { NAME_PATTERN } from '../queue/input.ts';
import { taskOut } from './schemas.ts';
import { taskToJson } from './serialize.ts';

/**
 * The wire format of events and triggers (snake_case, like the task API): the zod schemas that
 * validate requests and generate their part of the OpenAPI document, and the serializers that
 * produce the answers. `eventix events|triggers --json` prints the same shapes.
 */

const name = z.string().regex(NAME_PATTERN, { error: 'must be 1-200 characters of letters, digits and _ . : / -' });
const dateTime = z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time with a time zone' });

export const eventPublishBody = eventInputSchema
  .extend({
    operator: eventInputSchema.shape.operator.describe('Ignored when the request is authenticated: the token name is stored.'),
  })
  .meta({
    id: 'EventPublish',
    description: "namespace and priority (default 'default' and 0) are also the defaults of the tasks it creates.",
  });
export type EventPublishBody = z.infer<typeof eventPublishBody>;

export const eventOut = z
  .object({
    uid: z.string(),
    name: z.string(),
    namespace: z.string(),
    payload: z.record(z.string(), z.unknown()),
    priority: z.number().int(),
    operator: z.string().nullable(),
    created_at: z.string(),
  })
  .meta({ id: 'Event' });
export type EventJson = z.infer<typeof eventOut>;

export const firedTaskOut = z
  .object({
    trigger: z.string(),
    created: z.boolean().describe('false: merged into a waiting task with the same unique_key'),
    task: taskOut,
  })
  .meta({ id: 'FiredTask' });

export const publishResultOut = z.object({ event: eventOut, tasks: z.array(firedTaskOut) }).meta({ id: 'EventPublishResult' });

export const eventListQuery = z.strictObject({
  name: name.optional(),
  namespace: name.optional(),
  since: dateTime.optional().describe('Only events created at or after this instant.'),
  limit: z.coerce.number().int().min(1).max(500).optional(),
  cursor: z.string().min(1).max(200).optional(),
});

export const eventPageOut = z.object({ events: z.array(eventOut), next_cursor: z.string().nullable() }).meta({ id: 'EventPage' });

const triggerFields = {
  event_name: name,
  namespace: name.nullable().optional().describe('Only events of this namespace; null or absent: every namespace.'),
  filter: filterSchema.nullable().optional().describe('Absent or null: every event of the name.'),
  template: templateSchema,
  enabled: z.boolean().optional().describe('Default true.'),
};

export const triggerCreateBody = z.strictObject({ name: triggerName, ...triggerFields }).meta({ id: 'TriggerCreate' });
export const triggerPutBody = z
  .strictObject({ name: triggerName.optional().describe('If given, must equal the name in the path.'), ...triggerFields })
  .meta({ id: 'TriggerPut' });
export type TriggerBody = z.infer<typeof triggerPutBody>;

export const triggerOut = z
  .object({
    name: z.string(),
    event_name: z.string(),
    namespace: z.string().nullable(),
    filter: filterSchema.nullable(),
    template: templateSchema,
    enabled: z.boolean(),
    revision: z.number().int(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .meta({ id: 'Trigger' });
export type TriggerJson = z.infer<typeof triggerOut>;

export const triggerListQuery = z.strictObject({ event_name: name.optional() });
export const triggerListOut = z.object({ triggers: z.array(triggerOut) }).meta({ id: 'TriggerList' });

/** Wire body → library input. */
export function toTriggerInput(name: string, b: TriggerBody): TriggerInput {
  return { name, eventName: b.event_name, namespace: b.namespace, filter: b.filter, template: b.template, enabled: b.enabled };
}

export function eventToJson(e: EventRecord): EventJson {
  return {
    uid: e.uid,
    name: e.name,
    namespace: e.namespace,
    payload: e.payload,
    priority: e.priority,
    operator: e.operator,
    created_at: e.createdAt.toISOString(),
  };
}

export function publishResultToJson(r: PublishResult) {
  return {
    event: eventToJson(r.event),
    tasks: r.tasks.map((t) => ({ trigger: t.trigger, created: t.created, task: taskToJson(t.task) })),
  };
}

export function triggerToJson(t: Trigger): TriggerJson {
  return {
    name: t.name,
    event_name: t.eventName,
    namespace: t.namespace,
    filter: t.filter,
    template: t.template,
    enabled: t.enabled,
    revision: t.revision,
    created_at: t.createdAt.toISOString(),
    updated_at: t.updatedAt.toISOString(),
  };
}
