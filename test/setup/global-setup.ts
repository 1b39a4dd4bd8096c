import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { createDatabase } from '../../src/db/client.ts';
import { migrate } from '../../src/db/migrate.ts';
import { withDatabase } from '../helpers/urls.ts';
import { startTestServer } from './server.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    dbServerUrl: string;
    dbTemplate: string;
    dbKind: string;
  }
}

/** Starts (or finds) the server once, migrates one template database, and hands both to the test files. */
export default async function setup(project: TestProject) {
  const server = await startTestServer();
  const template = `eventix_tpl_${process.pid}_${Date.now().toString(36)}`;
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  await admin.query(`create database ${admin.escapeIdentifier(template)}`);
  const database = createDatabase({ url: withDatabase(server.url, template), max: 1 });
  await migrate(database.pool);
  await database.close();
  // A template nobody may connect to can be cloned by many files at once.
  await admin.query(`alter database ${admin.escapeIdentifier(template)} with allow_connections false`);
  await admin.end();
  process.stderr.write(`[test] database server: ${server.kind}; template ${template}\n`);

  project.provide('dbServerUrl', server.url);
  project.provide('dbTemplate', template);
  project.provide('dbKind', server.kind);

  return async () => {
    const c = new pg.Client({ connectionString: server.url });
    await c.connect();
    await c.query(`alter database ${c.escapeIdentifier(template)} with allow_connections true`).catch(() => {});
    await c.query(`drop database if exists ${c.escapeIdentifier(template)} with (force)`);
    await c.end();
    await server.stop();
  };
}
