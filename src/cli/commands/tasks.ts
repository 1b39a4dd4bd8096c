import type { Command } from 'commander';
import { EventixApiError, EventixClient, type ListFilters, type SubmitRequest, type TaskJson } from '../../client/client.ts';
import { ValidationError } from '../../errors.ts';
import { coerceError } from '../../logger.ts';
import { parseIntegerFlag, parseJsonFlag, UsageError } from '../flags.ts';
import { onShutdownSignals } from '../signals.ts';

/**
 * `eventix tasks …`: tasks through the HTTP API of a running server, so it works against any
 * deployment the user can reach, with the server's own validation and scopes. Human output by
 * default, `--json` for scripts.
 */

/** Exit codes of `eventix tasks` (README, "CLI"). */
export const TASKS_EXIT = { ok: 0, failure: 1, badInput: 2, notFound: 3 } as const;

interface Common {
  url?: string;
  token?: string;
  json?: boolean;
}

/** --url, else EVENTIX_URL, else the local server `eventix start` runs (EVENTIX_PORT, default 8080). */
export function defaultUrl(env: NodeJS.ProcessEnv = process.env): string {
  return env.EVENTIX_URL || `http://127.0.0.1:${env.EVENTIX_PORT || 8080}`;
}

function clientOf(o: Common): EventixClient {
  try {
    return new EventixClient({ baseUrl: o.url ?? defaultUrl(), token: o.token ?? process.env.EVENTIX_TOKEN });
  } catch (err) {
    throw new UsageError(`--url: ${coerceError(err).message.replace(/^EventixClient: /, '')}`);
  }
}

/** Print the failure as one line and set the exit code; never a stack trace for an expected error. */
function report(err: unknown, url: string): void {
  if (err instanceof UsageError) {
    process.stderr.write(`eventix: ${err.message}\n`);
    process.exitCode = TASKS_EXIT.badInput;
  } else if (err instanceof ValidationError) {
    // Checked here before sending (eventix schedules validates its flags as the API would).
    process.stderr.write(`eventix: invalid input: ${err.issues.map((i) => `${i.field}: ${i.message}`).join('; ')}\n`);
    process.exitCode = TASKS_EXIT.badInput;
  } else if (err instanceof EventixApiError) {
    const fields = err.problem.errors?.map((e) => `${e.field}: ${e.message}`).join('; ');
    // The detail of a 400 already names the fields; a bare problem (a proxy's) has only its errors, if any.
    const what = err.problem.detail ?? fields;
    process.stderr.write(`eventix: ${err.status} ${err.problem.title}${what ? `: ${what}` : ''}\n`);
    process.exitCode = err.status === 404 ? TASKS_EXIT.notFound : err.status === 400 ? TASKS_EXIT.badInput : TASKS_EXIT.failure;
  } else {
    const e = coerceError(err);
    const cause = (e as { cause?: unknown }).cause;
    const why = cause instanceof Error ? `${e.message}: ${cause.message}` : e.message;
    process.stderr.write(`eventix: cannot reach ${url}: ${why}\n`);
    process.exitCode = TASKS_EXIT.failure;
  }
}

function action<A extends unknown[]>(fn: (...args: [...A, Common]) => Promise<void>) {
  return async (...args: unknown[]) => {
    // commander passes the positional arguments, then the options, then the command.
    const opts = args[args.length - 2] as Common;
    try {
      await fn(...(args.slice(0, -2) as A), opts);
    } catch (err) {
      report(err, opts.url ?? defaultUrl());
    }
  };
}

const out = (text: string): void => {
  process.stdout.write(`${text}\n`);
};
const json = (value: unknown): void => out(JSON.stringify(value, null, 2));

