-- Policies and tags left behind by a user deleted while PutUserPolicy or TagUser ran for it (before both took the
-- user's row lock) would apply to the next user given that name: remove those whose user is gone. Access keys are
-- left alone here (a database from before 0004 holds the administrator's key before start-up creates its user row);
-- the credential lookup refuses a key whose user is gone.
DELETE FROM "user_policies" p WHERE NOT EXISTS (
	SELECT 1 FROM "users" u WHERE u."account_id" = p."account_id" AND u."user_name" = p."user_name"
);--> statement-breakpoint
DELETE FROM "user_tags" t WHERE NOT EXISTS (
	SELECT 1 FROM "users" u WHERE u."account_id" = t."account_id" AND u."user_name" = t."user_name"
);
