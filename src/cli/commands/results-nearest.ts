import type { Command } from 'commander';
import { nearestToJson } from '../../api/nearest-schemas.ts';
import { envSchema } from '../../config.ts';
import { type FieldIssue, NoCandidates, ValidationError } from '../../errors.ts';
import { coerceError, createLogger, type Logger } from '../../logger.ts';
import { FORMATS, type Format } from '../../tracking/formats/index.ts';
import {
  type BenchmarkRepository,
  findNearest,
  JsonFileRepository,
  type NearestInput,
  type NearestResult,
  nearestQuery,
  PostgresRepository,
} from '../../tracking/nearest/index.ts';
import { printJson, withDatabase } from '../with-database.ts';

/**
 * `eventix results nearest`: seed 002's lookup from the command line. With `--file` it reads a
 * JSON file and never touches a database: no DATABASE_URL needed, no embedded PostgreSQL started,
 * and a database that is down does not matter. Without it, it asks the results store.
 */

/** Exit codes of `results nearest`, documented in the README (CLI, exit codes). */
export const NEAREST_EXIT = { found: 0, failure: 1, badInput: 2, noCandidates: 3 } as const;

interface NearestFlags {
  file?: string;
  format?: string;
  tag?: string[];
  target?: string[];
  repo?: string;
  json?: boolean;
}

// No default given to commander, so the help shows none; the first occurrence starts the list.
const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];

/** `name=value` pairs of one repeatable flag; the value may itself hold `=`. */
function pairs(values: string[], flag: string, issues: FieldIssue[]): Record<string, string> {
  const out = new Map<string, string>();
  for (const v of values) {
    const at = v.indexOf('=');
    if (at <= 0) {
      issues.push({ field: flag, message: `must be <name>=<value>, not ${JSON.stringify(v)}` });
      continue;
    }
    const name = v.slice(0, at);
    if (out.has(name)) issues.push({ field: `${flag} ${name}`, message: 'is given twice' });
    out.set(name, v.slice(at + 1));
  }
  // Map, then fromEntries: a tag named __proto__ stays a tag.
  return Object.fromEntries(out);
}

/** The library names fields as the API does (`target.mean_input_tokens`); here they are the flags. */
const flagName = (field: string) =>
  field
    .replace(/^tags(?:\.(.*))?$/s, (_, k?: string) => (k === undefined ? '--tag' : `--tag ${k}`))
    .replace(/^target(?:\.(.*))?$/s, (_, k?: string) => (k === undefined ? '--target' : `--target ${k}`))
    .replace(/^repo$/, '--repo');

function badInput(err: ValidationError, flags: boolean): never {
  const issues = flags ? err.issues.map((i) => ({ ...i, field: flagName(i.field) })) : err.issues;
  process.stderr.write(`eventix: ${new ValidationError(issues).message}\n`);
  process.exit(NEAREST_EXIT.badInput);
}

function parseFlags(opts: NearestFlags): { input: NearestInput; format: Format | 'auto' | undefined } {
  const issues: FieldIssue[] = [];
  const exact = pairs(opts.tag ?? [], '--tag', issues);
  const target = pairs(opts.target ?? [], '--target', issues);
  let format: Format | 'auto' | undefined;
  if (opts.format !== undefined) {
    if (opts.file === undefined) issues.push({ field: '--format', message: 'applies only with --file' });
    else if (!([...FORMATS, 'auto'] as string[]).includes(opts.format)) {
      issues.push({ field: '--format', message: `must be one of ${[...FORMATS, 'auto'].join(', ')}` });
    } else format = opts.format as Format | 'auto';
  }
  if (issues.length) throw new ValidationError(issues);
  const input: NearestInput = { exact, target, repo: opts.repo };
  // Validate before reading the file or connecting: bad flags never reach either.
  nearestQuery(input, { exact: 'tags', target: 'target' });
  return { input, format };
}

