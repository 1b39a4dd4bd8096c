import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Hono } from 'hono';
import type { AppEnv } from '../auth.ts';
import { buildOpenApi } from '../openapi.ts';
import { declaredOperations, route } from '../route.ts';

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

/**
 * The document and its interactive reference. Routed like any operation (scope read) but hidden
 * from the document itself, as before. The document is built on first request, from every
 * operation the app declared by then: all of them, whatever the order they were mounted in.
 */
export function docsRoutes(app: Hono<AppEnv>, opts: { authenticated: boolean }): void {
  let document: ReturnType<typeof buildOpenApi> | undefined;
  const page = { scope: 'read', hidden: true, ok: { status: 200 } } as const;
  route(app, { ...page, method: 'get', path: '/openapi.json', summary: 'This OpenAPI document' }, (c) => {
    document ??= buildOpenApi(declaredOperations(app), opts);
    return c.json(document);
  });
  route(app, { ...page, method: 'get', path: '/docs', summary: 'Interactive reference (Swagger UI)' }, (c) => c.html(PAGE));
  route(app, { ...page, method: 'get', path: '/docs/assets/init.js', summary: 'Swagger UI start-up script' }, (c) =>
    c.body(INIT, 200, { 'content-type': 'text/javascript; charset=utf-8' }),
  );
  route(app, { ...page, method: 'get', path: '/docs/assets/{file}', summary: 'Swagger UI assets' }, async (c, { params }) => {
    const type = ASSETS[params.file];
    if (!type) return c.notFound();
    const body = await readFile(path.join(UI_DIR, params.file));
    return c.body(body, 200, { 'content-type': type, 'cache-control': 'public, max-age=86400' });
  });
}
