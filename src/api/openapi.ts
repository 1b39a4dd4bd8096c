import { z } from 'zod';
import { VERSION } from '../version.ts';
import { WHOLE_EXAMPLES } from './examples.ts';
import type { Declaration } from './route.ts';
import * as s from './schemas.ts';

/**
 * The OpenAPI 3.1 document, generated from the very zod schemas that validate requests
 * (src/api/schemas.ts), so the documentation cannot drift from what the server accepts. The
 * operations come from the route declarations (route.ts), which also drive the router; this file
 * adds what is shared by all of them: tags, error texts, the statuses every operation may answer.
 */

/** The resource groups of /docs, in the order Swagger UI lists them, each with its one line. */
const TAGS = {
  Tasks: 'Submit, list, inspect, cancel, reschedule and delete tasks',
  Workers: 'Remote workers: claim due tasks, renew their leases, complete or fail their attempts, hand them back at shutdown',
  Schedules: 'Cron schedules that submit a task at each fire time',
  Events: 'Publish events, each submitting the task of every trigger it fires, and list them',
  Triggers: 'Rules that turn an event into a task',
  Commits: 'Commit status: which commits still need a benchmark under which config',
  Benchmarks: 'Benchmark results: push them, read runs and series, find the nearest profile',
  Baselines: 'Named baselines, versioned snapshots of series values, and comparisons against them',
  Alerts: 'Change points in benchmark series and the regression alerts raised on them',
  Sweeps: 'Benchmark sweeps of the server’s sweeps file: read and fire them',
  Operations: 'Probes, version, queue statistics and Prometheus metrics',
  Compat: 'The Python-Eventix compatible API (/compat/eventix/v4): the Python client and its HTTP workers, unchanged',
} as const;
export type Tag = keyof typeof TAGS;

/**
 * The tag of an operation, from its path: route declarations usually name none, and a
 * new resource's paths fail test/api/openapi-tags.test.ts until a rule here names them.
 */
