-- Audit trail: the chain head's row, append-only audit tables (trigger + privileges), and retention's one way to delete.
INSERT INTO "audit_chain_head" ("id", "seq", "hash", "base_seq", "base_hash")
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000', 0, '0000000000000000000000000000000000000000000000000000000000000000')
ON CONFLICT DO NOTHING;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION coffer_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' AND current_setting('coffer.audit_retention', true) = 'on' THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'audit records are append-only: % refused', TG_OP USING ERRCODE = '42501';
END
$$;
--> statement-breakpoint
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON "audit_events" FOR EACH ROW EXECUTE FUNCTION coffer_audit_append_only();
--> statement-breakpoint
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON "audit_events" FOR EACH STATEMENT EXECUTE FUNCTION coffer_audit_append_only();
--> statement-breakpoint
CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE ON "audit_checkpoints" FOR EACH ROW EXECUTE FUNCTION coffer_audit_append_only();
--> statement-breakpoint
CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON "audit_checkpoints" FOR EACH STATEMENT EXECUTE FUNCTION coffer_audit_append_only();
--> statement-breakpoint
-- Retention: deletes the events up to through_seq (already archived by the caller) and moves the chain's base
-- there. SECURITY DEFINER: runs with the migrator's rights, so the application role needs no DELETE privilege.
CREATE OR REPLACE FUNCTION coffer_audit_purge(through_seq bigint) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  n bigint;
  last_hash text;
BEGIN
  IF through_seq <= (SELECT base_seq FROM audit_chain_head WHERE id = 1) THEN
    RETURN 0; -- another instance purged first
  END IF;
  SELECT hash INTO last_hash FROM audit_events WHERE chain_seq = through_seq;
  IF last_hash IS NULL THEN
    RAISE EXCEPTION 'no audit event at chain position %', through_seq;
  END IF;
  PERFORM set_config('coffer.audit_retention', 'on', true);
  DELETE FROM audit_events WHERE chain_seq <= through_seq OR chain_seq IS NULL;
  GET DIAGNOSTICS n = ROW_COUNT;
  UPDATE audit_chain_head SET base_seq = through_seq, base_hash = last_hash WHERE id = 1 AND base_seq < through_seq;
  PERFORM set_config('coffer.audit_retention', 'off', true);
  RETURN n;
END
$$;
--> statement-breakpoint
REVOKE EXECUTE ON FUNCTION coffer_audit_purge(bigint) FROM PUBLIC;
--> statement-breakpoint
-- The application role (NOLOGIN; grant it to the login role the server uses): everything on the other tables,
-- only SELECT and INSERT on the audit tables. Skipped where roles cannot be created (PGlite, unprivileged migrator).
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'coffer_app') THEN
    BEGIN
      CREATE ROLE coffer_app NOLOGIN;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN
      NULL;
    END;
  END IF;
  EXECUTE 'GRANT USAGE ON SCHEMA public TO coffer_app';
  EXECUTE 'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO coffer_app';
  EXECUTE 'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO coffer_app';
  EXECUTE 'REVOKE UPDATE, DELETE, TRUNCATE ON audit_events, audit_checkpoints FROM coffer_app';
  EXECUTE 'GRANT EXECUTE ON FUNCTION coffer_audit_purge(bigint) TO coffer_app';
  EXECUTE 'ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO coffer_app';
  EXECUTE 'ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO coffer_app';
  IF EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'drizzle') THEN
    EXECUTE 'GRANT USAGE ON SCHEMA drizzle TO coffer_app';
    EXECUTE 'GRANT SELECT ON ALL TABLES IN SCHEMA drizzle TO coffer_app';
  END IF;
EXCEPTION WHEN insufficient_privilege OR feature_not_supported THEN
  RAISE NOTICE 'coffer_app role not set up: %', SQLERRM;
END
$$;
