import type pg from 'pg';

/**
 * A tasks table as a busy deployment has it, for bench/dashboard.ts: mostly done tasks finished
 * over the last two hours, a few percent failed with a handful of error classes (a stack trace
 * each, as real failures carry), a few thousand waiting, retrying and running ones held by 40
 * workers, over five namespaces of uneven size. Statuses are spread by id (residue mod 1000), so
 * failed rows are scattered over the heap as they are in life, not packed at its end.
 *
 * Per 1000 rows: 2 processing, 5 scheduled, 1 retry, 20 error, 2 cancelled, 970 done.
 */
const SEED_SQL = `
insert into tasks (task, namespace, status, priority, eta, args, kwargs, result, error, attempts, worker_id,
  lease_expires_at, fencing_token, expires_at, created_at, updated_at, started_at, finished_at)
select
  (array['send_email', 'resize_image', 'sync_account', 'render_report', 'charge_card', 'index_document'])[1 + (i / 7) % 6],
  (array['default', 'default', 'default', 'default', 'default', 'default', 'default', 'default',
         'email', 'email', 'email', 'email', 'email', 'reports', 'reports', 'reports',
         'ingest', 'ingest', 'ingest', 'billing'])[1 + (i / 3) % 20],
  s.status,
  0,
  case s.status when 'scheduled' then now() - random() * interval '10 min' when 'retry' then now() + random() * interval '5 min'
    else f.finished_at - interval '2 s' end,
  jsonb_build_array(i, 'user-' || (i % 5000)),
  '{}'::jsonb,
  case when s.status = 'done' then jsonb_build_object('ok', true, 'ms', i % 900) end,
  case when s.status in ('error', 'retry') then jsonb_build_object(
    'class', (array['TimeoutError', 'ConnectionResetError', 'ValidationError', 'RateLimited', 'KeyError', 'SMTPRecipientRefused'])[1 + (i / 1000) % 6],
    'message', 'attempt ' || (i % 5) || ' failed for user-' || (i % 5000),
    'stack', repeat('    at handler (/srv/app/tasks.js:42:13)' || chr(10), 12)) end,
  case when s.status in ('scheduled') then 0 else 1 + i % 3 end,
  case when s.status = 'processing' then 'worker-' || (i / 1000 % 40) || ':' || (1000 + i / 1000 % 40) || ':' || to_hex(4096 + i / 1000 % 40) end,
  case when s.status = 'processing' then now() + (i % 90) * interval '1 s' end,
  case when s.status = 'processing' then nextval('tasks_fencing_token_seq') end,
  case when s.status in ('done', 'error', 'cancelled') then f.finished_at + interval '7 days' end,
  f.finished_at - interval '5 s',
  case when s.status = 'processing' then now() - (i % 20) * interval '1 s' else f.finished_at end,
  case when s.status in ('processing', 'done', 'error') then f.finished_at - interval '1 s' end,
  case when s.status in ('done', 'error', 'cancelled') then f.finished_at end
from generate_series($1::int, $2::int) as i
cross join lateral (select case
  when i % 1000 < 2 then 'processing'
  when i % 1000 < 7 then 'scheduled'
  when i % 1000 < 8 then 'retry'
  when i % 1000 < 28 then 'error'
  when i % 1000 < 30 then 'cancelled'
  else 'done' end as status) s
cross join lateral (select now() - random() * interval '2 hours' as finished_at) f
`;

const SCHEDULES_SQL = `
insert into schedules (name, namespace, cron, task, next_fire_at)
select 'schedule-' || i, (array['default', 'email', 'reports'])[1 + i % 3], '*/' || (5 + i) || ' * * * *', 'render_report',
  now() + i * interval '37 s'
from generate_series(1, 25) as i
`;

/** Insert `rows` tasks in chunks (one INSERT … SELECT generate_series each), reporting progress. */
export async function seedTasks(pool: pg.Pool, rows: number, progress: (msg: string) => void): Promise<void> {
  const chunk = 250_000;
  for (let from = 1; from <= rows; from += chunk) {
    const to = Math.min(rows, from + chunk - 1);
    await pool.query(SEED_SQL, [from, to]);
    progress(`  ${to.toLocaleString('en-US')} / ${rows.toLocaleString('en-US')} tasks`);
  }
  await pool.query(SCHEDULES_SQL);
}
