import { collectDefaultMetrics, Registry } from 'prom-client';

/**
 * A registry for a server's /metrics: a fresh one (never prom-client's global registry, so every
 * app built in one process, as the tests do, declares its metrics without "already registered"),
 * holding prom-client's process and Node.js metrics (CPU, memory, event-loop lag, GC, handles).
 * Their names (process_*, nodejs_*) cannot clash with Eventix's own (eventix_*): no prefix.
 */
export function createServerRegistry(): Registry {
  const register = new Registry();
  collectDefaultMetrics({ register });
  return register;
}
