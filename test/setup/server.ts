import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startEmbeddedPostgres } from '../../src/db/embedded.ts';

export interface TestServer {
  /** Connection URL of a database on the server with rights to CREATE DATABASE. */
  url: string;
  kind: 'DATABASE_URL' | 'testcontainers' | 'embedded';
  stop(): Promise<void>;
}

/**
 * The database server for the suite, in order of preference: DATABASE_URL if set; a Docker engine
 * through testcontainers if one answers; else embedded PostgreSQL, so `npm test` needs nothing
 * installed. EVENTIX_TEST_DB=embedded|testcontainers forces a choice.
 */
export async function startTestServer(): Promise<TestServer> {
  const forced = process.env.EVENTIX_TEST_DB;
  if (process.env.DATABASE_URL && !forced) {
    return { url: process.env.DATABASE_URL, kind: 'DATABASE_URL', stop: async () => {} };
  }
  if (forced === 'testcontainers' || (!forced && dockerLikelyAvailable())) {
    try {
      const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
      const container = await new PostgreSqlContainer('postgres:17-alpine').start();
      return { url: container.getConnectionUri(), kind: 'testcontainers', stop: async () => void (await container.stop()) };
    } catch (err) {
      if (forced) throw err;
      process.stderr.write(`[test] Docker did not answer (${(err as Error).message}); using embedded PostgreSQL\n`);
    }
  }
  const dir = await mkdtemp(path.join(tmpdir(), 'eventix-test-'));
  await chmod(dir, 0o755);
  const server = await startEmbeddedPostgres({ dataDir: dir, port: 0, ephemeral: true });
  return {
    url: server.url,
    kind: 'embedded',
    stop: async () => {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function dockerLikelyAvailable(): boolean {
  // Probing a missing engine through testcontainers costs seconds; a missing socket costs nothing.
  return Boolean(process.env.DOCKER_HOST) || existsSync('/var/run/docker.sock');
}
