import { z } from 'zod';
import type { EventRecord } from '../events/events.ts';
import { eventInputSchema } from '../events/events.ts';
import { filterSchema } from '../events/filter.ts';
import type { PublishResult } from '../events/publish.ts';
import { templateSchema } from '../events/template.ts';
import { type Trigger, type TriggerInput, triggerName } from '../events/triggers.ts';
import { NAME_PATTERN } from '../validation/names.ts';
import { EXAMPLE, example, OUT, OUT_NULLABLE, wholeExample } from './examples.ts';
import { taskOut } from './schemas.ts';
import { taskToJson } from './serialize.ts';

/**
 * The wire format of events and triggers (snake_case, like the task API): the zod schemas that
 * validate requests and generate their part of the OpenAPI document, and the serializers that
 * produce the answers. `eventix events|triggers --json` prints the same shapes.
 */

const name = z.string().regex(NAME_PATTERN, { error: 'must be 1-200 characters of letters, digits and _ . : / -' });

/** A trigger as POST /triggers takes it: run the benchmark of every commit pushed to unstable. */
const TEMPLATE_EXAMPLE = {
  task: EXAMPLE.task,
  kwargs: { repo: { $ptr: '/repository' }, sha: { $ptr: '/after' } },
  unique_key: 'bench-{{/after}}',
};
const FILTER_EXAMPLE = { field: '/ref', eq: 'refs/heads/unstable' };
const dateTime = z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time with a time zone' });

export const eventPublishBody = wholeExample(
  eventInputSchema
    .extend({
      operator: example(eventInputSchema.shape.operator, EXAMPLE.operator).describe(
        'Ignored when the request is authenticated: the token name is stored.',
      ),
    })
    .meta({
      id: 'EventPublish',
      description: "namespace and priority (default 'default' and 0) are also the defaults of the tasks it creates.",
    }),
  // A push as a git hook might publish it: what TEMPLATE_EXAMPLE's pointers and FILTER_EXAMPLE read.
  { name: EXAMPLE.eventName, payload: { repository: EXAMPLE.repo, ref: 'refs/heads/unstable', after: EXAMPLE.sha } },
);
export type EventPublishBody = z.infer<typeof eventPublishBody>;

export const eventOut = z
  .object({
    uid: OUT.uid,
    name: OUT.eventName,
    namespace: OUT.namespace,
    payload: z.record(z.string(), z.unknown()),
    priority: z.number().int(),
    operator: OUT_NULLABLE.operator,
    created_at: OUT.at,
  })
  .meta({ id: 'Event' });
export type EventJson = z.infer<typeof eventOut>;

export const firedTaskOut = z
  .object({
    trigger: OUT.trigger,
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

export const triggerCreateBody = wholeExample(z.strictObject({ name: triggerName, ...triggerFields }).meta({ id: 'TriggerCreate' }), {
  name: EXAMPLE.trigger,
  event_name: EXAMPLE.eventName,
  filter: FILTER_EXAMPLE,
  template: TEMPLATE_EXAMPLE,
});
export const triggerPutBody = wholeExample(
  z
    .strictObject({ name: triggerName.optional().describe('If given, must equal the name in the path.'), ...triggerFields })
    .meta({ id: 'TriggerPut' }),
  { event_name: EXAMPLE.eventName, filter: FILTER_EXAMPLE, template: TEMPLATE_EXAMPLE, enabled: true },
);
export type TriggerBody = z.infer<typeof triggerPutBody>;

export const triggerOut = wholeExample(
  z
    .object({
      name: OUT.trigger,
      event_name: OUT.eventName,
      namespace: OUT_NULLABLE.namespace,
      filter: filterSchema.nullable(),
      template: templateSchema,
      enabled: z.boolean(),
      revision: z.number().int(),
      created_at: OUT.at,
      updated_at: OUT.at,
    })
    .meta({ id: 'Trigger' }),
  {
    name: EXAMPLE.trigger,
    event_name: EXAMPLE.eventName,
    namespace: null,
    filter: FILTER_EXAMPLE,
    template: TEMPLATE_EXAMPLE,
    enabled: true,
    revision: 1,
    created_at: EXAMPLE.at,
    updated_at: EXAMPLE.at,
  },
);
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
