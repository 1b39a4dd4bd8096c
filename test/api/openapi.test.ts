import { Validator } from '@seriousme/openapi-schema-validator';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.ts';
import { silentLogger } from '../../src/logger.ts';
import { useTestDatabase } from '../helpers/db.ts';

describe('OpenAPI document and docs', () => {
  const db = useTestDatabase();
  const app = () => createApp({ database: db(), logger: silentLogger });

  it('GET /openapi.json is a valid OpenAPI 3.1 document whose $refs all resolve', async () => {
    const res = await app().request('/openapi.json');
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { openapi: string; components: { schemas: Record<string, unknown> }; paths: Record<string, unknown> };
    expect(doc.openapi).toBe('3.1.0');
    const result = await new Validator().validate(doc as never);
    expect(result.errors ?? [], JSON.stringify(result.errors)).toEqual([]);
    expect(result.valid).toBe(true);
    for (const ref of JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)) {
      expect(doc.components.schemas, `unresolved $ref ${ref[1]}`).toHaveProperty([ref[1] as string]);
    }
  });

  it('documents every route the app serves, and only those', async () => {
    const doc = (await (await app().request('/openapi.json')).json()) as { paths: Record<string, Record<string, unknown>> };
    const documented = new Set(Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`)));
    const served = new Set(
      app()
        // The dashboard (/ui, and / which redirects there) is HTML for people, not part of the API.
        .routes.filter(
          (r) =>
            r.method !== 'ALL' &&
            !r.path.startsWith('/docs') &&
            r.path !== '/openapi.json' &&
            !/^\/ui(\/|$)/.test(r.path) &&
            r.path !== '/',
        )
        .map((r) => `${r.method} ${r.path.replace(/\/$/, '').replace(/:(\w+)/g, '{$1}') || '/'}`),
    );
    expect([...served].sort()).toEqual([...documented].sort());
  });

  it('request schemas in the document are the ones the server enforces', async () => {
    const doc = (await (await app().request('/openapi.json')).json()) as {
      components: { schemas: { TaskSubmit: { properties: Record<string, unknown>; additionalProperties: boolean; required: string[] } } };
    };
    const submit = doc.components.schemas.TaskSubmit;
    expect(submit.additionalProperties).toBe(false);
    expect(submit.required).toEqual(['task']);
    expect(Object.keys(submit.properties)).toContain('unique_key');
    // And the server refuses what the document forbids.
    const res = await app().request('/tasks', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"task":"x","nope":1}',
    });
    expect(res.status).toBe(400);
  });

  it('GET /docs serves an interactive reference with its assets locally', async () => {
    const page = await app().request('/docs');
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(await (await app().request('/docs/assets/init.js')).text()).toContain('/openapi.json');
    for (const asset of html.matchAll(/(?:src|href)="(\/docs\/assets\/[^"]+)"/g)) {
      const r = await app().request(asset[1] as string);
      expect(r.status, asset[1]).toBe(200);
      expect((await r.arrayBuffer()).byteLength).toBeGreaterThan(10);
    }
    expect((await app().request('/docs/assets/../../package.json')).status).toBe(404);
  });
});
