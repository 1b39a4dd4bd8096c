-- Custom migration: hand-written SQL the schema builder cannot express.

-- Autovacuum for the queue table. Every task leaves dead row versions behind (its claim and its
-- completion each write a new version; a heartbeat another), so at thousands of tasks a second
-- the table gains tens of thousands of dead tuples a second. With the defaults (a vacuum once 20 %
-- of the table is dead, throttled by a 2 ms cost delay) the soak bench (`npm run bench -- --soak`)
-- saw no vacuum finish in 110 s: dead tuples grew to 2,000,000, as many as the live rows, claims
-- walked ever longer runs of dead index entries (2.8 ms to 21 ms for a claim of 16), and
-- throughput fell from 12,800 to 7,000 tasks/s. So: vacuum after 1 % plus 5,000 dead tuples, and
-- unthrottled, so that a pass over a hot, mostly cached table ends in seconds. How often
-- autovacuum looks at all is the server's autovacuum_naptime (default 1 min), which no table can
-- set: README, "Performance", recommends 10 s for a busy queue, and the embedded server uses it.
ALTER TABLE "tasks" SET (
  autovacuum_vacuum_scale_factor = 0.01,
  autovacuum_vacuum_threshold = 5000,
  autovacuum_vacuum_cost_delay = 0,
  autovacuum_analyze_scale_factor = 0.02
);
