import { EventEmitter } from 'node:events';
import { coerceError, type Logger } from '../logger.ts';

type ErrorEvent = { 'worker:error': [{ error: Error; during: string }] };

/**
 * The event plumbing the library Worker and the RemoteWorker share: a listener that throws must
 * not break the loop that emitted the event, and every background failure is logged and emitted
 * as 'worker:error'.
 */
export abstract class SafeEmitter<E extends Record<keyof E, unknown[]> & ErrorEvent> extends EventEmitter<E> {
  protected abstract readonly logger: Logger;

  protected safeEmit<K extends keyof E>(event: K, ...args: E[K]): void {
    try {
      (this.emit as unknown as (e: K, ...a: E[K]) => boolean).call(this, event, ...args);
    } catch (err) {
      this.logger.error({ err: coerceError(err), event }, 'event listener threw');
    }
  }

  /** Whether anything listens to `event`: the per-task events build their payload only then. */
  protected listens(event: keyof E): boolean {
    return EventEmitter.prototype.listenerCount.call(this, event as string) > 0;
  }

  protected reportError(err: unknown, during: string): void {
    const error = coerceError(err);
    this.logger.error({ err: error, during }, 'worker error');
    (this.safeEmit as (e: 'worker:error', a: { error: Error; during: string }) => void)('worker:error', { error, during });
  }
}