/** Columns padded to their widest cell; the last column is not padded. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

const when = (iso: string | null | undefined) => (iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '-');

function listRows(tasks: TaskJson[]): string[][] {
  return tasks.map((t) => [
    t.uid,
    t.status,
    t.namespace,
    t.task,
    String(t.attempts),
    when(t.created_at),
    t.error?.message?.split('\n')[0] ?? '',
  ]);
}

function describe(t: TaskJson): string {
  const lines = [
    `${t.uid}  ${t.status}`,
    `  task        ${t.task} in ${t.namespace}, priority ${t.priority}`,
    `  args        ${JSON.stringify(t.args)}  kwargs ${JSON.stringify(t.kwargs)}`,
    `  eta         ${when(t.eta)}`,
    `  attempts    ${t.attempts}${t.max_retries === null ? ' (retries unlimited)' : ` of ${t.max_retries + 1}`}`,
    `  created     ${when(t.created_at)}   updated ${when(t.updated_at)}`,
  ];
  if (t.unique_key) lines.push(`  unique key  ${t.unique_key}`);
  if (t.worker_id) lines.push(`  worker      ${t.worker_id}${t.lease_expires_at ? `, lease until ${when(t.lease_expires_at)}` : ''}`);
  if (t.started_at) lines.push(`  started     ${when(t.started_at)}`);
  if (t.finished_at) lines.push(`  finished    ${when(t.finished_at)}`);
  if (t.result !== null && t.result !== undefined) lines.push(`  result      ${JSON.stringify(t.result)}`);
  if (t.error) lines.push(`  error       ${t.error.class}: ${t.error.message}`);
  for (const e of t.attempt_errors ?? []) {
    lines.push(
      `  attempt ${String(e.attempt).padEnd(3)} ${when(e.failed_at)}  ${e.worker_id ?? '-'}  ${e.error.class}: ${e.error.message.split('\n')[0]}`,
    );
  }
  return lines.join('\n');
}

/** --url and --token, for every command that talks to a running server. */
export const remoteOptions = (cmd: Command) =>
  cmd
    .option('--url <url>', 'the Eventix server (default EVENTIX_URL, else http://127.0.0.1:$EVENTIX_PORT or 8080)')
    .option('--token <token>', 'an API token (default EVENTIX_TOKEN)');

const withCommon = (cmd: Command) => remoteOptions(cmd).option('--json', 'print the API answer as JSON');

/** Run `fn` with a client for --url/--token; a failure is one line on stderr and the exit codes above. */
export async function httpAction(o: Common, fn: (client: EventixClient) => Promise<void>): Promise<void> {
  try {
    await fn(clientOf(o));
  } catch (err) {
    report(err, o.url ?? defaultUrl());
  }
}

