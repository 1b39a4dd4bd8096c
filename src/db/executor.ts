import { type SQL, sql } from 'drizzle-orm';

/** Anything with pg's `query(text, values)`: a Pool, a Client, or a PoolClient inside the caller's transaction. */
export interface Queryable {
  query(text: string, values?: unknown[]): Promise<{ rows: unknown[]; rowCount?: number | null }>;
}

/** A drizzle database or transaction (node-postgres driver). */
export interface DrizzleExecutor {
  execute(query: SQL): Promise<{ rows: unknown[] }>;
}

/**
 * Where a queue statement runs. Passing the caller's own transaction (a pg client after BEGIN, or
 * a drizzle `tx`) makes the statement part of it: roll back, and the task never existed.
 */
export type Executor = Queryable | DrizzleExecutor;

function isQueryable(ex: Executor): ex is Queryable {
  return typeof (ex as Queryable).query === 'function';
}

/**
 * Pools whose connections may keep named prepared statements. Planning the hot statements (claim,
 * complete, submit) once per connection instead of on every call measurably raises throughput;
 * see createDatabase's `preparedStatements`. PgBouncer before 1.21 in transaction mode cannot
 * route a prepared statement to the session that prepared it, so there it must stay off.
 */
const preparing = new WeakSet<object>();
export function allowPreparedStatements(pool: object): void {
  preparing.add(pool);
}

/** Generation per statement name, bumped when a migration changed a cached plan's row type. */
const generation = new Map<string, number>();

/**
 * Run hand-written SQL with `$n` placeholders on either kind of executor. With a `name` and a pool
 * that allows it, the statement is prepared once per connection.
 */
export async function run<R>(ex: Executor, text: string, values: unknown[] = [], name?: string): Promise<R[]> {
  if (!isQueryable(ex)) return int8AsNumbers(await ex.execute(toDrizzleSql(text, values))) as R[];
  if (!name || !preparing.has(ex)) return int8AsNumbers(await ex.query(text, values)) as R[];
  const named = `${name}_${generation.get(name) ?? 0}`;
  const query = ex.query as unknown as (config: { name: string; text: string; values: unknown[] }) => Promise<{ rows: unknown[] }>;
  try {
    return int8AsNumbers(await query.call(ex, { name: named, text, values })) as R[];
  } catch (err) {
    // "cached plan must not change result type": a migration added columns while we ran. The
    // old prepared statement is stuck on every connection that has it, so move to a new name.
    if ((err as { code?: string }).code !== '0A000') throw err;
    generation.set(name, (generation.get(name) ?? 0) + 1);
    return int8AsNumbers(await ex.query(text, values)) as R[];
  }
}

const INT8_OID = 20;

/**
 * int8 columns as numbers, as our own pools parse them (db/client.ts), whoever made the
 * connection: a caller's pool or client, and any drizzle instance (its per-query parsers fall
 * back to pg's global ones), return pg's default, a string. pg's globals are left alone for the
 * host; our statements read the field types instead, and convert only strings.
 */
function int8AsNumbers(result: { rows: unknown[]; fields?: readonly { name: string; dataTypeID: number }[] }): unknown[] {
  const { rows, fields } = result;
  if (!fields || rows.length === 0) return rows;
  for (const f of fields) {
    if (f.dataTypeID !== INT8_OID) continue;
    for (const row of rows as Record<string, unknown>[]) {
      const v = row[f.name];
      if (typeof v === 'string') row[f.name] = Number.parseInt(v, 10);
    }
  }
  return rows;
}

/** `select $1::int` + [5] → sql`select ${5}::int`; each value stays a bound parameter. */
function toDrizzleSql(text: string, values: unknown[]): SQL {
  const parts = text.split(/\$(\d+)/);
  const chunks: SQL[] = [];
  for (let i = 0; i < parts.length; i++) {
    if (i % 2 === 0) chunks.push(sql.raw(parts[i] ?? ''));
    else chunks.push(sql`${sql.param(values[Number(parts[i]) - 1])}`);
  }
  return sql.join(chunks);
}
