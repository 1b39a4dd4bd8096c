import { z } from 'zod';
import { COMMIT_STATUSES } from '../tracking/commits.ts';
import { DETERMINE_STRATEGIES } from '../tracking/determine.ts';
import { FULL_SHA, refProblem } from '../tracking/git.ts';
import type { RepoAllowList } from '../tracking/repos.ts';
import type { RequeueOptions } from '../tracking/requeue.ts';
import { jsonValue } from '../validation/json.ts';
import { storable } from '../validation/zod.ts';
import { CONFIG_EXAMPLE, EXAMPLE, example, exampleString, OUT, OUT_NULLABLE, wholeExample } from './examples.ts';

/**
 * The wire format of commit-status tracking (snake_case), validated by the routes and published
 * in the OpenAPI document. Configs are any JSON; their identity is their canonical form.
 */

const repo = example(
  storable(z.string().min(1).max(1000)).describe(
    'Path of a local git repository; for determine and mark it must be one the server allows (EVENTIX_REPOS).',
  ),
  EXAMPLE.repo,
);
const ref = z
  .string()
  .superRefine((v, ctx) => {
    const problem = refProblem(v);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })
  .describe('A branch, tag, sha or other revision (HEAD, HEAD~2); never starting with -.')
  .meta({ examples: [EXAMPLE.branch] });
const architecture = example(
  storable(z.string().max(100)).describe('Absent or empty: no architecture (one value, not many).'),
  EXAMPLE.architecture,
);
const status = z.enum(COMMIT_STATUSES, { error: `must be one of ${COMMIT_STATUSES.join(', ')}` });
const configId = z.number().int().min(1).describe('A stored config, by id (GET /configs); instead of `config`.');
const config = jsonValue.describe('The benchmark config: any JSON; key order and number spelling do not matter.');
const dateTime = z.iso
  .datetime({ offset: true, error: 'must be an ISO 8601 date-time with a time zone' })
  .refine((v) => Math.abs(new Date(v).getUTCFullYear() - 5000) <= 4999, { error: 'must be between the years 1 and 9999' });
const oneConfig = (b: { config?: unknown; config_id?: number | undefined }) => !(b.config !== undefined && b.config_id !== undefined);
const ONE_CONFIG = { error: 'give config or config_id, not both', path: ['config_id'] };

export const determineBody = wholeExample(
  z
    .strictObject({
      repo,
      branch: ref,
      config: config.optional().describe('Absent (and no config_id): a commit complete under any config counts as done.'),
      config_id: configId.optional(),
      max_commits: z.number().int().min(1).max(100_000).optional().describe('Default 3, as in the seed.'),
      subset_detection: z.boolean().optional().describe('Skip commits complete under a config that covers this one (default true).'),
      first_parent: z.boolean().optional(),
      since: dateTime.optional().describe('Only commits with a later committer date.'),
      strategy: z
        .enum(DETERMINE_STRATEGIES)
        .optional()
        .describe('newest (default): the newest eligible commits; spread: evenly spaced over all eligible commits.'),
      architecture: architecture.optional(),
    })
    .refine(oneConfig, ONE_CONFIG)
    .meta({ id: 'CommitsDetermine' }),
  { repo: EXAMPLE.repo, branch: EXAMPLE.branch, config: CONFIG_EXAMPLE, max_commits: 3, architecture: EXAMPLE.architecture },
);
export type DetermineBody = z.infer<typeof determineBody>;

export const determineOut = z
  .object({
    shas: z.array(OUT.sha).describe('Newest first.'),
    walked: z.number().int(),
    eligible: z.number().int(),
    subset_skipped: z.number().int(),
    superset_config_ids: z.array(z.number().int()),
  })
  .meta({ id: 'CommitsDetermineResult' });

