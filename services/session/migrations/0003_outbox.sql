-- Impersonation events for the impersonated person's notification
-- (ACTAS_WEBHOOK_URL): written in the same transaction as their audit
-- record, delivered at least once by the session service's drainer.
CREATE TABLE outbox_event (
    id               TEXT PRIMARY KEY,
    payload          TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT NOT NULL,
    delivered_at     BIGINT,
    last_error       TEXT
);

CREATE INDEX outbox_event_due ON outbox_event (delivered_at, next_attempt_at);
