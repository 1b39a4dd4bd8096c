-- tasks_lease_idx covers rows holding a lease (lease_expires_at is not null: every processing
-- row, and only those, since every move out of processing clears the lease) instead of
-- status = 'processing'. Completions, fails and heartbeats filter on status = 'processing' and a
-- uid list; that implied the old predicate, so the planner ANDed a bitmap scan of this index with
-- one of tasks_uid_key, and a bitmap scan reads every entry, the dead ones of finished tasks too,
-- without ever marking them dead. Only rescue and the dashboard, which compare lease_expires_at,
-- use it now. The build reads the whole table once, holding off writes to it meanwhile
-- (MIGRATION_GUIDE.md).
DROP INDEX "tasks_lease_idx";--> statement-breakpoint
CREATE INDEX "tasks_lease_idx" ON "tasks" USING btree ("lease_expires_at") WHERE "tasks"."lease_expires_at" is not null;