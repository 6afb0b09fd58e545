CREATE TABLE "key_last_usage" (
	"key_id" uuid PRIMARY KEY NOT NULL,
	"operation" text NOT NULL,
	"time" timestamp with time zone NOT NULL,
	"event_id" uuid NOT NULL,
	"request_id" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "key_usage_tracking" (
	"id" integer PRIMARY KEY NOT NULL,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
-- Edited by hand: tracking starts now; keys made before report this date as TrackingStartDate.
INSERT INTO "key_usage_tracking" ("id") VALUES (1);
