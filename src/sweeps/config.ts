import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { EventixError } from '../errors.ts';
import { type Filter, filterSchema } from '../events/filter.ts';
import { coerceError } from '../logger.ts';
import { validateSchedule } from '../scheduler/cron.ts';
import { CanonicalJsonError, canonicalize, type JsonValue } from '../tracking/canonical.ts';
import { DETERMINE_STRATEGIES, type DetermineStrategy } from '../tracking/determine.ts';
import { refProblem } from '../tracking/git.ts';
import { repoKey } from '../tracking/repos.ts';
import { jsonValue } from '../validation/json.ts';
import { NAME_PATTERN } from '../validation/names.ts';

/**
 * EVENTIX_SWEEPS_FILE: the benchmark sweeps this deployment runs, as JSON. Sweeps exist only here,
 * never through the API, because a sweep names a command to execute: whoever can write this file
 * can already run programs on the benchmark machines, and nobody else can.
 *
 * The file is read completely and checked before anything connects or is written; a bad file
 * stops `eventix start`/`eventix worker` with exit code 2, naming the field. Every process that
 * serves a sweep's namespace loads the same file: the tasks carry only the sweep's name, the sha
 * and the config's hash, never the command.
 */

/** Sweep names appear in URL paths, schedule and trigger names (`sweep:<name>`) and unique keys (`bench:<name>:…`). */
export const SWEEP_NAME_PATTERN = /^[A-Za-z0-9_.-]{1,100}$/;
const SWEEP_NAME_MESSAGE = 'must be 1-100 characters of letters, digits and _ . -';

const absolutePath = z
  .string()
  .min(1)
  .refine((p) => path.isAbsolute(p), { error: 'must be an absolute path' });

/**
 * Bisection: extra `benchmark.run` tasks per regression alert, at most. The default, 10, bisects a
 * gap of up to 1,023 unmeasured commits to one commit (⌈log₂(k + 1)⌉ runs); a larger gap stops
 * with the range narrowed that far (state `exhausted`).
 */
export const DEFAULT_BISECT_MAX_RUNS = 10;
const MAX_BISECT_RUNS = 64;

const seconds = (max: number) => z.number().int({ error: 'must be a whole number of seconds' }).min(1).max(max);

const configEntry = z.union(
  [
    z.strictObject({ config: jsonValue, name: z.string().min(1).max(200).optional() }),
    z.strictObject({ file: z.string().min(1), name: z.string().min(1).max(200).optional() }),
  ],
  { error: 'must be {"config": <JSON>} or {"file": "<path to a JSON file>"}, with an optional "name"' },
);

const command = z
  .array(z.string().min(1, { error: 'must not be empty' }), {
    error: 'must be an argv array such as ["python3", "bench.py"]: commands run without a shell, so a command string is refused',
  })
  .min(1, { error: 'must name a program' });

const sweepSchema = z.strictObject({
  name: z.string().regex(SWEEP_NAME_PATTERN, { error: SWEEP_NAME_MESSAGE }),
  repo: absolutePath.describe('The local git repository (a clone on every machine serving the namespace).'),
  branch: z.string().superRefine((b, ctx) => {
    const problem = refProblem(b);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  }),
  fetch: z.boolean().optional(),
  remote: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,100}$/, { error: 'must be a remote name' })
    .optional(),
  configs: z.array(configEntry).min(1, { error: 'give at least one config' }).max(100),
  max_commits: z.number().int().min(1).max(100_000),
  strategy: z.enum(DETERMINE_STRATEGIES, { error: `must be one of ${DETERMINE_STRATEGIES.join(', ')}` }).optional(),
  first_parent: z.boolean().optional(),
  since: z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time with a time zone' }).optional(),
  subset_detection: z.boolean().optional(),
  architecture: z.string().min(1).max(100).optional(),
  schedule: z.strictObject({ cron: z.string().max(200), timezone: z.string().max(100).optional() }).optional(),
  trigger: z
    .strictObject({
      event_name: z.string().regex(NAME_PATTERN, { error: 'must be an event name' }),
      namespace: z.string().regex(NAME_PATTERN, { error: 'must be a namespace name' }).optional(),
      filter: filterSchema.optional(),
    })
    .optional(),
  command,
  cwd: z.string().min(1).optional(),
  env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'must be an environment variable name' }), z.string()).optional(),
  timeout_seconds: seconds(7 * 86400),
  kill_grace_seconds: seconds(3600).optional(),
  retry: z.strictObject({ max_retries: z.number().int().min(0).max(100), error_eta_inc: seconds(86400).optional() }),
  namespace: z.string().regex(NAME_PATTERN, { error: 'must be 1-200 characters of letters, digits and _ . : / -' }),
  concurrency_per_worker: z.number().int().min(1).max(64).optional(),
  max_failed_attempts: z.number().int().min(1).max(1000).optional(),
  repeat: z.number().int().min(1).max(100).optional(),
  bisect: z
    .strictObject({
      enabled: z.boolean().optional(),
      max_runs: z.number().int().min(1).max(MAX_BISECT_RUNS).optional(),
    })
    .optional()
    .describe('Automatic bisection of the regressions found on this sweep’s series (src/sweeps/bisect.ts); on by default.'),
});

