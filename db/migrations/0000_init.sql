CREATE TABLE "access_keys" (
	"access_key_id" text PRIMARY KEY NOT NULL,
	"principal_arn" text NOT NULL,
	"account_id" varchar(12) NOT NULL,
	"user_name" text NOT NULL,
	"sealed_secret" "bytea" NOT NULL,
	"status" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "aliases" (
	"account_id" varchar(12) NOT NULL,
	"name" text NOT NULL,
	"key_id" uuid NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL,
	CONSTRAINT "aliases_pk" PRIMARY KEY("account_id","name")
);
--> statement-breakpoint
CREATE TABLE "audit_events" (
	"seq" bigserial PRIMARY KEY NOT NULL,
	"id" uuid NOT NULL,
	"time" timestamp with time zone NOT NULL,
	"request_id" text NOT NULL,
	"operation" text NOT NULL,
	"key_arn" text,
	"caller_arn" text,
	"access_key_id" text,
	"source_ip" text,
	"user_agent" text,
	"outcome" text NOT NULL,
	"error_code" text,
	"encryption_context_keys" jsonb NOT NULL,
	CONSTRAINT "audit_events_id_unique" UNIQUE("id")
);
--> statement-breakpoint
CREATE TABLE "key_versions" (
	"id" uuid PRIMARY KEY NOT NULL,
	"key_id" uuid NOT NULL,
	"version" integer NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	CONSTRAINT "key_versions_key_id_version_unique" UNIQUE("key_id","version")
);
--> statement-breakpoint
CREATE TABLE "keys" (
	"id" uuid PRIMARY KEY NOT NULL,
	"account_id" varchar(12) NOT NULL,
	"description" text NOT NULL,
	"key_spec" text NOT NULL,
	"key_usage" text NOT NULL,
	"origin" text NOT NULL,
	"state" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"deletion_date" timestamp with time zone,
	"pending_window_days" integer,
	"current_version_id" uuid NOT NULL
);
--> statement-breakpoint
CREATE TABLE "tags" (
	"key_id" uuid NOT NULL,
	"tag_key" text NOT NULL,
	"tag_value" text NOT NULL,
	CONSTRAINT "tags_pk" PRIMARY KEY("key_id","tag_key")
);
--> statement-breakpoint
ALTER TABLE "aliases" ADD CONSTRAINT "aliases_key_id_keys_id_fk" FOREIGN KEY ("key_id") REFERENCES "public"."keys"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "key_versions" ADD CONSTRAINT "key_versions_key_id_keys_id_fk" FOREIGN KEY ("key_id") REFERENCES "public"."keys"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "tags" ADD CONSTRAINT "tags_key_id_keys_id_fk" FOREIGN KEY ("key_id") REFERENCES "public"."keys"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "access_keys_principal_arn_idx" ON "access_keys" USING btree ("principal_arn");--> statement-breakpoint
CREATE INDEX "aliases_key_id_idx" ON "aliases" USING btree ("key_id");--> statement-breakpoint
CREATE INDEX "audit_events_time_idx" ON "audit_events" USING btree ("time");--> statement-breakpoint
CREATE INDEX "audit_events_key_arn_idx" ON "audit_events" USING btree ("key_arn");--> statement-breakpoint
CREATE INDEX "keys_account_id_idx" ON "keys" USING btree ("account_id","id");--> statement-breakpoint
CREATE INDEX "keys_deletion_due_idx" ON "keys" USING btree ("deletion_date") WHERE state = 'PendingDeletion';