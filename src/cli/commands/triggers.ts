import type { Command } from 'commander';
import { toTriggerInput, triggerPutBody, triggerToJson } from '../../api/event-schemas.ts';
import { ValidationError } from '../../errors.ts';
import { deleteTrigger, getTrigger, listTriggers, putTrigger } from '../../events/triggers.ts';
import { issuesOf } from '../../validation/zod.ts';
import { parseJsonInput, readTextInput } from '../read-input.ts';
import { printJson, withDatabase } from '../with-database.ts';

/** A trigger document: an unreadable file fails as the system reports it, malformed JSON on `(file)`. */
async function readDocument(file: string): Promise<unknown> {
  return parseJsonInput(await readTextInput(file), '(file)');
}

export function registerTriggers(program: Command): void {
  const triggers = program.command('triggers').description('manage event triggers (directly on the database)');

  triggers
    .command('list')
    .description('list triggers by name')
    .option('--event-name <name>', 'only triggers of this event name')
    .option('--json', 'print {triggers} as GET /triggers answers')
    .action(async (opts: { eventName?: string; json?: boolean }) => {
      await withDatabase(async (database) => {
        const list = await listTriggers(database.pool, { eventName: opts.eventName });
        if (opts.json) return void printJson({ triggers: list.map(triggerToJson) });
        for (const t of list) {
          process.stdout.write(
            `${t.name}  on ${t.eventName}${t.namespace === null ? '' : ` in ${t.namespace}`}  -> ${JSON.stringify(t.template.task)}  ` +
              `${t.enabled ? 'enabled' : 'disabled'}  revision ${t.revision}\n`,
          );
        }
      });
    });

  triggers
    .command('get <name>')
    .description('show one trigger')
    .option('--json', 'print it on one line, as GET /triggers/{name} answers')
    .action(async (name: string, opts: { json?: boolean }) => {
      await withDatabase(async (database) => {
        const t = triggerToJson(await getTrigger(database.pool, name));
        process.stdout.write(opts.json ? `${JSON.stringify(t)}\n` : `${JSON.stringify(t, null, 2)}\n`);
      });
    });

  triggers
    .command('put <file>')
    .description('create or replace a trigger from a JSON file (- for stdin) in the PUT /triggers/{name} format')
    .option('--name <name>', 'the trigger name, if the file has none (or to check it)')
    .option('--json', 'print {created, trigger}')
    .action(async (file: string, opts: { name?: string; json?: boolean }) => {
      await withDatabase(async (database) => {
        const parsed = triggerPutBody.safeParse(await readDocument(file));
        if (!parsed.success) throw new ValidationError(issuesOf(parsed.error, '', '(file)'));
        const name = opts.name ?? parsed.data.name;
        if (name === undefined) throw new ValidationError([{ field: 'name', message: 'give the name in the file or with --name' }]);
        if (parsed.data.name !== undefined && parsed.data.name !== name) {
          throw new ValidationError([{ field: 'name', message: `the file says '${parsed.data.name}', --name says '${name}'` }]);
        }
        const { trigger, created } = await putTrigger(database.pool, toTriggerInput(name, parsed.data));
        if (opts.json) return void printJson({ created, trigger: triggerToJson(trigger) });
        process.stdout.write(`trigger '${trigger.name}' ${created ? 'created' : 'replaced'} (revision ${trigger.revision})\n`);
      });
    });

  triggers
    .command('delete <name>')
    .description('delete a trigger')
    .option('--json', 'print {deleted: name}')
    .action(async (name: string, opts: { json?: boolean }) => {
      await withDatabase(async (database) => {
        await deleteTrigger(database.pool, name);
        if (opts.json) return void printJson({ deleted: name });
        process.stdout.write(`trigger '${name}' deleted\n`);
      });
    });
}
