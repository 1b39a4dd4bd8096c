import type { Command } from 'commander';
import type { z } from 'zod';
import {
  type ScheduleJson,
  scheduleCreateBody,
  scheduleToJson,
  scheduleUpdateBody,
  toScheduleInput,
  toSchedulePatch,
} from '../../api/schedule-schemas.ts';
import { taskToJson } from '../../api/serialize.ts';
import { connect } from '../../db/connect.ts';
import { ValidationError } from '../../errors.ts';
import { coerceError } from '../../logger.ts';
import {
  createSchedule,
  getSchedule,
  listSchedules,
  pauseSchedule,
  removeSchedule,
  resumeSchedule,
  updateSchedule,
} from '../../scheduler/manage.ts';
import { runSchedule } from '../../scheduler/run-now.ts';
import type { Schedule } from '../../scheduler/schedule-input.ts';
import { issuesOf } from '../../validation/zod.ts';
import { EXIT, loadRuntime } from '../runtime.ts';

/**
 * `eventix schedules …`: the API's schedule operations, run directly on the database. Flags build
 * the same wire object the API validates, so errors name the same fields (`cron`, `timezone`,
 * `options.max_retries`). --json prints what the API would answer.
 */

interface DefinitionFlags {
  cron?: string;
  timezone?: string;
  task?: string;
  namespace?: string;
  args?: string;
  kwargs?: string;
  priority?: string;
  options?: string;
  misfire?: string;
  overlap?: string;
  enabled?: string;
  json?: boolean;
}

class UsageError extends Error {}

function parseJsonFlag(flag: string, value: string | undefined): unknown {
  if (value === undefined) return undefined;
  try {
    return JSON.parse(value);
  } catch (err) {
    throw new UsageError(`--${flag}: malformed JSON: ${coerceError(err).message}`);
  }
}

/** true/false, or the text as given so that validation names the field. */
const bool = (v: string | undefined) => (v === 'true' ? true : v === 'false' ? false : v);
const num = (v: string | undefined) => (v === undefined || Number.isNaN(Number(v)) ? v : Number(v));

function definitionOf(f: DefinitionFlags): Record<string, unknown> {
  const raw: Record<string, unknown> = {
    cron: f.cron,
    timezone: f.timezone,
    task: f.task,
    namespace: f.namespace,
    args: parseJsonFlag('args', f.args),
    kwargs: parseJsonFlag('kwargs', f.kwargs),
    priority: num(f.priority),
    options: parseJsonFlag('options', f.options),
    misfire: f.misfire,
    overlap: bool(f.overlap),
    enabled: bool(f.enabled),
  };
  return Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined));
}

function validate<S extends z.ZodType>(schema: S, raw: unknown): z.infer<S> {
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new ValidationError(issuesOf(parsed.error));
  return parsed.data;
}

function show(s: Schedule): string {
  const j = scheduleToJson(s);
  return [
    `${j.name}  ${j.enabled ? 'enabled' : 'paused'}`,
    `  cron      ${j.cron} (${j.timezone})`,
    `  task      ${j.task} in ${j.namespace}, priority ${j.priority}`,
    `  misfire   ${j.misfire}, overlap ${j.overlap}`,
    `  next      ${j.next_fire_at ?? '-'}`,
    `  last      ${j.last_fired_at ?? '-'}`,
  ].join('\n');
}

