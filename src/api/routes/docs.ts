import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Hono } from 'hono';
import { type AppEnv, requireScope } from '../auth.ts';
import { buildOpenApi } from '../openapi.ts';

const UI_DIR = path.dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));

const ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
};

// Served from the installed swagger-ui-dist, not a CDN: /docs works on air-gapped networks too.
const PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Eventix API</title><link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="ui"></div><script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/assets/init.js"></script></body></html>`;
const INIT = `window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#ui', deepLinking: true, persistAuthorization: true });`;

export function docsRoutes(opts: { authenticated: boolean }) {
  const document = buildOpenApi(opts);
  return new Hono<AppEnv>()
    .get('/openapi.json', requireScope('read'), (c) => c.json(document))
    .get('/docs', requireScope('read'), (c) => c.html(PAGE))
    .get('/docs/assets/init.js', requireScope('read'), (c) => c.body(INIT, 200, { 'content-type': 'text/javascript; charset=utf-8' }))
    .get('/docs/assets/:file', requireScope('read'), async (c) => {
      const file = c.req.param('file');
      const type = ASSETS[file];
      if (!type) return c.notFound();
      const body = await readFile(path.join(UI_DIR, file));
      return c.body(body, 200, { 'content-type': type, 'cache-control': 'public, max-age=86400' });
    });
}
