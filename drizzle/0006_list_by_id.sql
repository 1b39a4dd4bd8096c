DROP INDEX "tasks_list_idx";--> statement-breakpoint
CREATE INDEX "tasks_failed_idx" ON "tasks" USING btree ("namespace","id") WHERE "tasks"."status" in ('error', 'cancelled');