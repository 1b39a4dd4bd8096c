CREATE TABLE "benchmark_alerts" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"series_hash" text NOT NULL,
	"repo" text NOT NULL,
	"metric" text NOT NULL,
	"config_id" bigint,
	"config_hash" text,
	"architecture" text DEFAULT '' NOT NULL,
	"tags" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"direction" text,
	"unit" text,
	"last_good_sha" text NOT NULL,
	"first_bad_sha" text NOT NULL,
	"culprit_sha" text,
	"bisection" jsonb,
	"before_mean" double precision NOT NULL,
	"before_median" double precision NOT NULL,
	"after_mean" double precision NOT NULL,
	"after_median" double precision NOT NULL,
	"relative_change" double precision,
	"p_value" double precision NOT NULL,
	"kind" text NOT NULL,
	"status" text DEFAULT 'open' NOT NULL,
	"note" text,
	"resolved_by_sha" text,
	"revision" integer DEFAULT 1 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"evaluated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"acknowledged_at" timestamp with time zone,
	"resolved_at" timestamp with time zone,
	CONSTRAINT "benchmark_alerts_status_valid" CHECK ("benchmark_alerts"."status" in ('open', 'acknowledged', 'resolved', 'false_positive')),
	CONSTRAINT "benchmark_alerts_kind_valid" CHECK ("benchmark_alerts"."kind" in ('regression', 'improvement', 'change')),
	CONSTRAINT "benchmark_alerts_direction_valid" CHECK ("benchmark_alerts"."direction" is null or "benchmark_alerts"."direction" in ('higher', 'lower')),
	CONSTRAINT "benchmark_alerts_tags_is_object" CHECK (jsonb_typeof("benchmark_alerts"."tags") = 'object')
);
--> statement-breakpoint
ALTER TABLE "benchmark_alerts" ADD CONSTRAINT "benchmark_alerts_config_id_benchmark_configs_id_fk" FOREIGN KEY ("config_id") REFERENCES "public"."benchmark_configs"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "benchmark_alerts_change_key" ON "benchmark_alerts" USING btree ("series_hash","first_bad_sha");--> statement-breakpoint
CREATE INDEX "benchmark_alerts_status_idx" ON "benchmark_alerts" USING btree ("status","id");--> statement-breakpoint
CREATE INDEX "benchmark_alerts_repo_metric_idx" ON "benchmark_alerts" USING btree ("repo","metric","id");