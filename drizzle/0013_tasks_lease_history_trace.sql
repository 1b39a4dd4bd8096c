-- lease_seconds: the lease length of the current claim, so that a heartbeat naming none renews by
-- it (a remote worker's heartbeat without lease_seconds used to cut a 600 s lease to 30 s).
-- attempt_errors: every failed attempt's error, the last 20. trace_context: the W3C trace context
-- the task was submitted in, for OpenTelemetry (src/tracing.ts). All three are issue 15's, nullable
-- with no default, so adding them rewrites nothing: the ALTERs take a moment whatever the table's size.
ALTER TABLE "tasks" ADD COLUMN "attempt_errors" jsonb;--> statement-breakpoint
ALTER TABLE "tasks" ADD COLUMN "lease_seconds" integer;--> statement-breakpoint
ALTER TABLE "tasks" ADD COLUMN "trace_context" jsonb;--> statement-breakpoint
-- Custom SQL: append a failed attempt to a task's history, keeping the last `keep` entries. Used by
-- the two statements that fail attempts (src/queue/failure-sql.ts), so the cap is defined once.
CREATE OR REPLACE FUNCTION eventix_push_attempt_error(history jsonb, entry jsonb, keep integer) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  select case when jsonb_array_length(h) <= keep then h
    else (select jsonb_agg(e order by n) from jsonb_array_elements(h) with ordinality as a(e, n)
          where n > jsonb_array_length(h) - keep) end
  from (select coalesce(history, '[]'::jsonb) || jsonb_build_array(entry) as h) s
$$;
