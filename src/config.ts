import { z } from 'zod';

/**
 * Every setting Eventix reads, parsed once from the environment (plus CLI overrides) into a typed
 * object that is passed down. Nothing else in the code base reads `process.env`, so tests build a
 * Config directly and a bad value is reported once, at start, naming the variable.
 */

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'], {
    error: 'expected one of true/false/1/0/yes/no/on/off',
  })
  .transform((v) => ['true', '1', 'yes', 'on'].includes(v));

const int = (min: number, max: number) =>
  z
    .string()
    .regex(/^-?\d+$/, { error: 'expected an integer' })
    .transform(Number)
    .pipe(
      z
        .number()
        .min(min, { error: `must be at least ${min}` })
        .max(max, { error: `must be at most ${max}` }),
    );

const list = z
  .string()
  .transform((v) =>
    v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  )
  .pipe(
    z
      .array(z.string().regex(/^[A-Za-z0-9_.:/-]{1,200}$/, { error: 'names may use letters, digits and _ . : / - (1-200 characters)' }))
      .min(1, { error: 'needs at least one name' }),
  );

export const API_SCOPES = ['read', 'submit', 'worker', 'admin'] as const;
export type ApiScope = (typeof API_SCOPES)[number];
export interface ApiToken {
  name: string;
  scope: ApiScope;
  secret: string;
}

/** `name:scope:secret` entries, comma-separated. Secrets are never echoed in errors. */
const apiTokens = z.string().transform((v, ctx): ApiToken[] => {
  const out: ApiToken[] = [];
  for (const [i, entry] of v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .entries()) {
    const [name = '', scope = '', ...rest] = entry.split(':');
    const secret = rest.join(':');
    if (!/^[A-Za-z0-9_.-]{1,100}$/.test(name))
      ctx.addIssue({ code: 'custom', message: `entry ${i + 1}: name must be 1-100 of letters, digits, _ . -` });
    else if (!(API_SCOPES as readonly string[]).includes(scope))
      ctx.addIssue({ code: 'custom', message: `entry ${i + 1} (${name}): scope must be one of ${API_SCOPES.join(', ')}` });
    else if (secret.length < 16)
      ctx.addIssue({ code: 'custom', message: `entry ${i + 1} (${name}): the token must be at least 16 characters` });
    else if (out.some((t) => t.name === name)) ctx.addIssue({ code: 'custom', message: `entry ${i + 1}: duplicate name ${name}` });
    else out.push({ name, scope: scope as ApiScope, secret });
  }
  if (out.length === 0 && v.trim()) ctx.addIssue({ code: 'custom', message: 'expected name:scope:token entries separated by commas' });
  return out;
});

/** Absolute paths of local git repositories, comma-separated. */
const repoPaths = z
  .string()
  .transform((v) =>
    v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  )
  .pipe(z.array(z.string().startsWith('/', { error: 'each repository must be an absolute path' })));

/** An http(s) URL; its value is a secret (webhook URLs carry tokens), so it is never echoed. */
const webhookUrl = z.string().refine(
  (v) => {
    try {
      const u = new URL(v);
      return u.protocol === 'http:' || u.protocol === 'https:';
    } catch {
      return false;
    }
  },
  { error: 'expected an http:// or https:// URL' },
);

/** `metric=higher|lower|unknown` entries, comma-separated: overrides of the direction rule. */
const metricDirections = z.string().transform((v, ctx): Record<string, 'higher' | 'lower' | null> => {
  const out: Record<string, 'higher' | 'lower' | null> = Object.create(null);
  for (const entry of v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const at = entry.lastIndexOf('=');
    const metric = entry.slice(0, at).trim();
    const direction = entry.slice(at + 1).trim();
    if (at <= 0 || !metric) ctx.addIssue({ code: 'custom', message: `${JSON.stringify(entry)}: expected metric=higher|lower|unknown` });
    else if (direction !== 'higher' && direction !== 'lower' && direction !== 'unknown')
      ctx.addIssue({ code: 'custom', message: `${JSON.stringify(entry)}: the direction must be higher, lower or unknown` });
    else out[metric] = direction === 'unknown' ? null : direction;
  }
  return { ...out };
});

const fraction = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+(?:\.\d+)?$/, { error: 'expected a decimal number' })
    .transform(Number)
    .pipe(
      z
        .number()
        .min(min, { error: `must be at least ${min}` })
        .max(max, { error: `must be at most ${max}` }),
    );

const databaseUrl = z.string().refine(
  (v) => {
    try {
      const u = new URL(v);
      return u.protocol === 'postgres:' || u.protocol === 'postgresql:';
    } catch {
      return false;
    }
  },
  { error: 'expected a postgres:// or postgresql:// URL' },
);

