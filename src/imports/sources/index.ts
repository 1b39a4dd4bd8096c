import { ValidationError } from '../../errors.ts';
import type { ImportSource } from '../types.ts';
import { compassFile } from './compass.ts';
import { medbilldozer } from './medbilldozer.ts';
import { pythonEventixMongo } from './python-eventix-mongo.ts';
import { pythonEventixPostgres } from './python-eventix-pg.ts';
import { parseModuleRepos, valkeyPostgres } from './valkey.ts';

/**
 * The importers `eventix import <name>` offers: each one's flags, and how it opens its store from
 * them. The flags are commander's, so the CLI and `--help` come from this one table.
 */
export interface SourceDefinition {
  description: string;
  flags: readonly [flags: string, description: string][];
  open(o: Record<string, unknown>): Promise<ImportSource>;
}

const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
/** A required flag's value, or a refusal naming it. */
export function required(o: Record<string, unknown>, flag: string): string {
  const v = str(o[flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())]);
  if (!v) throw new ValidationError([{ field: flag, message: 'is required' }]);
  return v;
}
export { str };

export const SOURCES: Record<string, SourceDefinition> = {
  'python-eventix': {
    description: 'the Python Eventix 4.4 on PostgreSQL: tables eventix_task, eventix_schedule, eventix_trigger, eventix_event',
    flags: [
      ['--from <url>', 'the Python Eventix database (postgres://…); read only'],
      ['--timezone <zone>', 'the zone of timestamps stored without one (IANA name); without it such values are refused'],
    ],
    open: (o) => pythonEventixPostgres({ from: required(o, 'from'), timezone: str(o.timezone) }),
  },
  'python-eventix-mongo': {
    description: 'the Python Eventix on MongoDB, from a mongoexport dump: task.json, schedule.json, trigger.json, event.json in one folder',
    flags: [
      ['--dir <folder>', 'the folder of the mongoexport files (JSON lines or --jsonArray, Extended JSON)'],
      ['--timezone <zone>', 'the zone of times written without one; without it such values are refused'],
    ],
    open: (o) => pythonEventixMongo({ dir: required(o, 'dir'), timezone: str(o.timezone) }),
  },
  valkey: {
    description: 'valkey-perf-benchmark (seed 000) on PostgreSQL: benchmark_commits (and benchmark_commits_<module>), benchmark_metrics',
    flags: [
      ['--from <url>', 'the valkey-perf-benchmark database (postgres://…); read only'],
      ['--repo <path>', 'the valkey checkout the commits belong to'],
      ['--module-repos <list>', 'module=path pairs for the benchmark_commits_<module> tables: search=../valkey-search,json=../valkey-json'],
      ['--timezone <zone>', 'the zone of timestamps stored without one (IANA name); without it such values are refused'],
    ],
    open: (o) =>
      valkeyPostgres({
        from: required(o, 'from'),
        repo: required(o, 'repo'),
        moduleRepos: parseModuleRepos(str(o.moduleRepos)),
        timezone: str(o.timezone),
      }),
  },
  compass: {
    description: 'Compass (seed 002): data/benchmarks.json in its SQL-aligned schema, one benchmark run per record (format llm-profile)',
    flags: [
      ['--file <file>', 'the benchmarks.json: a JSON array of records, or {"benchmarks": [...]}; read only'],
      ['--repo <name>', 'the repository the runs are stored under, as `eventix results push --repo` takes it'],
      ['--sha <commit>', 'the commit the benchmarks were measured on (a full sha): the records name none'],
      ['--branch <branch>', 'the branch benchmarked (optional)'],
    ],
    open: (o) => compassFile({ file: required(o, 'file'), repo: required(o, 'repo'), sha: required(o, 'sha'), branch: str(o.branch) }),
  },
  medbilldozer: {
    description:
      'medbilldozer (seed 001): benchmark_transactions → runs, benchmark_snapshots → snapshots and baselines, from Supabase/PostgreSQL or JSON exports',
    flags: [
      ['--from <url>', 'the medbilldozer database (postgres://…, e.g. Supabase); read only'],
      ['--transactions <file>', 'instead of --from: a JSON export of benchmark_transactions (an array of rows, or one row a line)'],
      ['--snapshots <file>', 'with --transactions: a JSON export of benchmark_snapshots'],
      ['--repo <name>', 'the repository the runs, snapshots and baselines are stored under'],
      ['--timezone <zone>', 'the zone of timestamps stored without one (IANA name); without it such values are refused'],
    ],
    open: (o) =>
      medbilldozer({
        from: str(o.from),
        transactions: str(o.transactions),
        snapshots: str(o.snapshots),
        repo: required(o, 'repo'),
        timezone: str(o.timezone),
      }),
  },
};
