import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { runCli } from '../helpers/cli.ts';

describe('loadConfig', () => {
  it('applies documented defaults', () => {
    const c = loadConfig({});
    expect(c.databaseUrl).toBeUndefined();
    expect(c.http).toEqual({
      host: '127.0.0.1',
      port: 8080,
      allowUnauthenticatedBind: false,
      apiTokens: [],
      maxBodyBytes: 16 * 1024 * 1024,
    });
    expect(c.embeddedPort).toBe(54329);
    expect(c.worker.namespaces).toEqual(['default']);
    expect(c.worker.concurrency).toBe(8);
  });

  it('parses every kind of value', () => {
    const c = loadConfig({
      DATABASE_URL: 'postgres://u@h:5432/d',
      EVENTIX_PORT: '9000',
      EVENTIX_MIGRATE: 'off',
      EVENTIX_NAMESPACES: ' a, b ,c',
      EVENTIX_LISTEN: 'false',
    });
    expect(c.databaseUrl).toBe('postgres://u@h:5432/d');
    expect(c.http.port).toBe(9000);
    expect(c.migrate).toBe(false);
    expect(c.worker.namespaces).toEqual(['a', 'b', 'c']);
    expect(c.worker.listen).toBe(false);
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ EVENTIX_PORT: '' }).http.port).toBe(8080);
  });

  it.each([
    ['EVENTIX_PORT', 'abc', /integer/],
    ['EVENTIX_PORT', '70000', /at most 65535/],
    ['EVENTIX_CONCURRENCY', '0', /at least 1/],
    ['EVENTIX_MIGRATE', 'maybe', /true\/false/],
    ['EVENTIX_LOG_LEVEL', 'loud', /.+/],
    ['DATABASE_URL', 'mysql://x', /postgres/],
    ['EVENTIX_NAMESPACES', 'a b', /letters/],
  ])('rejects %s=%s naming the variable', (name, value, reason) => {
    try {
      loadConfig({ [name]: value });
      expect.unreachable('should have thrown');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const e = err as ConfigError;
      expect(e.issues.map((i) => i.variable)).toEqual([name]);
      expect(e.message).toContain(name);
      expect(e.issues[0]?.message).toMatch(reason);
    }
  });

  it('never echoes a DATABASE_URL value, which may hold a password', () => {
    try {
      loadConfig({ DATABASE_URL: 'mysql://user:hunter2@host/db' });
      expect.unreachable('should have thrown');
    } catch (err) {
      expect((err as Error).message).toContain('DATABASE_URL');
      expect((err as Error).message).not.toContain('hunter2');
    }
  });

  it('parses API tokens as name:scope:secret entries', () => {
    const c = loadConfig({ EVENTIX_API_TOKENS: 'ci:submit:0123456789abcdef0123, ops:admin:x:with:colons:in:it' });
    expect(c.http.apiTokens).toEqual([
      { name: 'ci', scope: 'submit', secret: '0123456789abcdef0123' },
      { name: 'ops', scope: 'admin', secret: 'x:with:colons:in:it' },
    ]);
  });

  it.each([
    ['ci:root:0123456789abcdef0123', /scope must be one of/],
    ['ci:read:short', /at least 16/],
    ['bad name:read:0123456789abcdef0123', /name must be/],
    ['a:read:0123456789abcdef0123,a:read:0123456789abcdef9999', /duplicate name/],
  ])('rejects EVENTIX_API_TOKENS=%s without echoing it', (value, reason) => {
    try {
      loadConfig({ EVENTIX_API_TOKENS: value });
      expect.unreachable('should have thrown');
    } catch (err) {
      expect((err as ConfigError).issues[0]?.variable).toBe('EVENTIX_API_TOKENS');
      expect((err as Error).message).toMatch(reason);
      expect((err as Error).message).not.toContain('0123456789abcdef');
    }
  });

  it('lets overrides (CLI flags) win over the environment', () => {
    expect(loadConfig({ EVENTIX_PORT: '1' }, { EVENTIX_PORT: '2' }).http.port).toBe(2);
  });
});

describe('eventix with a bad configuration', () => {
  it('exits non-zero and names the variable', async () => {
    const r = await runCli(['start'], { EVENTIX_PORT: 'not-a-port', DATABASE_URL: undefined });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('EVENTIX_PORT');
    expect(r.stderr).toContain('not-a-port');
    expect(r.stdout).not.toContain('listening');
  });

  it('refuses an unauthenticated non-loopback bind without the explicit flag', async () => {
    const r = await runCli(['start', '--host', '0.0.0.0'], { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--allow-unauthenticated-bind/);
  });
});
