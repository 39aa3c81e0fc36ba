-- Impersonation policy as data. Per sales channel or team: may anyone
-- start impersonations there at all? No row: yes. `scope` is
-- 'sales_channel:<uuid>' or 'team:<id>'.
CREATE TABLE impersonation_policy (
    scope    TEXT PRIMARY KEY,
    enabled  BOOLEAN NOT NULL
);

-- People who said their team administrators may not act as them.
CREATE TABLE team_impersonation_opt_out (
    person_id     TEXT PRIMARY KEY REFERENCES principal (id),
    opted_out_at  BIGINT NOT NULL
);
