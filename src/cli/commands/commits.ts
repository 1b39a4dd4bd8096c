import { writeFile } from 'node:fs/promises';
import { type Command, Option } from 'commander';
import type { Env } from '../../config.ts';
import { ValidationError } from '../../errors.ts';
import { coerceError } from '../../logger.ts';
import { canonicalConfig } from '../../tracking/canonical.ts';
import { COMMIT_STATUSES, type CommitStatus, cleanupCommits, markCommits } from '../../tracking/commits.ts';
import { importCommits } from '../../tracking/commits-import.ts';
import { type CommitFilter, commitStats, exportCommits, listConfigs, queryCommits } from '../../tracking/commits-read.ts';
import { DETERMINE_STRATEGIES, type DetermineStrategy, determineCommits } from '../../tracking/determine.ts';
import { assertRepository } from '../../tracking/git.ts';
import { repoKey } from '../../tracking/repos.ts';
import { requeueFailedPair } from '../../tracking/requeue.ts';
import { type DbFlags, databaseOverride, withDbFlags } from '../db-flags.ts';
import { readJsonInput } from '../read-input.ts';
import { printJson, withDatabase } from '../with-database.ts';

/**
 * `eventix commits …`: the seed's postgres_track_commits.py operations, with its flags, so a
 * workflow switches by changing the command name. The database is DATABASE_URL (or embedded
 * PostgreSQL), or --host/--port/--database/--username/--password as the seed took it; the password
 * goes into the connection only and is never printed. --json prints what the HTTP API answers.
 */

async function configFrom(file: string | undefined): Promise<unknown> {
  if (file === undefined) return undefined;
  const value = await readJsonInput(file, '--config-file', { unreadable: 'bare' });
  canonicalConfig(value, '--config-file');
  return value;
}

function nonNegative(flag: string, raw: string | undefined, fallback: number, min = 0): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < min) throw new ValidationError([{ field: flag, message: `must be a whole number ≥ ${min}` }]);
  return n;
}

/** Runs `fn` with the database the flags name; ValidationErrors in building it exit like any other. */
function run<F extends DbFlags>(
  flags: F,
  fn: Parameters<typeof withDatabase>[0],
  extra: Partial<Record<keyof Env, string>> = {},
): Promise<void> {
  let overrides: Partial<Record<keyof Env, string>>;
  try {
    overrides = databaseOverride(flags);
  } catch (err) {
    process.stderr.write(`eventix: ${coerceError(err).message}\n`);
    process.exit(1);
  }
  return withDatabase(fn, { ...overrides, ...extra });
}

const statusOption = () => new Option('--status <status>', 'commit status').choices(COMMIT_STATUSES);

