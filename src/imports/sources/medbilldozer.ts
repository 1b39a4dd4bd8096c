import { readFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import type pg from 'pg';
import { ValidationError } from '../../errors.ts';
import { repo as repoSchema } from '../../tracking/formats/normalized.ts';
import type { ImportSource } from '../types.ts';
import { checked } from './compass.ts';
import { active, flag, isObject, mapTransaction, type Row, snapshotItems, text } from './medbilldozer-records.ts';
import { type KeyType, keysetBatches, legacyKey, openLegacy, tablesPresent } from './postgres-source.ts';
import { checkTimezone } from './values.ts';

/**
 * medbilldozer (seed 001): the Supabase tables `push_to_supabase.py` wrote through its
 * `upsert_benchmark_result` function, read from the database (--from) or from JSON exports of the
 * two tables (--transactions, --snapshots: arrays of rows in the same column names, as the
 * Supabase client or `psql … json_agg` gives them). The schema assumed is the MIGRATION_GUIDE's:
 *
 * - `benchmark_transactions` (the immutable log): id, created_at, commit_sha, branch_name,
 *   model_version, model_provider, dataset_version, dataset_size, prompt_version, environment,
 *   run_id, triggered_by, metrics jsonb, duration_seconds, error_count, success_count, tags
 *   text[], notes[, benchmark_type]. One row → one benchmark run of --repo at commit_sha, metrics
 *   from `metrics` (nested objects flattened with dots), each tagged with the row's configuration
 *   (model_version, dataset_version, prompt_version, environment[, benchmark_type]): the
 *   legacy's snapshot key, so a series is one metric of one configuration. The other columns are
 *   the run's environment facts; created_at is when the run finished.
 * - `benchmark_snapshots` (versioned per configuration): snapshot_version, created_at, the
 *   configuration, transaction_id, commit_sha, metrics, is_current, is_baseline, is_active. Each
 *   active row → an Eventix snapshot of every metric of its run (run_uid: the run its transaction
 *   became), written in snapshot_version order per configuration, so that the versions of a new
 *   series are 1..n in the legacy order; is_current as the legacy has it. Soft-deleted rows
 *   (is_active false) are skipped. The denormalized columns (f1_score, …) copy `metrics`.
 * - is_baseline → a named baseline `medbilldozer-<model_version>` of --repo pinning that
 *   snapshot's run (and commit), with the legacy values as its snapshots; the legacy looked a
 *   model's baseline up by model_version alone (detect_regression), so one name per
 *   model_version: with several marked, the newest is the baseline and the others are skipped.
 *
 * Every uid and key is derived from the legacy ids alone (never from the address or file it was
 * read from), so the database and its JSON export import as the same records.
 */
/** Transactions read per batch. */
const BATCH = 500;

export interface MedbilldozerOptions {
  from?: string | undefined;
  transactions?: string | undefined;
  snapshots?: string | undefined;
  repo: string;
  timezone?: string | undefined;
}

/** A JSON export: one array of rows, or one row a line (`psql … row_to_json`). */
function exportRows(file: string, flag: string): Row[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ValidationError([{ field: flag, message: `cannot be read: ${(err as Error).message}` }]);
  }
  const name = basename(file);
  const element = (v: unknown, path: string): Row =>
    isObject(v) ? { path, raw: v } : { path, raw: undefined, error: 'must be a JSON object (a row of the table)' };
  if (text.trimStart().startsWith('[')) {
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (err) {
      throw new ValidationError([{ field: flag, message: `is not JSON: ${(err as Error).message}` }]);
    }
    return (data as unknown[]).map((v, i) => element(v, `${name}[${i}]`));
  }
  const rows: Row[] = [];
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    try {
      rows.push(element(JSON.parse(line), `${name}:${i + 1}`));
    } catch (err) {
      rows.push({ path: `${name}:${i + 1}`, raw: undefined, error: `is not JSON: ${(err as Error).message}` });
    }
  });
  return rows;
}

const KEY_TYPES: Record<string, KeyType> = {
  uuid: 'uuid',
  bigint: 'bigint',
  integer: 'bigint',
  smallint: 'bigint',
  text: 'text',
  'character varying': 'text',
};

interface Reader {
  sourceKey: string;
  options: Record<string, unknown>;
  transactionCount(): Promise<number>;
  transactions(): AsyncIterable<Row[]>;
  snapshots(): Promise<Row[]>;
  close(): Promise<void>;
}

