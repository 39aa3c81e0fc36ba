-- Read-only impersonation: the session may only look. Set from the
-- permission decision at start and kept in step with the policy by the
-- live re-check.
ALTER TABLE session ADD COLUMN read_only BOOLEAN NOT NULL DEFAULT FALSE;
