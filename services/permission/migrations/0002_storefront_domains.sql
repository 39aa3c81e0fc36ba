-- The storefront domains a sales channel is served on (Shopware's
-- sales_channel_domain). The admin page sends an imitated customer to one
-- of them; the storefront login form finds its sales channel by the host.
CREATE TABLE sales_channel_domain (
    url               TEXT PRIMARY KEY,
    -- The URL's authority (host[:port]), lowercase: what a Host header says.
    host              TEXT NOT NULL UNIQUE,
    sales_channel_id  TEXT NOT NULL REFERENCES sales_channel (id)
);

CREATE INDEX sales_channel_domain_channel ON sales_channel_domain (sales_channel_id);

-- Customer search: email and name, case-insensitively.
CREATE INDEX principal_kind_name ON principal (kind, display_name);
