import type { Hono } from 'hono';
import type { Database } from '../../db/client.ts';
import { checkCodeTriggers, type TriggerDefinition } from '../../events/define.ts';
import { listEvents } from '../../events/events.ts';
import { publishEvent } from '../../events/publish.ts';
import type { SubmitResult } from '../../queue/submit.ts';
import { type AppEnv, operatorOf } from '../auth.ts';
import { eventListQuery, eventPageOut, eventPublishBody, eventToJson, publishResultOut, publishResultToJson } from '../event-schemas.ts';
import { route } from '../route.ts';

export interface EventRoutesDeps {
  database: Database;
  /** Triggers defined in code (defineTrigger), run in this process for every event it receives. */
  codeTriggers?: readonly TriggerDefinition[] | undefined;
  onSubmitted?: (results: readonly SubmitResult[]) => void;
}

export function eventRoutes(app: Hono<AppEnv>, deps: EventRoutesDeps): void {
  const pool = deps.database.pool;
  const codeTriggers = checkCodeTriggers(deps.codeTriggers ?? []);
  route(
    app,
    {
      method: 'post',
      path: '/events',
      summary: 'Publish an event: store it and submit the task of every trigger it fires, all in one transaction',
      scope: 'submit',
      body: eventPublishBody,
      ok: { status: 201, schema: publishResultOut, description: 'Stored; `tasks` lists each trigger’s task' },
      errors: [400, 413, 415, 422],
    },
    async (c, { body }) => {
      const result = await publishEvent(pool, { ...body, operator: operatorOf(c, body.operator) }, { codeTriggers });
      deps.onSubmitted?.(result.tasks);
      return c.json(publishResultToJson(result), 201);
    },
  );

  route(
    app,
    {
      method: 'get',
      path: '/events',
      summary: 'List events, newest first, with keyset pagination',
      scope: 'read',
      query: eventListQuery,
      ok: { status: 200, schema: eventPageOut },
      errors: [400],
    },
    async (c, { query }) => {
      const page = await listEvents(pool, query);
      return c.json({ events: page.events.map(eventToJson), next_cursor: page.nextCursor });
    },
  );
}
