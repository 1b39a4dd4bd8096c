import type { Context, Hono } from 'hono';
import type { Database } from '../../db/client.ts';
import { type FieldIssue, ValidationError } from '../../errors.ts';
import type { Logger } from '../../logger.ts';
import { findNearest, PostgresRepository } from '../../tracking/nearest/index.ts';
import { issuesOf } from '../../validation/zod.ts';
import type { AppEnv } from '../auth.ts';
import { type NearestQueryWire, nearestOut, nearestQuerySchema, nearestToJson } from '../nearest-schemas.ts';
import { route } from '../route.ts';

const BRACKETED = /^(tags|target)\[(.*)\]$/;

/**
 * `tags[name]=value` and `target[name]=number` gather into two objects (the `tags[…]` syntax of
 * GET /benchmarks/series); each name once, since a lookup compares against one value.
 */
function readNearestQuery(c: Context, schema: typeof nearestQuerySchema): NearestQueryWire {
  // Maps, then fromEntries: a parameter named __proto__ becomes a field, never the object's prototype.
  const raw = new Map<string, unknown>();
  const groups = { tags: new Map<string, string>(), target: new Map<string, string>() };
  const issues: FieldIssue[] = [];
  for (const [key, values] of Object.entries(c.req.queries())) {
    const m = BRACKETED.exec(key);
    if (m) {
      const group = m[1] as 'tags' | 'target';
      const nameOf = m[2] as string;
      if (values.length > 1) issues.push({ field: `${group}.${nameOf}`, message: 'must be given once' });
      groups[group].set(nameOf, values[0] as string);
    } else {
      raw.set(key, values.length === 1 ? values[0] : values);
    }
  }
  if (issues.length) throw new ValidationError(issues);
  if (groups.tags.size) raw.set('tags', Object.fromEntries(groups.tags));
  if (groups.target.size) raw.set('target', Object.fromEntries(groups.target));
  const parsed = schema.safeParse(Object.fromEntries(raw));
  if (!parsed.success) throw new ValidationError(issuesOf(parsed.error, '', '(query)'));
  return parsed.data;
}

export function nearestRoutes(app: Hono<AppEnv>, deps: { database: Database; logger: Logger }): void {
  const repository = new PostgresRepository(deps.database.pool);
  route(
    app,
    {
      method: 'get',
      path: '/benchmarks/nearest',
      summary: 'The stored result nearest to target parameters among those matching exact tags (relative Euclidean distance, seed 002)',
      scope: 'read',
      query: nearestQuerySchema,
      queryReader: readNearestQuery,
      ok: { status: 200, schema: nearestOut, description: 'The nearest result, its distance, and how many candidates there were' },
      errors: [400, 404],
      errorText: {
        400: 'Invalid query; `errors` names each field (`target.mean_input_tokens` for a target that is not a number > 0)',
        404: 'No stored result matches the exact tags with every target parameter (code NoCandidates)',
      },
    },
    async (c, { query: q }) => {
      const result = await findNearest(
        repository,
        { exact: q.tags, target: q.target, repo: q.repo, logger: deps.logger },
        { exact: 'tags', target: 'target' },
      );
      return c.json(nearestToJson(result));
    },
  );
}
