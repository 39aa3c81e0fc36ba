-- Single use that survives the token store: the id (SHA-256 of the `jti`)
-- of every token exchanged for a session, written in the transaction that
-- starts the session. A Redis restored from a snapshot, or a replica
-- promoted after a failover, may hand a spent grant back; its second
-- exchange then fails here. Rows go once the token has expired (it no
-- longer verifies), so the table holds a few minutes of exchanges.
CREATE TABLE spent_token (
    token_id_hash  TEXT PRIMARY KEY,
    -- When the token expires (unix milliseconds).
    expires_at     BIGINT NOT NULL
);

CREATE INDEX spent_token_expiry ON spent_token (expires_at);
