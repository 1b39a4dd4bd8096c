CREATE SEQUENCE "public"."tasks_fencing_token_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1;--> statement-breakpoint
CREATE TABLE "tasks" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"uid" uuid DEFAULT gen_random_uuid() NOT NULL,
	"task" text NOT NULL,
	"namespace" text DEFAULT 'default' NOT NULL,
	"status" text DEFAULT 'scheduled' NOT NULL,
	"priority" smallint DEFAULT 0 NOT NULL,
	"eta" timestamp with time zone DEFAULT now() NOT NULL,
	"args" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"kwargs" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"unique_key" text,
	"retry" boolean DEFAULT true NOT NULL,
	"max_retries" integer DEFAULT 5,
	"error_eta_inc" integer DEFAULT 15 NOT NULL,
	"error_eta_max" integer DEFAULT 300 NOT NULL,
	"timeout_seconds" integer,
	"store_result" boolean DEFAULT true NOT NULL,
	"result_expires" integer DEFAULT 604800,
	"error_expires" integer DEFAULT 604800,
	"result" jsonb,
	"error" jsonb,
	"expires_at" timestamp with time zone,
	"attempts" integer DEFAULT 0 NOT NULL,
	"worker_id" text,
	"lease_expires_at" timestamp with time zone,
	"fencing_token" bigint,
	"cancel_requested" boolean DEFAULT false NOT NULL,
	"operator" text,
	"revision" integer DEFAULT 1 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone,
	CONSTRAINT "tasks_uid_key" UNIQUE("uid"),
	CONSTRAINT "tasks_status_valid" CHECK ("tasks"."status" in ('scheduled', 'processing', 'done', 'error', 'retry', 'cancelled')),
	CONSTRAINT "tasks_args_is_array" CHECK (jsonb_typeof("tasks"."args") = 'array'),
	CONSTRAINT "tasks_kwargs_is_object" CHECK (jsonb_typeof("tasks"."kwargs") = 'object'),
	CONSTRAINT "tasks_max_retries_non_negative" CHECK ("tasks"."max_retries" is null or "tasks"."max_retries" >= 0),
	CONSTRAINT "tasks_backoff_positive" CHECK ("tasks"."error_eta_inc" > 0 and "tasks"."error_eta_max" >= "tasks"."error_eta_inc"),
	CONSTRAINT "tasks_task_name_not_empty" CHECK (length("tasks"."task") between 1 and 200),
	CONSTRAINT "tasks_namespace_not_empty" CHECK (length("tasks"."namespace") between 1 and 200),
	CONSTRAINT "tasks_processing_has_lease" CHECK ("tasks"."status" <> 'processing' or ("tasks"."worker_id" is not null and "tasks"."lease_expires_at" is not null and "tasks"."fencing_token" is not null))
);
--> statement-breakpoint
CREATE INDEX "tasks_claim_idx" ON "tasks" USING btree ("namespace","priority" DESC NULLS LAST,"eta","id") WHERE "tasks"."status" in ('scheduled', 'retry');--> statement-breakpoint
CREATE UNIQUE INDEX "tasks_unique_key_waiting_idx" ON "tasks" USING btree ("namespace","unique_key") WHERE "tasks"."unique_key" is not null and "tasks"."status" in ('scheduled', 'retry');--> statement-breakpoint
CREATE INDEX "tasks_unique_key_idx" ON "tasks" USING btree ("namespace","unique_key") WHERE "tasks"."unique_key" is not null;--> statement-breakpoint
CREATE INDEX "tasks_lease_idx" ON "tasks" USING btree ("lease_expires_at") WHERE "tasks"."status" = 'processing';--> statement-breakpoint
CREATE INDEX "tasks_expires_idx" ON "tasks" USING btree ("expires_at") WHERE "tasks"."expires_at" is not null;--> statement-breakpoint
CREATE INDEX "tasks_list_idx" ON "tasks" USING btree ("namespace","status","created_at","id");