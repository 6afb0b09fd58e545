CREATE TABLE "audit_chain_head" (
	"id" smallint PRIMARY KEY NOT NULL,
	"seq" bigint NOT NULL,
	"hash" text NOT NULL,
	"base_seq" bigint NOT NULL,
	"base_hash" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "audit_checkpoints" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"chain_seq" bigint NOT NULL,
	"hash" text NOT NULL,
	"time" timestamp with time zone NOT NULL,
	"signature" text NOT NULL,
	"public_key" text NOT NULL
);
--> statement-breakpoint
ALTER TABLE "audit_events" ADD COLUMN "chain_seq" bigint;--> statement-breakpoint
ALTER TABLE "audit_events" ADD COLUMN "prev_hash" text;--> statement-breakpoint
ALTER TABLE "audit_events" ADD COLUMN "hash" text;--> statement-breakpoint
ALTER TABLE "audit_events" ADD COLUMN "record" text;--> statement-breakpoint
CREATE INDEX "audit_checkpoints_chain_seq_idx" ON "audit_checkpoints" USING btree ("chain_seq");--> statement-breakpoint
CREATE INDEX "audit_events_caller_arn_idx" ON "audit_events" USING btree ("caller_arn");--> statement-breakpoint
ALTER TABLE "audit_events" ADD CONSTRAINT "audit_events_chain_seq_unique" UNIQUE("chain_seq");