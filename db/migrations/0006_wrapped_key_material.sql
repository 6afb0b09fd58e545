CREATE TABLE "wrapped_key_material" (
	"version_id" uuid PRIMARY KEY NOT NULL,
	"domain_key_id" "bytea" NOT NULL,
	"blob" "bytea" NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "wrapped_key_material_domain_key_idx" ON "wrapped_key_material" USING btree ("domain_key_id");