function print(json: boolean | undefined, value: unknown, human: string): void {
  process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${human}\n`);
}

/** Connect, run, close; map failures to a message and exit code 1. */
async function withDatabase(fn: (pool: import('pg').Pool) => Promise<void>): Promise<void> {
  const { config, logger } = loadRuntime();
  let conn: Awaited<ReturnType<typeof connect>> | undefined;
  let code: number = EXIT.ok;
  try {
    conn = await connect(config, logger);
    await fn(conn.database.pool);
  } catch (err) {
    const message =
      err instanceof ValidationError
        ? `invalid schedule: ${err.issues.map((i) => `${i.field}: ${i.message}`).join('; ')}`
        : coerceError(err).message;
    process.stderr.write(`eventix: ${message}\n`);
    code = EXIT.failure;
  } finally {
    await conn?.close();
  }
  process.exit(code);
}

const definitionOptions = (cmd: Command, required: boolean) =>
  cmd
    .option('--cron <expr>', `cron expression, 5 fields or 6 with seconds first${required ? ' (required)' : ''}`)
    .option('--task <name>', `task to submit${required ? ' (required)' : ''}`)
    .option('--timezone <zone>', 'IANA time zone (default UTC)')
    .option('--namespace <name>', 'namespace of the tasks (default "default")')
    .option('--args <json>', 'positional arguments, a JSON array')
    .option('--kwargs <json>', 'keyword arguments, a JSON object')
    .option('--priority <n>', 'task priority, higher first')
    .option('--options <json>', 'retry and result options, e.g. {"max_retries": 3, "timeout_seconds": 600}')
    .option('--misfire <policy>', 'skip (default), all or none')
    .option('--overlap <bool>', 'false: skip a fire while the previous task still waits or runs')
    .option('--enabled <bool>', 'false: paused')
    .option('--json', 'print JSON');

export function registerSchedules(program: Command): void {
  const schedules = program.command('schedules').description('manage cron schedules (directly in the database)');

  schedules
    .command('list')
    .description('list schedules by name')
    .option('--namespace <name>', 'only this namespace')
    .option('--json', 'print JSON')
    .action((opts: { namespace?: string; json?: boolean }) =>
      withDatabase(async (pool) => {
        const all: ScheduleJson[] = [];
        let cursor: string | undefined;
        do {
          const page = await listSchedules(pool, { namespace: opts.namespace, limit: 500, cursor });
          all.push(...page.schedules.map(scheduleToJson));
          cursor = page.nextCursor ?? undefined;
        } while (cursor);
        const human = all.length
          ? all
              .map(
                (s) => `${s.name}\t${s.enabled ? 'enabled' : 'paused'}\t${s.cron}\t${s.timezone}\t${s.task}\tnext ${s.next_fire_at ?? '-'}`,
              )
              .join('\n')
          : 'no schedules';
        print(opts.json, { schedules: all }, human);
      }),
    );

  schedules
    .command('get <name>')
    .description('show one schedule')
    .option('--json', 'print JSON')
    .action((name: string, opts: { json?: boolean }) =>
      withDatabase(async (pool) => {
        const s = await getSchedule(pool, name);
        print(opts.json, scheduleToJson(s), show(s));
      }),
    );

  definitionOptions(schedules.command('create <name>').description('create a schedule'), true).action(
    (name: string, opts: DefinitionFlags) =>
      withDatabase(async (pool) => {
        const body = validate(scheduleCreateBody, { name, ...definitionOf(opts) });
        const s = await createSchedule(pool, toScheduleInput(body));
        print(opts.json, scheduleToJson(s), `created\n${show(s)}`);
      }),
  );

  definitionOptions(schedules.command('update <name>').description('change some fields of a schedule'), false).action(
    (name: string, opts: DefinitionFlags) =>
      withDatabase(async (pool) => {
        const body = validate(scheduleUpdateBody, definitionOf(opts));
        const s = await updateSchedule(pool, name, toSchedulePatch(body));
        print(opts.json, scheduleToJson(s), `updated\n${show(s)}`);
      }),
  );

  schedules
    .command('delete <name>')
    .description('delete a schedule and its fire history (its tasks stay)')
    .option('--json', 'print JSON')
    .action((name: string, opts: { json?: boolean }) =>
      withDatabase(async (pool) => {
        await removeSchedule(pool, name);
        print(opts.json, { deleted: name }, `deleted ${name}`);
      }),
    );

  for (const [verb, fn, description] of [
    ['pause', pauseSchedule, 'pause a schedule'],
    ['resume', resumeSchedule, 'resume a schedule from now on (times missed while paused are not fired)'],
  ] as const) {
    schedules
      .command(`${verb} <name>`)
      .description(description)
      .option('--json', 'print JSON')
      .action((name: string, opts: { json?: boolean }) =>
        withDatabase(async (pool) => {
          const s = await fn(pool, name);
          print(opts.json, scheduleToJson(s), `${verb}d\n${show(s)}`);
        }),
      );
  }

  schedules
    .command('run <name>')
    .description('fire a schedule once now, whatever its cron, overlap setting or pause')
    .option('--json', 'print JSON')
    .action((name: string, opts: { json?: boolean }) =>
      withDatabase(async (pool) => {
        const fire = await runSchedule(pool, name);
        print(
          opts.json,
          { fire_at: fire.fireAt.toISOString(), task: taskToJson(fire.task) },
          `fired ${name} at ${fire.fireAt.toISOString()}: task ${fire.task.uid}`,
        );
      }),
    );
}