/** EVENTIX_LOG_LEVEL alone: the file path reads no other configuration, so nothing else can stop it. */
function fileLogger(): Logger {
  const level = envSchema.shape.EVENTIX_LOG_LEVEL.safeParse(process.env.EVENTIX_LOG_LEVEL || undefined);
  return createLogger(level.success ? level.data : 'info');
}

const fmt = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));

function printHuman(r: NearestResult, file: string | undefined): void {
  const lines = [`distance ${r.distance.toPrecision(4)} (nearest of ${r.candidates} candidate(s)${r.ties > 1 ? `, ${r.ties} tied` : ''})`];
  const run = r.result.run;
  lines.push(
    run
      ? `  run         ${run.uid}  ${run.repo}@${run.sha.slice(0, 12)}  ${run.createdAt.toISOString()}`
      : `  record      ${r.result.record} of ${file}`,
  );
  lines.push(
    `  profile     ${Object.entries(r.result.tags)
      .map(([k, v]) => `${k}=${fmt(v)}`)
      .join(' ')}`,
  );
  for (const [k, v] of Object.entries(r.target)) lines.push(`  ${k.padEnd(24)} ${r.result.parameters[k]}  (target ${v})`);
  for (const m of r.result.metrics) {
    const better = m.direction === null ? '' : `  (${m.direction} is better)`;
    lines.push(`  ${m.name.padEnd(24)} ${m.value}${m.unit ? ` ${m.unit}` : ''}${better}`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

export function registerResultsNearest(results: Command): void {
  results
    .command('nearest')
    .description(
      'the result nearest to target parameters among those matching exact tags (seed 002): from the results store, ' +
        `or with --file from a JSON file and no database. Exit ${NEAREST_EXIT.noCandidates}: no candidate; ${NEAREST_EXIT.badInput}: bad input`,
    )
    .option('--file <file>', "a results file (seed 002's benchmarks.json, or any results format) to read instead of the database")
    .option('--format <format>', `with --file: ${FORMATS.join(' | ')} | auto (default: auto, detected from the file's shape)`)
    .option('--tag <name=value>', 'an exact-match tag (repeat for several): model_hf_repo=…, hardware=H100, hardware_count=1', collect)
    .option('--target <name=number>', 'a target parameter > 0 (repeat for several): mean_input_tokens=512', collect)
    .option('--repo <repo>', 'only runs of this repository')
    .option('--json', 'print the answer as JSON, as GET /benchmarks/nearest answers')
    .action(async (opts: NearestFlags) => {
      let parsed: ReturnType<typeof parseFlags>;
      try {
        parsed = parseFlags(opts);
      } catch (err) {
        if (err instanceof ValidationError) badInput(err, true);
        throw err;
      }
      const lookup = async (repository: BenchmarkRepository, logger: Logger): Promise<void> => {
        try {
          const r = await findNearest(repository, { ...parsed.input, logger }, { exact: 'tags', target: 'target' });
          if (opts.json) printJson(nearestToJson(r));
          else printHuman(r, opts.file);
        } catch (err) {
          if (!(err instanceof NoCandidates)) throw err;
          process.stderr.write(`eventix: ${err.message}\n`);
          process.exitCode = NEAREST_EXIT.noCandidates;
        }
      };

      if (opts.file !== undefined) {
        try {
          await lookup(new JsonFileRepository(opts.file, { format: parsed.format, field: '--file' }), fileLogger());
        } catch (err) {
          // A file that cannot be read, is not JSON or holds a bad record is bad input, named by its path.
          if (err instanceof ValidationError) badInput(err, false);
          process.stderr.write(`eventix: ${coerceError(err).message}\n`);
          process.exit(NEAREST_EXIT.failure);
        }
        return;
      }
      await withDatabase(async (database, config) => {
        await lookup(new PostgresRepository(database.pool), createLogger(config.logLevel));
      });
    });
}
