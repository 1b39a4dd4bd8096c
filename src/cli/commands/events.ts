import type { Command } from 'commander';
import { eventListQuery, eventToJson, publishResultToJson } from '../../api/event-schemas.ts';
import { ValidationError } from '../../errors.ts';
import { listEvents } from '../../events/events.ts';
import { publishEvent } from '../../events/publish.ts';
import { issuesOf } from '../../validation/zod.ts';
import { parseJsonInput, readTextInput } from '../read-input.ts';
import { printJson, withDatabase } from '../with-database.ts';

interface PublishFlags {
  namespace?: string;
  payload?: string;
  payloadFile?: string;
  priority?: string;
  operator?: string;
  json?: boolean;
}

interface ListFlags {
  name?: string;
  namespace?: string;
  since?: string;
  limit?: string;
  cursor?: string;
  json?: boolean;
}

/** The same integer rule as the API: "1.5" or "x" is refused, never truncated. */
const integer = (v: string | undefined) => (v === undefined ? undefined : /^-?\d+$/.test(v) ? Number(v) : Number.NaN);

export function registerEvents(program: Command): void {
  const events = program.command('events').description('publish and list events (directly on the database)');

  events
    .command('publish <name>')
    .description("store an event and submit its triggers' tasks, atomically (code triggers run only in the API process)")
    .option('--namespace <namespace>', "event namespace, also the tasks' default (default: default)")
    .option('--payload <json>', 'payload, a JSON object (default {})')
    .option('--payload-file <file>', 'read the payload from a JSON file (- for stdin)')
    .option('--priority <n>', "event priority, also the tasks' default (default 0)")
    .option('--operator <name>', 'who published it')
    .option('--json', 'print the event and its tasks as JSON, as POST /events answers')
    .action(async (name: string, opts: PublishFlags) => {
      await withDatabase(async (database) => {
        if (opts.payload !== undefined && opts.payloadFile !== undefined) {
          throw new ValidationError([{ field: 'payload', message: 'give --payload or --payload-file, not both' }]);
        }
        let payload: unknown;
        if (opts.payload !== undefined) payload = parseJsonInput(opts.payload, 'payload');
        if (opts.payloadFile !== undefined) {
          payload = parseJsonInput(await readTextInput(opts.payloadFile), 'payload');
        }
        const result = await publishEvent(database.pool, {
          name,
          namespace: opts.namespace,
          payload: payload as Record<string, unknown> | undefined,
          priority: integer(opts.priority),
          operator: opts.operator,
        });
        if (opts.json) return void printJson(publishResultToJson(result));
        const e = result.event;
        process.stdout.write(`event ${e.uid} '${e.name}' (${e.namespace}) stored; ${result.tasks.length} task(s)\n`);
        for (const t of result.tasks) {
          process.stdout.write(
            `  ${t.trigger} -> ${t.task.uid} ${t.task.task} (${t.created ? 'created' : 'merged into a waiting task'})\n`,
          );
        }
      });
    });

  events
    .command('list')
    .description('list events, newest first')
    .option('--name <name>', 'only events of this name')
    .option('--namespace <namespace>', 'only events of this namespace')
    .option('--since <date-time>', 'only events created at or after this ISO 8601 instant')
    .option('--limit <n>', 'page size, 1-500 (default 50)')
    .option('--cursor <cursor>', 'the next page, from a previous answer')
    .option('--json', 'print {events, next_cursor} as GET /events answers')
    .action(async (opts: ListFlags) => {
      await withDatabase(async (database) => {
        const { json, ...query } = opts;
        const q = eventListQuery.safeParse(Object.fromEntries(Object.entries(query).filter(([, v]) => v !== undefined)));
        if (!q.success) throw new ValidationError(issuesOf(q.error, '', '(options)'));
        const page = await listEvents(database.pool, q.data);
        if (json) return void printJson({ events: page.events.map(eventToJson), next_cursor: page.nextCursor });
        for (const e of page.events) {
          process.stdout.write(
            `${e.createdAt.toISOString()}  ${e.uid}  ${e.name}  ${e.namespace}  ${JSON.stringify(e.payload).slice(0, 120)}\n`,
          );
        }
        if (page.nextCursor) process.stdout.write(`more: --cursor ${page.nextCursor}\n`);
      });
    });
}