/** Variable name → schema, with its default. The README table mirrors this object. */
export const envSchema = z.object({
  DATABASE_URL: databaseUrl.optional(),
  EVENTIX_DATA_DIR: z.string().min(1).default('.eventix'),
  EVENTIX_EMBEDDED_PORT: int(0, 65535).default(54329),
  EVENTIX_DB_POOL_MAX: int(1, 1000).default(10),
  EVENTIX_PREPARED_STATEMENTS: bool.default(true),
  EVENTIX_MIGRATE: bool.default(true),
  EVENTIX_HOST: z.string().min(1).default('127.0.0.1'),
  EVENTIX_PORT: int(0, 65535).default(8080),
  EVENTIX_ALLOW_UNAUTHENTICATED_BIND: bool.default(false),
  EVENTIX_API_TOKENS: apiTokens.optional(),
  EVENTIX_MAX_BODY_BYTES: int(1024, 256 * 1024 * 1024).default(16 * 1024 * 1024),
  EVENTIX_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  EVENTIX_TASKS: z.string().min(1).optional(),
  EVENTIX_NAMESPACES: list.default(['default']),
  EVENTIX_CONCURRENCY: int(1, 1000).default(8),
  EVENTIX_LEASE_SECONDS: int(5, 86400).default(30),
  EVENTIX_PREFETCH: int(0, 10_000).default(500),
  EVENTIX_PREFETCH_TTL_MS: int(100, 3_600_000).default(5000),
  EVENTIX_POLL_INTERVAL_MS: int(10, 600_000).default(1000),
  EVENTIX_LISTEN: bool.default(true),
  EVENTIX_SHUTDOWN_GRACE_MS: int(0, 3_600_000).default(30_000),
  EVENTIX_MAINTENANCE_INTERVAL_MS: int(100, 3_600_000).default(10_000),
  EVENTIX_SCHEDULER: bool.default(true),
  EVENTIX_SCHEDULER_INTERVAL_MS: int(10, 600_000).default(1000),
  EVENTIX_SCHEDULES_FILE: z.string().min(1).optional(),
  EVENTIX_EVENT_RETENTION_DAYS: int(0, 36_500).default(30),
  EVENTIX_REPOS: repoPaths.optional(),
  EVENTIX_COMMITS_MAX_ATTEMPTS: int(1, 1000).default(3),
  EVENTIX_COMMITS_STALE_SECONDS: int(1, 30 * 86400).default(6 * 3600),
  EVENTIX_SWEEPS_FILE: z.string().min(1).optional(),
  EVENTIX_ALERT_WEBHOOK_URL: webhookUrl.optional(),
  EVENTIX_ALERT_WEBHOOK_TIMEOUT_MS: int(100, 300_000).default(10_000),
  EVENTIX_BENCHMARK_WORKER: bool.default(true),
  EVENTIX_METRIC_DIRECTIONS: metricDirections.optional(),
  EVENTIX_CHANGE_MIN_EFFECT: fraction(0.001, 1).default(0.02),
  EVENTIX_COMPAT_ROOT: bool.default(false),
});

export type Env = z.infer<typeof envSchema>;

export interface Config {
  /** Undefined means: start embedded PostgreSQL. */
  databaseUrl: string | undefined;
  dataDir: string;
  embeddedPort: number;
  poolMax: number;
  /** Named prepared statements for the hot queries; off behind PgBouncer < 1.21 in transaction mode. */
  preparedStatements: boolean;
  migrate: boolean;
  http: { host: string; port: number; allowUnauthenticatedBind: boolean; apiTokens: ApiToken[]; maxBodyBytes: number };
  logLevel: Env['EVENTIX_LOG_LEVEL'];
  worker: {
    tasksModule: string | undefined;
    namespaces: string[];
    concurrency: number;
    leaseSeconds: number;
    /** Tasks claimed ahead of free slots (src/worker/local-buffer.ts); 0 turns the buffer off. */
    prefetch: number;
    prefetchTtlMs: number;
    pollIntervalMs: number;
    listen: boolean;
    shutdownGraceMs: number;
    maintenanceIntervalMs: number;
  };
  scheduler: {
    /** Run the scheduler service inside `eventix start`/`eventix api`. */
    enabled: boolean;
    intervalMs: number;
    /** JSON file of schedule definitions, upserted by name at start. */
    schedulesFile: string | undefined;
  };
  /** Events older than this many days are deleted by maintenance; 0 keeps them forever. */
  events: { retentionDays: number };
  commits: {
    /** Local git repositories the HTTP API may run determine and mark in; none by default. */
    repos: string[];
    /** A failed (commit, config) pair is retried while it failed fewer times than this. */
    maxAttempts: number;
    /** An in_progress pair without an owner task counts as abandoned after this many seconds. */
    staleSeconds: number;
  };
  /** JSON file of benchmark sweeps (src/sweeps/config.ts); read by start, api and worker. */
  sweeps: { file: string | undefined };
  /** Change points and alerts of benchmark series (src/tracking/alerts/). */
  alerts: {
    /** Where new alerts are POSTed; a secret, never logged whole. Unset: no deliveries. */
    webhookUrl: string | undefined;
    webhookTimeoutMs: number;
    /** Serve the built-in `eventix.benchmarks` tasks in `eventix start` and `eventix worker`. */
    worker: boolean;
    /** Per-metric overrides of the direction rule; null forces unknown. */
    directions: Record<string, 'higher' | 'lower' | null>;
    /** Minimum relative change of a change point, and the tolerance of "restored". */
    minEffect: number;
  };
  /** The Python-Eventix compatible API (src/api/compat/): also served at the root when `root`. */
  compat: { root: boolean };
}

