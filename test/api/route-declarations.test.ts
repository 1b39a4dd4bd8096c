import { randomBytes, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type App, createApp } from '../../src/api/app.ts';
import { type Declaration, declaredOperations, honoPath } from '../../src/api/route.ts';
import type { ApiScope, ApiToken } from '../../src/config.ts';
import { silentLogger } from '../../src/logger.ts';
import { issuesOf } from '../../src/validation/zod.ts';
import { type Json, send } from '../helpers/api.ts';
import { useTestDatabase } from '../helpers/db.ts';

/**
 * The route declarations (src/api/route.ts) drive both the router and /openapi.json. These tests
 * check the router against the declarations from the outside, by requests, so a route registered
 * around route(), or a declaration whose scope or body schema is not the one enforced, fails here.
 */

const TOKENS: Record<ApiScope, ApiToken> = {
  read: { name: 'reader', scope: 'read', secret: `rd-${randomBytes(18).toString('base64url')}` },
  submit: { name: 'submitter', scope: 'submit', secret: `sb-${randomBytes(18).toString('base64url')}` },
  worker: { name: 'runner', scope: 'worker', secret: `wk-${randomBytes(18).toString('base64url')}` },
  admin: { name: 'root', scope: 'admin', secret: `ad-${randomBytes(18).toString('base64url')}` },
};
/** A token whose scope does not grant the one named (auth.ts's GRANTS: submit ⊃ read, admin ⊃ all). */
const LACKING: Record<ApiScope, ApiToken> = { read: TOKENS.worker, submit: TOKENS.read, worker: TOKENS.submit, admin: TOKENS.submit };

/** A concrete path for a declared one: each parameter filled with a value its parser accepts. */
function concrete(path: string): string {
  const values: Record<string, string> = { uid: randomUUID(), id: '1', file: 'swagger-ui.css' };
  return path.replace(/\{(\w+)\}/g, (_, name: string) => values[name] ?? 'x');
}

const label = (d: Declaration) => `${d.method.toUpperCase()} ${d.path}`;

describe('route declarations', () => {
  const db = useTestDatabase();
  const plainApp = () => createApp({ database: db(), logger: silentLogger });

  it('every route the app serves is declared once, and every declaration is routed and documented', async () => {
    const app = plainApp();
    const declared = declaredOperations(app).map((d) => `${d.method.toUpperCase()} ${honoPath(d.path)}`);
    expect(declared.length).toBeGreaterThan(40);
    expect(new Set(declared).size, 'a path and method declared twice').toBe(declared.length);
    const routed = new Set(
      app.routes
        // Middleware (app.use) is ALL; the dashboard (/ui, and / which redirects there) is HTML for people, not the API.
        .filter((r) => r.method !== 'ALL' && !/^\/ui(\/|$)/.test(r.path) && r.path !== '/')
        .map((r) => `${r.method} ${r.path}`),
    );
    expect([...routed].sort()).toEqual([...declared].sort());

    const doc = (await (await app.request('/openapi.json')).json()) as { paths: Record<string, Record<string, Json>> };
    const documented = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`));
    const visible = declaredOperations(app).filter((d) => !d.hidden);
    expect(documented.sort()).toEqual(visible.map(label).sort());
    for (const d of visible) {
      const op = doc.paths[d.path]?.[d.method];
      expect(op.summary, label(d)).toBe(d.summary);
      expect(op['x-eventix-scope'] ?? 'public', label(d)).toBe(d.scope);
      expect(Boolean(op.requestBody), label(d)).toBe(Boolean(d.body));
      expect(Object.keys(op.responses), label(d)).toContain(String(d.ok.status));
    }
  });

  it('each operation enforces the scope it declares: 401 without a token, 403 with one lacking it', async () => {
    const app: App = createApp({ database: db(), logger: silentLogger, apiTokens: Object.values(TOKENS) });
    const ops = declaredOperations(app);
    expect(ops.some((d) => d.scope === 'public')).toBe(true);
    for (const d of ops) {
      const path = concrete(d.path);
      const anonymous = await send(app, d.method.toUpperCase(), path);
      if (d.scope === 'public') {
        expect([401, 403], `${label(d)} is public`).not.toContain(anonymous.status);
        continue;
      }
      expect(anonymous.status, `${label(d)} without a token`).toBe(401);
      const lacking = await send(app, d.method.toUpperCase(), path, { token: LACKING[d.scope].secret });
      expect(lacking.status, `${label(d)} with scope ${LACKING[d.scope].scope}`).toBe(403);
      expect(lacking.body.detail).toContain(`does not grant '${d.scope}'`);
      // And no stricter than declared: the scope itself passes (the empty request may then fail otherwise).
      const holding = await send(app, d.method.toUpperCase(), path, { token: TOKENS[d.scope].secret });
      expect([401, 403], `${label(d)} with scope ${d.scope}`).not.toContain(holding.status);
    }
  });

  it('each declared body schema is the one validated: what it refuses gets its 400, field by field', async () => {
    const app = plainApp();
    const withBody = declaredOperations(app).filter((d) => d.body);
    expect(withBody.length).toBeGreaterThan(15);
    for (const d of withBody) {
      const schema = d.body as NonNullable<Declaration['body']>;
      const shape = 'shape' in schema ? Object.keys(schema.shape as object) : [];
      // {} where the schema needs a field; else a field of the wrong type; else an unknown field.
      const candidates: unknown[] = [{}, ...shape.map((k) => ({ [k]: { wrong: [true] } })), { zz_not_a_field: 1 }];
      const refused = candidates.find((b) => !schema.safeParse(b).success);
      expect(refused, `${label(d)}: no candidate body is refused by its schema`).toBeDefined();
      const parsed = schema.safeParse(refused);
      const res = await send(app, d.method.toUpperCase(), concrete(d.path), { json: refused });
      expect(res.status, `${label(d)} ${JSON.stringify(refused)}`).toBe(400);
      expect(res.body.errors, label(d)).toEqual(issuesOf(parsed.error as NonNullable<typeof parsed.error>));
      // A body the declared schema accepts passes validation (the handler may still refuse it otherwise).
      if (schema.safeParse({}).success) {
        const empty = await send(app, d.method.toUpperCase(), concrete(d.path), { json: {} });
        expect(empty.body?.errors?.some((e: { field: string }) => e.field === '(body)') ?? false, label(d)).toBe(false);
        expect([400, 415], `${label(d)} {}`).not.toContain(empty.status);
      }
    }
  });
});