export function registerTasks(program: Command): void {
  const tasks = program
    .command('tasks')
    .description('list, show, submit, cancel, reschedule, delete and retry tasks through the HTTP API of a running server');

  withCommon(tasks.command('list'))
    .description('tasks, newest first (one page; --all for every match)')
    .option('--namespace <ns>', 'only this namespace')
    .option('--status <list>', 'comma-separated statuses: scheduled, processing, done, error, retry, cancelled')
    .option('--task <name>', 'only this task name')
    .option('--limit <n>', 'page size, 1-500 (default 50)')
    .option('--all', 'every matching task, across pages')
    .action(
      action(async (o: Common & { namespace?: string; status?: string; task?: string; limit?: string; all?: boolean }) => {
        const client = clientOf(o);
        const filters: ListFilters = {
          namespace: o.namespace,
          task: o.task,
          status: o.status?.split(',').map((s) => s.trim()) as ListFilters['status'],
          limit: parseIntegerFlag('limit', o.limit) ?? 50,
        };
        const found = o.all ? await client.listAll(filters) : (await client.list(filters)).tasks;
        if (o.json) return json(found);
        if (!found.length) return out('no tasks');
        out(table(['UID', 'STATUS', 'NAMESPACE', 'TASK', 'ATTEMPTS', 'CREATED', 'ERROR'], listRows(found)));
      }),
    );

  withCommon(tasks.command('show <uid>'))
    .description('one task, with its error and every failed attempt')
    .action(
      action(async (uid: string, o: Common) => {
        const t = await clientOf(o).get(uid);
        o.json ? json(t) : out(describe(t));
      }),
    );

  withCommon(tasks.command('submit <task>'))
    .description('submit a task')
    .option('--namespace <ns>', 'namespace (default "default")')
    .option('--args <json>', 'positional arguments, a JSON array')
    .option('--kwargs <json>', 'keyword arguments, a JSON object')
    .option('--priority <n>', 'higher runs first')
    .option('--eta <time>', 'not before this ISO 8601 time')
    .option('--unique-key <key>', 'merge into a waiting task with this key')
    .option('--max-retries <n>', 'retries after the first attempt')
    .action(
      action(
        async (
          task: string,
          o: Common & {
            namespace?: string;
            args?: string;
            kwargs?: string;
            priority?: string;
            eta?: string;
            uniqueKey?: string;
            maxRetries?: string;
          },
        ) => {
          const body: Record<string, unknown> = {
            task,
            namespace: o.namespace,
            args: parseJsonFlag('args', o.args),
            kwargs: parseJsonFlag('kwargs', o.kwargs),
            priority: parseIntegerFlag('priority', o.priority),
            eta: o.eta,
            unique_key: o.uniqueKey,
            max_retries: parseIntegerFlag('max-retries', o.maxRetries),
          };
          // The server validates: its 400 names the field (`args`, `eta`), as for any API client.
          const r = await clientOf(o).submit(Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined)) as SubmitRequest);
          o.json
            ? json(r)
            : out(`${r.created ? 'submitted' : 'merged into waiting task'} ${r.task.uid} (${r.task.task} in ${r.task.namespace})`);
        },
      ),
    );

  withCommon(tasks.command('cancel <uid>'))
    .description('cancel a waiting task; a running one is cancelled at its next heartbeat')
    .action(
      action(async (uid: string, o: Common) => {
        const t = await clientOf(o).cancel(uid);
        o.json ? json(t) : out(`${t.uid} ${t.status === 'cancelled' ? 'cancelled' : 'cancel requested (running)'}`);
      }),
    );

  withCommon(tasks.command('reschedule <uid>'))
    .description('run an error, retry or cancelled task (again)')
    .option('--eta <time>', 'at this ISO 8601 time (default now)')
    .action(
      action(async (uid: string, o: Common & { eta?: string }) => {
        const t = await clientOf(o).reschedule(uid, o.eta);
        o.json ? json(t) : out(`${t.uid} ${t.status}, due ${when(t.eta)}`);
      }),
    );

  withCommon(tasks.command('delete <uid>'))
    .description('delete a task that is not running (admin scope)')
    .action(
      action(async (uid: string, o: Common) => {
        await clientOf(o).delete(uid);
        o.json ? json({ deleted: uid }) : out(`deleted ${uid}`);
      }),
    );

  withCommon(tasks.command('retry-failed'))
    .description('reschedule every task in error (now), with progress; Ctrl-C stops after the task in hand')
    .option('--namespace <ns>', 'only this namespace')
    .option('--task <name>', 'only this task name')
    .option('--dry-run', 'count them, change nothing')
    .action(
      action(async (o: Common & { namespace?: string; task?: string; dryRun?: boolean }) => {
        const client = clientOf(o);
        let stop = false;
        const off = onShutdownSignals({
          first: () => {
            stop = true;
            process.stderr.write('\neventix: stopping after the task in hand (Ctrl-C again to quit at once)\n');
          },
          again: () => process.exit(TASKS_EXIT.failure),
        });
        const retried: string[] = [];
        let seen = 0;
        try {
          // Collect first: rescheduled tasks leave `error`, and the listing's cursor must not skip any.
          const failed: TaskJson[] = [];
          for await (const t of client.iterate({ namespace: o.namespace, task: o.task, status: 'error', limit: 500 })) {
            failed.push(t);
            if (stop) break;
          }
          for (const t of failed) {
            if (stop) break;
            seen++;
            if (!o.dryRun) {
              try {
                await client.reschedule(t.uid);
              } catch (err) {
                // Changed meanwhile (rescheduled by someone else, deleted): not ours to retry.
                if (err instanceof EventixApiError && (err.status === 404 || err.status === 409)) continue;
                throw err;
              }
            }
            retried.push(t.uid);
            if (!o.json && process.stderr.isTTY && seen % 50 === 0) process.stderr.write(`\r${seen}/${failed.length}`);
          }
          if (!o.json && process.stderr.isTTY && seen >= 50) process.stderr.write('\n');
        } finally {
          off();
        }
        const verb = o.dryRun ? 'would retry' : 'retried';
        if (o.json) json({ [o.dryRun ? 'would_retry' : 'retried']: retried, interrupted: stop });
        else
          out(
            `${verb} ${retried.length} failed task${retried.length === 1 ? '' : 's'}${stop ? ' (interrupted: the rest are still in error)' : ''}`,
          );
        if (stop) process.exitCode = TASKS_EXIT.failure;
      }),
    );
}
