import type { Command } from 'commander';
import { ValidationError } from '../../errors.ts';
import { getImport, type ImportRow, listImports } from '../../imports/ledger.ts';
import { rollbackImport } from '../../imports/rollback.ts';
import { ImportCancelled, runImport } from '../../imports/run.ts';
import { SOURCES } from '../../imports/sources/index.ts';
import type { ImportCounts, ImportReport } from '../../imports/types.ts';
import { coerceError } from '../../logger.ts';
import { parseIntegerFlag, UsageError } from '../flags.ts';
import { Progress } from '../progress.ts';
import { EXIT } from '../runtime.ts';
import { onShutdownSignals } from '../signals.ts';
import { printJson, withDatabase } from '../with-database.ts';

/** Exit codes of `eventix import`: 1 also when records were refused and so nothing was written. */
export const IMPORT_EXIT = { ok: 0, refused: 1, usage: 2, cancelled: 130 } as const;

const out = (line: string) => process.stdout.write(`${line}\n`);
const countsText = (c: ImportCounts) =>
  `${c.created} created, ${c.updated} updated, ${c.unchanged} unchanged, ${c.refused} refused, ${c.skipped} skipped`;

function describe(r: ImportReport): void {
  const verb = r.dryRun ? 'dry run, nothing written' : r.written ? `recorded as import ${r.id}` : 'refused, nothing written';
  out(`${r.source} (${r.sourceKey}): ${verb}`);
  for (const [kind, c] of Object.entries(r.byKind)) out(`  ${kind}: ${countsText(c as ImportCounts)}`);
  if (!Object.keys(r.byKind).length) out('  (no records)');
  for (const outcome of ['refused', 'skipped'] as const) {
    const list = r.notices.filter((n) => n.outcome === outcome);
    if (!list.length) continue;
    out(`${outcome}:`);
    for (const n of list) out(`  ${n.field}: ${n.message}`);
    if (list.length < r[outcome]) out(`  … and ${r[outcome] - list.length} more`);
  }
  if (!r.written && !r.dryRun) out('Fix the refused records in the source, or pass --skip-invalid to import the rest.');
  if (r.dryRun && r.refused) out('A real run would write nothing unless given --skip-invalid.');
}

function describeRow(i: ImportRow): string {
  const state = i.status === 'rolled_back' ? `rolled back ${i.rolledBackAt?.toISOString()}` : 'committed';
  return `${i.id}  ${i.finishedAt.toISOString()}  ${i.source}  ${i.sourceKey}  ${state}  ${countsText(i)}`;
}

const toJson = (i: ImportRow) => ({
  id: i.id,
  source: i.source,
  source_key: i.sourceKey,
  options: i.options,
  status: i.status,
  created: i.created,
  updated: i.updated,
  unchanged: i.unchanged,
  refused: i.refused,
  skipped: i.skipped,
  report: i.report,
  operator: i.operator,
  started_at: i.startedAt,
  finished_at: i.finishedAt,
  rolled_back_at: i.rolledBackAt,
});

/** Usage problems (a bad flag, a bad --from) exit 2 with the field named; the rest as any command's errors. */
function usageExit(err: unknown): boolean {
  if (err instanceof UsageError || err instanceof ValidationError) {
    const text = err instanceof ValidationError ? err.issues.map((i) => `--${i.field}: ${i.message}`).join('; ') : err.message;
    process.stderr.write(`eventix: ${text}\n`);
    process.exitCode = IMPORT_EXIT.usage;
    return true;
  }
  return false;
}

