CREATE TABLE "events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"uid" uuid DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"namespace" text DEFAULT 'default' NOT NULL,
	"payload" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"priority" smallint DEFAULT 0 NOT NULL,
	"operator" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "events_payload_is_object" CHECK (jsonb_typeof("events"."payload") = 'object')
);
--> statement-breakpoint
CREATE TABLE "triggers" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"event_name" text NOT NULL,
	"namespace" text,
	"filter" jsonb,
	"template" jsonb NOT NULL,
	"enabled" boolean DEFAULT true NOT NULL,
	"revision" integer DEFAULT 1 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "triggers_template_is_object" CHECK (jsonb_typeof("triggers"."template") = 'object')
);
--> statement-breakpoint
CREATE TABLE "schedule_fires" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"schedule_name" text NOT NULL,
	"fire_at" timestamp with time zone NOT NULL,
	"task_uid" uuid,
	"outcome" text DEFAULT 'submitted' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "schedule_fires_outcome_valid" CHECK ("schedule_fires"."outcome" in ('submitted', 'skipped_overlap', 'manual'))
);
--> statement-breakpoint
CREATE TABLE "schedules" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"namespace" text DEFAULT 'default' NOT NULL,
	"cron" text NOT NULL,
	"timezone" text DEFAULT 'UTC' NOT NULL,
	"task" text NOT NULL,
	"args" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"kwargs" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"priority" smallint DEFAULT 0 NOT NULL,
	"options" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"enabled" boolean DEFAULT true NOT NULL,
	"misfire" text DEFAULT 'skip' NOT NULL,
	"overlap" boolean DEFAULT true NOT NULL,
	"last_fired_at" timestamp with time zone,
	"next_fire_at" timestamp with time zone,
	"source" text DEFAULT 'api' NOT NULL,
	"revision" integer DEFAULT 1 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "schedules_misfire_valid" CHECK ("schedules"."misfire" in ('skip', 'all', 'none')),
	CONSTRAINT "schedules_args_is_array" CHECK (jsonb_typeof("schedules"."args") = 'array'),
	CONSTRAINT "schedules_kwargs_is_object" CHECK (jsonb_typeof("schedules"."kwargs") = 'object'),
	CONSTRAINT "schedules_options_is_object" CHECK (jsonb_typeof("schedules"."options") = 'object')
);
--> statement-breakpoint
ALTER TABLE "tasks" ADD COLUMN "schedule_name" text;--> statement-breakpoint
ALTER TABLE "tasks" ADD COLUMN "schedule_fire_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "tasks" ADD COLUMN "event_uid" uuid;--> statement-breakpoint
ALTER TABLE "tasks" ADD COLUMN "trigger_name" text;--> statement-breakpoint
CREATE UNIQUE INDEX "events_uid_key" ON "events" USING btree ("uid");--> statement-breakpoint
CREATE INDEX "events_name_created_idx" ON "events" USING btree ("name","created_at","id");--> statement-breakpoint
CREATE INDEX "events_created_idx" ON "events" USING btree ("created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "triggers_name_key" ON "triggers" USING btree ("name");--> statement-breakpoint
CREATE INDEX "triggers_event_idx" ON "triggers" USING btree ("event_name") WHERE "triggers"."enabled";--> statement-breakpoint
CREATE UNIQUE INDEX "schedule_fires_once_idx" ON "schedule_fires" USING btree ("schedule_name","fire_at");--> statement-breakpoint
CREATE INDEX "schedule_fires_created_idx" ON "schedule_fires" USING btree ("created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "schedules_name_key" ON "schedules" USING btree ("name");--> statement-breakpoint
CREATE INDEX "schedules_due_idx" ON "schedules" USING btree ("next_fire_at") WHERE "schedules"."enabled";--> statement-breakpoint
CREATE INDEX "tasks_schedule_idx" ON "tasks" USING btree ("schedule_name","schedule_fire_at") WHERE "tasks"."schedule_name" is not null;--> statement-breakpoint
CREATE INDEX "tasks_event_idx" ON "tasks" USING btree ("event_uid") WHERE "tasks"."event_uid" is not null;