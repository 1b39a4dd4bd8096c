import type { EventEmitter } from 'node:events';

/**
 * One Ctrl-C can reach a process several times: the terminal signals the whole foreground process
 * group, and a wrapper such as npm forwards the same signal to its child as well. Repeats that
 * arrive within this window of the first are that same keypress, not an operator asking to quit at
 * once; treating them as a second Ctrl-C killed a draining worker under `npm start`.
 */
export const SIGNAL_ECHO_MS = 1000;

export interface ShutdownSignalHandlers {
  /** The first SIGINT or SIGTERM: begin a graceful stop. */
  first(signal: NodeJS.Signals): void;
  /** A later one, at least SIGNAL_ECHO_MS after the first: the operator wants out now. */
  again(signal: NodeJS.Signals): void;
}

/**
 * Listen for SIGINT and SIGTERM, telling a deliberate second signal apart from an echo of the
 * first. Returns a function that removes the listeners.
 */
export function onShutdownSignals(
  handlers: ShutdownSignalHandlers,
  target: Pick<EventEmitter, 'on' | 'off'> = process,
  now: () => number = () => performance.now(),
): () => void {
  let firstAt: number | undefined;
  const listener = (signal: NodeJS.Signals) => {
    const t = now();
    if (firstAt === undefined) {
      firstAt = t;
      handlers.first(signal);
    } else if (t - firstAt >= SIGNAL_ECHO_MS) {
      handlers.again(signal);
    }
  };
  target.on('SIGINT', listener);
  target.on('SIGTERM', listener);
  return () => {
    target.off('SIGINT', listener);
    target.off('SIGTERM', listener);
  };
}
