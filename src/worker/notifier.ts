import { EventEmitter } from 'node:events';
import pg from 'pg';
import { coerceError, type Logger } from '../logger.ts';
import { NOTIFY_CHANNEL } from '../queue/submit.ts';

/**
 * LISTEN for new due tasks on a dedicated connection (a pooled one could be handed to someone
 * else between notifications). This is only a speed-up: the worker polls anyway, so a dropped
 * connection costs latency, never tasks. It reconnects with capped backoff. Through PgBouncer in
 * transaction mode LISTEN does not work; run workers with listen off there.
 */
export class Notifier extends EventEmitter<{ notify: [namespace: string]; error: [Error] }> {
  private client: pg.Client | undefined;
  private stopped = true;
  private retryTimer: NodeJS.Timeout | undefined;
  private failures = 0;

  constructor(
    private readonly config: pg.ClientConfig,
    private readonly logger: Logger,
  ) {
    super();
  }

  async start(): Promise<void> {
    this.stopped = false;
    await this.connect();
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = new pg.Client({ ...this.config, application_name: 'eventix-listener' });
    client.on('notification', (msg) => {
      if (msg.channel === NOTIFY_CHANNEL) this.emit('notify', msg.payload ?? '');
    });
    client.on('error', (err) => this.onLost(client, err));
    client.on('end', () => this.onLost(client, new Error('listener connection ended')));
    try {
      await client.connect();
      await client.query(`listen ${NOTIFY_CHANNEL}`);
      this.client = client;
      this.failures = 0;
      // Anything submitted while we were disconnected would not have woken us: say so once.
      this.emit('notify', '*');
    } catch (err) {
      client.removeAllListeners('end');
      await client.end().catch(() => {});
      this.onLost(client, coerceError(err));
    }
  }

  private onLost(client: pg.Client, err: Error): void {
    if (this.stopped || (this.client && this.client !== client)) return;
    this.client = undefined;
    this.failures++;
    const delay = Math.min(30_000, 250 * 2 ** Math.min(this.failures, 7));
    this.logger.warn({ err, retryInMs: delay }, 'LISTEN connection lost; polling continues meanwhile');
    this.emit('error', err);
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => void this.connect(), delay);
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
