import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '../../src/db/embedded.ts';
import { waitFor } from './wait.ts';

/** Path of a pgbouncer binary, if this machine has one (CI installs it from Debian's packages). */
export function findPgbouncer(): string | undefined {
  for (const p of ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer', '/usr/local/bin/pgbouncer']) if (existsSync(p)) return p;
  try {
    return execFileSync('which', ['pgbouncer'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

export interface Bouncer {
  /** `serverUrl` with host and port replaced by PgBouncer's. */
  url(serverUrl: string): string;
  stop(): Promise<void>;
}

/**
 * A real PgBouncer in transaction pooling mode in front of the test server, with a tiny server
 * pool so that consecutive transactions of one client really land on different server sessions.
 */
export async function startPgbouncer(binary: string, serverUrl: string, poolSize = 2): Promise<Bouncer> {
  const server = new URL(serverUrl);
  const dir = mkdtempSync(path.join(tmpdir(), 'eventix-pgbouncer-'));
  chmodSync(dir, 0o755);
  const port = await freePort();
  const user = decodeURIComponent(server.username || 'postgres');
  const password = decodeURIComponent(server.password);
  writeFileSync(path.join(dir, 'userlist.txt'), `"${user}" "${password}"\n`);
  writeFileSync(
    path.join(dir, 'pgbouncer.ini'),
    [
      '[databases]',
      `* = host=${server.hostname} port=${server.port || 5432}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = trust',
      `auth_file = ${path.join(dir, 'userlist.txt')}`,
      'pool_mode = transaction',
      `default_pool_size = ${poolSize}`,
      'max_client_conn = 200',
      '',
    ].join('\n'),
  );
  chmodSync(path.join(dir, 'userlist.txt'), 0o644);
  // PgBouncer refuses to run as root; -u drops to the postgres user.
  const args = process.getuid?.() === 0 ? ['-u', 'postgres', path.join(dir, 'pgbouncer.ini')] : [path.join(dir, 'pgbouncer.ini')];
  // It logs to stderr (its folder is not writable once it has dropped to the postgres user).
  const child: ChildProcess = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr?.on('data', (d) => {
    log = (log + d).slice(-4000);
  });
  const bouncerUrl = (serverUrl2: string) => {
    const u = new URL(serverUrl2);
    u.hostname = '127.0.0.1';
    u.port = String(port);
    return u.toString();
  };
  const pg = await import('pg');
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`pgbouncer exited with ${child.exitCode}: ${log}`);
      const c = new pg.default.Client({ connectionString: bouncerUrl(serverUrl) });
      await c.connect();
      await c.query('select 1');
      await c.end();
      return true;
    },
    { timeoutMs: 15_000, message: 'pgbouncer accepts connections' },
  );
  return {
    url: bouncerUrl,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGINT');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
