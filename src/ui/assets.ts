import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Hono } from 'hono';

const require = createRequire(import.meta.url);
const UPLOT_DIR = path.join(path.dirname(require.resolve('uplot/package.json')), 'dist');
// src/ui/static in a checkout; dist/ui/static in the package (copied by the build).
const STATIC_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'static');

const TYPES: Record<string, string> = {
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** Every file the dashboard loads: from the installed uplot package and our own static folder. No CDN. */
const FILES: Record<string, string> = {
  'uplot.js': path.join(UPLOT_DIR, 'uPlot.iife.min.js'),
  'uplot.css': path.join(UPLOT_DIR, 'uPlot.min.css'),
  'app.css': path.join(STATIC_DIR, 'app.css'),
  'app.js': path.join(STATIC_DIR, 'app.js'),
  'charts.js': path.join(STATIC_DIR, 'charts.js'),
  'icon.svg': path.join(STATIC_DIR, 'icon.svg'),
};

interface Asset {
  body: Buffer;
  type: string;
  version: string;
}

const cache = new Map<string, Asset>();

function load(name: string): Asset | undefined {
  const hit = cache.get(name);
  if (hit) return hit;
  const file = FILES[name];
  if (!file) return undefined;
  const body = readFileSync(file);
  const asset = {
    body,
    type: TYPES[path.extname(name)] ?? 'application/octet-stream',
    version: createHash('sha256').update(body).digest('hex').slice(0, 12),
  };
  cache.set(name, asset);
  return asset;
}

/**
 * The URL of an asset, versioned by its content: the answer can then be cached for a year
 * (immutable), and a new release changes the URL instead of waiting for caches to expire.
 */
export function assetUrl(name: string): string {
  const asset = load(name);
  if (!asset) throw new Error(`unknown dashboard asset '${name}'`);
  return `/ui/assets/${name}?v=${asset.version}`;
}

export function assetRoutes() {
  return new Hono().get('/:file', (c) => {
    const asset = load(c.req.param('file'));
    if (!asset) return c.notFound();
    const versioned = c.req.query('v') === asset.version;
    return c.body(new Uint8Array(asset.body), 200, {
      'content-type': asset.type,
      'cache-control': versioned ? 'public, max-age=31536000, immutable' : 'public, max-age=300',
      etag: `"${asset.version}"`,
    });
  });
}
