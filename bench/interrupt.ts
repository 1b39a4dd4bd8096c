import { onShutdownSignals } from '../src/cli/signals.ts';
import { progress } from './progress.ts';

export interface InterruptHandling {
  /** Runs first, before anything is printed: mark the run interrupted, silence expected noise. */
  onFirst?(signal: NodeJS.Signals): void;
  /** What the first signal prints (stderr). */
  message(signal: NodeJS.Signals): string;
  cleanup(): Promise<void>;
}

/**
 * Ctrl-C and SIGTERM for a bench script: clean up, then exit 130 / 143; a deliberate second signal
 * exits at once. Echoes of one keypress are told apart by src/cli/signals.ts.
 */
export function exitOnInterrupt(handling: InterruptHandling): void {
  const codeOf = (signal: NodeJS.Signals) => (signal === 'SIGTERM' ? 143 : 130);
  onShutdownSignals({
    first(signal) {
      handling.onFirst?.(signal);
      progress(handling.message(signal));
      void handling.cleanup().finally(() => process.exit(codeOf(signal)));
    },
    again(signal) {
      progress(`${signal} again: exiting without finishing cleanup`);
      process.exit(codeOf(signal));
    },
  });
}
