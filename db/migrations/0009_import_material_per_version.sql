-- Edited by hand: drizzle-kit cannot name the old primary key, and the existing rows need their version and state.
-- Until now an EXTERNAL key had one version, its current one, and its material was in the token unless the key was
-- PendingImport.
ALTER TABLE "key_imports" DROP CONSTRAINT "key_imports_pkey";--> statement-breakpoint
ALTER TABLE "key_imports" ADD COLUMN "version_id" uuid;--> statement-breakpoint
ALTER TABLE "key_imports" ADD COLUMN "description" text;--> statement-breakpoint
ALTER TABLE "key_imports" ADD COLUMN "imported" boolean DEFAULT true NOT NULL;--> statement-breakpoint
UPDATE "key_imports" SET "version_id" = "keys"."current_version_id", "imported" = ("keys"."state" <> 'PendingImport') FROM "keys" WHERE "keys"."id" = "key_imports"."key_id";--> statement-breakpoint
ALTER TABLE "key_imports" ALTER COLUMN "version_id" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "key_imports" ADD PRIMARY KEY ("version_id");--> statement-breakpoint
ALTER TABLE "key_imports" ADD CONSTRAINT "key_imports_version_id_key_versions_id_fk" FOREIGN KEY ("version_id") REFERENCES "public"."key_versions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "key_imports_key_id_idx" ON "key_imports" USING btree ("key_id");--> statement-breakpoint
CREATE INDEX "key_imports_valid_to_idx" ON "key_imports" USING btree ("valid_to") WHERE imported;
