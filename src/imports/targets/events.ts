import { readStates, tsSql } from '../state.ts';
import type { Target } from '../types.ts';

/**
 * Imported events, keyed by uid: history only. They are inserted as rows, never published, so no
 * trigger fires and no task is created for an event that happened in the old system. Event
 * retention (EVENTIX_EVENT_RETENTION_DAYS) applies to them as to any other.
 */
const CURRENT_SQL = `
select uid::text as key, jsonb_build_object('name', name, 'namespace', namespace, 'payload', payload, 'priority', priority,
  'operator', operator, 'created_at', ${tsSql('created_at')}) as state
from events where uid = any($1::uuid[]) for update`;
const RECORD = 'name text, namespace text, payload jsonb, priority smallint, operator text, created_at timestamptz';
const INSERT_SQL = `
insert into events (uid, name, namespace, payload, priority, operator, created_at)
select x.key::uuid, s.name, s.namespace, s.payload, s.priority, s.operator, s.created_at
from jsonb_to_recordset($1::jsonb) as x(key text, state jsonb), jsonb_to_record(x.state) as s(${RECORD})`;
const UPDATE_SQL = `
update events e set name = s.name, namespace = s.namespace, payload = s.payload, priority = s.priority,
  operator = s.operator, created_at = s.created_at
from jsonb_to_recordset($1::jsonb) as x(key text, state jsonb), jsonb_to_record(x.state) as s(${RECORD})
where e.uid = x.key::uuid`;

export const eventTarget: Target = {
  kind: 'event',
  updatable: true,
  current: (client, keys) => readStates(client, CURRENT_SQL, keys),
  async insert(client, rows) {
    await client.query(INSERT_SQL, [JSON.stringify(rows)]);
  },
  async update(client, rows) {
    await client.query(UPDATE_SQL, [JSON.stringify(rows)]);
  },
  async remove(client, keys) {
    await client.query('delete from events where uid = any($1::uuid[])', [keys]);
  },
};
