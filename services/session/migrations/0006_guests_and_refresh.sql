-- Guest contexts: the Store API context of a visitor who has not signed in
-- (Shopware hands one out to every frontend at start-up). A token, the
-- sales channel and the payload the visitor chose; nobody is behind it, so
-- it lives apart from the sessions and no question of who acts can reach it.
CREATE TABLE guest_context (
    -- SHA-256 of the token the client holds.
    token_hash        TEXT PRIMARY KEY,
    sales_channel_id  TEXT NOT NULL,
    payload           TEXT NOT NULL,
    created_at        BIGINT NOT NULL,
    expires_at        BIGINT NOT NULL
);

CREATE INDEX guest_context_expiry ON guest_context (expires_at);

-- Admin sessions from the OAuth password grant: SHA-256 of the current
-- refresh token. A refresh replaces it (single use) with the session's
-- token; ended sessions keep it, but nothing refreshes an ended session.
ALTER TABLE session ADD COLUMN refresh_token_hash TEXT;

CREATE UNIQUE INDEX session_refresh_token ON session (refresh_token_hash);
