//! Where the directory lives: the [`DirectoryStore`] trait and its one SQL
//! implementation, which runs the same portable SQL on PostgreSQL and SQLite.

use actas_shared::{
    db::{Ddl, Migrations, Pool, now_millis},
    ids::{PrincipalId, SalesChannelId},
    principal::PrincipalKind,
    with_pool,
};
use async_trait::async_trait;
use sqlx::Row as _;

use crate::model::{
    Action, ContextOption, NewPrincipal, OptionKind, Policy, Principal, Profile, Relation, Rule,
    SalesChannel, StorefrontChannel, TeamRole, domain_host,
};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("directory database failed")]
    Database(#[from] sqlx::Error),
    #[error("directory row is corrupt: {0}")]
    Corrupt(&'static str),
    #[error("already exists")]
    Conflict,
    #[error("a storefront domain is an http(s) URL with a host")]
    InvalidDomain,
}

/// A principal's stored credential.
#[derive(Clone, Debug)]
pub struct Credential {
    pub principal_id: PrincipalId,
    pub password_hash: String,
}

#[async_trait]
pub trait DirectoryStore: Send + Sync + 'static {
    /// The credential of the principal of `kind` with this (normalized) email.
    async fn credential(&self, kind: PrincipalKind, email: &str) -> Result<Option<Credential>, Error>;
    async fn principal(&self, id: PrincipalId) -> Result<Option<Principal>, Error>;
    /// Marks the principal active or not; false when no principal has this id.
    async fn set_principal_active(&self, id: PrincipalId, active: bool) -> Result<bool, Error>;
    /// What a decision reads, in one round trip: the actor and the target
    /// (with privileges and sales channels; the same principal when both
    /// ids are one) and the policy of `policy_scope` (the default without one).
    async fn decision_reads(
        &self,
        actor: PrincipalId,
        target: PrincipalId,
        policy_scope: Option<&str>,
    ) -> Result<DecisionReads, Error>;
    async fn sales_channel(&self, id: SalesChannelId) -> Result<Option<SalesChannel>, Error>;
    async fn sales_channel_by_access_key(&self, access_key: &str) -> Result<Option<SalesChannel>, Error>;
    /// The sales channel with a storefront domain on this host (`host[:port]`, lowercase).
    async fn sales_channel_by_host(&self, host: &str) -> Result<Option<SalesChannel>, Error>;
    /// Principals of one of `kinds` whose email or name contains `term`
    /// (case-insensitively), ordered by name: the total and the page
    /// `[offset, offset + limit)`. Customers come with their sales channels.
    async fn search_principals(
        &self,
        kinds: &[PrincipalKind],
        term: &str,
        offset: i64,
        limit: i64,
    ) -> Result<(i64, Vec<Principal>), Error>;
    /// [`DirectoryStore::search_principals`] of customers only.
    async fn search_customers(
        &self,
        term: &str,
        offset: i64,
        limit: i64,
    ) -> Result<(i64, Vec<Principal>), Error> {
        self.search_principals(&[PrincipalKind::Customer], term, offset, limit)
            .await
    }
    /// These sales channels with their domains, by id.
    async fn storefront_channels(&self, ids: &[SalesChannelId]) -> Result<Vec<StorefrontChannel>, Error>;
    /// Whether and how impersonations may happen in `scope`
    /// (`sales_channel:<id>`, `team:<id>`); on and read-write unless a
    /// policy row says otherwise.
    async fn impersonation_policy(&self, scope: &str) -> Result<Policy, Error>;
    async fn set_impersonation_policy(&self, scope: &str, policy: Policy) -> Result<(), Error>;
    async fn team_exists(&self, id: i64) -> Result<bool, Error>;
    /// Whether the person opted out of impersonation by their team administrators.
    async fn team_impersonation_opted_out(&self, person: PrincipalId) -> Result<bool, Error>;
    async fn set_team_impersonation_opt_out(&self, person: PrincipalId, opted_out: bool)
    -> Result<(), Error>;
    /// Serves `channel` on `url` (`http(s)://host[:port]`).
    async fn insert_sales_channel_domain(&self, channel: SalesChannelId, url: &str) -> Result<(), Error>;
    /// Makes `urls` the channel's only storefront domains, all or nothing.
    async fn replace_sales_channel_domains(
        &self,
        channel: SalesChannelId,
        urls: &[String],
    ) -> Result<(), Error>;
    /// The rules letting an actor of `actor_kind` perform `action`, one per target kind.
    async fn rules(&self, action: Action, actor_kind: PrincipalKind) -> Result<Vec<Rule>, Error>;
    async fn profile(&self, id: i64) -> Result<Option<Profile>, Error>;
    /// A person's profiles, by id.
    async fn profiles_of(&self, person: PrincipalId) -> Result<Vec<Profile>, Error>;
    /// A team's profiles (its members with their roles), by id.
    async fn team_profiles(&self, team: i64) -> Result<Vec<Profile>, Error>;
    async fn insert_team(&self, id: i64, name: &str) -> Result<(), Error>;
    async fn insert_profile(&self, profile: &Profile) -> Result<(), Error>;
    async fn is_empty(&self) -> Result<bool, Error>;
    async fn insert_sales_channel(&self, channel: &SalesChannel, access_key: &str) -> Result<(), Error>;
    /// What a sales channel offers a storefront context (languages, currencies, …).
    async fn context_options(&self, channel: SalesChannelId) -> Result<Vec<ContextOption>, Error>;
    async fn insert_context_option(
        &self,
        channel: SalesChannelId,
        option: &ContextOption,
    ) -> Result<(), Error>;
    async fn insert_role(&self, name: &str, label: &str, privileges: &[&str]) -> Result<(), Error>;
    /// Inserts the principal with its roles and sales channels, all or nothing.
    async fn insert_principal(&self, principal: &NewPrincipal) -> Result<(), Error>;
}

