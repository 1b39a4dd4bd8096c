import { type Command, Option } from 'commander';
import type { Env } from '../config.ts';
import { ValidationError } from '../errors.ts';

/**
 * The database flags of `eventix commits …`, as the seed's scripts took them: --host, --port,
 * --database, --username, --password and --sslmode instead of DATABASE_URL. The password goes
 * into the connection only and is never printed.
 */
export interface DbFlags {
  host?: string;
  port?: string;
  database?: string;
  username?: string;
  password?: string;
  sslmode?: string;
  json?: boolean;
}

export function withDbFlags(cmd: Command): Command {
  return cmd
    .option('--host <host>', 'PostgreSQL host (instead of DATABASE_URL)')
    .option('--port <port>', 'PostgreSQL port (default 5432)')
    .option('--database <name>', 'database name')
    .option('--username <user>', 'database user')
    .option('--password <password>', 'database password (PGPASSWORD also works, and keeps it out of the process list)')
    .addOption(
      new Option('--sslmode <mode>', 'TLS mode, as libpq spells it').choices([
        'disable',
        'prefer',
        'require',
        'no-verify',
        'verify-ca',
        'verify-full',
      ]),
    )
    .option('--json', 'print the result as JSON, as the HTTP API answers');
}

/** --host and friends → a DATABASE_URL override; none of them → the environment decides. */
export function databaseOverride(f: DbFlags): Partial<Record<keyof Env, string>> {
  if (f.host === undefined && f.database === undefined && f.username === undefined && f.port === undefined && f.password === undefined) {
    return {};
  }
  if (!f.database) throw new ValidationError([{ field: '--database', message: 'is required with --host/--port/--username/--password' }]);
  const port = f.port ?? '5432';
  if (!/^\d{1,5}$/.test(port) || Number(port) > 65535) throw new ValidationError([{ field: '--port', message: 'must be a port number' }]);
  const url = new URL('postgres://localhost');
  url.hostname = f.host ?? 'localhost';
  url.port = port;
  url.pathname = `/${encodeURIComponent(f.database)}`;
  if (f.username) url.username = encodeURIComponent(f.username);
  if (f.password) url.password = encodeURIComponent(f.password);
  if (f.sslmode) url.searchParams.set('sslmode', f.sslmode);
  return { DATABASE_URL: url.toString() };
}
