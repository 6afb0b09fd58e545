CREATE TABLE "domain_keys" (
	"id" "bytea" PRIMARY KEY NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
-- Edited by hand: the domain keys existing blobs already name, registered before the constraint is checked.
INSERT INTO "domain_keys" ("id") SELECT DISTINCT "domain_key_id" FROM "wrapped_key_material";
--> statement-breakpoint
ALTER TABLE "wrapped_key_material" ADD CONSTRAINT "wrapped_key_material_domain_key_fk" FOREIGN KEY ("domain_key_id") REFERENCES "public"."domain_keys"("id") ON DELETE no action ON UPDATE no action;