-- What was done on an impersonated session's behalf ("what was done as
-- me"): internal services and the gateway report actions, each kept with
-- its session and who acted as whom there. Append-only, like the trail.
CREATE TABLE action_record (
    id           TEXT PRIMARY KEY,
    session_id   TEXT NOT NULL,
    actor_id     TEXT NOT NULL,
    target_id    TEXT NOT NULL,
    action       TEXT NOT NULL,
    detail       TEXT NOT NULL,
    outcome      TEXT NOT NULL,
    reporter     TEXT NOT NULL,
    occurred_at  BIGINT NOT NULL,
    trace_id     TEXT NOT NULL
);

CREATE INDEX action_record_session ON action_record (session_id, occurred_at);
CREATE INDEX action_record_target ON action_record (target_id, occurred_at);
CREATE INDEX action_record_actor ON action_record (actor_id, occurred_at);

CREATE TRIGGER action_record_append_only
    BEFORE UPDATE OR DELETE ON action_record
    FOR EACH ROW EXECUTE FUNCTION audit_record_append_only();

CREATE TRIGGER action_record_no_truncate
    BEFORE TRUNCATE ON action_record
    FOR EACH STATEMENT EXECUTE FUNCTION audit_record_append_only();
