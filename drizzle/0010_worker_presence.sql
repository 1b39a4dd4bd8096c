CREATE TABLE "workers" (
	"id" text PRIMARY KEY NOT NULL,
	"host" text,
	"pid" integer,
	"namespaces" text[],
	"tasks" text[],
	"concurrency" integer,
	"version" text,
	"started_at" timestamp with time zone,
	"last_seen_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE INDEX "workers_last_seen_idx" ON "workers" USING btree ("last_seen_at");