/// See [`DirectoryStore::decision_reads`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecisionReads {
    pub actor: Option<Principal>,
    pub target: Option<Principal>,
    pub policy: Policy,
}

pub const MIGRATIONS: Migrations = Migrations {
    table: "_actas_permission_migrations",
    list: &[
        (
            1,
            "directory",
            Ddl::Both(include_str!("../migrations/0001_directory.sql")),
        ),
        (
            2,
            "storefront domains",
            Ddl::Both(include_str!("../migrations/0002_storefront_domains.sql")),
        ),
        (
            3,
            "policy",
            Ddl::Both(include_str!("../migrations/0003_policy.sql")),
        ),
        (
            4,
            "read-only policy",
            Ddl::Both(include_str!("../migrations/0004_read_only_policy.sql")),
        ),
        (
            5,
            "context options",
            Ddl::Both(include_str!("../migrations/0005_context_options.sql")),
        ),
    ],
};

/// The directory in PostgreSQL or SQLite.
#[derive(Clone, Debug)]
pub struct SqlDirectory {
    pool: Pool,
}

impl SqlDirectory {
    pub fn new(pool: Pool) -> Self {
        Self { pool }
    }
}

fn parse_id<T: std::str::FromStr>(text: &str) -> Result<T, Error> {
    text.parse().map_err(|_| Error::Corrupt("id is not a UUID"))
}

fn map_conflict(error: sqlx::Error) -> Error {
    match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => Error::Conflict,
        _ => Error::Database(error),
    }
}

