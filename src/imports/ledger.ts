import type pg from 'pg';
import { EventixError } from '../errors.ts';
import type { ImportCounts, ImportKind, ImportNotice, RowState } from './types.ts';

/** The statements of the two ledger tables (src/db/schema/imports.ts), defined once. */

export interface ImportRow extends ImportCounts {
  id: number;
  source: string;
  sourceKey: string;
  options: Record<string, unknown>;
  status: 'committed' | 'rolled_back';
  report: ImportNotice[];
  operator: string | null;
  startedAt: Date;
  finishedAt: Date;
  rolledBackAt: Date | null;
}

const COLUMNS = `id::int, source, source_key as "sourceKey", options, status, created, updated, unchanged, refused, skipped,
  report, operator, started_at as "startedAt", finished_at as "finishedAt", rolled_back_at as "rolledBackAt"`;

/**
 * Serialize every import and rollback of one store: a second import of the same source waits
 * here until the first commits, then finds its rows already present. A transaction-scoped lock,
 * so it works through PgBouncer in transaction mode and cannot outlive a killed connection.
 */
export async function lockSource(client: pg.ClientBase, sourceKey: string): Promise<void> {
  await client.query(`select pg_advisory_xact_lock(hashtextextended('eventix.import:' || $1, 0))`, [sourceKey]);
}

export async function insertImport(
  client: pg.ClientBase,
  i: { source: string; sourceKey: string; options: Record<string, unknown>; operator: string | null; startedAt: Date },
): Promise<number> {
  const { rows } = await client.query<{ id: number }>(
    `insert into imports (source, source_key, options, operator, started_at) values ($1, $2, $3, $4, $5) returning id::int`,
    [i.source, i.sourceKey, JSON.stringify(i.options), i.operator, i.startedAt],
  );
  return (rows[0] as { id: number }).id;
}

export async function finishImport(client: pg.ClientBase, id: number, counts: ImportCounts, report: ImportNotice[]): Promise<void> {
  await client.query(
    `update imports set created = $2, updated = $3, unchanged = $4, refused = $5, skipped = $6, report = $7, finished_at = now()
     where id = $1`,
    [id, counts.created, counts.updated, counts.unchanged, counts.refused, counts.skipped, JSON.stringify(report)],
  );
}

export interface ItemRow {
  kind: ImportKind;
  key: string;
  action: 'created' | 'updated';
  before: RowState | null;
  after: RowState;
}

export async function insertItems(client: pg.ClientBase, importId: number, firstSeq: number, items: readonly ItemRow[]): Promise<void> {
  if (!items.length) return;
  await client.query(
    `insert into import_items (import_id, seq, kind, key, action, before, after)
     select $1, $2 + e.n - 1, x.kind, x.key, x.action, x.before, x.after
     from jsonb_array_elements($3::jsonb) with ordinality as e(item, n),
       jsonb_to_record(e.item) as x(kind text, key text, action text, before jsonb, after jsonb)`,
    [importId, firstSeq, JSON.stringify(items)],
  );
}

/**
 * What the latest committed import wrote to each of these rows, if any did: a row that still
 * holds it has not been changed since, so a re-import may update it.
 */
export async function lastImported(
  client: pg.ClientBase,
  kind: ImportKind,
  keys: readonly string[],
): Promise<Map<string, { importId: number; after: RowState }>> {
  if (!keys.length) return new Map();
  const { rows } = await client.query<{ key: string; import_id: number; after: RowState }>(
    `select distinct on (i.key) i.key, i.import_id::int, i.after
     from import_items i join imports m on m.id = i.import_id
     where i.kind = $1 and i.key = any($2::text[]) and m.status = 'committed'
     order by i.key, i.import_id desc, i.seq desc`,
    [kind, keys],
  );
  return new Map(rows.map((r) => [r.key, { importId: r.import_id, after: r.after }]));
}

export async function getImport(client: pg.ClientBase | pg.Pool, id: number, opts: { lock?: boolean } = {}): Promise<ImportRow> {
  const { rows } = await client.query<ImportRow>(`select ${COLUMNS} from imports where id = $1${opts.lock ? ' for update' : ''}`, [id]);
  const row = rows[0];
  if (!row) throw new EventixError('ImportNotFound', `no import ${id}`);
  return row;
}

export async function listImports(pool: pg.Pool | pg.ClientBase, opts: { limit?: number } = {}): Promise<ImportRow[]> {
  const { rows } = await pool.query<ImportRow>(`select ${COLUMNS} from imports order by id desc limit $1`, [opts.limit ?? 50]);
  return rows;
}

/** An import's items, newest first: the order a rollback undoes them in. */
export async function itemsOf(client: pg.ClientBase, importId: number): Promise<ItemRow[]> {
  const { rows } = await client.query<ItemRow>(
    `select kind, key, action, before, after from import_items where import_id = $1 order by seq desc`,
    [importId],
  );
  return rows;
}

export async function markRolledBack(client: pg.ClientBase, id: number): Promise<void> {
  await client.query(`update imports set status = 'rolled_back', rolled_back_at = now() where id = $1`, [id]);
}