export const sweepsFileSchema = z.strictObject({
  work_dir: absolutePath.optional(),
  sweeps: z.array(sweepSchema),
});

export type SweepDefinition = z.infer<typeof sweepSchema>;

export interface SweepConfig {
  /** sha256 of the canonical JSON: the config's identity in commit_status and in task unique keys. */
  hash: string;
  value: JsonValue;
  name: string | null;
}

/** A sweep after loading: defaults applied, config files read, configs canonicalised. */
export interface Sweep {
  name: string;
  /** The path as written: where git runs. */
  repo: string;
  /** The repository's identity in commit_status and benchmark_runs (its real path). */
  repoKey: string;
  branch: string;
  fetch: boolean;
  remote: string;
  configs: SweepConfig[];
  maxCommits: number;
  strategy: DetermineStrategy;
  firstParent: boolean;
  since: Date | undefined;
  subsetDetection: boolean;
  architecture: string | undefined;
  schedule: { cron: string; timezone: string } | undefined;
  trigger: { eventName: string; namespace: string | null; filter: Filter | null } | undefined;
  command: string[];
  cwd: string | undefined;
  env: Record<string, string>;
  timeoutSeconds: number;
  killGraceSeconds: number;
  retry: { maxRetries: number; errorEtaInc: number | undefined };
  namespace: string;
  concurrencyPerWorker: number;
  maxFailedAttempts: number;
  repeat: number;
  /** Automatic bisection of this sweep's regressions (bisect.ts): on unless the file says `enabled: false`. */
  bisect: { enabled: boolean; maxRuns: number };
}

export interface Sweeps {
  /** Where the file was read from (for messages). */
  file: string | undefined;
  /** Run directories (worktree, output, config) and kept logs live under here. */
  workDir: string;
  sweeps: Sweep[];
  byName: Map<string, Sweep>;
}

export const DEFAULT_KILL_GRACE_SECONDS = 10;

export class SweepsFileError extends Error {
  readonly code = 'SweepsFileError';
  constructor(
    readonly file: string,
    detail: string,
  ) {
    super(`EVENTIX_SWEEPS_FILE ${file}: ${detail}`);
    this.name = 'SweepsFileError';
  }
}

const fieldPath = (p: readonly PropertyKey[]) =>
  p
    .map((x) => (typeof x === 'number' ? `[${x}]` : `.${String(x)}`))
    .join('')
    .replace(/^\./, '') || '(file)';

/** Read, validate and resolve a sweeps file; a SweepsFileError names every problem (file, field, sweep). */
export function loadSweepsFile(file: string): Sweeps {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new SweepsFileError(file, `cannot read it (${coerceError(err).message})`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new SweepsFileError(file, `malformed JSON: ${coerceError(err).message}`);
  }
  return parseSweeps(raw, file);
}

/** Validate and resolve a sweeps document (`{"sweeps": [...]}`); relative config files resolve against `file`'s folder. */
export function parseSweeps(raw: unknown, file?: string): Sweeps {
  const where = file ?? '(sweeps)';
  const parsed = sweepsFileSchema.safeParse(raw);
  const nameAt = (i: unknown) => {
    const n = typeof i === 'number' ? (raw as { sweeps?: { name?: unknown }[] })?.sweeps?.[i]?.name : undefined;
    return typeof n === 'string' ? ` (sweep ${JSON.stringify(n)})` : '';
  };
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => {
      const message = i.code === 'unrecognized_keys' ? `unknown field(s): ${i.keys.join(', ')}` : i.message;
      return `${fieldPath(i.path)}${nameAt(i.path[1])}: ${message}`;
    });
    throw new SweepsFileError(where, lines.join('; '));
  }
  const problems: string[] = [];
  const base = file ? path.dirname(path.resolve(file)) : process.cwd();
  const sweeps = parsed.data.sweeps.map((d, i) =>
    resolveSweep(d, base, (field, message) => problems.push(`sweeps[${i}].${field}${nameAt(i)}: ${message}`)),
  );
  const seen = new Set<string>();
  parsed.data.sweeps.forEach((d, i) => {
    if (seen.has(d.name)) problems.push(`sweeps[${i}].name: duplicate name ${d.name}`);
    seen.add(d.name);
  });
  if (problems.length) throw new SweepsFileError(where, problems.join('; '));
  return {
    file,
    workDir: parsed.data.work_dir ?? path.join(tmpdir(), 'eventix-sweeps'),
    sweeps,
    byName: new Map(sweeps.map((s) => [s.name, s])),
  };
}

