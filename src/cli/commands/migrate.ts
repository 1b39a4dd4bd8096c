import type { Command } from 'commander';
import { connect } from '../../db/connect.ts';
import { fail, loadRuntime } from '../runtime.ts';

export function registerMigrate(program: Command): void {
  program
    .command('migrate')
    .description('apply pending migrations to the database (embedded or DATABASE_URL) and exit')
    .action(async () => {
      const { config, logger } = loadRuntime({}, { admin: true });
      try {
        const conn = await connect(config, logger, { migrate: true, joinRunning: true });
        process.stdout.write(`migrations applied to ${conn.describe}\n`);
        await conn.close();
      } catch (err) {
        fail(err);
      }
    });
}
