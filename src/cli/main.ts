import { Command } from 'commander';
import { VERSION } from '../version.ts';
import { registerCommits } from './commands/commits.ts';
import { registerEvents } from './commands/events.ts';
import { registerMigrate } from './commands/migrate.ts';
import { registerResults } from './commands/results.ts';
import { registerScheduler } from './commands/scheduler.ts';
import { registerSchedules } from './commands/schedules.ts';
import { registerStart } from './commands/start.ts';
import { registerTriggers } from './commands/triggers.ts';
import { registerWorker } from './commands/worker.ts';

const program = new Command()
  .name('eventix')
  .description('PostgreSQL-native distributed task scheduler')
  .version(VERSION)
  .showHelpAfterError();

registerStart(program);
registerMigrate(program);
registerWorker(program);
registerScheduler(program);
registerSchedules(program);
registerEvents(program);
registerTriggers(program);
registerCommits(program);
registerResults(program);

await program.parseAsync(process.argv);
