CREATE TABLE "task_rollup_minutes" (
	"minute" timestamp with time zone NOT NULL,
	"namespace" text NOT NULL,
	"done" integer DEFAULT 0 NOT NULL,
	"failed" integer DEFAULT 0 NOT NULL,
	CONSTRAINT "task_rollup_minutes_pkey" PRIMARY KEY("minute","namespace")
);
--> statement-breakpoint
CREATE TABLE "task_rollup_state" (
	"id" smallint PRIMARY KEY NOT NULL,
	"refreshed_at" timestamp with time zone NOT NULL,
	"duration_ms" double precision,
	"rows_counted" bigint,
	CONSTRAINT "task_rollup_state_one_row" CHECK ("task_rollup_state"."id" = 1)
);
--> statement-breakpoint
CREATE TABLE "task_rollup_totals" (
	"namespace" text NOT NULL,
	"status" text NOT NULL,
	"n" bigint NOT NULL,
	CONSTRAINT "task_rollup_totals_pkey" PRIMARY KEY("namespace","status")
);
