import { describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.ts';
import { silentLogger } from '../../src/logger.ts';
import { createTestDatabase, useTestDatabase } from '../helpers/db.ts';

describe('health endpoints', () => {
  const db = useTestDatabase();

  it('GET /healthz answers 200 without touching the database', async () => {
    const res = await createApp({ database: db(), logger: silentLogger }).request('/healthz');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('GET /readyz is 200 on a migrated database', async () => {
    const res = await createApp({ database: db(), logger: silentLogger }).request('/readyz');
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'ready' });
  });

  it('GET /readyz is 503 while migrations are missing', async () => {
    const empty = await createTestDatabase({ empty: true });
    try {
      const res = await createApp({ database: empty, logger: silentLogger }).request('/readyz');
      expect(res.status).toBe(503);
      expect(await res.json()).toMatchObject({ status: 'not_ready', schema: 'no migrations applied' });
    } finally {
      await empty.drop();
    }
  });

  it('GET /readyz is 503 when the database is unreachable', async () => {
    const { createDatabase } = await import('../../src/db/client.ts');
    const dead = createDatabase({ url: 'postgres://nobody@127.0.0.1:1/none' });
    try {
      const res = await createApp({ database: dead, logger: silentLogger }).request('/readyz');
      expect(res.status).toBe(503);
      expect(await res.json()).toMatchObject({ database: 'unreachable' });
    } finally {
      await dead.close();
    }
  });

  it('unknown routes get a problem+json 404', async () => {
    const res = await createApp({ database: db(), logger: silentLogger }).request('/nope');
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(await res.json()).toMatchObject({ status: 404, title: 'Not Found' });
  });

  it('GET /version', async () => {
    const res = await createApp({ database: db(), logger: silentLogger }).request('/version');
    expect(await res.json()).toMatchObject({ name: 'eventix' });
  });
});
