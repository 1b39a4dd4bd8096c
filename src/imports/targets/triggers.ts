import { createTrigger, deleteTrigger, putTrigger, type Trigger, toTrigger } from '../../events/triggers.ts';
import type { RowState, Target } from '../types.ts';

/** Imported stored triggers (data, never code), keyed by name, written through the triggers' own functions. */
export const triggerState = (t: Pick<Trigger, 'eventName' | 'namespace' | 'filter' | 'template' | 'enabled'>): RowState => ({
  event_name: t.eventName,
  namespace: t.namespace,
  filter: t.filter,
  template: t.template,
  enabled: t.enabled,
});

const inputOf = (name: string, s: RowState) => ({
  name,
  eventName: s.event_name as string,
  namespace: s.namespace as string | null,
  filter: s.filter as never,
  template: s.template as never,
  enabled: s.enabled as boolean,
});

export const triggerTarget: Target = {
  kind: 'trigger',
  updatable: true,
  async current(client, keys) {
    if (!keys.length) return new Map();
    const { rows } = await client.query('select * from triggers where name = any($1::text[]) for update', [keys]);
    return new Map(rows.map((r) => [r.name as string, triggerState(toTrigger(r))]));
  },
  async insert(client, rows) {
    for (const r of rows) await createTrigger(client, inputOf(r.key, r.state));
  },
  async update(client, rows) {
    for (const r of rows) await putTrigger(client, inputOf(r.key, r.state));
  },
  async remove(client, keys) {
    for (const k of keys) await deleteTrigger(client, k);
  },
};
