import type pg from 'pg';

/**
 * A fingerprint of every row of the application's tables: per table the row count and an
 * order-independent sum of a 64-bit hash of each row's text with its xmin. Any committed insert,
 * delete or update changes it, even an update that writes the same values (a new row version has
 * a new xmin); locks, reads and rolled-back writes do not. Sequences are left out on purpose: a
 * rolled-back insert consumes a sequence value without changing a row.
 */
export type Fingerprint = Map<string, { rows: number; hash: string }> & {
  /** The first transaction id the fingerprint's snapshot does not see: rows with a later xmin were written after it. */
  xid?: string;
};

const XID = '#xid';

const IDENT = /^[a-z_][a-z0-9_]*$/;

/**
 * Tables that background services rewrite on their own timers, whatever requests arrive: the
 * dashboard's rollup (src/queue/rollup.ts) and the workers' presence rows (src/worker/presence.ts).
 * A change in them says nothing about whether a refused request wrote.
 */
const BACKGROUND_TABLES = new Set(['task_rollup_minutes', 'task_rollup_state', 'task_rollup_totals', 'workers']);

/** The request-written tables of the public schema (the migrations' own bookkeeping lives in schema `drizzle`). */
export async function dataTables(client: pg.Client): Promise<string[]> {
  const { rows } = await client.query<{ name: string }>(
    `select tablename as name from pg_tables where schemaname = 'public' order by tablename`,
  );
  return rows.map((r) => r.name).filter((n) => IDENT.test(n) && !BACKGROUND_TABLES.has(n));
}

export function fingerprintQuery(tables: readonly string[]): string {
  return tables
    .map(
      (t) =>
        `select '${t}' as t, count(*)::int as n, coalesce(sum(hashtextextended(x.xmin::text || ' ' || x::text, 0)::numeric), 0)::text as h from public.${t} x`,
    )
    .concat(`select '${XID}' as t, 0 as n, pg_snapshot_xmax(pg_current_snapshot())::text as h`)
    .join('\nunion all\n');
}

export async function fingerprint(client: pg.Client, query: string): Promise<Fingerprint> {
  const { rows } = await client.query<{ t: string; n: number; h: string }>(query);
  const f: Fingerprint = new Map(rows.filter((r) => r.t !== XID).map((r) => [r.t, { rows: r.n, hash: r.h }]));
  f.xid = rows.find((r) => r.t === XID)?.h;
  return f;
}

/**
 * The rows written (inserted or updated) since `since` was taken, a few per table, as text: what
 * a refused request wrote. (Deleted rows show only in the counts of diffFingerprints.) The xid
 * comparison ignores wraparound, which a throwaway cluster never reaches.
 */
export async function writtenSince(client: pg.Client, tables: readonly string[], since: Fingerprint, perTable = 3): Promise<string[]> {
  if (since.xid === undefined) return [];
  const out: string[] = [];
  for (const t of tables) {
    if (!IDENT.test(t)) continue;
    const { rows } = await client.query<{ r: string }>(
      `select left(x::text, 300) as r from public.${t} x where x.xmin::text::bigint >= $1::bigint limit ${perTable}`,
      [since.xid],
    );
    for (const r of rows) out.push(`${t}: ${r.r}`);
  }
  return out;
}

/** What differs, one entry per table ("tasks: 12 → 13 rows", "schedules: rows changed"); empty if nothing. */
export function diffFingerprints(before: Fingerprint, after: Fingerprint): string[] {
  const out: string[] = [];
  for (const [t, a] of after) {
    if (t === XID) continue;
    const b = before.get(t);
    if (!b) out.push(`${t}: new table`);
    else if (b.rows !== a.rows) out.push(`${t}: ${b.rows} → ${a.rows} rows`);
    else if (b.hash !== a.hash) out.push(`${t}: rows changed (${a.rows} rows)`);
  }
  return out;
}

export const totalRows = (f: Fingerprint) => [...f.values()].reduce((a, v) => a + v.rows, 0);
