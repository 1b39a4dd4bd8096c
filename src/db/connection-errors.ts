import type pg from 'pg';

/**
 * SQLSTATEs that mean "the server went away or will not take connections right now", not "your
 * statement is wrong": 08xxx connection exceptions, 57P01 admin shutdown (fast restart,
 * pg_terminate_backend), 57P02 crash shutdown (immediate restart), 57P03 cannot connect now
 * (starting up, shutting down, in recovery), 53300 too many connections.
 */
const SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300']);

/** Socket-level failures of reaching or keeping the server. */
const ERRNOS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * pg and pg-pool report a lost or refused connection with a plain Error and one of these messages:
 * the socket ended ("Connection terminated unexpectedly"), a client is used after that ("… not
 * queryable"), or no connection came within connectionTimeoutMillis.
 */
const MESSAGES = [/^Connection terminated/, /not queryable/, /^timeout exceeded when trying to connect$/];

/**
 * Whether `err` says the database is unreachable (so retrying later can succeed and nothing about
 * the request was wrong), as opposed to an error of the statement itself. Looks through `cause`
 * (drizzle wraps driver errors) and AggregateError (a host with several addresses, each refused).
 */
export function isConnectionError(err: unknown, depth = 0): boolean {
  if (!err || typeof err !== 'object' || depth > 5) return false;
  const e = err as { code?: unknown; message?: unknown; cause?: unknown; errors?: unknown };
  if (typeof e.code === 'string') {
    if (SQLSTATES.has(e.code) || /^08[0-9A-Z]{3}$/.test(e.code) || ERRNOS.has(e.code)) return true;
  }
  if (typeof e.message === 'string' && MESSAGES.some((m) => m.test(e.message as string))) return true;
  if (Array.isArray(e.errors) && e.errors.some((x) => isConnectionError(x, depth + 1))) return true;
  return isConnectionError(e.cause, depth + 1);
}

/**
 * The wait before reconnect attempt `attempt` (1-based): exponential from `baseMs`, capped at
 * `maxMs`, with "equal jitter" (a random point in the upper half). The jitter spreads the
 * reconnects of many processes that lost the same server at the same instant; the lower half
 * is kept so that no attempt follows the previous one immediately.
 */
export function reconnectDelay(attempt: number, opts: { baseMs?: number; maxMs?: number } = {}, random = Math.random): number {
  const base = opts.baseMs ?? 100;
  const max = opts.maxMs ?? 10_000;
  const ceiling = Math.min(max, base * 2 ** Math.min(Math.max(attempt, 1) - 1, 30));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/**
 * pool.connect() for code that holds a client across several statements (transactions).
 * pg-pool listens to a client's 'error' only while the client is idle in the pool: a connection
 * that dies while we hold it between two statements (server restart, pg_terminate_backend) emits
 * 'error' with no listener, and an unlistened 'error' ends the process. The statement in flight,
 * or the next one, fails anyway, and release() discards a client that is no longer queryable, so
 * the event needs no handling beyond being listened to.
 *
 * The listener goes on inside pg-pool's callback, not after an `await`: pg parses every message
 * of a TCP chunk in one go, so a FATAL that arrives in the same chunk as the ReadyForQuery ending
 * a new connection's startup (a backend told to terminate just as it came up) is emitted before
 * any promise continuation could run. A restart under a 100 ms scheduler hit that window about
 * once in fifteen runs.
 */
export function connectClient(pool: Pick<pg.Pool, 'connect'>): Promise<pg.PoolClient> {
  return new Promise((resolve, reject) => {
    pool.connect((err, client) => {
      if (err || !client) {
        reject(err ?? new Error('the pool returned no client'));
        return;
      }
      const ignore = () => {};
      client.on('error', ignore);
      const release = client.release;
      client.release = (releaseError?: Error | boolean) => {
        client.off('error', ignore);
        release.call(client, releaseError);
      };
      resolve(client);
    });
  });
}
