import { describe, expect, it } from 'vitest';
import { collect, spawnCli, waitForOutput } from '../helpers/cli.ts';
import { useTestDatabase } from '../helpers/db.ts';

describe('eventix start', () => {
  const db = useTestDatabase();

  it('serves /readyz on the given database, names it without secrets, and exits 0 on SIGINT', async () => {
    const url = new URL(db().url);
    url.password = 'not-really-secret-but-redacted';
    const child = spawnCli(['start', '--port', '0'], { DATABASE_URL: db().url });
    const done = collect(child);
    const [, address] = await waitForOutput(child, /listening on (http:\/\/\S+)/);
    const ready = await fetch(`${address}/readyz`);
    expect(ready.status).toBe(200);
    child.kill('SIGINT');
    const r = await done;
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Database: postgres://`);
    expect(r.stdout).toContain(db().name);
    expect(r.stdout).toContain('Eventix stopped');
  });

  it('stops gracefully when one Ctrl-C arrives twice (the terminal and npm both deliver it)', async () => {
    const child = spawnCli(['start', '--port', '0'], { DATABASE_URL: db().url });
    const done = collect(child);
    const [, address] = await waitForOutput(child, /listening on (http:\/\/\S+)/);
    expect((await fetch(`${address}/readyz`)).status).toBe(200);
    child.kill('SIGINT');
    child.kill('SIGINT');
    const r = await done;
    expect(r.stderr).not.toContain('second signal');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Eventix stopped');
  });
});
