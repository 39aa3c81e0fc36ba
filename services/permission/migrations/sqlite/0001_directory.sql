-- The directory: principals, their credentials, roles and privileges, the
-- sales channels customers may use, and the impersonation rules as data.
CREATE TABLE sales_channel (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    access_key  TEXT NOT NULL UNIQUE,
    created_at  BIGINT NOT NULL
);

CREATE TABLE principal (
    id            TEXT PRIMARY KEY,
    kind          TEXT NOT NULL CHECK (kind IN ('admin', 'customer', 'operator')),
    email         TEXT NOT NULL,
    display_name  TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    active        BOOLEAN NOT NULL,
    guest         BOOLEAN NOT NULL,
    created_at    BIGINT NOT NULL,
    UNIQUE (kind, email)
);

CREATE TABLE role (
    name   TEXT PRIMARY KEY,
    label  TEXT NOT NULL
);

CREATE TABLE role_privilege (
    role       TEXT NOT NULL REFERENCES role (name),
    privilege  TEXT NOT NULL,
    PRIMARY KEY (role, privilege)
);

CREATE TABLE principal_role (
    principal_id  TEXT NOT NULL REFERENCES principal (id),
    role          TEXT NOT NULL REFERENCES role (name),
    PRIMARY KEY (principal_id, role)
);

CREATE TABLE customer_sales_channel (
    customer_id       TEXT NOT NULL REFERENCES principal (id),
    sales_channel_id  TEXT NOT NULL REFERENCES sales_channel (id),
    PRIMARY KEY (customer_id, sales_channel_id)
);

-- Who may act as whom: one row per (action, actor kind, target kind), with
-- the privilege the actor must hold. No row, no impersonation.
CREATE TABLE impersonation_rule (
    action              TEXT NOT NULL,
    actor_kind          TEXT NOT NULL,
    target_kind         TEXT NOT NULL,
    required_privilege  TEXT NOT NULL,
    PRIMARY KEY (action, actor_kind, target_kind)
);

INSERT INTO impersonation_rule (action, actor_kind, target_kind, required_privilege)
VALUES ('imitate_customer', 'admin', 'customer', 'api_proxy_login-as-customer');
