import type { Command } from 'commander';
import { pushResultToJson } from '../../api/benchmark-schemas.ts';
import { ValidationError } from '../../errors.ts';
import { machineEnvironment } from '../../tracking/environment.ts';
import { FORMATS, type Format, GAB_DIRECTIONS, type GabDirection } from '../../tracking/formats/index.ts';
import { type PreparedResults, prepareResults, pushPrepared } from '../../tracking/ingest.ts';
import { type PruneProgress, pruneRuns } from '../../tracking/retention.ts';
import { readJsonInput } from '../read-input.ts';
import { fail } from '../runtime.ts';
import { onShutdownSignals } from '../signals.ts';
import { printJson, withDatabase } from '../with-database.ts';
import { registerResultsAlerts, registerResultsChanges, registerResultsEvaluate } from './results-alerts.ts';
import { registerResultsBaselines } from './results-baselines.ts';
import { registerResultsCompare } from './results-compare.ts';
import { registerResultsNearest } from './results-nearest.ts';

interface PushFlags {
  file: string;
  repo?: string;
  sha?: string;
  branch?: string;
  architecture?: string;
  configFile?: string;
  format?: string;
  direction?: string;
  machineEnvironment: boolean;
  json?: boolean;
}

interface PruneFlags {
  olderThan: string;
  dryRun?: boolean;
  batchSize?: string;
  json?: boolean;
}

/** The same number rule as the API: "1.5" or "x" for a count is refused, never truncated. */
const integer = (v: string | undefined) => (v === undefined ? undefined : /^\d+$/.test(v) ? Number(v) : Number.NaN);

function oneOf<T extends string>(value: string | undefined, allowed: readonly T[], field: string): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value))
    throw new ValidationError([{ field, message: `must be one of ${allowed.join(', ')}` }]);
  return value as T;
}

async function prepare(opts: PushFlags): Promise<PreparedResults> {
  const data = await readJsonInput(opts.file, '(file)');
  const config = opts.configFile === undefined ? undefined : await readJsonInput(opts.configFile, 'config-file');
  try {
    return prepareResults(
      {
        data,
        format: oneOf<Format | 'auto'>(opts.format, [...FORMATS, 'auto'], 'format'),
        direction: oneOf<GabDirection>(opts.direction, GAB_DIRECTIONS, 'direction'),
        repo: opts.repo,
        sha: opts.sha,
        branch: opts.branch,
        architecture: opts.architecture,
        config,
        // Merged under the file's own environment, key by key: the file's facts win.
        environment: opts.machineEnvironment ? machineEnvironment() : undefined,
      },
      { root: '(file)' },
    );
  } catch (err) {
    // A bad --config-file is named as the option, not as the request field it becomes.
    if (err instanceof ValidationError && opts.configFile !== undefined) {
      throw new ValidationError(
        err.issues.map((i) => (i.field.startsWith('config') ? { ...i, field: i.field.replace(/^config/, 'config-file') } : i)),
      );
    }
    throw err;
  }
}