export const markBody = wholeExample(
  z
    .strictObject({
      repo,
      shas: example(z.array(ref).min(1).max(10_000).describe('Shas or refs; refs resolve to shas.'), [EXAMPLE.sha, 'HEAD~1']),
      status,
      config: config.optional().describe('Absent (and no config_id): {} as in the seed.'),
      config_id: configId.optional(),
      config_name: example(storable(z.string().min(1).max(200)), EXAMPLE.configName)
        .optional()
        .describe('Names the config if it has no name yet.'),
      task_uid: z.uuid({ error: 'must be a UUID' }).optional().describe('The task that owns an in_progress pair.'),
      error: example(storable(z.string().max(100_000)), EXAMPLE.error)
        .optional()
        .describe('Why it failed (status failed).'),
      architecture: architecture.optional(),
      claim: z
        .boolean()
        .optional()
        .describe('in_progress only: take only pairs with no row or failed fewer than the maximum attempts; others are reported skipped.'),
    })
    .refine(oneConfig, ONE_CONFIG)
    .meta({ id: 'CommitsMark' }),
  {
    repo: EXAMPLE.repo,
    shas: [EXAMPLE.sha],
    status: 'failed',
    config: CONFIG_EXAMPLE,
    error: EXAMPLE.error,
    architecture: EXAMPLE.architecture,
  },
);
export type MarkBody = z.infer<typeof markBody>;

export const markOut = z
  .object({
    config: z.object({ id: z.number().int(), hash: OUT.configHash }),
    marked: z.array(z.object({ ref: OUT.branch, sha: OUT.sha, created: z.boolean() })),
    skipped: z.array(z.object({ ref: OUT.branch, sha: OUT.sha })),
  })
  .meta({ id: 'CommitsMarkResult' });

export const requeueBody = z
  .strictObject({
    repo: repo.describe('The repository as commit status stores it, or one of EVENTIX_REPOS as written; git is not run.'),
    sha: z
      .string()
      .regex(FULL_SHA, { error: 'must be a full sha (40 or 64 lowercase hex digits)' })
      .describe('The full sha of the pair; refs are not resolved.'),
    config: config.optional().describe('Absent (and no config_id): {} as in the seed.'),
    config_id: configId.optional(),
    architecture: architecture.optional(),
  })
  .refine(oneConfig, ONE_CONFIG)
  .meta({ id: 'CommitsRequeue' });
export type RequeueBody = z.infer<typeof requeueBody>;

/**
 * A requeue body as requeueFailedPair takes it: the repo as EVENTIX_REPOS lists it, or as stored
 * (nothing is opened, as for cleanup). POST /commits/requeue and the dashboard's form both use it.
 */
export function requeueOptions(b: RequeueBody, allowed: RepoAllowList): RequeueOptions {
  return { repo: allowed.keyOf(b.repo) ?? b.repo, sha: b.sha, configId: b.config_id, config: b.config, architecture: b.architecture };
}

export const requeueOut = z
  .object({
    repo: OUT.repo,
    sha: OUT.sha,
    config_id: z.number().int(),
    architecture: OUT.architecture.describe('Empty: no architecture.'),
    attempts: z.number().int().describe('The attempts the removed row had counted; the pair starts again from none.'),
    error: OUT_NULLABLE.error.describe('The last error of the removed row.'),
  })
  .meta({ id: 'CommitsRequeueResult' });

export const cleanupBody = z
  .strictObject({
    older_than_seconds: z
      .number()
      .min(0)
      .max(10 * 366 * 86400)
      .optional()
      .describe('Ownerless pairs count as stale after this long (default EVENTIX_COMMITS_STALE_SECONDS).'),
    repo: repo.optional(),
    config: config.optional(),
    config_id: configId.optional(),
    architecture: architecture.optional(),
  })
  .refine(oneConfig, ONE_CONFIG)
  .meta({ id: 'CommitsCleanup' });

export const cleanupOut = z
  .object({
    reset: z.number().int(),
    deleted: z.number().int(),
    failed: z.number().int(),
    pairs: z.array(
      z.object({
        repo: OUT.repo,
        sha: OUT.sha,
        config_id: z.number().int(),
        architecture: OUT.architecture,
        status: status,
        task_uid: z.string().nullable(),
      }),
    ),
  })
  .meta({ id: 'CommitsCleanupResult' });

const statuses = z
  .union([z.string(), z.array(z.string())])
  .transform((v) => (Array.isArray(v) ? v : [v]).flatMap((s) => s.split(',')).filter(Boolean))
  .pipe(z.array(status));

