import { z } from 'zod';
import { type Executor, run } from '../db/executor.ts';
import { TriggerExists, TriggerNotFound, ValidationError } from '../errors.ts';
import { NAME_PATTERN } from '../validation/names.ts';
import { issuesOf } from '../validation/zod.ts';
import { type Filter, filterSchema } from './filter.ts';
import { type TriggerTemplate, templateSchema } from './template.ts';

/** Trigger names appear in URLs (/triggers/{name}), so unlike task names they exclude "/". */
export const TRIGGER_NAME_PATTERN = /^[A-Za-z0-9_.:-]{1,200}$/;
export const triggerName = z.string().regex(TRIGGER_NAME_PATTERN, { error: 'must be 1-200 characters of letters, digits and _ . : -' });
const name = z.string().regex(NAME_PATTERN, { error: 'must be 1-200 characters of letters, digits and _ . : / -' });

/** A trigger is data: which events it listens to, a filter on their payload, and the task to submit. */
export interface Trigger {
  name: string;
  eventName: string;
  /** null: events of every namespace. */
  namespace: string | null;
  filter: Filter | null;
  template: TriggerTemplate;
  enabled: boolean;
  revision: number;
  createdAt: Date;
  updatedAt: Date;
}

export const triggerInputSchema = z.strictObject({
  name: triggerName,
  eventName: name,
  namespace: name.nullable().optional(),
  filter: filterSchema.nullable().optional(),
  template: templateSchema,
  enabled: z.boolean().optional(),
});
export type TriggerInput = z.input<typeof triggerInputSchema>;

function parseTrigger(input: unknown) {
  const parsed = triggerInputSchema.safeParse(input);
  if (!parsed.success) throw new ValidationError(issuesOf(parsed.error));
  return parsed.data;
}

interface TriggerRow {
  name: string;
  event_name: string;
  namespace: string | null;
  filter: Filter | null;
  template: TriggerTemplate;
  enabled: boolean;
  revision: number;
  created_at: Date;
  updated_at: Date;
}

export const toTrigger = (r: TriggerRow): Trigger => ({
  name: r.name,
  eventName: r.event_name,
  namespace: r.namespace,
  filter: r.filter,
  template: r.template,
  enabled: r.enabled,
  revision: r.revision,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

// An absent filter is SQL NULL, never the JSON value null, so "no filter" has one representation.
const values = (t: ReturnType<typeof parseTrigger>) => [
  t.name,
  t.eventName,
  t.namespace ?? null,
  t.filter == null ? null : JSON.stringify(t.filter),
  JSON.stringify(t.template),
  t.enabled ?? true,
];

const CREATE_SQL = `
insert into triggers (name, event_name, namespace, filter, template, enabled)
values ($1, $2, $3, $4::jsonb, $5::jsonb, $6)
on conflict (name) do nothing
returning *
`;

/** Create a trigger; TriggerExists if the name is taken. */
export async function createTrigger(ex: Executor, input: TriggerInput): Promise<Trigger> {
  const t = parseTrigger(input);
  const [row] = await run<TriggerRow>(ex, CREATE_SQL, values(t));
  if (!row) throw new TriggerExists(t.name);
  return toTrigger(row);
}

const PUT_SQL = `
insert into triggers as t (name, event_name, namespace, filter, template, enabled)
values ($1, $2, $3, $4::jsonb, $5::jsonb, $6)
on conflict (name) do update set
  event_name = excluded.event_name,
  namespace = excluded.namespace,
  filter = excluded.filter,
  template = excluded.template,
  enabled = excluded.enabled,
  revision = t.revision + 1,
  updated_at = now()
returning t.*, (t.xmax = 0) as created
`;

/** Create or replace a trigger by name (declarative: `eventix triggers put`, PUT /triggers/{name}). */
export async function putTrigger(ex: Executor, input: TriggerInput): Promise<{ trigger: Trigger; created: boolean }> {
  const t = parseTrigger(input);
  const [row] = await run<TriggerRow & { created: boolean }>(ex, PUT_SQL, values(t));
  if (!row) throw new Error('trigger upsert returned no row');
  return { trigger: toTrigger(row), created: row.created };
}

export async function getTrigger(ex: Executor, triggerName: string): Promise<Trigger> {
  const [row] = await run<TriggerRow>(ex, 'select * from triggers where name = $1', [triggerName]);
  if (!row) throw new TriggerNotFound(triggerName);
  return toTrigger(row);
}

/** Every trigger (or those of one event name), by name. Triggers are configuration: few, and listed whole. */
export async function listTriggers(ex: Executor, f: { eventName?: string | undefined } = {}): Promise<Trigger[]> {
  const rows = await run<TriggerRow>(ex, 'select * from triggers where ($1::text is null or event_name = $1) order by name', [
    f.eventName ?? null,
  ]);
  return rows.map(toTrigger);
}

export async function deleteTrigger(ex: Executor, triggerName: string): Promise<void> {
  const rows = await run<{ name: string }>(ex, 'delete from triggers where name = $1 returning name', [triggerName]);
  if (rows.length === 0) throw new TriggerNotFound(triggerName);
}

/** The enabled triggers an event fires: its name, and a namespace that is theirs or unset. Uses triggers_event_idx. */
const FOR_EVENT_SQL = `
select * from triggers
where enabled and event_name = $1 and (namespace is null or namespace = $2)
order by name
`;

export async function triggersForEvent(ex: Executor, eventName: string, namespace: string): Promise<Trigger[]> {
  return (await run<TriggerRow>(ex, FOR_EVENT_SQL, [eventName, namespace])).map(toTrigger);
}