export function registerCommits(program: Command): void {
  const commits = program
    .command('commits')
    .description("track which commits are benchmarked with which config (the seed's postgres_track_commits.py)");

  withDbFlags(commits.command('init').description('create the tables (apply migrations) and exit')).action(async (f: DbFlags) => {
    await run(
      f,
      async () => {
        if (f.json) return void printJson({ initialized: true });
        process.stdout.write('commit-status tables ready\n');
      },
      { EVENTIX_MIGRATE: 'true' },
    );
  });

  withDbFlags(
    commits
      .command('cleanup')
      .description('return stale in_progress/benchmark_complete pairs to waiting: owner task finished or gone, or no owner and old')
      .option('--older-than <seconds>', 'ownerless pairs are stale after this long (default EVENTIX_COMMITS_STALE_SECONDS)')
      .option('--repo <path>', 'only this repository')
      .option('--config-file <file>', 'only this config')
      .option('--architecture <arch>', 'only this architecture'),
  ).action(async (f: DbFlags & { olderThan?: string; repo?: string; configFile?: string; architecture?: string }) => {
    await run(f, async (database, config) => {
      const r = await cleanupCommits(database.pool, {
        olderThanSeconds: nonNegative('--older-than', f.olderThan, config.commits.staleSeconds),
        repo: f.repo === undefined ? undefined : repoKey(f.repo),
        config: await configFrom(f.configFile),
        architecture: f.architecture,
      });
      if (f.json) return void printJson(r);
      process.stdout.write(`Cleaned up ${r.reset} stale pairs (${r.deleted} back to waiting, ${r.failed} back to failed)\n`);
    });
  });

  withDbFlags(
    commits
      .command('determine')
      .description('print the commits of a branch that still need a benchmark, newest first, space-separated')
      .requiredOption('--repo <path>', 'git repository')
      .option('--branch <ref>', 'branch or ref to walk', 'unstable')
      .option('--max-commits <n>', 'at most this many commits', '3')
      .option('--config-file <file>', 'the benchmark config (JSON); without it, complete under any config counts as done')
      .option('--disable-subset-detection', 'do not skip commits complete under a config that covers this one')
      .option('--first-parent', 'walk only the first parent of merges')
      .option('--since <date>', 'only commits with a later committer date (ISO 8601)')
      .addOption(
        new Option('--strategy <name>', 'newest: the newest; spread: evenly over all eligible')
          .choices(DETERMINE_STRATEGIES)
          .default('newest'),
      )
      .option('--architecture <arch>', 'architecture (absent: none)'),
  ).action(
    async (
      f: DbFlags & {
        repo: string;
        branch: string;
        maxCommits: string;
        configFile?: string;
        disableSubsetDetection?: boolean;
        firstParent?: boolean;
        since?: string;
        strategy: DetermineStrategy;
        architecture?: string;
      },
    ) => {
      await run(f, async (database, config) => {
        const since = f.since === undefined ? undefined : new Date(f.since);
        if (since && Number.isNaN(since.getTime())) throw new ValidationError([{ field: '--since', message: 'must be an ISO 8601 date' }]);
        await assertRepository(f.repo, '--repo');
        const r = await determineCommits(database.pool, {
          repo: repoKey(f.repo),
          gitDir: f.repo,
          branch: f.branch,
          config: await configFrom(f.configFile),
          maxCommits: nonNegative('--max-commits', f.maxCommits, 3, 1),
          subsetDetection: !f.disableSubsetDetection,
          firstParent: f.firstParent,
          since,
          strategy: f.strategy,
          architecture: f.architecture,
          maxAttempts: config.commits.maxAttempts,
          staleSeconds: config.commits.staleSeconds,
        });
        if (f.json) {
          return void printJson({
            shas: r.shas,
            walked: r.walked,
            eligible: r.eligible,
            subset_skipped: r.subsetSkipped,
            superset_config_ids: r.supersetConfigIds,
          });
        }
        if (r.subsetSkipped > 0) {
          process.stderr.write(`Subset detection: skipped ${r.subsetSkipped} commits with existing superset configs\n`);
        }
        process.stdout.write(`${r.shas.join(' ')}\n`);
      });
    },
  );

  withDbFlags(
    commits
      .command('mark <shas...>')
      .description('set the status of commits (HEAD and other refs resolve to shas) for a config')
      .requiredOption('--repo <path>', 'git repository')
      .addOption(statusOption().makeOptionMandatory())
      .option('--config-file <file>', 'the benchmark config (JSON); without it, {} as in the seed')
      .option('--config-name <name>', 'a name for the config, if it has none')
      .option('--architecture <arch>', 'architecture (absent: none)')
      .option('--task-uid <uid>', 'the task that owns an in_progress pair')
      .option('--error <message>', 'why it failed (with --status failed)')
      .option('--claim', 'in_progress only: take only pairs never tried or failed fewer than EVENTIX_COMMITS_MAX_ATTEMPTS times'),
  ).action(
    async (
      shas: string[],
      f: DbFlags & {
        repo: string;
        status: CommitStatus;
        configFile?: string;
        configName?: string;
        architecture?: string;
        taskUid?: string;
        error?: string;
        claim?: boolean;
      },
    ) => {
      await run(f, async (database, config) => {
        await assertRepository(f.repo, '--repo');
        const r = await markCommits(database.pool, {
          repo: repoKey(f.repo),
          gitDir: f.repo,
          refs: shas,
          config: await configFrom(f.configFile),
          configName: f.configName,
          status: f.status,
          taskUid: f.taskUid,
          error: f.error,
          architecture: f.architecture,
          claim: f.claim,
          maxAttempts: config.commits.maxAttempts,
        });
        if (f.json) return void printJson(r);
        for (const m of r.marked) process.stdout.write(`Marked ${m.sha} as ${f.status}${m.ref === m.sha ? '' : ` (${m.ref})`}\n`);
        for (const s of r.skipped) process.stdout.write(`Not claimed ${s.sha}: already complete, running or out of attempts\n`);
      });
    },
  );

  withDbFlags(
    commits
      .command('requeue <sha>')
      .description('re-queue a failed pair: delete its row (attempts with it), so determine and sweeps offer it again')
      .requiredOption('--repo <path>', 'git repository (as stored; git is not run)')
      .option('--config-file <file>', 'the benchmark config (JSON); without it (and --config-id), {} as in the seed')
      .option('--config-id <id>', 'the config by id (query --list-configs), instead of --config-file')
      .option('--architecture <arch>', 'architecture (absent: none)'),
  ).action(async (sha: string, f: DbFlags & { repo: string; configFile?: string; configId?: string; architecture?: string }) => {
    await run(f, async (database) => {
      const configId = f.configId === undefined ? undefined : nonNegative('--config-id', f.configId, 0, 1);
      if (configId !== undefined && f.configFile !== undefined)
        throw new ValidationError([{ field: '--config-id', message: 'give --config-file or --config-id, not both' }]);
      const r = await requeueFailedPair(database.pool, {
        repo: repoKey(f.repo),
        sha,
        configId,
        config: await configFrom(f.configFile),
        architecture: f.architecture,
      });
      if (f.json) return void printJson(r);
      process.stdout.write(`Re-queued ${r.sha} under config ${r.config_id} (it had failed ${r.attempts}×): waiting again\n`);
    });
  });

  withDbFlags(
    commits
      .command('query')
      .description('list commit status, newest commit first; or, with --list-configs, every config')
      .option('--repo <path>', 'only this repository')
      .option('--config-file <file>', 'only this config')
      .addOption(statusOption())
      .option('--sha <sha>', 'only this sha (or prefix)')
      .option('--architecture <arch>', 'only this architecture')
      .option('--list-configs', 'list the configs instead'),
  ).action(
    async (
      f: DbFlags & {
        repo?: string;
        configFile?: string;
        status?: CommitStatus;
        sha?: string;
        architecture?: string;
        listConfigs?: boolean;
      },
    ) => {
      await run(f, async (database) => {
        if (f.listConfigs) {
          const configs = await listConfigs(database.pool);
          if (f.json) return void printJson({ configs });
          process.stdout.write(`Unique configs used: ${configs.length}\n`);
          for (const c of configs) {
            process.stdout.write(
              `  Config ${c.id}${c.name ? ` (${c.name})` : ''}: ${c.hash.slice(0, 12)} ${c.pairs} pairs ${JSON.stringify(c.config)}\n`,
            );
          }
          return;
        }
        const config = await configFrom(f.configFile);
        const filter: CommitFilter = {
          repo: f.repo === undefined ? undefined : repoKey(f.repo),
          configHash: config === undefined ? undefined : canonicalConfig(config, '--config-file').hash,
          statuses: f.status ? [f.status] : undefined,
          sha: f.sha,
          architecture: f.architecture,
        };
        const all = [];
        let cursor: string | undefined;
        do {
          const page = await queryCommits(database.pool, { ...filter, limit: 500, cursor });
          all.push(...page.commits);
          cursor = page.nextCursor ?? undefined;
        } while (cursor);
        if (f.json) return void printJson({ commits: all });
        for (const c of all) {
          process.stdout.write(
            `${c.sha} ${c.status.padEnd(18)} ${c.committed_at ?? '-'} config ${c.config_id}${c.architecture ? ` ${c.architecture}` : ''}${c.status === 'failed' ? ` attempts ${c.attempts}` : ''}\n`,
          );
        }
        process.stdout.write(`${config === undefined ? 'All commits' : 'Commits with this config'}: ${all.length}\n`);
      });
    },
  );

  withDbFlags(
    commits
      .command('stats')
      .description('totals, unique commits and configs, counts by status')
      .option('--repo <path>', 'only this repository'),
  ).action(async (f: DbFlags & { repo?: string }) => {
    await run(f, async (database) => {
      const s = await commitStats(database.pool, { repo: f.repo === undefined ? undefined : repoKey(f.repo) });
      if (f.json) return void printJson(s);
      process.stdout.write(
        `Total entries: ${s.total}\nUnique commits: ${s.unique_commits}\nUnique configs: ${s.unique_configs}\nBy status:\n`,
      );
      for (const [status, n] of Object.entries(s.by_status)) process.stdout.write(`  ${status}: ${n}\n`);
    });
  });

  withDbFlags(
    commits
      .command('export')
      .description('write commit status as a JSON array of {sha, timestamp, status, config}, newest first')
      .option('--output <file>', 'write here (default: stdout)')
      .option('--repo <path>', 'only this repository')
      .option('--config-file <file>', 'only this config')
      .addOption(statusOption())
      .option('--architecture <arch>', 'only this architecture'),
  ).action(async (f: DbFlags & { output?: string; repo?: string; configFile?: string; status?: CommitStatus; architecture?: string }) => {
    await run(f, async (database) => {
      const config = await configFrom(f.configFile);
      const records = await exportCommits(database.pool, {
        repo: f.repo === undefined ? undefined : repoKey(f.repo),
        configHash: config === undefined ? undefined : canonicalConfig(config, '--config-file').hash,
        statuses: f.status ? [f.status] : undefined,
        architecture: f.architecture,
      });
      const text = `${JSON.stringify(records, null, 2)}\n`;
      if (f.output === undefined || f.output === '-') {
        process.stdout.write(f.json ? `${JSON.stringify(records)}\n` : text);
        return;
      }
      await writeFile(f.output, text);
      if (f.json) return void printJson({ exported: records.length, output: f.output });
      process.stdout.write(`Exported ${records.length} entries to ${f.output}\n`);
    });
  });

  withDbFlags(
    commits
      .command('import <file>')
      .description('import an export, or a legacy completed_commits.json (with --config-file); all or nothing, never overwriting')
      .option('--config-file <file>', 'the config of records that name none (legacy completed_commits.json)')
      .option('--repo <path>', 'the repository of records that name none')
      .option('--architecture <arch>', 'the architecture of records that name none')
      .option('--dry-run', 'validate and count; change nothing')
      .option('--skip-invalid', 'import the valid records even if some are invalid'),
  ).action(
    async (
      file: string,
      f: DbFlags & { configFile?: string; repo?: string; architecture?: string; dryRun?: boolean; skipInvalid?: boolean },
    ) => {
      await run(f, async (database) => {
        const records = await readJsonInput(file, '<file>', { unreadable: 'bare' });
        if (!Array.isArray(records)) throw new ValidationError([{ field: '<file>', message: 'must hold a JSON array of records' }]);
        const r = await importCommits(database.pool, records, {
          config: await configFrom(f.configFile),
          repo: f.repo === undefined ? undefined : repoKey(f.repo),
          architecture: f.architecture,
          dryRun: f.dryRun,
          skipInvalid: f.skipInvalid,
        });
        const refused = r.invalid > 0 && !f.skipInvalid;
        if (f.json) printJson(r);
        else {
          for (const e of r.errors) process.stderr.write(`record ${e.index}: ${e.field}: ${e.message}\n`);
          process.stdout.write(
            `${r.dry_run ? 'Would import' : 'Imported'} ${r.imported}, skipped ${r.skipped} ` +
              `(exists ${r.skipped_reasons.exists}, duplicate ${r.skipped_reasons.duplicate}, transient ${r.skipped_reasons.transient}), ` +
              `invalid ${r.invalid} of ${r.total}${refused ? ': nothing imported' : ''}\n`,
          );
        }
        if (refused) process.exitCode = 1;
      });
    },
  );
}
