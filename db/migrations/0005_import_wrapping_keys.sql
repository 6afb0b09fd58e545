CREATE TABLE "import_wrapping_keys" (
	"version_id" uuid PRIMARY KEY NOT NULL,
	"key_id" uuid NOT NULL,
	"account_id" varchar(12) NOT NULL,
	"valid_to" timestamp with time zone NOT NULL,
	"used_at" timestamp with time zone
);
--> statement-breakpoint
CREATE INDEX "import_wrapping_keys_valid_to_idx" ON "import_wrapping_keys" USING btree ("valid_to");