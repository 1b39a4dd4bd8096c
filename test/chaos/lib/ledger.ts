/** The table the fixture tasks write each attempt into (see fixtures/tasks.ts). */
export const CREATE_LEDGER = `create table if not exists chaos_runs (
  id bigserial primary key,
  uid uuid not null,
  attempt int not null,
  pid int not null,
  started_at timestamptz not null default clock_timestamp(),
  finished_at timestamptz
)`;

export const TASKS_MODULE = 'test/chaos/fixtures/tasks.ts';