/// `$1, $2, ..., $n`: portable bind placeholders for an `IN` list.
fn placeholders(n: usize) -> String {
    (1..=n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

const PROFILE_SELECT: &str = "SELECT p.id, p.person_id, p.team_id, t.name, p.role, p.full_name \
     FROM profile p JOIN team t ON t.id = p.team_id";

type ProfileRow = (i64, String, i64, String, String, String);

fn profile_from_row((id, person, team_id, team_name, role, full_name): ProfileRow) -> Result<Profile, Error> {
    Ok(Profile {
        id,
        person_id: parse_id(&person)?,
        team_id,
        team_name,
        role: TeamRole::parse(&role).ok_or(Error::Corrupt("unknown team role"))?,
        full_name,
    })
}

/// A row of [`DirectoryStore::decision_reads`]: a principal's columns with
/// one privilege or channel, or (`part` = `policy`) a policy's flags in
/// `active` (enabled) and `guest` (read-only).
#[derive(Clone)]
struct ReadRow {
    id: String,
    kind: String,
    email: String,
    display_name: String,
    active: bool,
    guest: bool,
    part: Option<String>,
    value: Option<String>,
}

/// [`ReadRow`] as the drivers decode it (no derive: sqlx's macros are off).
type ReadTuple = (
    String,
    String,
    String,
    String,
    bool,
    bool,
    Option<String>,
    Option<String>,
);

impl From<ReadTuple> for ReadRow {
    fn from((id, kind, email, display_name, active, guest, part, value): ReadTuple) -> Self {
        Self {
            id,
            kind,
            email,
            display_name,
            active,
            guest,
            part,
            value,
        }
    }
}

fn principal_from(
    row: ReadRow,
    mut privileges: Vec<String>,
    channels: &[String],
) -> Result<Principal, Error> {
    // Sorted here, not by SQL: database collations differ.
    privileges.sort_unstable();
    privileges.dedup();
    let mut sales_channel_ids = channels
        .iter()
        .map(|c| parse_id(c))
        .collect::<Result<Vec<_>, _>>()?;
    sales_channel_ids.sort_unstable();
    Ok(Principal {
        id: parse_id(&row.id)?,
        kind: PrincipalKind::parse(&row.kind).ok_or(Error::Corrupt("unknown principal kind"))?,
        email: row.email,
        display_name: row.display_name,
        active: row.active,
        guest: row.guest,
        privileges,
        sales_channel_ids,
    })
}

#[async_trait]
impl DirectoryStore for SqlDirectory {
    async fn credential(&self, kind: PrincipalKind, email: &str) -> Result<Option<Credential>, Error> {
        let row = with_pool!(&self.pool, |pool| {
            sqlx::query("SELECT id, password_hash FROM principal WHERE kind = $1 AND email = $2")
                .bind(kind.as_str())
                .bind(email)
                .fetch_optional(pool)
                .await?
                .map(|row| -> Result<_, sqlx::Error> {
                    Ok((row.try_get::<String, _>(0)?, row.try_get::<String, _>(1)?))
                })
                .transpose()?
        });
        row.map(|(id, password_hash)| {
            Ok(Credential {
                principal_id: parse_id(&id)?,
                password_hash,
            })
        })
        .transpose()
    }

    async fn principal(&self, id: PrincipalId) -> Result<Option<Principal>, Error> {
        Ok(self.decision_reads(id, id, None).await?.actor)
    }

    async fn decision_reads(
        &self,
        actor: PrincipalId,
        target: PrincipalId,
        policy_scope: Option<&str>,
    ) -> Result<DecisionReads, Error> {
        // One round trip: both principal rows joined with their privileges
        // and sales channels (one row per privilege or channel, or one row
        // of NULLs), and the scope's policy row tagged `policy`.
        let rows: Vec<ReadTuple> = with_pool!(&self.pool, |pool| {
            sqlx::query_as(
                "SELECT p.id, p.kind, p.email, p.display_name, p.active, p.guest, x.part, x.value \
                 FROM principal p LEFT JOIN ( \
                     SELECT pr.principal_id AS owner, 'privilege' AS part, rp.privilege AS value \
                     FROM principal_role pr JOIN role_privilege rp ON rp.role = pr.role \
                     UNION ALL \
                     SELECT customer_id, 'sales_channel', sales_channel_id FROM customer_sales_channel \
                 ) x ON x.owner = p.id \
                 WHERE p.id IN ($1, $2) \
                 UNION ALL \
                 SELECT '', '', '', '', enabled, read_only, 'policy', '' FROM impersonation_policy \
                 WHERE scope = $3",
            )
            .bind(actor.to_string())
            .bind(target.to_string())
            .bind(policy_scope)
            .fetch_all(pool)
            .await?
        });
        let mut policy = Policy::default();
        let mut principals: Vec<(ReadRow, Vec<String>, Vec<String>)> = Vec::new();
        for row in rows.into_iter().map(ReadRow::from) {
            if row.part.as_deref() == Some("policy") {
                policy = Policy {
                    enabled: row.active,
                    read_only: row.guest,
                };
                continue;
            }
            let index = match principals.iter().position(|(loaded, _, _)| loaded.id == row.id) {
                Some(index) => index,
                None => {
                    principals.push((row.clone(), Vec::new(), Vec::new()));
                    principals.len() - 1
                }
            };
            let (_, privileges, channels) = &mut principals[index];
            match (row.part.as_deref(), row.value) {
                (Some("privilege"), Some(value)) => privileges.push(value),
                (Some("sales_channel"), Some(value)) => channels.push(value),
                _ => {}
            }
        }
        let loaded = principals
            .into_iter()
            .map(|(row, privileges, channels)| principal_from(row, privileges, &channels))
            .collect::<Result<Vec<_>, _>>()?;
        let find = |id: PrincipalId| loaded.iter().find(|p| p.id == id).cloned();
        Ok(DecisionReads {
            actor: find(actor),
            target: find(target),
            policy,
        })
    }

    async fn sales_channel(&self, id: SalesChannelId) -> Result<Option<SalesChannel>, Error> {
        let name: Option<String> = with_pool!(&self.pool, |pool| {
            sqlx::query_scalar("SELECT name FROM sales_channel WHERE id = $1")
                .bind(id.to_string())
                .fetch_optional(pool)
                .await?
        });
        Ok(name.map(|name| SalesChannel { id, name }))
    }

    async fn sales_channel_by_access_key(&self, access_key: &str) -> Result<Option<SalesChannel>, Error> {
        let row: Option<(String, String)> = with_pool!(&self.pool, |pool| {
            sqlx::query_as("SELECT id, name FROM sales_channel WHERE access_key = $1")
                .bind(access_key)
                .fetch_optional(pool)
                .await?
        });
        row.map(|(id, name)| {
            Ok(SalesChannel {
                id: parse_id(&id)?,
                name,
            })
        })
        .transpose()
    }

    async fn sales_channel_by_host(&self, host: &str) -> Result<Option<SalesChannel>, Error> {
        let row: Option<(String, String)> = with_pool!(&self.pool, |pool| {
            sqlx::query_as(
                "SELECT sc.id, sc.name FROM sales_channel_domain d \
                 JOIN sales_channel sc ON sc.id = d.sales_channel_id WHERE d.host = $1",
            )
            .bind(host)
            .fetch_optional(pool)
            .await?
        });
        row.map(|(id, name)| {
            Ok(SalesChannel {
                id: parse_id(&id)?,
                name,
            })
        })
        .transpose()
    }

    async fn search_principals(
        &self,
        kinds: &[PrincipalKind],
        term: &str,
        offset: i64,
        limit: i64,
    ) -> Result<(i64, Vec<Principal>), Error> {
        if kinds.is_empty() {
            return Ok((0, Vec::new()));
        }
        // LIKE with the term's own wildcards escaped. SQLite's LOWER folds
        // ASCII only, so there a non-ASCII term matches case-sensitively.
        let pattern = format!(
            "%{}%",
            term.to_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        // The kinds are the enum's own fixed words, never caller text.
        let kinds_sql = kinds
            .iter()
            .map(|kind| format!("'{}'", kind.as_str()))
            .collect::<Vec<_>>()
            .join(", ");
        let matches = format!(
            "FROM principal WHERE kind IN ({kinds_sql}) \
             AND (LOWER(email) LIKE $1 ESCAPE '\\' OR LOWER(display_name) LIKE $2 ESCAPE '\\')"
        );
        let matches = matches.as_str();
        let (total, rows, channels) = with_pool!(&self.pool, |pool| {
            let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) {matches}")))
                .bind(&pattern)
                .bind(&pattern)
                .fetch_one(pool)
                .await?;
            let rows: Vec<(String, String, String, String, bool, bool)> =
                sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT id, kind, email, display_name, active, guest {matches} \
                 ORDER BY LOWER(display_name), id LIMIT $3 OFFSET $4"
                )))
                .bind(&pattern)
                .bind(&pattern)
                .bind(limit)
                .bind(offset)
                .fetch_all(pool)
                .await?;
            let channels: Vec<(String, String)> = if rows.is_empty() {
                Vec::new()
            } else {
                let mut query = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT customer_id, sales_channel_id FROM customer_sales_channel \
                     WHERE customer_id IN ({})",
                    placeholders(rows.len())
                )));
                for row in &rows {
                    query = query.bind(&row.0);
                }
                query.fetch_all(pool).await?
            };
            (total, rows, channels)
        });
        let found = rows
            .into_iter()
            .map(|(id, kind, email, display_name, active, guest)| {
                let mut sales_channel_ids = channels
                    .iter()
                    .filter(|(customer, _)| *customer == id)
                    .map(|(_, channel)| parse_id(channel))
                    .collect::<Result<Vec<SalesChannelId>, _>>()?;
                sales_channel_ids.sort_unstable();
                Ok(Principal {
                    id: parse_id(&id)?,
                    kind: PrincipalKind::parse(&kind).ok_or(Error::Corrupt("unknown principal kind"))?,
                    email,
                    display_name,
                    active,
                    guest,
                    privileges: Vec::new(),
                    sales_channel_ids,
                })
            })
            .collect::<Result<Vec<_>, Error>>()?;
        Ok((total, found))
    }

    async fn storefront_channels(&self, ids: &[SalesChannelId]) -> Result<Vec<StorefrontChannel>, Error> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let texts: Vec<String> = ids.iter().map(ToString::to_string).collect();
        let rows: Vec<(String, String, Option<String>)> = with_pool!(&self.pool, |pool| {
            let mut query = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT sc.id, sc.name, d.url FROM sales_channel sc \
                 LEFT JOIN sales_channel_domain d ON d.sales_channel_id = sc.id \
                 WHERE sc.id IN ({})",
                placeholders(texts.len())
            )));
            for id in &texts {
                query = query.bind(id);
            }
            query.fetch_all(pool).await?
        });
        let mut channels: Vec<StorefrontChannel> = Vec::new();
        for (id, name, url) in rows {
            let id: SalesChannelId = parse_id(&id)?;
            let index = match channels.iter().position(|channel| channel.id == id) {
                Some(index) => index,
                None => {
                    channels.push(StorefrontChannel {
                        id,
                        name,
                        domain_urls: Vec::new(),
                    });
                    channels.len() - 1
                }
            };
            channels[index].domain_urls.extend(url);
        }
        for channel in &mut channels {
            channel.domain_urls.sort_unstable();
        }
        channels.sort_by_key(|channel| channel.id);
        Ok(channels)
    }

    async fn impersonation_policy(&self, scope: &str) -> Result<Policy, Error> {
        let row: Option<(bool, bool)> = with_pool!(&self.pool, |pool| {
            sqlx::query_as("SELECT enabled, read_only FROM impersonation_policy WHERE scope = $1")
                .bind(scope)
                .fetch_optional(pool)
                .await?
        });
        Ok(row.map_or_else(Policy::default, |(enabled, read_only)| Policy {
            enabled,
            read_only,
        }))
    }

    async fn set_principal_active(&self, id: PrincipalId, active: bool) -> Result<bool, Error> {
        let changed = with_pool!(&self.pool, |pool| {
            sqlx::query("UPDATE principal SET active = $2 WHERE id = $1")
                .bind(id.to_string())
                .bind(active)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(changed == 1)
    }

    async fn set_impersonation_policy(&self, scope: &str, policy: Policy) -> Result<(), Error> {
        with_pool!(&self.pool, |pool| {
            sqlx::query(
                "INSERT INTO impersonation_policy (scope, enabled, read_only) VALUES ($1, $2, $3) \
                 ON CONFLICT (scope) DO UPDATE SET enabled = excluded.enabled, read_only = excluded.read_only",
            )
            .bind(scope)
            .bind(policy.enabled)
            .bind(policy.read_only)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    async fn team_exists(&self, id: i64) -> Result<bool, Error> {
        let count: i64 = with_pool!(&self.pool, |pool| {
            sqlx::query_scalar("SELECT COUNT(*) FROM team WHERE id = $1")
                .bind(id)
                .fetch_one(pool)
                .await?
        });
        Ok(count > 0)
    }

    async fn team_impersonation_opted_out(&self, person: PrincipalId) -> Result<bool, Error> {
        let count: i64 = with_pool!(&self.pool, |pool| {
            sqlx::query_scalar("SELECT COUNT(*) FROM team_impersonation_opt_out WHERE person_id = $1")
                .bind(person.to_string())
                .fetch_one(pool)
                .await?
        });
        Ok(count > 0)
    }

    async fn set_team_impersonation_opt_out(
        &self,
        person: PrincipalId,
        opted_out: bool,
    ) -> Result<(), Error> {
        with_pool!(&self.pool, |pool| {
            if opted_out {
                sqlx::query(
                    "INSERT INTO team_impersonation_opt_out (person_id, opted_out_at) VALUES ($1, $2) \
                     ON CONFLICT (person_id) DO NOTHING",
                )
                .bind(person.to_string())
                .bind(now_millis())
                .execute(pool)
                .await?;
            } else {
                sqlx::query("DELETE FROM team_impersonation_opt_out WHERE person_id = $1")
                    .bind(person.to_string())
                    .execute(pool)
                    .await?;
            }
        });
        Ok(())
    }

    async fn insert_sales_channel_domain(&self, channel: SalesChannelId, url: &str) -> Result<(), Error> {
        let host = domain_host(url).ok_or(Error::InvalidDomain)?;
        with_pool!(&self.pool, |pool| {
            sqlx::query("INSERT INTO sales_channel_domain (url, host, sales_channel_id) VALUES ($1, $2, $3)")
                .bind(url.trim_end_matches('/'))
                .bind(&host)
                .bind(channel.to_string())
                .execute(pool)
                .await
                .map_err(map_conflict)?;
        });
        Ok(())
    }

    async fn replace_sales_channel_domains(
        &self,
        channel: SalesChannelId,
        urls: &[String],
    ) -> Result<(), Error> {
        let rows = urls
            .iter()
            .map(|url| {
                let host = domain_host(url).ok_or(Error::InvalidDomain)?;
                Ok((url.trim_end_matches('/').to_owned(), host))
            })
            .collect::<Result<Vec<_>, Error>>()?;
        with_pool!(&self.pool, |pool| {
            let mut tx = pool.begin().await?;
            sqlx::query("DELETE FROM sales_channel_domain WHERE sales_channel_id = $1")
                .bind(channel.to_string())
                .execute(&mut *tx)
                .await?;
            for (url, host) in &rows {
                sqlx::query(
                    "INSERT INTO sales_channel_domain (url, host, sales_channel_id) VALUES ($1, $2, $3)",
                )
                .bind(url)
                .bind(host)
                .bind(channel.to_string())
                .execute(&mut *tx)
                .await
                .map_err(map_conflict)?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    async fn rules(&self, action: Action, actor_kind: PrincipalKind) -> Result<Vec<Rule>, Error> {
        let rows: Vec<(String, Option<String>, Option<String>)> = with_pool!(&self.pool, |pool| {
            sqlx::query_as(
                "SELECT target_kind, required_privilege, relation FROM impersonation_rule \
                 WHERE action = $1 AND actor_kind = $2",
            )
            .bind(action.as_str())
            .bind(actor_kind.as_str())
            .fetch_all(pool)
            .await?
        });
        rows.into_iter()
            .map(|(target_kind, required_privilege, relation)| {
                Ok(Rule {
                    target_kind: PrincipalKind::parse(&target_kind)
                        .ok_or(Error::Corrupt("unknown target kind in rule"))?,
                    required_privilege,
                    relation: relation
                        .map(|r| Relation::parse(&r).ok_or(Error::Corrupt("unknown relation in rule")))
                        .transpose()?,
                })
            })
            .collect()
    }

    async fn profile(&self, id: i64) -> Result<Option<Profile>, Error> {
        let row: Option<ProfileRow> = with_pool!(&self.pool, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(format!("{PROFILE_SELECT} WHERE p.id = $1")))
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        row.map(profile_from_row).transpose()
    }

    async fn profiles_of(&self, person: PrincipalId) -> Result<Vec<Profile>, Error> {
        let rows: Vec<ProfileRow> = with_pool!(&self.pool, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "{PROFILE_SELECT} WHERE p.person_id = $1 ORDER BY p.id"
            )))
            .bind(person.to_string())
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(profile_from_row).collect()
    }

    async fn team_profiles(&self, team: i64) -> Result<Vec<Profile>, Error> {
        let rows: Vec<ProfileRow> = with_pool!(&self.pool, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "{PROFILE_SELECT} WHERE p.team_id = $1 ORDER BY p.id"
            )))
            .bind(team)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(profile_from_row).collect()
    }

    async fn insert_team(&self, id: i64, name: &str) -> Result<(), Error> {
        with_pool!(&self.pool, |pool| {
            sqlx::query("INSERT INTO team (id, name) VALUES ($1, $2)")
                .bind(id)
                .bind(name)
                .execute(pool)
                .await
                .map_err(map_conflict)?;
        });
        Ok(())
    }

    async fn insert_profile(&self, profile: &Profile) -> Result<(), Error> {
        with_pool!(&self.pool, |pool| {
            sqlx::query(
                "INSERT INTO profile (id, person_id, team_id, role, full_name) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(profile.id)
            .bind(profile.person_id.to_string())
            .bind(profile.team_id)
            .bind(profile.role.as_str())
            .bind(&profile.full_name)
            .execute(pool)
            .await
            .map_err(map_conflict)?;
        });
        Ok(())
    }

    async fn is_empty(&self) -> Result<bool, Error> {
        let count: i64 = with_pool!(&self.pool, |pool| {
            sqlx::query_scalar("SELECT COUNT(*) FROM principal")
                .fetch_one(pool)
                .await?
        });
        Ok(count == 0)
    }

    async fn insert_sales_channel(&self, channel: &SalesChannel, access_key: &str) -> Result<(), Error> {
        with_pool!(&self.pool, |pool| {
            sqlx::query(
                "INSERT INTO sales_channel (id, name, access_key, created_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(channel.id.to_string())
            .bind(&channel.name)
            .bind(access_key)
            .bind(now_millis())
            .execute(pool)
            .await
            .map_err(map_conflict)?;
        });
        Ok(())
    }

    async fn context_options(&self, channel: SalesChannelId) -> Result<Vec<ContextOption>, Error> {
        let rows: Vec<(String, String, bool)> = with_pool!(&self.pool, |pool| {
            sqlx::query_as(
                "SELECT kind, option_id, is_default FROM sales_channel_option \
                 WHERE sales_channel_id = $1 ORDER BY kind, option_id",
            )
            .bind(channel.to_string())
            .fetch_all(pool)
            .await?
        });
        rows.into_iter()
            .map(|(kind, id, is_default)| {
                Ok(ContextOption {
                    kind: OptionKind::parse(&kind).ok_or(Error::Corrupt("unknown context option kind"))?,
                    id: id
                        .parse()
                        .map_err(|_| Error::Corrupt("context option id is not a UUID"))?,
                    is_default,
                })
            })
            .collect()
    }

    async fn insert_context_option(
        &self,
        channel: SalesChannelId,
        option: &ContextOption,
    ) -> Result<(), Error> {
        with_pool!(&self.pool, |pool| {
            sqlx::query(
                "INSERT INTO sales_channel_option (sales_channel_id, kind, option_id, is_default) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(channel.to_string())
            .bind(option.kind.as_str())
            .bind(option.id.simple().to_string())
            .bind(option.is_default)
            .execute(pool)
            .await
            .map_err(map_conflict)?;
        });
        Ok(())
    }

    async fn insert_role(&self, name: &str, label: &str, privileges: &[&str]) -> Result<(), Error> {
        with_pool!(&self.pool, |pool| {
            let mut tx = pool.begin().await?;
            sqlx::query("INSERT INTO role (name, label) VALUES ($1, $2)")
                .bind(name)
                .bind(label)
                .execute(&mut *tx)
                .await
                .map_err(map_conflict)?;
            for privilege in privileges {
                sqlx::query("INSERT INTO role_privilege (role, privilege) VALUES ($1, $2)")
                    .bind(name)
                    .bind(*privilege)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    async fn insert_principal(&self, principal: &NewPrincipal) -> Result<(), Error> {
        let id = principal.id.to_string();
        with_pool!(&self.pool, |pool| {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "INSERT INTO principal (id, kind, email, display_name, password_hash, active, guest, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(&id)
            .bind(principal.kind.as_str())
            .bind(&principal.email)
            .bind(&principal.display_name)
            .bind(&principal.password_hash)
            .bind(principal.active)
            .bind(principal.guest)
            .bind(now_millis())
            .execute(&mut *tx)
            .await
            .map_err(map_conflict)?;
            for role in &principal.roles {
                sqlx::query("INSERT INTO principal_role (principal_id, role) VALUES ($1, $2)")
                    .bind(&id)
                    .bind(role)
                    .execute(&mut *tx)
                    .await?;
            }
            for channel in &principal.sales_channel_ids {
                sqlx::query(
                    "INSERT INTO customer_sales_channel (customer_id, sales_channel_id) VALUES ($1, $2)",
                )
                .bind(&id)
                .bind(channel.to_string())
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }
}
