import type pg from 'pg';
import { readStates, tsSql } from '../state.ts';
import type { RowState, Target } from '../types.ts';

/**
 * Imported tasks, keyed by uid. The state is every column an import sets; the rest (attempts,
 * lease, fencing token, revision) keep their defaults, since no imported task is running.
 * Timestamps are in the form isoState gives.
 */
export interface TaskState extends RowState {
  task: string;
  namespace: string;
  status: 'scheduled' | 'done' | 'error' | 'retry' | 'cancelled';
  priority: number;
  eta: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
  unique_key: string | null;
  retry: boolean;
  max_retries: number | null;
  error_eta_inc: number;
  error_eta_max: number;
  store_result: boolean;
  result_expires: number | null;
  error_expires: number | null;
  result: unknown;
  error: unknown;
  expires_at: string | null;
  operator: string | null;
  created_at: string;
  updated_at: string;
  finished_at: string | null;
}

/** Column → SQL type, in one list: the state read back, the insert and the update are built from it. */
const COLUMNS: readonly [keyof TaskState & string, string][] = [
  ['task', 'text'],
  ['namespace', 'text'],
  ['status', 'text'],
  ['priority', 'smallint'],
  ['eta', 'timestamptz'],
  ['args', 'jsonb'],
  ['kwargs', 'jsonb'],
  ['unique_key', 'text'],
  ['retry', 'boolean'],
  ['max_retries', 'integer'],
  ['error_eta_inc', 'integer'],
  ['error_eta_max', 'integer'],
  ['store_result', 'boolean'],
  ['result_expires', 'integer'],
  ['error_expires', 'integer'],
  ['result', 'jsonb'],
  ['error', 'jsonb'],
  ['expires_at', 'timestamptz'],
  ['operator', 'text'],
  ['created_at', 'timestamptz'],
  ['updated_at', 'timestamptz'],
  ['finished_at', 'timestamptz'],
];

const stateSql = `jsonb_build_object(${COLUMNS.map(([c, type]) => `'${c}', ${type === 'timestamptz' ? tsSql(`t.${c}`) : `t.${c}`}`).join(', ')})`;
const recordType = COLUMNS.map(([c, type]) => `${c} ${type}`).join(', ');
// A JSON null in a jsonb column of jsonb_to_record is SQL null, as the state means it.
const CURRENT_SQL = `select t.uid::text as key, ${stateSql} as state from tasks t where t.uid = any($1::uuid[]) for update`;
const INSERT_SQL = `
insert into tasks (uid, ${COLUMNS.map(([c]) => c).join(', ')})
select x.key::uuid, ${COLUMNS.map(([c]) => `s.${c}`).join(', ')}
from jsonb_to_recordset($1::jsonb) as x(key text, state jsonb), jsonb_to_record(x.state) as s(${recordType})`;
const UPDATE_SQL = `
update tasks t set ${COLUMNS.map(([c]) => `${c} = s.${c}`).join(', ')}, revision = t.revision + 1
from jsonb_to_recordset($1::jsonb) as x(key text, state jsonb), jsonb_to_record(x.state) as s(${recordType})
where t.uid = x.key::uuid`;

/** Waiting rows holding one of these (namespace, unique_key) pairs, other than the rows themselves. */
const HELD_KEYS_SQL = `
select t.uid::text as holder, t.namespace, t.unique_key from tasks t
join jsonb_to_recordset($1::jsonb) as x(key text, namespace text, unique_key text)
  on t.namespace = x.namespace and t.unique_key = x.unique_key and t.uid <> x.key::uuid
where t.status in ('scheduled', 'retry') and t.unique_key is not null`;

const waiting = (s: RowState) => s.status === 'scheduled' || s.status === 'retry';

export const taskTarget: Target = {
  kind: 'task',
  updatable: true,
  current: (client, keys) => readStates(client, CURRENT_SQL, keys),
  // At most one waiting task per (namespace, unique_key) (tasks_unique_key_waiting_idx): a second
  // one is refused by name here rather than failing the whole import on the index.
  async conflicts(client: pg.ClientBase, rows) {
    const out = new Map<string, string>();
    const keyed = rows.filter((r) => waiting(r.state) && r.state.unique_key !== null);
    if (!keyed.length) return out;
    const claimed = new Map<string, string>();
    for (const r of keyed) {
      const pair = `${r.state.namespace}\u0000${r.state.unique_key}`;
      const first = claimed.get(pair);
      if (first !== undefined)
        out.set(r.key, `unique_key ${JSON.stringify(r.state.unique_key)} is held by waiting task ${first} of this import`);
      else claimed.set(pair, r.key);
    }
    const { rows: held } = await client.query<{ holder: string; namespace: string; unique_key: string }>(HELD_KEYS_SQL, [
      JSON.stringify(keyed.map((r) => ({ key: r.key, namespace: r.state.namespace, unique_key: r.state.unique_key }))),
    ]);
    for (const h of held) {
      const r = keyed.find((k) => k.state.namespace === h.namespace && k.state.unique_key === h.unique_key);
      if (r && !out.has(r.key)) out.set(r.key, `unique_key ${JSON.stringify(h.unique_key)} is held by waiting task ${h.holder} in Eventix`);
    }
    return out;
  },
  async insert(client, rows) {
    await client.query(INSERT_SQL, [JSON.stringify(rows)]);
  },
  async update(client, rows) {
    await client.query(UPDATE_SQL, [JSON.stringify(rows)]);
  },
  async remove(client, keys) {
    await client.query('delete from tasks where uid = any($1::uuid[])', [keys]);
  },
};
