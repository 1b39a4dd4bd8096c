-- Custom migration: 0004 refused TRUNCATE of benchmark_runs only, so `TRUNCATE benchmark_metrics`
-- could still wipe every metric point while leaving the runs in place. Metric points are the
-- evidence too; refuse it the same way (the function raises for every TRUNCATE, retention or not).
CREATE TRIGGER benchmark_metrics_no_truncate BEFORE TRUNCATE ON benchmark_metrics
  FOR EACH STATEMENT EXECUTE FUNCTION eventix_benchmark_append_only();