export function registerImport(program: Command): void {
  const imp = program
    .command('import')
    .description('import from an older store (Python Eventix, valkey-perf-benchmark, medbilldozer, Compass), with dry-run and rollback');

  for (const [name, source] of Object.entries(SOURCES)) {
    const cmd = imp.command(name).description(source.description);
    for (const [flags, text] of source.flags) cmd.option(flags, text);
    cmd
      .option('--dry-run', 'validate and compare, report what would be created, updated and refused; write nothing')
      .option('--skip-invalid', 'import the valid records even though some are refused (by default one refusal keeps everything out)')
      .option('--json', 'print the report as JSON')
      .action(async (o: Record<string, string | boolean | undefined> & { dryRun?: boolean; skipInvalid?: boolean; json?: boolean }) => {
        const abort = new AbortController();
        const off = onShutdownSignals({
          first: () => {
            abort.abort();
            process.stderr.write(
              '\neventix: cancelling: the import is rolled back, nothing of it is kept (Ctrl-C again to quit at once)\n',
            );
          },
          again: () => process.exit(IMPORT_EXIT.cancelled),
        });
        try {
          await withDatabase(async (database) => {
            let opened: Awaited<ReturnType<typeof source.open>>;
            try {
              opened = await source.open(o);
            } catch (err) {
              if (usageExit(err)) return;
              throw err;
            }
            let progress: Progress | undefined;
            try {
              const report = await runImport(database.pool, opened, {
                dryRun: o.dryRun,
                skipInvalid: o.skipInvalid,
                signal: abort.signal,
                operator: process.env.USER ?? null,
                onProgress: (p) => {
                  if (o.json) return;
                  progress ??= new Progress(p.total);
                  progress.update(p.read, `read ${p.read}${p.total === undefined ? '' : `/${p.total}`}: ${countsText(p)}`);
                },
              });
              const seen = report.created + report.updated + report.unchanged + report.refused + report.skipped;
              progress?.update(seen, `read ${seen}: ${countsText(report)}`, true);
              if (o.json) printJson(report);
              else describe(report);
              if (report.refused && !o.skipInvalid) process.exitCode = IMPORT_EXIT.refused;
            } catch (err) {
              if (err instanceof ImportCancelled) {
                process.stderr.write(`eventix: import cancelled after ${err.progress.read} record(s): nothing was written\n`);
                process.exitCode = IMPORT_EXIT.cancelled;
                return;
              }
              if (usageExit(err)) return;
              throw err;
            }
          });
        } finally {
          off();
        }
      });
  }

  imp
    .command('list')
    .description('the recorded imports, newest first')
    .option('--limit <n>', 'at most this many (default 50)')
    .option('--json', 'print JSON')
    .action(async (o: { limit?: string; json?: boolean }) => {
      let limit: number | undefined;
      try {
        limit = parseIntegerFlag('limit', o.limit);
      } catch (err) {
        if (usageExit(err)) return;
        throw err;
      }
      await withDatabase(async (database) => {
        const rows = await listImports(database.pool, { limit });
        if (o.json) return void printJson(rows.map(toJson));
        if (!rows.length) return void out('no imports recorded');
        for (const r of rows) out(describeRow(r));
      });
    });

  imp
    .command('show <id>')
    .description('one recorded import, with its refusals and skips')
    .option('--json', 'print JSON')
    .action(async (id: string, o: { json?: boolean }) => {
      const n = readId(id);
      if (n === undefined) return;
      await withDatabase(async (database) => {
        const r = await getImport(database.pool, n);
        if (o.json) return void printJson(toJson(r));
        out(describeRow(r));
        for (const x of r.report) out(`  ${x.outcome} ${x.field}: ${x.message}`);
      });
    });

  imp
    .command('rollback <id>')
    .description('remove what an import created and restore what it changed; refused if any of those rows changed since')
    .option('--dry-run', 'check that the rollback can run, and say what it would do; change nothing')
    .option('--json', 'print JSON')
    .action(async (id: string, o: { dryRun?: boolean; json?: boolean }) => {
      const n = readId(id);
      if (n === undefined) return;
      await withDatabase(async (database) => {
        let r: Awaited<ReturnType<typeof rollbackImport>>;
        try {
          r = await rollbackImport(database.pool, n, { dryRun: o.dryRun });
        } catch (err) {
          const e = coerceError(err) as Error & { code?: string };
          if (e.code === 'ImportConflict' || e.code === 'ImportNotFound') {
            process.stderr.write(`eventix: ${e.message}\n`);
            process.exitCode = EXIT.failure;
            return;
          }
          throw err;
        }
        if (o.json) return void printJson(r);
        const list = (m: Record<string, number | undefined>) =>
          Object.entries(m)
            .map(([k, v]) => `${v} ${k}(s)`)
            .join(', ') || 'nothing';
        out(`${o.dryRun ? 'would roll back' : 'rolled back'} import ${r.id}: removed ${list(r.removed)}; restored ${list(r.restored)}`);
      });
    });
}

function readId(id: string): number | undefined {
  if (!/^\d{1,15}$/.test(id)) {
    process.stderr.write(`eventix: <id>: expected an import id (a whole number), got ${JSON.stringify(id)}\n`);
    process.exitCode = IMPORT_EXIT.usage;
    return undefined;
  }
  return Number(id);
}
