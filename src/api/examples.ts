import { z } from 'zod';

/**
 * Real values for the OpenAPI document's examples. Without them Swagger UI (/docs) fills every
 * plain string with "string", which no route accepts as a repository, a sha or a cron expression.
 * One place, so the same repository, commit and series recur across operations, as they would in
 * one deployment. Examples document only: validation is unchanged.
 */
export const EXAMPLE = {
  repo: '/srv/git/valkey',
  branch: 'unstable',
  sha: '5d2c8a1f0e6b4d3c9a7e8f1b2c3d4e5f6a7b8c9d',
  previousSha: 'e41b7c9d3a2f5e6d8c0b1a9f8e7d6c5b4a3f2e1d',
  architecture: 'x86_64',
  at: '2025-06-02T14:30:00.000Z',
  uid: '0197302a-4c1b-7e5f-8a9d-3b6c2e1f0a47',
  configHash: '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
  configName: 'io-threads-4',
  seriesHash: '2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae',
  seriesKey: '3b5d3c7d207e37dceeedd301e35e2e58',
  tagsHash: 'fcde2b2edba56bf408601fb721fe9b5c338d10ee429ea04fae5511b68fbf8fb9',
  metric: 'rps',
  unit: 'requests/s',
  baseline: 'release-8.1',
  operator: 'ci-nightly',
  error: 'benchmark exited with code 137 (killed: out of memory)',
  namespace: 'default',
  task: 'benchmark.run',
  schedule: 'nightly-bench',
  cron: '0 3 * * *',
  timezone: 'Europe/Berlin',
  eventName: 'git.push',
  trigger: 'bench-on-push',
  sweep: 'valkey-nightly',
  worktree: '/var/lib/eventix/worktrees/valkey',
  field: 'kwargs.sha',
  message: 'is required',
} as const;

/** `schema`, documented with `value` as its example. */
export const example = <S extends z.ZodType>(schema: S, value: unknown): S => schema.meta({ examples: [value] });

/** A plain string of an answer, documented with `value` as its example. */
export const exampleString = (value: string) => example(z.string(), value);

/** A string or null, documented with `value` as its example. */
export const nullableString = (value: string) => example(z.string().nullable(), value);

/** A benchmark config, as a sweep's configs list it. */
export const CONFIG_EXAMPLE = { io_threads: 4, pipeline: 16 };

const each = <T>(f: (value: string) => T) =>
  Object.fromEntries(Object.entries(EXAMPLE).map(([k, v]) => [k, f(v)])) as Record<keyof typeof EXAMPLE, T>;

/** Plain-string fields of the answers, documented with the values above. */
export const OUT = each(exampleString);

/**
 * The same, or null. The example goes on the whole: one inside `.nullable()` would turn the
 * document's compact `type: ["string", "null"]` into an anyOf.
 */
export const OUT_NULLABLE = each(nullableString);

/**
 * Examples of whole bodies and answers, added to their components by buildOpenApi. Not
 * `.meta({ examples })`: zod leaves examples out of the document wherever a transform or
 * preprocess is inside (a trigger's template, an event's payload, a compare threshold), which is
 * most bodies. A test parses each with its schema, so an example is always one the server accepts.
 */
export const WHOLE_EXAMPLES = new Map<z.ZodType, unknown>();

/** `schema` (a component: it has an id), with `value` as the example of all of it. */
export function wholeExample<S extends z.ZodType>(schema: S, value: z.input<S>): S {
  WHOLE_EXAMPLES.set(schema, value);
  return schema;
}
