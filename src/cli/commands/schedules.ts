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
import type { EventixClient } from '../../client/client.ts';
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
import { issuesOf } from '../../validation/zod.ts';
import { parseJsonFlag } from '../flags.ts';
import { EXIT, loadRuntime } from '../runtime.ts';
import { httpAction, remoteOptions } from './tasks.ts';

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

function show(j: ScheduleJson): string {
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
  const { config, logger } = loadRuntime({}, { admin: true });
  let conn: Awaited<ReturnType<typeof connect>> | undefined;
  let code: number = EXIT.ok;
  try {
    conn = await connect(config, logger, { joinRunning: true });
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

/**
 * What each subcommand does, in the API's JSON shapes: on the database directly (the default), or
 * through the HTTP API of a running server when `--url` or EVENTIX_URL names one (its tokens and
 * scopes then apply). The flags are validated here either way, so errors name the same fields.
 */
interface ScheduleOps {
  list(namespace: string | undefined): Promise<ScheduleJson[]>;
  get(name: string): Promise<ScheduleJson>;
  create(body: z.infer<typeof scheduleCreateBody>): Promise<ScheduleJson>;
  update(name: string, patch: z.infer<typeof scheduleUpdateBody>): Promise<ScheduleJson>;
  delete(name: string): Promise<void>;
  pause(name: string): Promise<ScheduleJson>;
  resume(name: string): Promise<ScheduleJson>;
  run(name: string): Promise<{ fire_at: string; task: unknown }>;
}

function databaseOps(pool: import('pg').Pool): ScheduleOps {
  return {
    async list(namespace) {
      const all: ScheduleJson[] = [];
      let cursor: string | undefined;
      do {
        const page = await listSchedules(pool, { namespace, limit: 500, cursor });
        all.push(...page.schedules.map(scheduleToJson));
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      return all;
    },
    get: async (name) => scheduleToJson(await getSchedule(pool, name)),
    create: async (body) => scheduleToJson(await createSchedule(pool, toScheduleInput(body))),
    update: async (name, patch) => scheduleToJson(await updateSchedule(pool, name, toSchedulePatch(patch))),
    delete: (name) => removeSchedule(pool, name),
    pause: async (name) => scheduleToJson(await pauseSchedule(pool, name)),
    resume: async (name) => scheduleToJson(await resumeSchedule(pool, name)),
    async run(name) {
      const fire = await runSchedule(pool, name);
      return { fire_at: fire.fireAt.toISOString(), task: taskToJson(fire.task) };
    },
  };
}

function httpOps(client: EventixClient): ScheduleOps {
  const api = client.schedules;
  return {
    async list(namespace) {
      const all: ScheduleJson[] = [];
      for await (const s of api.iterate({ namespace, limit: 500 })) all.push(s);
      return all;
    },
    get: (name) => api.get(name),
    create: (body) => api.create(body),
    update: (name, patch) => api.update(name, patch),
    delete: (name) => api.delete(name),
    pause: (name) => api.pause(name),
    resume: (name) => api.resume(name),
    run: (name) => api.run(name),
  };
}

interface Remote {
  url?: string;
  token?: string;
}

/** Run one subcommand on the database or over HTTP (see ScheduleOps); a failure exits non-zero. */
async function withOps(remote: Remote, fn: (ops: ScheduleOps) => Promise<void>): Promise<void> {
  if (remote.url === undefined && !process.env.EVENTIX_URL) return withDatabase((pool) => fn(databaseOps(pool)));
  await httpAction(remote, async (client) => fn(httpOps(client)));
}

const definitionOptions = (cmd: Command, required: boolean) =>
  remoteOptions(cmd)
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
  const schedules = program
    .command('schedules')
    .description('manage cron schedules (in the database, or through a running server with --url)');

  remoteOptions(schedules.command('list'))
    .description('list schedules by name')
    .option('--namespace <name>', 'only this namespace')
    .option('--json', 'print JSON')
    .action((opts: Remote & { namespace?: string; json?: boolean }) =>
      withOps(opts, async (ops) => {
        const all = await ops.list(opts.namespace);
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

  remoteOptions(schedules.command('get <name>'))
    .description('show one schedule')
    .option('--json', 'print JSON')
    .action((name: string, opts: Remote & { json?: boolean }) =>
      withOps(opts, async (ops) => {
        const s = await ops.get(name);
        print(opts.json, s, show(s));
      }),
    );

  definitionOptions(schedules.command('create <name>').description('create a schedule'), true).action(
    (name: string, opts: Remote & DefinitionFlags) =>
      withOps(opts, async (ops) => {
        const s = await ops.create(validate(scheduleCreateBody, { name, ...definitionOf(opts) }));
        print(opts.json, s, `created\n${show(s)}`);
      }),
  );

  definitionOptions(schedules.command('update <name>').description('change some fields of a schedule'), false).action(
    (name: string, opts: Remote & DefinitionFlags) =>
      withOps(opts, async (ops) => {
        const s = await ops.update(name, validate(scheduleUpdateBody, definitionOf(opts)));
        print(opts.json, s, `updated\n${show(s)}`);
      }),
  );

  remoteOptions(schedules.command('delete <name>'))
    .description('delete a schedule and its fire history (its tasks stay)')
    .option('--json', 'print JSON')
    .action((name: string, opts: Remote & { json?: boolean }) =>
      withOps(opts, async (ops) => {
        await ops.delete(name);
        print(opts.json, { deleted: name }, `deleted ${name}`);
      }),
    );

  for (const [verb, description] of [
    ['pause', 'pause a schedule'],
    ['resume', 'resume a schedule from now on (times missed while paused are not fired)'],
  ] as const) {
    remoteOptions(schedules.command(`${verb} <name>`))
      .description(description)
      .option('--json', 'print JSON')
      .action((name: string, opts: Remote & { json?: boolean }) =>
        withOps(opts, async (ops) => {
          const s = await ops[verb](name);
          print(opts.json, s, `${verb}d\n${show(s)}`);
        }),
      );
  }

  remoteOptions(schedules.command('run <name>'))
    .description('fire a schedule once now, whatever its cron, overlap setting or pause')
    .option('--json', 'print JSON')
    .action((name: string, opts: Remote & { json?: boolean }) =>
      withOps(opts, async (ops) => {
        const fire = await ops.run(name);
        print(opts.json, fire, `fired ${name} at ${fire.fire_at}: task ${(fire.task as { uid: string }).uid}`);
      }),
    );
}
