import type pg from 'pg';
import { withTransaction } from '../db/transaction.ts';
import { EventixError } from '../errors.ts';
import { getImport, itemsOf, lockSource, markRolledBack } from './ledger.ts';
import { changedFields, getOrAdd, sameState } from './state.ts';
import { targetOf } from './targets/index.ts';
import type { ImportKind } from './types.ts';

export interface RollbackReport {
  id: number;
  dryRun: boolean;
  /** Rows deleted (the import created them) and restored (it changed them), per kind. */
  removed: Partial<Record<ImportKind, number>>;
  restored: Partial<Record<ImportKind, number>>;
}

/** One row that no longer holds what the import wrote, and so keeps the rollback from running. */
export interface RollbackConflict {
  kind: ImportKind;
  key: string;
  /** The fields that differ, or `(deleted)` when the row is gone. */
  fields: string[];
}

/**
 * Undo an import: delete every row it created and put back every row it changed, in one
 * transaction, and mark it rolled back. Refused as a whole (ImportConflict, nothing done) when
 * any of those rows no longer holds what the import wrote: a worker ran the task, an operator
 * edited the schedule, a later import changed it. Roll back later imports first, or leave it.
 */
export async function rollbackImport(pool: Pick<pg.Pool, 'connect'>, id: number, opts: { dryRun?: boolean } = {}): Promise<RollbackReport> {
  const report: RollbackReport = { id, dryRun: Boolean(opts.dryRun), removed: {}, restored: {} };
  await withTransaction(pool, async (client) => {
    const imp = await getImport(client, id);
    await lockSource(client, imp.sourceKey);
    // Re-read under the lock: a concurrent rollback of the same import has committed by now.
    const locked = await getImport(client, id, { lock: true });
    if (locked.status === 'rolled_back') {
      throw new EventixError('ImportConflict', `import ${id} was already rolled back at ${locked.rolledBackAt?.toISOString()}`);
    }
    const items = await itemsOf(client, id);
    const byKind = new Map<ImportKind, typeof items>();
    for (const i of items) {
      getOrAdd(byKind, i.kind, () => []).push(i);
    }
    const conflicts: RollbackConflict[] = [];
    for (const [kind, list] of byKind) {
      const current = await targetOf(kind).current(
        client,
        list.map((i) => i.key),
      );
      for (const i of list) {
        const now = current.get(i.key);
        if (!now) conflicts.push({ kind, key: i.key, fields: ['(deleted)'] });
        else if (!sameState(now, i.after)) conflicts.push({ kind, key: i.key, fields: changedFields(now, i.after) });
      }
    }
    if (conflicts.length) {
      const shown = conflicts.slice(0, 20).map((c) => `${c.kind} ${c.key} (${c.fields.join(', ')})`);
      throw new EventixError(
        'ImportConflict',
        `import ${id} cannot be rolled back: ${conflicts.length} row(s) changed since it wrote them: ${shown.join('; ')}${conflicts.length > 20 ? '; …' : ''}`,
        { conflicts: conflicts.slice(0, 200) },
      );
    }
    // No import writes a row that refers to another imported row, so the kinds may go in any order.
    for (const [kind, list] of byKind) {
      const target = targetOf(kind);
      const created = list.filter((i) => i.action === 'created').map((i) => i.key);
      const changed = list.filter((i) => i.action === 'updated').map((i) => ({ key: i.key, state: i.before ?? {} }));
      if (!opts.dryRun) {
        if (created.length) await target.remove(client, created);
        if (changed.length) await target.update(client, changed);
      }
      if (created.length) report.removed[kind] = created.length;
      if (changed.length) report.restored[kind] = changed.length;
    }
    if (!opts.dryRun) await markRolledBack(client, id);
  });
  return report;
}
