-- Custom migration: benchmark runs and their metrics are an append-only log. Results are
-- evidence; a later push must never rewrite an earlier one. Updates and deletes are refused
-- unless the transaction has set eventix.benchmark_retention = 'on', which only the documented
-- retention command (`eventix results prune`) does, with SET LOCAL inside its own transaction.
CREATE OR REPLACE FUNCTION eventix_benchmark_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' AND coalesce(current_setting('eventix.benchmark_retention', true), '') = 'on' THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION '% on % is not allowed: benchmark results are append-only', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'insufficient_privilege', HINT = 'use the retention command (eventix results prune) to delete old runs';
END;
$$;
--> statement-breakpoint
CREATE TRIGGER benchmark_runs_append_only BEFORE UPDATE OR DELETE ON benchmark_runs
  FOR EACH ROW EXECUTE FUNCTION eventix_benchmark_append_only();
--> statement-breakpoint
CREATE TRIGGER benchmark_metrics_append_only BEFORE UPDATE OR DELETE ON benchmark_metrics
  FOR EACH ROW EXECUTE FUNCTION eventix_benchmark_append_only();
--> statement-breakpoint
CREATE TRIGGER benchmark_runs_no_truncate BEFORE TRUNCATE ON benchmark_runs
  FOR EACH STATEMENT EXECUTE FUNCTION eventix_benchmark_append_only();
