import { type Context, Hono } from 'hono';
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
import { type AppEnv, requireScope } from '../auth.ts';
import { readJson, readQuery } from '../body.ts';
import { registerOperations } from '../openapi.ts';
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

registerOperations([
  {
    method: 'get',
    path: '/schedules',
    summary: 'List schedules by name',
    scope: 'read',
    query: scheduleListQuery,
    ok: { status: 200, schema: schedulePageOut },
    errors: [400],
  },
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
  {
    method: 'get',
    path: '/schedules/{name}',
    summary: 'Get a schedule',
    scope: 'read',
    ok: { status: 200, schema: scheduleOut },
    errors: [400, 404],
    errorText: NOT_FOUND,
  },
  {
    method: 'patch',
    path: '/schedules/{name}',
    summary: 'Change some fields of a schedule; next_fire_at is recomputed when cron or timezone change',
    scope: 'submit',
    body: scheduleUpdateBody,
    ok: { status: 200, schema: scheduleOut },
    errors: [400, 404, 413, 415],
    errorText: NOT_FOUND,
  },
  {
    method: 'delete',
    path: '/schedules/{name}',
    summary: 'Delete a schedule and its fire history (its tasks stay)',
    scope: 'admin',
    ok: { status: 204, description: 'Deleted' },
    errors: [400, 404],
    errorText: NOT_FOUND,
  },
  {
    method: 'post',
    path: '/schedules/{name}/pause',
    summary: 'Pause a schedule (idempotent)',
    scope: 'submit',
    ok: { status: 200, schema: scheduleOut },
    errors: [400, 404],
    errorText: NOT_FOUND,
  },
  {
    method: 'post',
    path: '/schedules/{name}/resume',
    summary: 'Resume a schedule from now on; times that passed while it was paused are not fired',
    scope: 'submit',
    ok: { status: 200, schema: scheduleOut },
    errors: [400, 404],
    errorText: NOT_FOUND,
  },
  {
    method: 'post',
    path: '/schedules/{name}/run',
    summary: 'Fire a schedule once now, whatever its cron, overlap setting or pause',
    scope: 'submit',
    ok: { status: 201, schema: scheduleRunOut, description: 'Fired: the task submitted' },
    errors: [400, 404],
    errorText: NOT_FOUND,
  },
]);

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

export function scheduleRoutes(deps: ScheduleRoutesDeps) {
  const pool = deps.database.pool;
  const now = () => deps.clock?.() ?? new Date();

  return new Hono<AppEnv>()
    .get('/', requireScope('read'), async (c) => {
      const q = readQuery(c, scheduleListQuery);
      const page = await listSchedules(pool, {
        namespace: q.namespace,
        enabled: q.enabled === undefined ? undefined : q.enabled === 'true',
        limit: q.limit,
        cursor: q.cursor,
      });
      return c.json({ schedules: page.schedules.map(scheduleToJson), next_cursor: page.nextCursor });
    })
    .post('/', requireScope('submit'), async (c) => {
      const body = await readJson(c, scheduleCreateBody);
      const schedule = await createSchedule(pool, toScheduleInput(body), { now: now() });
      return c.json(scheduleToJson(schedule), 201);
    })
    .get('/:name', requireScope('read'), async (c) => c.json(scheduleToJson(await getSchedule(pool, readName(c)))))
    .patch('/:name', requireScope('submit'), async (c) => {
      const name = readName(c);
      const body = await readJson(c, scheduleUpdateBody);
      return c.json(scheduleToJson(await updateSchedule(pool, name, toSchedulePatch(body), { now: now() })));
    })
    .delete('/:name', requireScope('admin'), async (c) => {
      await removeSchedule(pool, readName(c));
      return c.body(null, 204);
    })
    .post('/:name/pause', requireScope('submit'), async (c) => c.json(scheduleToJson(await pauseSchedule(pool, readName(c)))))
    .post('/:name/resume', requireScope('submit'), async (c) =>
      c.json(scheduleToJson(await resumeSchedule(pool, readName(c), { now: now() }))),
    )
    .post('/:name/run', requireScope('submit'), async (c) => {
      const fire = await runSchedule(pool, readName(c), { now: now() });
      deps.onSubmitted?.([{ task: fire.task, created: true }]);
      return c.json({ fire_at: fire.fireAt.toISOString(), task: taskToJson(fire.task) }, 201);
    });
}
