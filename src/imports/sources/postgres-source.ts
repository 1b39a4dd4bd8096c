import pg from 'pg';
import { ValidationError } from '../../errors.ts';
import { getOrAdd } from '../state.ts';

/**
 * A connection to a legacy PostgreSQL store, read-only by intent: every read runs in a read-only
 * transaction of its own. `timestamp without time zone` values arrive as their text (the driver
 * would read them in this machine's zone), for instantOf to place with --timezone.
 */
export async function openLegacy(url: string, flag = 'from'): Promise<pg.Client> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ValidationError([{ field: flag, message: 'must be a postgres:// URL' }]);
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new ValidationError([{ field: flag, message: 'must be a postgres:// URL' }]);
  }
  const TIMESTAMP = 1114;
  const client = new pg.Client({
    connectionString: url,
    application_name: 'eventix-import',
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === TIMESTAMP ? (v: string) => v : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
    },
  });
  // A connection lost mid-import fails the read in hand; without a listener it would crash the process.
  client.on('error', () => undefined);
  await client.connect();
  await client.query('set default_transaction_read_only = on');
  return client;
}

/** The store's identity for the import ledger and its lock: host, port and database, never the user or password. */
export function legacyKey(source: string, url: string): string {
  const u = new URL(url);
  return `${source}:${u.hostname || 'localhost'}:${u.port || '5432'}${u.pathname || '/'}`;
}

/** The tables of these names that exist (in the search path), with their columns. */
export async function tablesPresent(client: pg.Client, names: readonly string[]): Promise<Map<string, Set<string>>> {
  const { rows } = await client.query<{ table_name: string; column_name: string }>(
    `select c.table_name, c.column_name from information_schema.columns c
     where c.table_schema = any(current_schemas(false)) and c.table_name = any($1::text[])`,
    [names],
  );
  const out = new Map<string, Set<string>>();
  for (const r of rows) {
    getOrAdd(out, r.table_name, () => new Set<string>()).add(r.column_name);
  }
  return out;
}

/** The SQL types a keyset key may have: a serial, a UUID primary key (Supabase's default), or text. */
export type KeyType = 'bigint' | 'uuid' | 'text';

/**
 * A table's rows in batches, by a key column ascending (keyset paging: each batch is one indexed
 * read, however large the table). The table and column names come from our own lists, never
 * from input, and are quoted besides; `keyType` is one of KeyType, never input either.
 */
export async function* keysetBatches(
  client: pg.Client,
  table: string,
  key: string,
  size = 500,
  keyType: KeyType = 'bigint',
): AsyncGenerator<Record<string, unknown>[]> {
  const t = client.escapeIdentifier(table);
  const k = client.escapeIdentifier(key);
  const type = ({ bigint: 'bigint', uuid: 'uuid', text: 'text' } as const)[keyType];
  let after: unknown = null;
  for (;;) {
    const { rows } = await client.query<Record<string, unknown>>(
      `select * from ${t} where $1::${type} is null or ${k} > $1::${type} order by ${k} limit ${size}`,
      [after === null ? null : String(after)],
    );
    if (!rows.length) return;
    yield rows;
    after = rows[rows.length - 1]?.[key];
    if (rows.length < size) return;
  }
}
