-- Sessions (the server-side record behind every token a client holds) and
-- the audit records of impersonation.
CREATE TABLE session (
    id                 TEXT PRIMARY KEY,
    -- SHA-256 of the token the client holds; the token itself is never stored.
    token_hash         TEXT NOT NULL UNIQUE,
    principal_id       TEXT NOT NULL,
    principal_kind     TEXT NOT NULL CHECK (principal_kind IN ('admin', 'customer', 'operator')),
    sales_channel_id   TEXT,
    -- Who is acting, when this is an impersonated session.
    imitating_user_id  TEXT,
    -- Coworker sessions: the active profile.
    profile_id         BIGINT,
    -- Impersonated sessions: the action of the grant that started them.
    grant_action       TEXT,
    payload            TEXT NOT NULL,
    created_at         BIGINT NOT NULL,
    -- Hard deadline; an impersonated session never outlives it.
    expires_at         BIGINT NOT NULL,
    ended_at           BIGINT,
    end_reason         TEXT
);

CREATE INDEX session_principal_recent ON session (principal_id, sales_channel_id, created_at);

CREATE TABLE audit_record (
    id           TEXT PRIMARY KEY,
    kind         TEXT NOT NULL,
    -- imitate_customer (admin -> customer), impersonate_team_member, impersonate_user (operator).
    action       TEXT NOT NULL,
    actor_id     TEXT NOT NULL,
    target_id    TEXT NOT NULL,
    audience     TEXT NOT NULL,
    session_id   TEXT,
    reason       TEXT NOT NULL,
    client_ip    TEXT NOT NULL,
    user_agent   TEXT NOT NULL,
    occurred_at  BIGINT NOT NULL
);

CREATE INDEX audit_record_actor ON audit_record (actor_id, occurred_at);
CREATE INDEX audit_record_target ON audit_record (target_id, occurred_at);

-- Audit records are append-only, whatever the application does.
CREATE TRIGGER audit_record_no_update BEFORE UPDATE ON audit_record
BEGIN
    SELECT RAISE(ABORT, 'audit records are append-only');
END;

CREATE TRIGGER audit_record_no_delete BEFORE DELETE ON audit_record
BEGIN
    SELECT RAISE(ABORT, 'audit records are append-only');
END;