function resolveSweep(d: SweepDefinition, base: string, problem: (field: string, message: string) => void): Sweep {
  const configs: SweepConfig[] = [];
  d.configs.forEach((entry, j) => {
    let value: unknown;
    if ('file' in entry) {
      const configFile = path.resolve(base, entry.file);
      try {
        value = JSON.parse(readFileSync(configFile, 'utf8'));
      } catch (err) {
        problem(`configs[${j}].file`, `cannot read ${configFile} as JSON (${coerceError(err).message})`);
        return;
      }
    } else {
      value = entry.config;
    }
    if (typeof value !== 'object' || value === null) {
      problem(`configs[${j}]`, 'a config must be a JSON object or array');
      return;
    }
    try {
      const c = canonicalize(value);
      if (configs.some((x) => x.hash === c.hash)) problem(`configs[${j}]`, 'the same config is listed twice');
      configs.push({ hash: c.hash, value: c.value, name: entry.name ?? null });
    } catch (err) {
      if (!(err instanceof CanonicalJsonError)) throw err;
      problem(`configs[${j}]`, err.message);
    }
  });
  let schedule: Sweep['schedule'];
  if (d.schedule) {
    const timezone = d.schedule.timezone ?? 'UTC';
    for (const issue of validateSchedule(d.schedule.cron, timezone)) problem(`schedule.${issue.field}`, issue.message);
    schedule = { cron: d.schedule.cron.trim(), timezone };
  }
  if (d.cwd?.split(/[\\/]/).includes('..') && !path.isAbsolute(d.cwd)) {
    problem('cwd', 'a relative cwd is inside the checked-out commit and may not climb out of it with ..');
  }
  return {
    name: d.name,
    repo: d.repo,
    repoKey: repoKey(d.repo),
    branch: d.branch,
    fetch: d.fetch ?? false,
    remote: d.remote ?? 'origin',
    configs,
    maxCommits: d.max_commits,
    strategy: d.strategy ?? 'newest',
    firstParent: d.first_parent ?? false,
    since: d.since === undefined ? undefined : new Date(d.since),
    subsetDetection: d.subset_detection ?? true,
    architecture: d.architecture,
    schedule,
    trigger: d.trigger && {
      eventName: d.trigger.event_name,
      namespace: d.trigger.namespace ?? null,
      filter: d.trigger.filter ?? null,
    },
    command: d.command,
    cwd: d.cwd,
    env: d.env ?? {},
    timeoutSeconds: d.timeout_seconds,
    killGraceSeconds: d.kill_grace_seconds ?? DEFAULT_KILL_GRACE_SECONDS,
    retry: { maxRetries: d.retry.max_retries, errorEtaInc: d.retry.error_eta_inc },
    namespace: d.namespace,
    concurrencyPerWorker: d.concurrency_per_worker ?? 1,
    maxFailedAttempts: d.max_failed_attempts ?? 3,
    repeat: d.repeat ?? 1,
    bisect: { enabled: d.bisect?.enabled ?? true, maxRuns: d.bisect?.max_runs ?? DEFAULT_BISECT_MAX_RUNS },
  };
}

/** No sweeps: what a process without EVENTIX_SWEEPS_FILE uses, so the API answers with an empty list. */
export function noSweeps(): Sweeps {
  return { file: undefined, workDir: path.join(tmpdir(), 'eventix-sweeps'), sweeps: [], byName: new Map() };
}

/** The API's 404 for a sweep the sweeps file does not define. */
export class SweepNotFound extends EventixError {
  declare readonly code: 'SweepNotFound';
  constructor(name: string) {
    super('SweepNotFound', `No sweep named '${name}' in the server's sweeps file`, { name });
  }
}
