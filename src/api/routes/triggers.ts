import type { Context, Hono } from 'hono';
import type { Database } from '../../db/client.ts';
import { TriggerExists, ValidationError } from '../../errors.ts';
import { checkCodeTriggers, type TriggerDefinition } from '../../events/define.ts';
import { createTrigger, deleteTrigger, getTrigger, listTriggers, putTrigger, TRIGGER_NAME_PATTERN } from '../../events/triggers.ts';
import type { AppEnv } from '../auth.ts';
import {
  toTriggerInput,
  triggerCreateBody,
  triggerListOut,
  triggerListQuery,
  triggerOut,
  triggerPutBody,
  triggerToJson,
} from '../event-schemas.ts';
import { route } from '../route.ts';

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

const NAME = { name: { parse: readName } };

// Triggers create work for everyone who runs workers, so changing them takes the admin scope.
export function triggerRoutes(app: Hono<AppEnv>, deps: TriggerRoutesDeps): void {
  const pool = deps.database.pool;
  const codeNames = new Set(checkCodeTriggers(deps.codeTriggers ?? []).map((d) => d.name));
  const notCode = (name: string) => {
    if (codeNames.has(name)) throw new TriggerExists(name);
  };

  route(
    app,
    {
      method: 'get',
      path: '/triggers',
      summary: 'List triggers by name',
      scope: 'read',
      query: triggerListQuery,
      ok: { status: 200, schema: triggerListOut },
      errors: [400],
    },
    async (c, { query }) => c.json({ triggers: (await listTriggers(pool, { eventName: query.event_name })).map(triggerToJson) }),
  );

  route(
    app,
    {
      method: 'post',
      path: '/triggers',
      summary: 'Create a trigger',
      scope: 'admin',
      body: triggerCreateBody,
      ok: { status: 201, schema: triggerOut, description: 'Created' },
      errors: [400, 409, 413, 415],
    },
    async (c, { body }) => {
      notCode(body.name);
      return c.json(triggerToJson(await createTrigger(pool, toTriggerInput(body.name, body))), 201);
    },
  );

  route(
    app,
    {
      method: 'get',
      path: '/triggers/{name}',
      summary: 'Get a trigger',
      scope: 'read',
      params: NAME,
      ok: { status: 200, schema: triggerOut },
      errors: [400, 404],
    },
    async (c, { params }) => c.json(triggerToJson(await getTrigger(pool, params.name))),
  );

  route(
    app,
    {
      method: 'put',
      path: '/triggers/{name}',
      summary: 'Create or replace a trigger',
      scope: 'admin',
      params: NAME,
      body: triggerPutBody,
      ok: { status: 200, schema: triggerOut, description: 'Replaced (revision incremented)' },
      also: [{ status: 201, schema: triggerOut, description: 'Created' }],
      errors: [400, 409, 413, 415],
    },
    async (c, { params: { name }, body }) => {
      if (body.name !== undefined && body.name !== name) {
        throw new ValidationError([{ field: 'name', message: `must equal the name in the path ('${name}')` }]);
      }
      notCode(name);
      const { trigger, created } = await putTrigger(pool, toTriggerInput(name, body));
      return c.json(triggerToJson(trigger), created ? 201 : 200);
    },
  );

  route(
    app,
    {
      method: 'delete',
      path: '/triggers/{name}',
      summary: 'Delete a trigger',
      scope: 'admin',
      params: NAME,
      ok: { status: 204, description: 'Deleted' },
      errors: [400, 404],
    },
    async (c, { params }) => {
      await deleteTrigger(pool, params.name);
      return c.body(null, 204);
    },
  );
}
