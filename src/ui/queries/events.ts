import { type Executor, run } from '../../db/executor.ts';
import type { TaskStatus } from '../../queue/states.ts';

/**
 * What the events page reads beyond the library's listEvents, findEvent and listTriggers: the
 * tasks events created (tasks.event_uid, along tasks_event_idx), which outlive the events themselves.
 */

export interface EventTask {
  eventUid: string;
  uid: string;
  task: string;
  namespace: string;
  status: TaskStatus;
  triggerName: string | null;
  createdAt: Date;
  /** How many tasks the event created in all; more than the rows shown when capped. */
  total: number;
}

interface EventTaskRaw {
  event_uid: string;
  uid: string;
  task: string;
  namespace: string;
  status: TaskStatus;
  trigger_name: string | null;
  created_at: Date;
  total: string;
}

/** Up to $2 tasks per event, oldest first (the order the triggers ran), and each event's total. */
const TASKS_SQL = `
select e.uid as event_uid, t.uid, t.task, t.namespace, t.status, t.trigger_name, t.created_at, t.total
from unnest($1::uuid[]) as e(uid)
cross join lateral (
  select uid, task, namespace, status, trigger_name, created_at, id, count(*) over () as total
  from tasks where event_uid = e.uid
  order by id
  limit $2
) t
order by t.id
`;

export async function tasksOfEvents(ex: Executor, uids: readonly string[], perEvent = 20): Promise<Map<string, EventTask[]>> {
  const out = new Map<string, EventTask[]>();
  if (uids.length === 0) return out;
  const rows = await run<EventTaskRaw>(ex, TASKS_SQL, [uids, perEvent]);
  for (const r of rows) {
    const list = out.get(r.event_uid) ?? [];
    list.push({
      eventUid: r.event_uid,
      uid: r.uid,
      task: r.task,
      namespace: r.namespace,
      status: r.status,
      triggerName: r.trigger_name,
      createdAt: r.created_at,
      total: Number(r.total),
    });
    out.set(r.event_uid, list);
  }
  return out;
}

/** The payload as one line of JSON, cut to `max` characters: enough to recognise an event in a list. */
export function payloadPreview(payload: unknown, max = 120): string {
  const text = JSON.stringify(payload) ?? '';
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
