-- When an impersonated session was last used (coarse: written at most once
-- a minute per session), so one left idle ends (ACTAS_IMPERSONATION_IDLE_SECS).
-- NULL for sessions from before: their start counts.
ALTER TABLE session ADD COLUMN last_seen_at BIGINT;
