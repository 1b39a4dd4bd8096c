import type { Context, Hono } from 'hono';
import type { Database } from '../../db/client.ts';
import { ValidationError } from '../../errors.ts';
import type { SubmitResult } from '../../queue/submit.ts';
import { submit } from '../../queue/submit.ts';
import { FIRE_OPTIONS, fireKwargs } from '../../sweeps/apply.ts';
import { noSweeps, SWEEP_NAME_PATTERN, type Sweep, SweepNotFound, type Sweeps } from '../../sweeps/config.ts';
import { describeSweeps, sweepRuns } from '../../sweeps/describe.ts';
import { fireUniqueKey, SWEEP_TASK } from '../../sweeps/fire.ts';
import { type AppEnv, operatorOf } from '../auth.ts';
import { route } from '../route.ts';
import { taskToJson } from '../serialize.ts';
import { sweepListOut, sweepRunOut, sweepRunsOut, sweepRunsQuery, sweepToJson, tasksToJson } from '../sweep-schemas.ts';

const NOT_FOUND = { 404: 'No sweep with that name in the server’s sweeps file' };

export interface SweepRoutesDeps {
  database: Database;
  /** The parsed sweeps file (EVENTIX_SWEEPS_FILE); none means an empty list. */
  sweeps?: Sweeps | undefined;
  onSubmitted?: (results: readonly SubmitResult[]) => void;
}

export function sweepRoutes(app: Hono<AppEnv>, deps: SweepRoutesDeps): void {
  const pool = deps.database.pool;
  const sweeps = deps.sweeps ?? noSweeps();
  // The sweep itself, looked up with the name: an unknown sweep answers 404 before its query is read.
  const SWEEP = {
    name: {
      parse: (c: Context): Sweep => {
        const name = c.req.param('name') ?? '';
        if (!SWEEP_NAME_PATTERN.test(name))
          throw new ValidationError([{ field: 'name', message: 'must be 1-100 characters of letters, digits and _ . -' }]);
        const sweep = sweeps.byName.get(name);
        if (!sweep) throw new SweepNotFound(name);
        return sweep;
      },
    },
  };

  route(
    app,
    {
      method: 'get',
      path: '/sweeps',
      summary: 'The sweeps of the server’s sweeps file, with their last and next fire and pairs by status (env values never shown)',
      scope: 'read',
      ok: { status: 200, schema: sweepListOut },
    },
    async (c) => c.json({ sweeps: (await describeSweeps(pool, sweeps)).map(sweepToJson) }),
  );

  route(
    app,
    {
      method: 'post',
      path: '/sweeps/{name}/run',
      summary: 'Fire a sweep now: submit its eventix.sweep task (merged into a fire still waiting)',
      scope: 'submit',
      params: SWEEP,
      ok: { status: 201, schema: sweepRunOut, description: 'Fired: the task submitted' },
      also: [{ status: 200, schema: sweepRunOut, description: 'Merged into a fire of this sweep that is still waiting' }],
      errors: [400, 404],
      errorText: NOT_FOUND,
    },
    async (c, { params: { name: sweep } }) => {
      const result = await submit(pool, {
        task: SWEEP_TASK,
        namespace: sweep.namespace,
        kwargs: fireKwargs(sweep),
        uniqueKey: fireUniqueKey(sweep.name),
        ...FIRE_OPTIONS,
        operator: operatorOf(c, null),
      });
      deps.onSubmitted?.([result]);
      return c.json({ created: result.created, task: taskToJson(result.task) }, result.created ? 201 : 200);
    },
  );

  route(
    app,
    {
      method: 'get',
      path: '/sweeps/{name}/runs',
      summary: 'Recent fires (eventix.sweep) and benchmark runs (benchmark.run) of a sweep, newest first',
      scope: 'read',
      params: SWEEP,
      query: sweepRunsQuery,
      ok: { status: 200, schema: sweepRunsOut },
      errors: [400, 404],
      errorText: NOT_FOUND,
    },
    async (c, { params: { name: sweep }, query }) => {
      const runs = await sweepRuns(pool, sweep, query.limit ?? 50);
      return c.json({ fires: tasksToJson(runs.fires), benchmarks: tasksToJson(runs.benchmarks) });
    },
  );
}