async function databaseReader(url: string): Promise<Reader> {
  const client: pg.Client = await openLegacy(url);
  let hasSnapshots: boolean;
  let keyType: KeyType;
  try {
    const present = await tablesPresent(client, ['benchmark_transactions', 'benchmark_snapshots']);
    if (!present.has('benchmark_transactions')) {
      throw new ValidationError([
        { field: 'from', message: 'has no table benchmark_transactions: is it the medbilldozer benchmark database?' },
      ]);
    }
    hasSnapshots = present.has('benchmark_snapshots');
    const { rows } = await client.query<{ data_type: string }>(
      `select data_type from information_schema.columns
       where table_schema = any(current_schemas(false)) and table_name = 'benchmark_transactions' and column_name = 'id'`,
    );
    const type = rows[0] ? KEY_TYPES[rows[0].data_type] : undefined;
    if (!type)
      throw new ValidationError([
        { field: 'from', message: 'benchmark_transactions has no uuid, integer or text id column to read it in order by' },
      ]);
    keyType = type;
  } catch (err) {
    await client.end().catch(() => undefined);
    throw err;
  }
  const tablePath = (table: string, raw: Record<string, unknown>) => `${table}[id=${text(raw.id)}]`;
  return {
    sourceKey: legacyKey('medbilldozer', url),
    options: { tables: hasSnapshots ? ['benchmark_snapshots', 'benchmark_transactions'] : ['benchmark_transactions'] },
    async transactionCount() {
      const { rows } = await client.query<{ n: number }>('select count(*)::int as n from benchmark_transactions');
      return rows[0]?.n ?? 0;
    },
    async *transactions() {
      for await (const rows of keysetBatches(client, 'benchmark_transactions', 'id', BATCH, keyType)) {
        yield rows.map((raw) => ({ path: tablePath('benchmark_transactions', raw), raw }));
      }
    },
    async snapshots() {
      if (!hasSnapshots) return [];
      const { rows } = await client.query<Record<string, unknown>>('select * from benchmark_snapshots');
      return rows.map((raw) => ({ path: tablePath('benchmark_snapshots', raw), raw }));
    },
    async close() {
      await client.end().catch(() => undefined);
    },
  };
}

function fileReader(transactionsFile: string, snapshotsFile: string | undefined): Reader {
  const tx = exportRows(transactionsFile, 'transactions');
  const snaps = snapshotsFile === undefined ? [] : exportRows(snapshotsFile, 'snapshots');
  return {
    sourceKey: `medbilldozer:${transactionsFile}`,
    options: { transactions: transactionsFile, snapshots: snapshotsFile ?? null },
    async transactionCount() {
      return tx.length;
    },
    async *transactions() {
      for (let i = 0; i < tx.length; i += BATCH) yield tx.slice(i, i + BATCH);
    },
    async snapshots() {
      return snaps;
    },
    async close() {},
  };
}

export async function medbilldozer(o: MedbilldozerOptions): Promise<ImportSource> {
  const timezone = checkTimezone(o.timezone);
  const repo = checked(repoSchema, o.repo, 'repo');
  if (o.from !== undefined && (o.transactions !== undefined || o.snapshots !== undefined)) {
    throw new ValidationError([
      { field: 'from', message: 'read either the database (--from) or its JSON exports (--transactions, --snapshots), not both' },
    ]);
  }
  if (o.from === undefined && o.transactions === undefined) {
    throw new ValidationError([{ field: 'from', message: 'is required, or --transactions (with --snapshots) to read JSON exports' }]);
  }
  const reader =
    o.from !== undefined
      ? await databaseReader(o.from)
      : fileReader(resolve(o.transactions as string), o.snapshots === undefined ? undefined : resolve(o.snapshots));
  let snapshotRows: Promise<Row[]> | undefined;
  const snapshots = () => {
    snapshotRows ??= reader.snapshots();
    return snapshotRows;
  };
  return {
    name: 'medbilldozer',
    sourceKey: reader.sourceKey,
    options: { ...reader.options, repo, timezone: timezone ?? null },
    async count() {
      const snaps = await snapshots();
      const marked = snaps.filter((r) => r.raw && active(r.raw) && flag(r.raw.is_baseline)).length;
      return (await reader.transactionCount()) + snaps.length + marked;
    },
    async *batches() {
      for await (const rows of reader.transactions()) yield rows.map((r) => mapTransaction(r, { repo, timezone }));
      // Snapshots in one batch: few (one per result), and written in version order by one call.
      const { snapshots: snaps, baselines } = snapshotItems(await snapshots(), { repo, timezone });
      if (snaps.length) yield snaps;
      if (baselines.length) yield baselines;
    },
    async close() {
      await reader.close();
    },
  };
}

export { transactionRunUid } from './medbilldozer-records.ts';
