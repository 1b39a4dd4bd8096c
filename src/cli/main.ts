import { Command } from 'commander';
import { VERSION } from '../version.ts';

type Registrar = (program: Command) => void;

/**
 * Each command's module, loaded only when that command runs: every module pulls in its part of the
 * application (the API, the sweeps, the change detector), and loading all of them cost each short
 * admin command a second or more of start-up. `--help` and unknown commands load them all, so
 * commander can list them.
 */
const COMMANDS: Record<string, () => Promise<Registrar>> = {
  start: async () => (await import('./commands/start.ts')).registerStart,
  api: async () => (await import('./commands/start.ts')).registerStart,
  migrate: async () => (await import('./commands/migrate.ts')).registerMigrate,
  worker: async () => (await import('./commands/worker.ts')).registerWorker,
  scheduler: async () => (await import('./commands/scheduler.ts')).registerScheduler,
  schedules: async () => (await import('./commands/schedules.ts')).registerSchedules,
  events: async () => (await import('./commands/events.ts')).registerEvents,
  triggers: async () => (await import('./commands/triggers.ts')).registerTriggers,
  commits: async () => (await import('./commands/commits.ts')).registerCommits,
  results: async () => (await import('./commands/results.ts')).registerResults,
  tasks: async () => (await import('./commands/tasks.ts')).registerTasks,
  import: async () => (await import('./commands/import.ts')).registerImport,
};

const program = new Command()
  .name('eventix')
  .description('PostgreSQL-native distributed task scheduler')
  .version(VERSION)
  .showHelpAfterError();

const named = process.argv.slice(2).find((a) => !a.startsWith('-'));
const wanted = named !== undefined && named in COMMANDS ? [COMMANDS[named]!] : Object.values(COMMANDS);
const registered = new Set<Registrar>();
for (const load of wanted) {
  const register = await load();
  if (registered.has(register)) continue;
  registered.add(register);
  register(program);
}

await program.parseAsync(process.argv);
