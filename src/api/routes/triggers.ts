import { type Context, Hono } from 'hono';
import type { Database } from '../../db/client.ts';
import { TriggerExists, ValidationError } from '../../errors.ts';
import { checkCodeTriggers, type TriggerDefinition } from '../../events/define.ts';
import { createTrigger, deleteTrigger, getTrigger, listTriggers, putTrigger, TRIGGER_NAME_PATTERN } from '../../events/triggers.ts';
import { type AppEnv, requireScope } from '../auth.ts';
import { readJson, readQuery } from '../body.ts';
import {
  toTriggerInput,
  triggerCreateBody,
  triggerListOut,
  triggerListQuery,
  triggerOut,
  triggerPutBody,
  triggerToJson,
} from '../event-schemas.ts';
import { registerOperations } from '../openapi.ts';

// Triggers create work for everyone who runs workers, so changing them takes the admin scope.
registerOperations([
  {
    method: 'get',
    path: '/triggers',
    summary: 'List triggers by name',
    scope: 'read',
    query: triggerListQuery,
    ok: { status: 200, schema: triggerListOut },
    errors: [400],
  },
  {
    method: 'post',
    path: '/triggers',
    summary: 'Create a trigger',
    scope: 'admin',
    body: triggerCreateBody,
    ok: { status: 201, schema: triggerOut, description: 'Created' },
    errors: [400, 409, 413, 415],
  },
  {
    method: 'get',
    path: '/triggers/{name}',
    summary: 'Get a trigger',
    scope: 'read',
    ok: { status: 200, schema: triggerOut },
    errors: [400, 404],
  },
  {
    method: 'put',
    path: '/triggers/{name}',
    summary: 'Create or replace a trigger',
    scope: 'admin',
    body: triggerPutBody,
    ok: { status: 200, schema: triggerOut, description: 'Replaced (revision incremented)' },
    also: [{ status: 201, schema: triggerOut, description: 'Created' }],
    errors: [400, 409, 413, 415],
  },
  {
    method: 'delete',
    path: '/triggers/{name}',
    summary: 'Delete a trigger',
    scope: 'admin',
    ok: { status: 204, description: 'Deleted' },
    errors: [400, 404],
  },
]);

export interface TriggerRoutesDeps {
  database: Database;
  /** Code triggers served by this process: a stored trigger may not take one of their names. */
  codeTriggers?: readonly TriggerDefinition[] | undefined;
}

function readName(c: Context): string {
  const name = c.req.param('name') ?? '';
  if (!TRIGGER_NAME_PATTERN.test(name))
    throw new ValidationError([{ field: 'name', message: 'must be 1-200 characters of letters, digits and _ . : -' }]);
  return name;
}

export function triggerRoutes(deps: TriggerRoutesDeps) {
  const pool = deps.database.pool;
  const codeNames = new Set(checkCodeTriggers(deps.codeTriggers ?? []).map((d) => d.name));
  const notCode = (name: string) => {
    if (codeNames.has(name)) throw new TriggerExists(name);
  };
  return new Hono<AppEnv>()
    .get('/', requireScope('read'), async (c) => {
      const q = readQuery(c, triggerListQuery);
      return c.json({ triggers: (await listTriggers(pool, { eventName: q.event_name })).map(triggerToJson) });
    })
    .post('/', requireScope('admin'), async (c) => {
      const body = await readJson(c, triggerCreateBody);
      notCode(body.name);
      return c.json(triggerToJson(await createTrigger(pool, toTriggerInput(body.name, body))), 201);
    })
    .get('/:name', requireScope('read'), async (c) => c.json(triggerToJson(await getTrigger(pool, readName(c)))))
    .put('/:name', requireScope('admin'), async (c) => {
      const name = readName(c);
      const body = await readJson(c, triggerPutBody);
      if (body.name !== undefined && body.name !== name) {
        throw new ValidationError([{ field: 'name', message: `must equal the name in the path ('${name}')` }]);
      }
      notCode(name);
      const { trigger, created } = await putTrigger(pool, toTriggerInput(name, body));
      return c.json(triggerToJson(trigger), created ? 201 : 200);
    })
    .delete('/:name', requireScope('admin'), async (c) => {
      await deleteTrigger(pool, readName(c));
      return c.body(null, 204);
    });
}
