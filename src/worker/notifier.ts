import { EventEmitter } from 'node:events';
import pg from 'pg';
import { reconnectDelay } from '../db/connection-errors.ts';
import { coerceError, type Logger } from '../logger.ts';
import { NOTIFY_CHANNEL } from '../queue/submit.ts';

/** What a Notifier emits. It never emits 'error': a loss is a typed event, and polling covers it. */
export interface NotifierEvents {
  /** A task became due in `namespace`; '*' means "anything may have": sent once after every (re)connect. */
  notify: [namespace: string];
  /** The LISTEN connection was lost or could not be made; the next attempt follows in `retryInMs`. */
  'listen:lost': [{ error: Error; attempt: number; retryInMs: number }];
  /** LISTEN is in place again; `downMs` is how long it was not (null on the first connect). */
  'listen:connected': [{ downMs: number | null }];
}

/**
 * The longest wait between reconnect attempts (the jitter makes it 1-2 s). The '*' notify after a
 * reconnect also ends the worker's claim backoff (up to five poll intervals), so this cap bounds
 * how long after a long outage a LISTEN worker resumes: measured up to 4.4 s with a cap of 5 s,
 * for one connection attempt per process every 1-2 s while the server is down.
 */
const MAX_RETRY_MS = 2_000;

/**
 * The settings a pool was made with, for a LISTEN connection of its own when the caller gave none
 * (a library user who passes only `pool`). pg passes the same object to every client the pool
 * makes, so a client built from it reaches the same server with the same credentials and type
 * parsers. The CLI passes Database.connection instead.
 */
export function poolConnectionConfig(pool: pg.Pool): pg.ClientConfig {
  return pool.options;
}

export interface NotifierOptions {
  /** First reconnect delay; doubles per failed attempt up to `maxRetryMs`, with jitter (see reconnectDelay). */
  baseRetryMs?: number;
  maxRetryMs?: number;
}

/**
 * LISTEN for new due tasks on a dedicated connection (a pooled one could be handed to someone
 * else between notifications). This is only a speed-up: the worker polls anyway, so a dropped
 * connection costs latency, never tasks. On loss (server restart, pg_terminate_backend, network)
 * it logs a warning, reconnects with capped exponential backoff plus jitter, and after
 * reconnecting emits one '*' notify: anything submitted meanwhile woke nobody. Through PgBouncer
 * in transaction mode LISTEN does not work; run workers with listen off there.
 *
 * One per process is enough: workers (WorkerOptions.notifier) and the API's long-polls subscribe
 * to the same one, and whoever made it starts and stops it.
 */
export class Notifier extends EventEmitter<NotifierEvents> {
  private client: pg.Client | undefined;
  private stopped = true;
  private retryTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  /** When the connection was lost (or first attempted), for the downtime in the log. */
  private lostAt: number | undefined;
  private everConnected = false;

  constructor(
    private readonly config: pg.ClientConfig,
    private readonly logger: Logger,
    private readonly opts: NotifierOptions = {},
  ) {
    super();
    // Shared by every worker of a process and by each API long-poll in flight: more than the
    // default 10 listeners is normal, not a leak. Each subscriber unsubscribes when it stops.
    this.setMaxListeners(0);
  }

  /** LISTEN is in place right now. */
  get listening(): boolean {
    return this.client !== undefined;
  }

  /** Resolves after the first attempt, whether or not it succeeded: a failure only schedules the next. */
  async start(): Promise<void> {
    this.stopped = false;
    this.lostAt = Date.now();
    await this.connect();
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = new pg.Client({
      ...this.config,
      application_name: 'eventix-listener',
      // The connection idles for as long as nothing is submitted: keepalives let the kernel notice
      // a peer that vanished without a FIN or RST (a failover, a dropped NAT entry).
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
    });
    // Each client is lost at most once, though pg may report it twice ('error', then 'end').
    let lost = false;
    const onLost = (err: Error) => {
      if (lost) return;
      lost = true;
      this.onLost(client, err);
    };
    client.on('notification', (msg) => {
      if (msg.channel === NOTIFY_CHANNEL) this.safeEmit('notify', msg.payload ?? '');
    });
    client.on('error', onLost);
    client.on('end', () => onLost(new Error('listener connection ended')));
    try {
      await client.connect();
      await client.query(`listen ${NOTIFY_CHANNEL}`);
    } catch (err) {
      onLost(coerceError(err));
      await client.end().catch(() => {});
      return;
    }
    if (this.stopped || lost) {
      // stop() ran while we connected, or the connection died right after LISTEN.
      if (this.stopped) await client.end().catch(() => {});
      return;
    }
    this.client = client;
    this.failures = 0;
    const downMs = this.everConnected && this.lostAt !== undefined ? Date.now() - this.lostAt : null;
    if (this.everConnected) this.logger.info({ downMs }, 'LISTEN connection restored');
    this.everConnected = true;
    this.lostAt = undefined;
    this.safeEmit('listen:connected', { downMs });
    // Anything submitted while we were disconnected would not have woken us: say so once.
    this.safeEmit('notify', '*');
  }

  private onLost(client: pg.Client, error: Error): void {
    if (this.stopped) return;
    if (this.client === client) this.client = undefined;
    else if (this.client) return; // an older client's late report; the current one is fine
    this.lostAt ??= Date.now();
    this.failures++;
    const retryInMs = reconnectDelay(this.failures, { baseMs: this.opts.baseRetryMs, maxMs: this.opts.maxRetryMs ?? MAX_RETRY_MS });
    this.logger.warn(
      { err: error, attempt: this.failures, retryInMs },
      this.failures > 1
        ? 'LISTEN reconnect failed; polling meanwhile'
        : this.everConnected
          ? 'LISTEN connection lost; polling meanwhile, reconnecting'
          : 'LISTEN unavailable; polling meanwhile, retrying',
    );
    this.safeEmit('listen:lost', { error, attempt: this.failures, retryInMs });
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => void this.connect(), retryInMs);
  }

  /** A listener that throws must not break reconnecting (it would surface inside pg's socket handler or a timer). */
  private safeEmit<K extends keyof NotifierEvents>(event: K, ...args: NotifierEvents[K]): void {
    try {
      (this.emit as (e: K, ...a: NotifierEvents[K]) => boolean)(event, ...args);
    } catch (err) {
      this.logger.error({ err: coerceError(err), event }, 'notifier listener threw');
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    const client = this.client;
    this.client = undefined;
    if (client) {
      client.removeAllListeners('end');
      await client.end().catch(() => {});
    }
  }
}
