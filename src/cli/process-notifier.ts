import type { Config } from '../config.ts';
import type { Database } from '../db/client.ts';
import type { Logger } from '../logger.ts';
import { Notifier } from '../worker/notifier.ts';

/**
 * The one LISTEN connection of an `eventix start`, `api` or `worker` process, shared by all its
 * workers and the API's long-polls (one per worker was four connections for `eventix start` with
 * one sweep namespace). Started before the workers, so their first claim already has LISTEN in
 * place; stopped by the caller after they have stopped. Undefined when listening is off
 * (EVENTIX_LISTEN=false, for PgBouncer transaction pooling).
 */
export async function startProcessNotifier(config: Config, database: Database, logger: Logger): Promise<Notifier | undefined> {
  if (!config.worker.listen) return undefined;
  const notifier = new Notifier(database.connection, logger);
  // A failed first attempt is not fatal: the notifier retries, and workers and long-polls poll meanwhile.
  await notifier.start().catch((err) => logger.warn({ err }, 'LISTEN unavailable; polling meanwhile'));
  return notifier;
}
