// Every write that leaves a task `done` is recorded by a trigger, with the worker and fencing token
// that made it: a late completion that fencing failed to refuse shows up as a second row, even when
// it wrote the same status the winner had already written.
export const CREATE_COMPLETION_AUDIT = `
create table if not exists chaos_completions (
  id bigserial primary key,
  uid uuid not null,
  worker_id text,
  fencing_token bigint,
  result jsonb,
  at timestamptz not null default clock_timestamp()
);
create or replace function chaos_audit_completion() returns trigger language plpgsql as $$
begin
  insert into chaos_completions (uid, worker_id, fencing_token, result)
  values (new.uid, new.worker_id, new.fencing_token, new.result);
  return null;
end $$;
drop trigger if exists chaos_audit_completion on tasks;
create trigger chaos_audit_completion after update on tasks for each row
  when (new.status = 'done') execute function chaos_audit_completion();
`;