export function registerResults(program: Command): void {
  const results = program
    .command('results')
    .description('benchmark results: push files into the results store, prune old runs, look up the nearest profile');
  registerResultsNearest(results);
  registerResultsBaselines(results);
  registerResultsCompare(results);

  results
    .command('push')
    .description(
      'store a results file (eventix, valkey metrics.json, github-action-benchmark or llm-profile): all its runs and points, or nothing',
    )
    .requiredOption('--file <file>', 'the results file (- for stdin)')
    .option('--repo <repo>', "the runs' repository, unless the file names it")
    .option('--sha <sha>', 'the commit benchmarked (a full sha), unless the file names it')
    .option('--branch <branch>', 'the branch benchmarked')
    .option('--architecture <arch>', 'the architecture benchmarked (x86_64, aarch64, …)')
    .option('--config-file <file>', 'the benchmark config, a JSON file (object or array)')
    .option('--format <format>', `${FORMATS.join(' | ')} | auto (default: auto, detected from the file's shape)`)
    .option('--direction <direction>', `github-action-benchmark only: ${GAB_DIRECTIONS.join(' | ')} (default: guessed from each unit)`)
    .option('--no-machine-environment', "do not record this machine's kernel, CPU model, core count and hostname")
    .option('--json', 'print the stored runs as JSON, as POST /benchmarks/results answers')
    .action(async (opts: PushFlags) => {
      // Read and validate the whole file before connecting: a malformed file never reaches the database.
      let prepared: PreparedResults;
      try {
        prepared = await prepare(opts);
      } catch (err) {
        fail(err);
      }
      await withDatabase(async (database) => {
        const result = await pushPrepared(database.pool, prepared);
        if (opts.json) return void printJson(pushResultToJson(result));
        process.stdout.write(`stored ${result.runs.length} run(s) with ${result.metrics} metric point(s), format ${result.format}\n`);
        for (const r of result.runs) {
          process.stdout.write(
            `  ${r.uid}  ${r.repo}@${r.sha.slice(0, 12)}  ${r.metrics} point(s)${r.config ? `  config ${r.config.hash.slice(0, 12)}` : ''}\n`,
          );
        }
        for (const s of result.skipped) process.stdout.write(`  skipped ${s.field}: ${s.message}\n`);
      });
    });

  registerResultsChanges(results);
  registerResultsAlerts(results);
  registerResultsEvaluate(results);

  results
    .command('prune')
    .description(
      'delete runs (and their metric points) stored more than <days> ago: the only deletion the append-only results store allows',
    )
    .requiredOption('--older-than <days>', 'age in days, by when each run was stored (fractions allowed)')
    .option('--dry-run', 'only count what would be deleted')
    .option('--batch-size <n>', 'runs per batch and transaction (default 1000); Ctrl-C stops between batches')
    .option('--json', 'print {dry_run, cutoff, matched, deleted, batches, interrupted} as JSON')
    .action(async (opts: PruneFlags) => {
      const days = /^\d+(\.\d+)?$/.test(opts.olderThan) ? Number(opts.olderThan) : Number.NaN;
      const controller = new AbortController();
      let interrupted = false;
      const stopListening = onShutdownSignals({
        first() {
          controller.abort();
          process.stderr.write('eventix: stopping after the batch in flight (Ctrl-C again to quit at once)\n');
        },
        again: () => process.exit(130),
      });
      await withDatabase(async (database) => {
        const progress = (p: PruneProgress) => {
          if (p.total > (integer(opts.batchSize) ?? 1000)) {
            process.stderr.write(`deleted ${p.runs}/${p.total} runs, ${p.metrics} metric points (batch ${p.batches})\n`);
          }
        };
        const r = await pruneRuns(database.pool, {
          olderThanDays: days,
          batchSize: integer(opts.batchSize),
          dryRun: opts.dryRun,
          signal: controller.signal,
          onProgress: progress,
        });
        interrupted = r.interrupted;
        if (opts.json) {
          return void printJson({
            dry_run: r.dryRun,
            cutoff: r.cutoff.toISOString(),
            matched: r.matched,
            deleted: r.deleted,
            batches: r.batches,
            interrupted: r.interrupted,
          });
        }
        const cutoff = r.cutoff.toISOString();
        if (r.dryRun) {
          process.stdout.write(`would delete ${r.matched.runs} run(s) and ${r.matched.metrics} metric point(s) stored before ${cutoff}\n`);
        } else {
          process.stdout.write(
            `deleted ${r.deleted.runs} run(s) and ${r.deleted.metrics} metric point(s) stored before ${cutoff}` +
              `${r.interrupted ? ` (interrupted: ${r.matched.runs - r.deleted.runs} old run(s) left)` : ''}\n`,
          );
        }
      });
      stopListening();
      if (interrupted) process.exitCode = 130;
    });
}