export class ConfigError extends Error {
  readonly code = 'ConfigError';
  constructor(readonly issues: { variable: string; message: string; value?: string }[]) {
    super(
      `Invalid configuration:\n${issues
        .map((i) => `  ${i.variable}: ${i.message}${i.value === undefined ? '' : ` (got ${JSON.stringify(i.value)})`}`)
        .join('\n')}`,
    );
    this.name = 'ConfigError';
  }
}

/** Variables that hold secrets: their values are never echoed back in an error. */
const SECRET = new Set(['DATABASE_URL', 'EVENTIX_API_TOKENS', 'EVENTIX_ALERT_WEBHOOK_URL']);

export function loadConfig(
  env: Record<string, string | undefined> = process.env,
  overrides: Partial<Record<keyof Env, string>> = {},
): Config {
  const raw: Record<string, string | undefined> = {};
  for (const key of Object.keys(envSchema.shape)) {
    const value = overrides[key as keyof Env] ?? env[key];
    // An empty variable is treated as unset, as shells and compose files commonly export VAR= .
    raw[key] = value === '' ? undefined : value;
  }
  const parsed = envSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => {
        const variable = String(issue.path[0]);
        const value = raw[variable];
        return { variable, message: issue.message, value: SECRET.has(variable) ? undefined : value };
      }),
    );
  }
  const e = parsed.data;
  return {
    databaseUrl: e.DATABASE_URL,
    dataDir: e.EVENTIX_DATA_DIR,
    embeddedPort: e.EVENTIX_EMBEDDED_PORT,
    poolMax: e.EVENTIX_DB_POOL_MAX,
    preparedStatements: e.EVENTIX_PREPARED_STATEMENTS,
    migrate: e.EVENTIX_MIGRATE,
    http: {
      host: e.EVENTIX_HOST,
      port: e.EVENTIX_PORT,
      allowUnauthenticatedBind: e.EVENTIX_ALLOW_UNAUTHENTICATED_BIND,
      apiTokens: e.EVENTIX_API_TOKENS ?? [],
      maxBodyBytes: e.EVENTIX_MAX_BODY_BYTES,
    },
    logLevel: e.EVENTIX_LOG_LEVEL,
    worker: {
      tasksModule: e.EVENTIX_TASKS,
      namespaces: e.EVENTIX_NAMESPACES,
      concurrency: e.EVENTIX_CONCURRENCY,
      leaseSeconds: e.EVENTIX_LEASE_SECONDS,
      prefetch: e.EVENTIX_PREFETCH,
      prefetchTtlMs: e.EVENTIX_PREFETCH_TTL_MS,
      pollIntervalMs: e.EVENTIX_POLL_INTERVAL_MS,
      listen: e.EVENTIX_LISTEN,
      shutdownGraceMs: e.EVENTIX_SHUTDOWN_GRACE_MS,
      maintenanceIntervalMs: e.EVENTIX_MAINTENANCE_INTERVAL_MS,
    },
    scheduler: {
      enabled: e.EVENTIX_SCHEDULER,
      intervalMs: e.EVENTIX_SCHEDULER_INTERVAL_MS,
      schedulesFile: e.EVENTIX_SCHEDULES_FILE,
    },
    events: { retentionDays: e.EVENTIX_EVENT_RETENTION_DAYS },
    commits: {
      repos: e.EVENTIX_REPOS ?? [],
      maxAttempts: e.EVENTIX_COMMITS_MAX_ATTEMPTS,
      staleSeconds: e.EVENTIX_COMMITS_STALE_SECONDS,
    },
    sweeps: { file: e.EVENTIX_SWEEPS_FILE },
    alerts: {
      webhookUrl: e.EVENTIX_ALERT_WEBHOOK_URL,
      webhookTimeoutMs: e.EVENTIX_ALERT_WEBHOOK_TIMEOUT_MS,
      worker: e.EVENTIX_BENCHMARK_WORKER,
      directions: e.EVENTIX_METRIC_DIRECTIONS ?? {},
      minEffect: e.EVENTIX_CHANGE_MIN_EFFECT,
    },
    compat: { root: e.EVENTIX_COMPAT_ROOT },
  };
}
