import { Hono } from 'hono';
import type { Database } from '../../db/client.ts';
import { checkCodeTriggers, type TriggerDefinition } from '../../events/define.ts';
import { listEvents } from '../../events/events.ts';
import { publishEvent } from '../../events/publish.ts';
import type { SubmitResult } from '../../queue/submit.ts';
import { type AppEnv, operatorOf, requireScope } from '../auth.ts';
import { readJson, readQuery } from '../body.ts';
import { eventListQuery, eventPageOut, eventPublishBody, eventToJson, publishResultOut, publishResultToJson } from '../event-schemas.ts';
import { registerOperations } from '../openapi.ts';

registerOperations([
  {
    method: 'post',
    path: '/events',
    summary: 'Publish an event: store it and submit the task of every trigger it fires, all in one transaction',
    scope: 'submit',
    body: eventPublishBody,
    ok: { status: 201, schema: publishResultOut, description: 'Stored; `tasks` lists each trigger’s task' },
    errors: [400, 413, 415, 422],
  },
  {
    method: 'get',
    path: '/events',
    summary: 'List events, newest first, with keyset pagination',
    scope: 'read',
    query: eventListQuery,
    ok: { status: 200, schema: eventPageOut },
    errors: [400],
  },
]);

export interface EventRoutesDeps {
  database: Database;
  /** Triggers defined in code (defineTrigger), run in this process for every event it receives. */
  codeTriggers?: readonly TriggerDefinition[] | undefined;
  onSubmitted?: (results: readonly SubmitResult[]) => void;
}

export function eventRoutes(deps: EventRoutesDeps) {
  const pool = deps.database.pool;
  const codeTriggers = checkCodeTriggers(deps.codeTriggers ?? []);
  return new Hono<AppEnv>()
    .post('/', requireScope('submit'), async (c) => {
      const body = await readJson(c, eventPublishBody);
      const result = await publishEvent(pool, { ...body, operator: operatorOf(c, body.operator) }, { codeTriggers });
      deps.onSubmitted?.(result.tasks);
      return c.json(publishResultToJson(result), 201);
    })
    .get('/', requireScope('read'), async (c) => {
      const q = readQuery(c, eventListQuery);
      const page = await listEvents(pool, q);
      return c.json({ events: page.events.map(eventToJson), next_cursor: page.nextCursor });
    });
}
