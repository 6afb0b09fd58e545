CREATE TABLE "accounts" (
	"account_id" varchar(12) PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "grants" (
	"grant_id" text PRIMARY KEY NOT NULL,
	"key_id" uuid NOT NULL,
	"key_account_id" varchar(12) NOT NULL,
	"name" text,
	"grantee_principal" text NOT NULL,
	"retiring_principal" text,
	"operations" jsonb NOT NULL,
	"constraints" jsonb,
	"issuing_account" varchar(12) NOT NULL,
	"token" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	CONSTRAINT "grants_token_unique" UNIQUE("token")
);
--> statement-breakpoint
CREATE TABLE "key_policies" (
	"key_id" uuid PRIMARY KEY NOT NULL,
	"document" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "user_policies" (
	"account_id" varchar(12) NOT NULL,
	"user_name" text NOT NULL,
	"policy_name" text NOT NULL,
	"document" text NOT NULL,
	CONSTRAINT "user_policies_pk" PRIMARY KEY("account_id","user_name","policy_name")
);
--> statement-breakpoint
CREATE TABLE "users" (
	"account_id" varchar(12) NOT NULL,
	"user_name" text NOT NULL,
	"user_id" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	CONSTRAINT "users_pk" PRIMARY KEY("account_id","user_name"),
	CONSTRAINT "users_user_id_unique" UNIQUE("user_id")
);
--> statement-breakpoint
ALTER TABLE "grants" ADD CONSTRAINT "grants_key_id_keys_id_fk" FOREIGN KEY ("key_id") REFERENCES "public"."keys"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "key_policies" ADD CONSTRAINT "key_policies_key_id_keys_id_fk" FOREIGN KEY ("key_id") REFERENCES "public"."keys"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "grants_key_id_idx" ON "grants" USING btree ("key_id","grantee_principal");--> statement-breakpoint
CREATE INDEX "grants_retiring_idx" ON "grants" USING btree ("retiring_principal");