const TAG_RULES: [RegExp, Tag][] = [
  [/^\/workers\/|^\/tasks\/\{uid\}\/(heartbeat|complete|fail|release)$/, 'Workers'],
  [/^\/tasks(\/|$)/, 'Tasks'],
  [/^\/schedules(\/|$)/, 'Schedules'],
  [/^\/events(\/|$)/, 'Events'],
  [/^\/triggers(\/|$)/, 'Triggers'],
  [/^\/(commits|configs)(\/|$)/, 'Commits'],
  [/^\/benchmarks\/(baselines|snapshots|compare)(\/|$)/, 'Baselines'],
  [/^\/benchmarks\/(alerts|changes)(\/|$)/, 'Alerts'],
  [/^\/benchmarks\//, 'Benchmarks'],
  [/^\/sweeps(\/|$)/, 'Sweeps'],
  [/^\/(healthz|readyz|version|namespaces|stats|metrics)$/, 'Operations'],
];

const tagOf = (op: Declaration): Tag | undefined => op.tag ?? TAG_RULES.find(([pattern]) => pattern.test(op.path))?.[1];

const idOf = (schema: z.ZodType): string | undefined => (z.globalRegistry.get(schema) as { id?: string } | undefined)?.id;
const ref = (schema: z.ZodType) => {
  const id = idOf(schema);
  return id ? { $ref: `#/components/schemas/${id}` } : inline(schema);
};
function inline(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
}

const ERROR_TEXT: Record<number, string> = {
  400: 'Invalid input; `errors` names each offending field',
  401: 'Missing or invalid bearer token',
  403: 'The token’s scope does not allow this',
  404: 'No such task',
  409: 'Conflict: the lease was lost, the change is not allowed from the task’s status, or unique_key is taken',
  413: 'Body over the size limit',
  415: 'Body is not application/json',
  422: 'A trigger produced an invalid task (`trigger` names it, `errors` its fields); neither the event nor any task was stored',
  503: 'The database is unreachable (restarting, connections lost); code DatabaseUnavailable; retry after the Retry-After header’s seconds',
};

function pathParams(op: Declaration) {
  return [...op.path.matchAll(/\{(\w+)\}/g)].map(([, name]) => ({
    name,
    in: 'path',
    required: true,
    schema: op.params?.[name as string]?.schema ?? { type: 'string' },
  }));
}

function queryParams(query: z.ZodObject) {
  return Object.entries(query.shape).map(([name, field]) => ({
    name,
    in: 'query',
    required: !(field as z.ZodType).safeParse(undefined).success,
    schema: inline(field as z.ZodType),
    ...(name === 'status'
      ? { style: 'form', explode: true, description: 'One or several statuses: repeat the parameter or separate with commas' }
      : {}),
  }));
}

/** The document of the operations an app declares (route.ts), hidden ones left out. */
export function buildOpenApi(operations: readonly Declaration[], opts: { authenticated: boolean }) {
  const components = z.toJSONSchema(z.globalRegistry, {
    uri: (id) => `#/components/schemas/${id}`,
    io: 'input',
    unrepresentable: 'any',
  }) as {
    schemas: Record<string, Record<string, unknown>>;
  };
  for (const schema of Object.values(components.schemas)) {
    delete schema.$schema;
    delete schema.$id;
  }
  // Unnamed schemas used in several places (the recursive JSON value) land in __shared.$defs with
  // refs OpenAPI tools cannot follow; hoist them to components and point the refs there.
  const shared = (components.schemas.__shared?.$defs ?? {}) as Record<string, Record<string, unknown>>;
  delete components.schemas.__shared;
  for (const [key, schema] of Object.entries(shared)) components.schemas[`Shared_${key}`] = schema;
  const fixed = JSON.parse(
    JSON.stringify(components).replaceAll('#/components/schemas/__shared#/$defs/', '#/components/schemas/Shared_'),
  ) as typeof components;
  for (const [schema, value] of WHOLE_EXAMPLES) {
    const component = fixed.schemas[idOf(schema) ?? ''];
    if (component) component.examples = [value];
  }
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of operations) {
    if (op.hidden) continue;
    const responses: Record<string, unknown> = {
      [op.ok.status]: {
        description: op.ok.description ?? 'OK',
        ...(op.ok.schema ? { content: { [op.ok.contentType ?? 'application/json']: { schema: ref(op.ok.schema) } } } : {}),
      },
    };
    for (const a of op.also ?? []) {
      responses[a.status] = {
        description: a.description,
        ...(a.schema ? { content: { 'application/json': { schema: ref(a.schema) } } } : {}),
      };
    }
    // Every non-public operation reads or writes the database, so each may answer 503 while it is away.
    // The body limit is global (any POST/PUT/PATCH may get 413), and a route that reads a JSON body
    // refuses another content type with 415: said once here, not route by route (the chaos fuzzer
    // found both missing from routes that answer them).
    const writes = op.method === 'post' || op.method === 'put' || op.method === 'patch';
    const errors = [
      ...new Set([
        ...(op.errors ?? []),
        ...(writes ? [413] : []),
        ...(writes && op.body ? [415] : []),
        ...(op.scope !== 'public' && opts.authenticated ? [401, 403] : []),
        ...(op.scope !== 'public' ? [503] : []),
      ]),
    ];
    for (const status of errors) {
      responses[status] = {
        description: op.errorText?.[status] ?? ERROR_TEXT[status],
        content: { 'application/problem+json': { schema: ref(s.problemOut) } },
      };
    }
    paths[op.path] ??= {};
    const tag = tagOf(op);
    (paths[op.path] as Record<string, unknown>)[op.method] = {
      ...(tag ? { tags: [tag] } : {}),
      summary: op.summary,
      operationId: `${op.method}${op.path.replace(/[{}]/g, '').replace(/[/-](\w)/g, (_, c: string) => c.toUpperCase())}`,
      ...(op.scope === 'public' ? { security: [] } : { 'x-eventix-scope': op.scope }),
      ...(op.writes ? { 'x-eventix-writes': true } : {}),
      parameters: [...pathParams(op), ...(op.query ? queryParams(op.query) : [])],
      ...(op.body ? { requestBody: { required: !op.bodyOptional, content: { 'application/json': { schema: ref(op.body) } } } } : {}),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Eventix',
      version: VERSION,
      description:
        'PostgreSQL-native distributed task scheduler. Errors are application/problem+json (RFC 9457). ' +
        'With EVENTIX_API_TOKENS set, every route but /healthz, /readyz and /version needs `Authorization: Bearer <token>`; ' +
        'each operation names the scope it needs in x-eventix-scope (submit includes read; admin includes everything).',
    },
    ...(opts.authenticated ? { security: [{ bearer: [] }] } : {}),
    tags: Object.entries(TAGS).map(([name, description]) => ({ name, description })),
    components: { ...fixed, securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    paths,
  };
}
