-- Read-only impersonation per scope: impersonations there may look, never
-- change (every non-GET route but ending the impersonation is refused).
ALTER TABLE impersonation_policy ADD COLUMN read_only BOOLEAN NOT NULL DEFAULT FALSE;
