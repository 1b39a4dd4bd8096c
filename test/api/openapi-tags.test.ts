import { describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.ts';
import { WHOLE_EXAMPLES } from '../../src/api/examples.ts';
import { silentLogger } from '../../src/logger.ts';
import { useTestDatabase } from '../helpers/db.ts';

type Schema = Record<string, unknown>;
interface Operation {
  tags?: string[];
  requestBody?: { content: Record<string, { schema: Schema }> };
  responses: Record<string, { content?: Record<string, { schema: Schema }> }>;
}
interface Doc {
  tags: { name: string; description: string }[];
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema> };
}

const TASK_SCHEMAS = new Set(['Task', 'TaskError', 'ClaimedTask', 'Problem', 'Namespaces', 'Stats']);

/**
 * Plain-string fields (no enum, const, format or pattern, for which Swagger UI generates a fitting
 * value) that carry no example of their own or from an enclosing property: /docs would fill them
 * with "string". Refs are followed once each, so the recursive JSON value ends the walk.
 */
function undocumentedStrings(doc: Doc, schema: unknown, path: string, seen = new Set<string>(), documented = false): string[] {
  if (!schema || typeof schema !== 'object') return [];
  const s = schema as Schema;
  const here = documented || Array.isArray(s.examples);
  const ref = typeof s.$ref === 'string' ? s.$ref.replace('#/components/schemas/', '') : undefined;
  // The generic JSON value (config, data, payload) has no one example; the task schemas
  // (src/api/schemas.ts) are documented on their own.
  if (ref === 'JsonValue' || ref?.startsWith('Shared_') || (ref && TASK_SCHEMAS.has(ref))) return [];
  if (ref && !seen.has(ref)) return undocumentedStrings(doc, doc.components.schemas[ref], path, new Set([...seen, ref]), here);
  const own = s.type === 'string' && !here && !('enum' in s) && !('const' in s) && !('format' in s) && !('pattern' in s) ? [path] : [];
  const children: [unknown, string][] = [
    ...Object.entries((s.properties ?? {}) as Record<string, unknown>).map(([k, v]): [unknown, string] => [v, `${path}.${k}`]),
    [s.items, `${path}[]`],
    ...(['anyOf', 'oneOf', 'allOf'] as const).flatMap((k) => ((s[k] ?? []) as unknown[]).map((v): [unknown, string] => [v, path])),
  ];
  // An example covers everything inside it: a whole template, both branches of a nullable field.
  return [...own, ...children.flatMap(([v, p]) => undocumentedStrings(doc, v, p, seen, here))];
}

describe('OpenAPI tags and examples', () => {
  const db = useTestDatabase();
  const doc = async () => (await (await createApp({ database: db(), logger: silentLogger }).request('/openapi.json')).json()) as Doc;

  it('puts every operation in exactly one listed group, and lists only groups in use, each described', async () => {
    const d = await doc();
    const listed = d.tags.map((t) => t.name);
    const used = new Set<string>();
    for (const [path, ops] of Object.entries(d.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        expect(op.tags, `${method.toUpperCase()} ${path}`).toHaveLength(1);
        expect(listed, `${method.toUpperCase()} ${path}`).toContain(op.tags?.[0]);
        used.add(op.tags?.[0] as string);
      }
    }
    expect([...used].sort()).toEqual([...listed].sort());
    for (const t of d.tags) expect(t.description, t.name).toMatch(/^[^\n]{10,120}$/);
  });

  it('groups by resource: a worker call under Workers, a config under Commits, a comparison under Baselines', async () => {
    const d = await doc();
    const tag = (method: string, path: string) => d.paths[path]?.[method]?.tags?.[0];
    expect(tag('post', '/tasks')).toBe('Tasks');
    expect(tag('get', '/tasks/{uid}')).toBe('Tasks');
    expect(tag('post', '/tasks/{uid}/cancel')).toBe('Tasks');
    expect(tag('post', '/tasks/{uid}/heartbeat')).toBe('Workers');
    expect(tag('post', '/workers/claim')).toBe('Workers');
    expect(tag('get', '/configs/{id}')).toBe('Commits');
    expect(tag('post', '/benchmarks/compare')).toBe('Baselines');
    expect(tag('get', '/benchmarks/changes')).toBe('Alerts');
    expect(tag('get', '/benchmarks/nearest')).toBe('Benchmarks');
    expect(tag('get', '/metrics')).toBe('Operations');
  });

  it('gives the bodies and answers of the resource operations real examples, not "string"', async () => {
    const d = await doc();
    const missing: string[] = [];
    for (const [path, ops] of Object.entries(d.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        if (op.tags?.[0] === 'Tasks' || op.tags?.[0] === 'Workers') continue;
        const where = `${method.toUpperCase()} ${path}`;
        missing.push(...undocumentedStrings(d, op.requestBody?.content['application/json']?.schema, `${where} body`));
        for (const [status, r] of Object.entries(op.responses)) {
          if (status.startsWith('2'))
            missing.push(...undocumentedStrings(d, r.content?.['application/json']?.schema, `${where} ${status}`));
        }
      }
    }
    expect(missing).toEqual([]);
    expect(d.components.schemas.TriggerCreate?.examples).toEqual([expect.objectContaining({ name: 'bench-on-push' })]);
  });

  it('whole examples are bodies and answers the schemas accept', () => {
    expect(WHOLE_EXAMPLES.size).toBeGreaterThanOrEqual(5);
    for (const [schema, value] of WHOLE_EXAMPLES) {
      const parsed = schema.safeParse(value);
      expect(parsed.error?.issues ?? [], JSON.stringify(value)).toEqual([]);
    }
  });
});
