import { v5 as uuidv5 } from 'uuid';
import { type FieldIssue, ValidationError } from '../../errors.ts';
import { eventInputSchema } from '../../events/events.ts';
import { triggerInputSchema } from '../../events/triggers.ts';
import { issuesOf } from '../../validation/zod.ts';
import { scheduleStateOf } from '../targets/schedules.ts';
import { triggerState } from '../targets/triggers.ts';
import type { SourceItem } from '../types.ts';
import { instantOf, jsonOf } from './values.ts';

/**
 * The Python Eventix's events, triggers and schedules (tables eventix_event, eventix_trigger,
 * eventix_schedule; Mongo collections event, trigger, schedule), mapped to Eventix's. The
 * MIGRATION_GUIDE lists the fields read. Priorities are negated, as for tasks.
 */

/** The uuid namespace of ids Eventix derives for records that have none of their own (RFC 9562 v5). */
const EVENTIX_IMPORT_NS = '6f1b7c52-3a0e-4d8e-9c57-0d8a3f6a2e11';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A stable uid for a record without one: the same source and record give the same uid on every run. */
export const derivedUid = (sourceKey: string, record: string) => uuidv5(`${sourceKey}#${record}`, EVENTIX_IMPORT_NS);

const prefixed = (path: string, issues: readonly FieldIssue[]) =>
  issues.map((i) => ({ field: i.field === '(body)' ? path : `${path}.${i.field}`, message: i.message }));
const negate = (v: unknown) => (typeof v === 'number' && v !== 0 ? -v : v === undefined || v === null ? undefined : v === 0 ? 0 : v);
const opt = (v: unknown) => (v === null ? undefined : v);

export function mapPythonEvent(
  raw: Record<string, unknown>,
  o: { path: string; sourceKey: string; recordId: string; timezone: string | undefined },
): SourceItem {
  const issues: FieldIssue[] = [];
  const input = {
    name: raw.name,
    namespace: opt(raw.namespace),
    payload: jsonOf(raw.payload) ?? {},
    priority: negate(raw.priority),
    operator: opt(raw.operator),
  };
  const parsed = eventInputSchema.safeParse(input);
  if (!parsed.success) issues.push(...prefixed(o.path, issuesOf(parsed.error)));
  const created = instantOf(raw.created_at, o.timezone);
  if (!created.ok) issues.push({ field: `${o.path}.created_at`, message: created.message });
  else if (created.value === null) issues.push({ field: `${o.path}.created_at`, message: 'is required: it is when the event happened' });
  const uid = typeof raw.uid === 'string' && UUID.test(raw.uid) ? raw.uid.toLowerCase() : derivedUid(o.sourceKey, o.recordId);
  if (issues.length || !parsed.success || !created.ok) return { kind: 'event', path: o.path, refused: issues };
  const e = parsed.data;
  return {
    kind: 'event',
    path: o.path,
    key: uid,
    state: {
      name: e.name,
      namespace: e.namespace ?? 'default',
      payload: e.payload ?? {},
      priority: e.priority ?? 0,
      operator: e.operator ?? null,
      created_at: created.value,
    },
  };
}

export function mapPythonSchedule(raw: Record<string, unknown>, o: { path: string }): SourceItem {
  const input = {
    name: raw.name,
    namespace: opt(raw.namespace),
    cron: raw.cron ?? raw.schedule,
    timezone: opt(raw.timezone),
    task: raw.task,
    args: jsonOf(raw.args) ?? undefined,
    kwargs: jsonOf(raw.kwargs) ?? undefined,
    priority: negate(raw.priority),
    enabled: opt(raw.enabled),
  };
  try {
    const state = scheduleStateOf(input);
    return { kind: 'schedule', path: o.path, key: String(raw.name), state };
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    // The Python column is `schedule`; name it as the source does.
    const issues = err.issues.map((i) => ({ ...i, field: i.field === 'cron' && raw.cron === undefined ? 'schedule' : i.field }));
    return { kind: 'schedule', path: o.path, refused: prefixed(o.path, issues) };
  }
}

/**
 * A Python trigger ran its `code` with exec. Eventix never runs code from a store, so such a
 * trigger is skipped and reported as needing a rewrite. One that only names a task (`task`, `args`,
 * `kwargs`, `priority`) becomes a stored trigger submitting that task.
 */
export function mapPythonTrigger(raw: Record<string, unknown>, o: { path: string }): SourceItem {
  const code = typeof raw.code === 'string' ? raw.code.trim() : '';
  if (code) {
    const first = code.split('\n')[0]?.slice(0, 80) ?? '';
    return {
      kind: 'trigger',
      path: o.path,
      skipped: `its code is Python (${JSON.stringify(first)}…) and is never run by Eventix: rewrite it as a stored trigger or a code trigger (MIGRATION_GUIDE, "Triggers")`,
    };
  }
  if (raw.task === undefined || raw.task === null) {
    return { kind: 'trigger', path: o.path, refused: [{ field: `${o.path}.task`, message: 'is required when the trigger has no code' }] };
  }
  const template: Record<string, unknown> = { task: raw.task };
  const args = jsonOf(raw.args);
  const kwargs = jsonOf(raw.kwargs);
  if (args !== undefined && args !== null) template.args = args;
  if (kwargs !== undefined && kwargs !== null) template.kwargs = kwargs;
  const priority = negate(raw.priority);
  if (priority !== undefined) template.priority = priority;
  const input = {
    name: raw.name,
    eventName: raw.event_name ?? raw.event,
    namespace: opt(raw.namespace),
    template,
    enabled: opt(raw.enabled),
  };
  const parsed = triggerInputSchema.safeParse(input);
  if (!parsed.success) {
    const issues = issuesOf(parsed.error).map((i) => ({
      ...i,
      field: i.field.replace(/^eventName/, 'event_name').replace(/^template\./, ''),
    }));
    return { kind: 'trigger', path: o.path, refused: prefixed(o.path, issues) };
  }
  const t = parsed.data;
  return {
    kind: 'trigger',
    path: o.path,
    key: t.name,
    state: triggerState({
      eventName: t.eventName,
      namespace: t.namespace ?? null,
      filter: t.filter ?? null,
      template: t.template,
      enabled: t.enabled ?? true,
    }),
  };
}
