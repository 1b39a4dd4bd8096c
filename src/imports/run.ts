import type pg from 'pg';
import { withTransaction } from '../db/transaction.ts';
import { finishImport, type ItemRow, insertImport, insertItems, lastImported, lockSource } from './ledger.ts';
import { getOrAdd, sameState } from './state.ts';
import { targetOf } from './targets/index.ts';
import type { ImportCounts, ImportKind, ImportNotice, ImportProgress, ImportReport, ImportSource, RowState } from './types.ts';

/** How many refusals and skips a report (and the recorded import) keeps. */
export const REPORT_LIMIT = 200;

export interface ImportOptions {
  /** Compare and count, then roll back: the report says what would happen, and nothing is written. */
  dryRun?: boolean;
  /** Write the valid records even though some were refused; by default one refusal keeps everything out. */
  skipInvalid?: boolean;
  /** Ctrl-C: checked between batches; the transaction is rolled back and ImportCancelled thrown. */
  signal?: AbortSignal;
  onProgress?: (p: ImportProgress) => void;
  operator?: string | null;
}

/** Thrown when the signal aborts an import: its transaction was rolled back, nothing of it remains. */
export class ImportCancelled extends Error {
  constructor(readonly progress: ImportProgress) {
    super('import cancelled: nothing was written');
    this.name = 'ImportCancelled';
  }
}

const zero = (): ImportCounts => ({ created: 0, updated: 0, unchanged: 0, refused: 0, skipped: 0 });

/** Rolled back on purpose, to leave nothing of a dry run or a refused import. */
class Discard extends Error {}

/**
 * Run an import: read the source batch by batch and, for each record, create the row, update it,
 * leave it (it already holds the same values), or refuse it. The whole import is one transaction,
 * so Ctrl-C, a crash or a refusal leaves nothing of it; the ledger row (`imports`) and the list of
 * what it wrote (`import_items`) commit with the rows themselves.
 *
 * A row that exists is updated only if it still holds what the latest import wrote to it. One
 * changed in Eventix since (by a worker or an operator) is skipped and left as it is, and one that
 * exists but was never imported is refused. Re-running an import therefore changes nothing the
 * first one wrote, unless the source changed meanwhile, and never overwrites Eventix's own work.
 */
export async function runImport(pool: Pick<pg.Pool, 'connect'>, source: ImportSource, opts: ImportOptions = {}): Promise<ImportReport> {
  const startedAt = new Date();
  const counts = zero();
  const byKind: Partial<Record<ImportKind, ImportCounts>> = {};
  const notices: ImportNotice[] = [];
  const progress: ImportProgress = { ...counts, read: 0, total: undefined };
  const count = (kind: ImportKind, outcome: keyof ImportCounts) => {
    counts[outcome]++;
    byKind[kind] ??= zero();
    (byKind[kind] as ImportCounts)[outcome]++;
  };
  const notice = (n: ImportNotice) => {
    if (notices.length < REPORT_LIMIT) notices.push(n);
  };
  const report = (id: number | null, written: boolean): ImportReport => ({
    id,
    source: source.name,
    sourceKey: source.sourceKey,
    dryRun: Boolean(opts.dryRun),
    written,
    ...counts,
    byKind,
    notices,
  });

  let result: ImportReport | undefined;
  try {
    progress.total = await source.count();
    await withTransaction(pool, async (client) => {
      await lockSource(client, source.sourceKey);
      const importId = opts.dryRun
        ? null
        : await insertImport(client, {
            source: source.name,
            sourceKey: source.sourceKey,
            options: source.options,
            operator: opts.operator ?? null,
            startedAt,
          });
      let seq = 1;
      // Keys seen so far, per kind, with the record that claimed them: a second record for one row is refused.
      const seen = new Map<ImportKind, Map<string, string>>();

      for await (const batch of source.batches()) {
        if (opts.signal?.aborted) throw new ImportCancelled({ ...progress, ...counts });
        const mapped = new Map<ImportKind, { path: string; key: string; state: RowState }[]>();
        for (const item of batch) {
          progress.read++;
          if ('refused' in item) {
            count(item.kind, 'refused');
            for (const issue of item.refused) notice({ kind: item.kind, outcome: 'refused', ...issue });
            continue;
          }
          if ('skipped' in item) {
            count(item.kind, 'skipped');
            notice({ kind: item.kind, outcome: 'skipped', field: item.path, message: item.skipped });
            continue;
          }
          const keys = getOrAdd(seen, item.kind, () => new Map<string, string>());
          const first = keys.get(item.key);
          if (first !== undefined) {
            count(item.kind, 'refused');
            notice({
              kind: item.kind,
              outcome: 'refused',
              field: item.path,
              message: `is the same ${item.kind} as ${first} (key ${item.key})`,
            });
            continue;
          }
          keys.set(item.key, item.path);
          getOrAdd(mapped, item.kind, () => []).push(item);
        }

        for (const [kind, items] of mapped) {
          const written = await applyBatch(client, kind, items, { count, notice });
          if (importId !== null && written.length) {
            await insertItems(client, importId, seq, written);
            seq += written.length;
          }
        }
        Object.assign(progress, counts);
        opts.onProgress?.({ ...progress });
      }

      // Ctrl-C while the last batch was written: nothing is committed yet, so nothing is kept.
      if (opts.signal?.aborted) throw new ImportCancelled({ ...progress, ...counts });
      const refusedWhole = counts.refused > 0 && !opts.skipInvalid;
      if (opts.dryRun || refusedWhole) {
        result = report(null, false);
        throw new Discard();
      }
      await finishImport(client, importId as number, counts, notices);
      result = report(importId, true);
    });
  } catch (err) {
    if (!(err instanceof Discard)) throw err;
  } finally {
    await source.close();
  }
  return result as ImportReport;
}

