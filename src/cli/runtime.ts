import { type Config, ConfigError, type Env, loadConfig } from '../config.ts';
import { coerceError, createLogger, type Logger } from '../logger.ts';
import { onShutdownSignals } from './signals.ts';

/** Exit codes the CLI uses; documented in the README. */
export const EXIT = { ok: 0, failure: 1, config: 2 } as const;

export interface Runtime {
  config: Config;
  logger: Logger;
}

/**
 * Parse the configuration once; on a bad value print what is wrong and exit 2. `admin`: a short
 * command that prints its own answer, so its log says only warnings and errors unless
 * EVENTIX_LOG_LEVEL asks for more (a JSON line about migrations is noise above a table).
 */
export function loadRuntime(overrides: Partial<Record<keyof Env, string | undefined>> = {}, opts: { admin?: boolean } = {}): Runtime {
  const clean = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)) as Partial<Record<keyof Env, string>>;
  try {
    const config = loadConfig(process.env, clean);
    const level = opts.admin && !process.env.EVENTIX_LOG_LEVEL && !clean.EVENTIX_LOG_LEVEL ? 'warn' : config.logLevel;
    return { config, logger: createLogger(level) };
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`eventix: ${err.message}\n`);
      process.exit(EXIT.config);
    }
    throw err;
  }
}

/**
 * Resolves on the first SIGINT or SIGTERM. A second signal (not an echo of the first, see
 * SIGNAL_ECHO_MS) exits at once, for an operator who does not want to wait for the grace period.
 */
export function waitForShutdownSignal(logger: Logger): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    onShutdownSignals({
      first(signal) {
        logger.info({ signal }, 'shutting down');
        resolve(signal);
      },
      again(signal) {
        logger.warn({ signal }, 'second signal: exiting immediately');
        process.exit(EXIT.failure);
      },
    });
  });
}

export function fail(err: unknown): never {
  const e = coerceError(err);
  process.stderr.write(`eventix: ${e.message}\n`);
  process.exit(EXIT.failure);
}
