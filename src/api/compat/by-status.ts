import { type Executor, run } from '../../db/executor.ts';
import { countTasks } from '../../queue/list.ts';
import type { TaskStatus } from '../../queue/states.ts';
import { type Task, type TaskRowRaw, toTask } from '../../queue/task.ts';

/**
 * Python's PUT /tasks/by_status: a page of the tasks with a status (and namespace), newest
 * submission first, by skip and limit, with the number matching in all (its max_results). Our
 * own listing pages by keyset cursor; Python's clients send an offset, so this one statement
 * takes one. The total is countTasks, the list filter's own count.
 */
const PAGE_SQL = `
select * from tasks
where ($1::text[] is null or status = any($1::text[]))
  and ($2::text is null or namespace = $2)
order by id desc
offset $3
limit $4
`;

export async function tasksByStatus(
  ex: Executor,
  f: { statuses: TaskStatus[] | undefined; namespace: string | undefined; skip: number; limit: number },
): Promise<{ tasks: Task[]; total: number }> {
  const [rows, counts] = await Promise.all([
    run<TaskRowRaw>(ex, PAGE_SQL, [f.statuses ?? null, f.namespace ?? null, f.skip, f.limit]),
    countTasks(ex, { statuses: f.statuses, namespace: f.namespace }),
  ]);
  return { tasks: rows.map(toTask), total: Object.values(counts).reduce((a, b) => a + (b ?? 0), 0) };
}