/** Compare one batch of one kind with the database and write what differs; returns what was written, for the ledger. */
async function applyBatch(
  client: pg.ClientBase,
  kind: ImportKind,
  items: readonly { path: string; key: string; state: RowState }[],
  out: { count: (kind: ImportKind, o: keyof ImportCounts) => void; notice: (n: ImportNotice) => void },
): Promise<ItemRow[]> {
  const target = targetOf(kind);
  const keys = items.map((i) => i.key);
  const current = await target.current(client, keys);
  const prior = await lastImported(
    client,
    kind,
    keys.filter((k) => current.has(k)),
  );
  const creates: { key: string; state: RowState; path: string }[] = [];
  const updates: { key: string; state: RowState; path: string; before: RowState }[] = [];
  const refuse = (path: string, message: string) => {
    out.count(kind, 'refused');
    out.notice({ kind, outcome: 'refused', field: path, message });
  };

  for (const item of items) {
    const now = current.get(item.key);
    if (!now) {
      creates.push(item);
      continue;
    }
    if (sameState(now, item.state)) {
      out.count(kind, 'unchanged');
      continue;
    }
    const last = prior.get(item.key);
    if (!last) {
      refuse(item.path, `a ${kind} with key ${item.key} already exists in Eventix and was not imported: left as it is`);
    } else if (!sameState(now, last.after)) {
      // Eventix's own work since the import (a worker ran the task, an operator edited it) is newer
      // than the legacy store's: left as it is, and not a reason to keep the rest out.
      const both = !sameState(item.state, last.after);
      out.count(kind, 'skipped');
      out.notice({
        kind,
        outcome: 'skipped',
        field: item.path,
        message: both
          ? `changed in Eventix since import ${last.importId} wrote it, and in the source too: Eventix's is kept; edit it by hand to take the source's`
          : `changed in Eventix since import ${last.importId} wrote it (the source has not changed): Eventix's is newer, left as it is`,
      });
    } else if (!target.updatable) {
      refuse(item.path, `differs from what import ${last.importId} stored, and ${kind}s are append-only: roll that import back first`);
    } else {
      updates.push({ ...item, before: now });
    }
  }

  const conflicts = target.conflicts ? await target.conflicts(client, [...creates, ...updates]) : new Map<string, string>();
  const ok = <T extends { key: string; path: string }>(list: T[]) =>
    list.filter((i) => {
      const why = conflicts.get(i.key);
      if (why !== undefined) refuse(i.path, why);
      return why === undefined;
    });
  const toCreate = ok(creates);
  const toUpdate = ok(updates);
  if (toCreate.length) await target.insert(client, toCreate);
  if (toUpdate.length) await target.update(client, toUpdate);
  for (const _ of toCreate) out.count(kind, 'created');
  for (const _ of toUpdate) out.count(kind, 'updated');
  return [
    ...toCreate.map((i): ItemRow => ({ kind, key: i.key, action: 'created', before: null, after: i.state })),
    ...toUpdate.map((i): ItemRow => ({ kind, key: i.key, action: 'updated', before: i.before, after: i.state })),
  ];
}