const filter = {
  repo: repo.optional(),
  sha: z
    .string()
    .regex(/^[0-9a-f]{4,64}$/, { error: 'must be 4 to 64 lowercase hex digits (a sha or its prefix)' })
    .optional(),
  config_id: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional(),
  config_hash: z
    .string()
    .regex(/^[0-9a-f]{64}$/, { error: 'must be 64 lowercase hex digits' })
    .optional(),
  status: statuses.optional(),
  architecture: architecture.optional(),
};

export const commitListQuery = z.strictObject({
  ...filter,
  limit: z.coerce.number().int().min(1).max(500).optional(),
  cursor: z.string().min(1).max(300).optional(),
});
export const commitExportQuery = z.strictObject(filter);
export const commitStatsQuery = z.strictObject({ repo: repo.optional() });

export const commitOut = z
  .object({
    repo: OUT.repo,
    sha: OUT.sha,
    architecture: OUT_NULLABLE.architecture,
    config_id: z.number().int(),
    config_hash: OUT.configHash,
    config: jsonValue,
    status,
    committed_at: OUT_NULLABLE.at,
    attempts: z.number().int(),
    error: OUT_NULLABLE.error,
    task_uid: OUT_NULLABLE.uid,
    created_at: OUT.at,
    updated_at: OUT.at,
  })
  .meta({ id: 'CommitStatus' });

export const commitPageOut = z.object({ commits: z.array(commitOut), next_cursor: z.string().nullable() }).meta({ id: 'CommitStatusPage' });

export const commitStatsOut = z
  .object({
    total: z.number().int(),
    unique_commits: z.number().int(),
    unique_configs: z.number().int(),
    by_status: z.object(
      Object.fromEntries(COMMIT_STATUSES.map((s) => [s, z.number().int()])) as Record<(typeof COMMIT_STATUSES)[number], z.ZodNumber>,
    ),
  })
  .meta({ id: 'CommitStats' });

export const exportRecord = z
  .object({
    sha: OUT.sha,
    timestamp: OUT_NULLABLE.at.describe('The committer date.'),
    status,
    config: jsonValue,
    repo: OUT.repo.optional().describe('Absent in the seed format; then `repo` of the import request applies.'),
    architecture: OUT.architecture.optional(),
    attempts: z.number().int().optional(),
    error: OUT.error.optional(),
  })
  .meta({ id: 'CommitExportRecord', description: 'The seed’s export format, with optional extra keys.' });
export const exportOut = z.array(exportRecord).meta({ id: 'CommitExport' });

export const importBody = z
  .strictObject({
    records: z
      .array(jsonValue)
      .max(1_000_000)
      .describe('CommitExportRecords, or legacy completed_commits.json entries ({sha, timestamp, status}); each is validated on its own.'),
    config: config.optional().describe('The config of records that name none (legacy completed_commits.json).'),
    repo: repo.optional().describe('The repository of records that name none.'),
    architecture: architecture.optional(),
    dry_run: z.boolean().optional().describe('Validate and count; change nothing.'),
    skip_invalid: z.boolean().optional().describe('Import the valid records even when some are invalid (default: import nothing then).'),
  })
  .meta({ id: 'CommitsImport' });

export const importOut = z
  .object({
    total: z.number().int(),
    imported: z.number().int(),
    skipped: z.number().int(),
    invalid: z.number().int(),
    dry_run: z.boolean(),
    skipped_reasons: z.object({ exists: z.number().int(), duplicate: z.number().int(), transient: z.number().int() }),
    errors: z.array(z.object({ index: z.number().int(), field: exampleString('sha'), message: OUT.message })),
  })
  .meta({ id: 'CommitsImportResult' });

export const configOut = z
  .object({
    id: z.number().int(),
    hash: OUT.configHash,
    name: OUT_NULLABLE.configName,
    config: jsonValue,
    pairs: z.number().int(),
    created_at: OUT.at,
  })
  .meta({ id: 'CommitConfig' });
export const configListOut = z.object({ configs: z.array(configOut) }).meta({ id: 'CommitConfigList' });
