import type { Config } from '../config.ts';
import { type Logger, redactUrl } from '../logger.ts';
import { createDatabase, type Database } from './client.ts';
import { type EmbeddedPostgres, startEmbeddedPostgres } from './embedded.ts';
import { migrate } from './migrate.ts';
import { findRunningEmbedded } from './running-embedded.ts';

export interface Connected {
  database: Database;
  /** Human-readable, secret-free description for start-up messages. */
  describe: string;
  embedded: EmbeddedPostgres | undefined;
  close(): Promise<void>;
}

/**
 * DATABASE_URL if given, else embedded PostgreSQL; then migrate when the config asks to. With
 * `joinRunning` (the short admin commands), an embedded server another Eventix process runs on
 * the data folder is used as it is, and left running.
 */
export async function connect(config: Config, logger: Logger, opts: { migrate?: boolean; joinRunning?: boolean } = {}): Promise<Connected> {
  let embedded: EmbeddedPostgres | undefined;
  let url = config.databaseUrl;
  let describe: string;
  const running = !url && opts.joinRunning ? await findRunningEmbedded(config.dataDir) : undefined;
  if (url) {
    describe = redactUrl(url);
  } else if (running) {
    url = running.url;
    describe = `embedded PostgreSQL of the running Eventix (pid ${running.ownerPid}) on 127.0.0.1:${running.port}`;
  } else {
    embedded = await startEmbeddedPostgres({ dataDir: config.dataDir, port: config.embeddedPort, logger });
    url = embedded.url;
    describe = `embedded PostgreSQL on 127.0.0.1:${embedded.port} (data in ${embedded.dataDir})`;
  }
  const database = createDatabase({ url, max: config.poolMax, logger, preparedStatements: config.preparedStatements });
  try {
    if (opts.migrate ?? config.migrate) await migrate(database.pool, logger);
  } catch (err) {
    await database.close();
    await embedded?.stop();
    throw err;
  }
  return {
    database,
    describe,
    embedded,
    async close() {
      await database.close();
      await embedded?.stop();
    },
  };
}
