-- Read-only impersonation: the session may only look. Set from the
-- permission decision at start and kept in step with the policy by the
-- live re-check.
ALTER TABLE session ADD COLUMN read_only BOOLEAN NOT NULL DEFAULT FALSE;

-- Impersonated sessions still open, by when they expire: the sweeper ends
-- those past their maximum or idle time, each on the record.
CREATE INDEX session_open_impersonations ON session (expires_at)
    WHERE ended_at IS NULL AND imitating_user_id IS NOT NULL;

-- The trace of the request that caused each record (W3C trace id, 32 hex
-- digits; empty when tracing is off): from an audit line to its spans.
ALTER TABLE audit_record ADD COLUMN trace_id TEXT NOT NULL DEFAULT '';
