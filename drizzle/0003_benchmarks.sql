CREATE TABLE "benchmark_configs" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"hash" text NOT NULL,
	"canonical" text NOT NULL,
	"config" jsonb NOT NULL,
	"name" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "benchmark_metrics" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"run_id" bigint NOT NULL,
	"name" text NOT NULL,
	"value" double precision NOT NULL,
	"unit" text,
	"direction" text,
	"tags" jsonb DEFAULT '{}'::jsonb NOT NULL,
	CONSTRAINT "benchmark_metrics_direction_valid" CHECK ("benchmark_metrics"."direction" is null or "benchmark_metrics"."direction" in ('higher', 'lower'))
);
--> statement-breakpoint
CREATE TABLE "benchmark_runs" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"uid" uuid DEFAULT gen_random_uuid() NOT NULL,
	"repo" text NOT NULL,
	"sha" text NOT NULL,
	"branch" text,
	"config_id" bigint,
	"architecture" text DEFAULT '' NOT NULL,
	"task_uid" uuid,
	"repeat_index" integer DEFAULT 0 NOT NULL,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone,
	"environment" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"format" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "commit_status" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"repo" text NOT NULL,
	"sha" text NOT NULL,
	"config_id" bigint NOT NULL,
	"architecture" text DEFAULT '' NOT NULL,
	"committed_at" timestamp with time zone,
	"status" text NOT NULL,
	"error" text,
	"attempts" integer DEFAULT 0 NOT NULL,
	"task_uid" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "commit_status_status_valid" CHECK ("commit_status"."status" in ('in_progress', 'benchmark_complete', 'complete', 'failed'))
);
--> statement-breakpoint
ALTER TABLE "benchmark_metrics" ADD CONSTRAINT "benchmark_metrics_run_id_benchmark_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."benchmark_runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "benchmark_runs" ADD CONSTRAINT "benchmark_runs_config_id_benchmark_configs_id_fk" FOREIGN KEY ("config_id") REFERENCES "public"."benchmark_configs"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "commit_status" ADD CONSTRAINT "commit_status_config_id_benchmark_configs_id_fk" FOREIGN KEY ("config_id") REFERENCES "public"."benchmark_configs"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "benchmark_configs_hash_key" ON "benchmark_configs" USING btree ("hash");--> statement-breakpoint
CREATE INDEX "benchmark_metrics_run_idx" ON "benchmark_metrics" USING btree ("run_id");--> statement-breakpoint
CREATE INDEX "benchmark_metrics_name_idx" ON "benchmark_metrics" USING btree ("name","run_id");--> statement-breakpoint
CREATE UNIQUE INDEX "benchmark_runs_uid_key" ON "benchmark_runs" USING btree ("uid");--> statement-breakpoint
CREATE INDEX "benchmark_runs_lookup_idx" ON "benchmark_runs" USING btree ("repo","config_id","sha");--> statement-breakpoint
CREATE INDEX "benchmark_runs_created_idx" ON "benchmark_runs" USING btree ("created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "commit_status_pair_key" ON "commit_status" USING btree ("repo","sha","config_id","architecture");--> statement-breakpoint
CREATE INDEX "commit_status_config_status_idx" ON "commit_status" USING btree ("config_id","status");--> statement-breakpoint
CREATE INDEX "commit_status_in_progress_idx" ON "commit_status" USING btree ("updated_at") WHERE "commit_status"."status" = 'in_progress';