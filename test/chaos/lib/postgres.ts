import { type RestartablePostgres, type ShutdownMode, startRestartablePostgres } from '../../helpers/restartable-postgres.ts';

export type { ShutdownMode };

/**
 * A PostgreSQL of the scenario's own, on a free port, that it may restart, crash and kill at will:
 * the restartable server the test suite uses (test/helpers/restartable-postgres.ts), with the
 * two things a scenario reports on top: how long a restart took, and what a storm terminated.
 */
export interface ThrowawayPostgres extends Pick<RestartablePostgres, 'url' | 'port' | 'pgdata' | 'query' | 'stop'> {
  /**
   * `pg_ctl restart -m <mode>` (`fast` rolls back open transactions and checkpoints, `immediate`
   * is a crash whose next start replays the WAL); with `downMs`, a stop, that long down, a start.
   * Resolves once the server accepts connections again.
   */
  restart(mode: ShutdownMode, opts?: { downMs?: number }): Promise<{ downMs: number }>;
  /** pg_terminate_backend on every backend of our database whose application_name matches (SQL LIKE). */
  terminate(applicationNameLike?: string): Promise<{ terminated: number; byApplication: Record<string, number> }>;
}

export async function startThrowawayPostgres(): Promise<ThrowawayPostgres> {
  const server = await startRestartablePostgres();
  return {
    url: server.url,
    port: server.port,
    pgdata: server.pgdata,
    query: server.query,
    stop: server.stop,
    async restart(mode, opts = {}) {
      const started = Date.now();
      if (opts.downMs) {
        // Stay down a while, as a real restart or failover does, so clients see refused connections.
        await server.shutdown(mode);
        await new Promise((r) => setTimeout(r, opts.downMs));
        await server.start();
      } else {
        await server.restart(mode);
      }
      return { downMs: Date.now() - started };
    },
    async terminate(like = 'eventix%') {
      const byApplication = await server.terminate(like);
      return { terminated: Object.values(byApplication).reduce((a, n) => a + n, 0), byApplication };
    },
  };
}
