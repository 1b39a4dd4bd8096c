import type { Context, Hono } from 'hono';
import type { Database } from '../../db/client.ts';
import { ValidationError } from '../../errors.ts';
import type { SubmitResult } from '../../queue/submit.ts';
import {
  createSchedule,
  getSchedule,
  listSchedules,
  pauseSchedule,
  removeSchedule,
  resumeSchedule,
  updateSchedule,
} from '../../scheduler/manage.ts';
import { runSchedule } from '../../scheduler/run-now.ts';
import { SCHEDULE_NAME_MESSAGE, SCHEDULE_NAME_PATTERN } from '../../scheduler/schedule-input.ts';
import type { AppEnv } from '../auth.ts';
import { route } from '../route.ts';
import {
  scheduleCreateBody,
  scheduleListQuery,
  scheduleOut,
  schedulePageOut,
  scheduleRunOut,
  scheduleToJson,
  scheduleUpdateBody,
  toScheduleInput,
  toSchedulePatch,
} from '../schedule-schemas.ts';
import { taskToJson } from '../serialize.ts';

const NOT_FOUND = { 404: 'No schedule with that name' };

export interface ScheduleRoutesDeps {
  database: Database;
  /** The clock next_fire_at is computed from on create, update and resume; default the system clock. */
  clock?: () => Date;
  /** Tasks submitted by POST …/run (for the submitted-tasks counter). */
  onSubmitted?: (results: readonly SubmitResult[]) => void;
}

function readName(c: Context): string {
  const name = c.req.param('name') ?? '';
  if (!SCHEDULE_NAME_PATTERN.test(name)) throw new ValidationError([{ field: 'name', message: SCHEDULE_NAME_MESSAGE }]);
  return name;
}

const NAME = { name: { parse: readName } };

export function scheduleRoutes(app: Hono<AppEnv>, deps: ScheduleRoutesDeps): void {
  const pool = deps.database.pool;
  const now = () => deps.clock?.() ?? new Date();

  route(
    app,
    {
      method: 'get',
      path: '/schedules',
      summary: 'List schedules by name',
      scope: 'read',
      query: scheduleListQuery,
      ok: { status: 200, schema: schedulePageOut },
      errors: [400],
    },
    async (c, { query: q }) => {
      const page = await listSchedules(pool, {
        namespace: q.namespace,
        enabled: q.enabled === undefined ? undefined : q.enabled === 'true',
        limit: q.limit,
        cursor: q.cursor,
      });
      return c.json({ schedules: page.schedules.map(scheduleToJson), next_cursor: page.nextCursor });
    },
  );

  route(
    app,
    {
      method: 'post',
      path: '/schedules',
      summary: 'Create a schedule',
      scope: 'submit',
      body: scheduleCreateBody,
      ok: { status: 201, schema: scheduleOut, description: 'Created' },
      errors: [400, 409, 413, 415],
      errorText: { 409: 'A schedule with that name exists' },
    },
    async (c, { body }) => {
      const schedule = await createSchedule(pool, toScheduleInput(body), { now: now() });
      return c.json(scheduleToJson(schedule), 201);
    },
  );

  route(
    app,
    {
      method: 'get',
      path: '/schedules/{name}',
      summary: 'Get a schedule',
      scope: 'read',
      params: NAME,
      ok: { status: 200, schema: scheduleOut },
      errors: [400, 404],
      errorText: NOT_FOUND,
    },
    async (c, { params }) => c.json(scheduleToJson(await getSchedule(pool, params.name))),
  );

  route(
    app,
    {
      method: 'patch',
      path: '/schedules/{name}',
      summary: 'Change some fields of a schedule; next_fire_at is recomputed when cron or timezone change',
      scope: 'submit',
      params: NAME,
      body: scheduleUpdateBody,
      ok: { status: 200, schema: scheduleOut },
      errors: [400, 404, 413, 415],
      errorText: NOT_FOUND,
    },
    async (c, { params, body }) => c.json(scheduleToJson(await updateSchedule(pool, params.name, toSchedulePatch(body), { now: now() }))),
  );

  route(
    app,
    {
      method: 'delete',
      path: '/schedules/{name}',
      summary: 'Delete a schedule and its fire history (its tasks stay)',
      scope: 'admin',
      params: NAME,
      ok: { status: 204, description: 'Deleted' },
      errors: [400, 404],
      errorText: NOT_FOUND,
    },
    async (c, { params }) => {
      await removeSchedule(pool, params.name);
      return c.body(null, 204);
    },
  );

  route(
    app,
    {
      method: 'post',
      path: '/schedules/{name}/pause',
      summary: 'Pause a schedule (idempotent)',
      scope: 'submit',
      params: NAME,
      ok: { status: 200, schema: scheduleOut },
      errors: [400, 404],
      errorText: NOT_FOUND,
    },
    async (c, { params }) => c.json(scheduleToJson(await pauseSchedule(pool, params.name))),
  );

  route(
    app,
    {
      method: 'post',
      path: '/schedules/{name}/resume',
      summary: 'Resume a schedule from now on; times that passed while it was paused are not fired',
      scope: 'submit',
      params: NAME,
      ok: { status: 200, schema: scheduleOut },
      errors: [400, 404],
      errorText: NOT_FOUND,
    },
    async (c, { params }) => c.json(scheduleToJson(await resumeSchedule(pool, params.name, { now: now() }))),
  );

  route(
    app,
    {
      method: 'post',
      path: '/schedules/{name}/run',
      summary: 'Fire a schedule once now, whatever its cron, overlap setting or pause',
      scope: 'submit',
      params: NAME,
      ok: { status: 201, schema: scheduleRunOut, description: 'Fired: the task submitted' },
      errors: [400, 404],
      errorText: NOT_FOUND,
    },
    async (c, { params }) => {
      const fire = await runSchedule(pool, params.name, { now: now() });
      deps.onSubmitted?.([{ task: fire.task, created: true }]);
      return c.json({ fire_at: fire.fireAt.toISOString(), task: taskToJson(fire.task) }, 201);
    },
  );
}
