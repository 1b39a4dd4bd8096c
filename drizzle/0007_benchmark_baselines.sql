CREATE TABLE "benchmark_baselines" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"repo" text NOT NULL,
	"name" text NOT NULL,
	"sha" text NOT NULL,
	"run_uid" uuid,
	"description" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"created_by" text,
	CONSTRAINT "benchmark_baselines_name_valid" CHECK ("benchmark_baselines"."name" ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$'),
	CONSTRAINT "benchmark_baselines_sha_valid" CHECK ("benchmark_baselines"."sha" ~ '^([0-9a-f]{40}|[0-9a-f]{64})$')
);
--> statement-breakpoint
CREATE TABLE "benchmark_snapshots" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"repo" text NOT NULL,
	"metric" text NOT NULL,
	"config_id" bigint,
	"architecture" text DEFAULT '' NOT NULL,
	"tags" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"tags_hash" text GENERATED ALWAYS AS (md5(tags::text)) STORED NOT NULL,
	"series_key" text GENERATED ALWAYS AS (md5(repo || chr(31) || metric || chr(31) || coalesce(config_id::text, '') || chr(31) || architecture || chr(31) || md5(tags::text))) STORED NOT NULL,
	"sha" text NOT NULL,
	"run_uid" uuid,
	"runs" integer NOT NULL,
	"n" integer NOT NULL,
	"mean" double precision NOT NULL,
	"median" double precision NOT NULL,
	"stddev" double precision,
	"min" double precision NOT NULL,
	"max" double precision NOT NULL,
	"unit" text,
	"direction" text,
	"version" integer NOT NULL,
	"is_current" boolean DEFAULT false NOT NULL,
	"is_baseline" boolean DEFAULT false NOT NULL,
	"baseline_id" bigint,
	"baseline_name" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"created_by" text,
	CONSTRAINT "benchmark_snapshots_version_positive" CHECK ("benchmark_snapshots"."version" >= 1),
	CONSTRAINT "benchmark_snapshots_samples_positive" CHECK ("benchmark_snapshots"."n" >= 1 and "benchmark_snapshots"."runs" >= 1),
	CONSTRAINT "benchmark_snapshots_stddev_valid" CHECK ("benchmark_snapshots"."stddev" is null or "benchmark_snapshots"."stddev" >= 0),
	CONSTRAINT "benchmark_snapshots_direction_valid" CHECK ("benchmark_snapshots"."direction" is null or "benchmark_snapshots"."direction" in ('higher', 'lower')),
	CONSTRAINT "benchmark_snapshots_sha_valid" CHECK ("benchmark_snapshots"."sha" ~ '^([0-9a-f]{40}|[0-9a-f]{64})$'),
	CONSTRAINT "benchmark_snapshots_baseline_named" CHECK (not "benchmark_snapshots"."is_baseline" or ("benchmark_snapshots"."baseline_id" is not null and "benchmark_snapshots"."baseline_name" is not null))
);
--> statement-breakpoint
ALTER TABLE "benchmark_snapshots" ADD CONSTRAINT "benchmark_snapshots_config_id_benchmark_configs_id_fk" FOREIGN KEY ("config_id") REFERENCES "public"."benchmark_configs"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "benchmark_snapshots" ADD CONSTRAINT "benchmark_snapshots_baseline_id_benchmark_baselines_id_fk" FOREIGN KEY ("baseline_id") REFERENCES "public"."benchmark_baselines"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "benchmark_baselines_repo_name_key" ON "benchmark_baselines" USING btree ("repo","name");--> statement-breakpoint
CREATE UNIQUE INDEX "benchmark_snapshots_series_version_key" ON "benchmark_snapshots" USING btree ("series_key","version");--> statement-breakpoint
CREATE UNIQUE INDEX "benchmark_snapshots_one_current_key" ON "benchmark_snapshots" USING btree ("series_key") WHERE "benchmark_snapshots"."is_current";--> statement-breakpoint
CREATE UNIQUE INDEX "benchmark_snapshots_one_baseline_key" ON "benchmark_snapshots" USING btree ("series_key","baseline_name") WHERE "benchmark_snapshots"."is_baseline";--> statement-breakpoint
CREATE INDEX "benchmark_snapshots_repo_metric_idx" ON "benchmark_snapshots" USING btree ("repo","metric");--> statement-breakpoint
CREATE INDEX "benchmark_snapshots_baseline_idx" ON "benchmark_snapshots" USING btree ("baseline_id");