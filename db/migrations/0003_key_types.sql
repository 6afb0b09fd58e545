CREATE TABLE "key_imports" (
	"key_id" uuid PRIMARY KEY NOT NULL,
	"check_value" "bytea" NOT NULL,
	"expiration_model" text NOT NULL,
	"valid_to" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "key_rotation_settings" (
	"key_id" uuid PRIMARY KEY NOT NULL,
	"enabled" boolean NOT NULL,
	"period_days" integer NOT NULL,
	"next_rotation_date" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "key_rotations" (
	"version_id" uuid PRIMARY KEY NOT NULL,
	"key_id" uuid NOT NULL,
	"version" integer NOT NULL,
	"rotation_date" timestamp with time zone NOT NULL,
	"rotation_type" text NOT NULL
);
--> statement-breakpoint
ALTER TABLE "key_imports" ADD CONSTRAINT "key_imports_key_id_keys_id_fk" FOREIGN KEY ("key_id") REFERENCES "public"."keys"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "key_rotation_settings" ADD CONSTRAINT "key_rotation_settings_key_id_keys_id_fk" FOREIGN KEY ("key_id") REFERENCES "public"."keys"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "key_rotations" ADD CONSTRAINT "key_rotations_version_id_key_versions_id_fk" FOREIGN KEY ("version_id") REFERENCES "public"."key_versions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "key_rotations" ADD CONSTRAINT "key_rotations_key_id_keys_id_fk" FOREIGN KEY ("key_id") REFERENCES "public"."keys"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "key_rotation_due_idx" ON "key_rotation_settings" USING btree ("next_rotation_date") WHERE enabled;--> statement-breakpoint
CREATE INDEX "key_rotations_key_id_idx" ON "key_rotations" USING btree ("key_id","version");