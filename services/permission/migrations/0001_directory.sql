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

-- Teams of customers (coworkers) and the profiles people hold in them. A
-- profile id is numeric and stable (Nexudus style); one person may hold
-- several profiles, one per team.
CREATE TABLE team (
    id    BIGINT PRIMARY KEY,
    name  TEXT NOT NULL UNIQUE
);

CREATE TABLE profile (
    id         BIGINT PRIMARY KEY,
    person_id  TEXT NOT NULL REFERENCES principal (id),
    team_id    BIGINT NOT NULL REFERENCES team (id),
    role       TEXT NOT NULL CHECK (role IN ('member', 'admin', 'owner')),
    full_name  TEXT NOT NULL,
    UNIQUE (person_id, team_id)
);

CREATE INDEX profile_person ON profile (person_id);

-- Who may act as whom: one row per (action, actor kind, target kind). The
-- actor must hold the privilege (when set) and stand in the relation (when
-- set; each relation is one function in the permission service). No row,
-- no impersonation.
CREATE TABLE impersonation_rule (
    action              TEXT NOT NULL,
    actor_kind          TEXT NOT NULL,
    target_kind         TEXT NOT NULL,
    required_privilege  TEXT,
    relation            TEXT,
    PRIMARY KEY (action, actor_kind, target_kind)
);

INSERT INTO impersonation_rule (action, actor_kind, target_kind, required_privilege, relation) VALUES
    ('imitate_customer', 'admin', 'customer', 'api_proxy_login-as-customer', NULL),
    ('impersonate_team_member', 'customer', 'customer', NULL, 'administers_team_of_member'),
    ('impersonate_user', 'operator', 'customer', 'sys_impersonate-users', NULL),
    ('impersonate_user', 'operator', 'admin', 'sys_impersonate-users', NULL);
