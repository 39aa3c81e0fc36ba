//! Where sessions and audit records live: the [`SessionStore`] trait and its
//! one SQL implementation for PostgreSQL and SQLite.

use actas_shared::{
    db::{Ddl, Migrations, Pool},
    ids::{PrincipalId, SalesChannelId, SessionId},
    principal::PrincipalKind,
    proto::Action,
    with_pool,
};
use async_trait::async_trait;

mod actions;
mod guests;

pub use actions::ActionStore;
pub use guests::GuestStore;

use crate::model::{AuditFilter, AuditKind, AuditRecord, Ending, Session, SpentToken};

/// What a refresh writes: the new credential hashes and the session's new
/// end; refused past `refresh_until` after the login (its maximum).
#[derive(Debug)]
pub struct Rotation {
    pub previous: String,
    pub token_hash: String,
    pub refresh_token_hash: String,
    pub expires_at: i64,
    pub now: i64,
    /// How long after its login a session may still be refreshed.
    pub max_lifetime_ms: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("session database failed")]
    Database(#[from] sqlx::Error),
    #[error("session row is corrupt: {0}")]
    Corrupt(&'static str),
}

/// Guest contexts live beside the sessions, in the same database.
#[async_trait]
pub trait SessionStore: GuestStore + ActionStore + Send + Sync + 'static {
    async fn insert(&self, session: &Session) -> Result<(), Error>;
    /// Gives a session just started its refresh token (the hash of it).
    async fn grant_refresh(&self, id: SessionId, refresh_token_hash: &str) -> Result<(), Error>;
    /// The session whose current refresh token hashes to `refresh_token_hash`.
    async fn by_refresh_hash(&self, refresh_token_hash: &str) -> Result<Option<Session>, Error>;
    /// Rotates a session's credentials in one conditional write, so that of
    /// any number of concurrent uses of one refresh token one wins: the
    /// session still holding `rotation.previous`, not ended, not an
    /// impersonation, and within its maximum since the login, gets the new
    /// token and refresh token hashes and ends at `rotation.expires_at`.
    /// Whether it did. Its bearer may have expired: the refresh token
    /// outlives it, up to the maximum.
    async fn rotate_refresh(&self, rotation: &Rotation) -> Result<bool, Error>;
    /// Starts an impersonated session: spends the token it was exchanged
    /// for, inserts the session and its start record, in one transaction:
    /// all exist afterwards, or none does. Returns false, writing nothing,
    /// when the token was spent before (a grant handed back by a restored
    /// token store).
    async fn start_impersonation(
        &self,
        session: &Session,
        record: &AuditRecord,
        spent: &SpentToken,
    ) -> Result<bool, Error>;
    /// Forgets the spent tokens that expired before `before` (they no
    /// longer verify); returns how many.
    async fn forget_spent_tokens(&self, before: i64) -> Result<u64, Error>;
    async fn by_token_hash(&self, token_hash: &str) -> Result<Option<Session>, Error>;
    /// Ends a live session, with its audit record when given, atomically.
    /// Returns false when it had already ended.
    async fn end(
        &self,
        id: SessionId,
        reason: &str,
        at: i64,
        record: Option<&AuditRecord>,
    ) -> Result<bool, Error>;
    /// The payload of the principal's most recent session on the channel.
    async fn latest_payload(
        &self,
        principal: PrincipalId,
        channel: Option<SalesChannelId>,
    ) -> Result<Option<String>, Error>;
    async fn update_payload(&self, id: SessionId, payload: &str) -> Result<(), Error>;
    async fn update_profile(&self, id: SessionId, profile_id: i64) -> Result<(), Error>;
    /// Outbox events due for delivery at `now`, oldest first: (id, payload, attempts).
    async fn due_events(&self, now: i64, limit: i64) -> Result<Vec<(String, String, i64)>, Error>;
    /// An event was delivered.
    async fn event_delivered(&self, id: &str, at: i64) -> Result<(), Error>;
    /// A delivery failed; the next attempt is due at `next_attempt_at`.
    async fn event_failed(&self, id: &str, next_attempt_at: i64, error: &str) -> Result<(), Error>;
    /// Appends an audit record that belongs to no session.
    async fn append_audit(&self, record: &AuditRecord) -> Result<(), Error>;
    /// Ends every live impersonated session of `actor` and/or of `target`
    /// at `revocation.at`, each with its `impersonation_revoked` record (and
    /// outbox event), set-based in transactions of [`REVOKE_BATCH`]
    /// sessions: however many there are, each batch is all or nothing, and a
    /// session that ended meanwhile is neither ended again nor recorded.
    /// Returns the token hashes of the sessions it ended.
    async fn revoke_impersonations(&self, revocation: &Revocation) -> Result<Vec<String>, Error>;
    /// Live impersonated sessions at `now` with an id after `after` (all
    /// when `None`), by id, at most `limit`: a cursor through every open
    /// impersonation, for the sweeper's re-check of their actors.
    async fn open_impersonations_after(
        &self,
        after: Option<SessionId>,
        now: i64,
        limit: i64,
    ) -> Result<Vec<Session>, Error>;
    /// Impersonated sessions not yet ended that are past their maximum at
    /// `now`, or unused since before `unused_since`; soonest due first.
    async fn due_to_end(&self, now: i64, unused_since: i64, limit: i64) -> Result<Vec<Session>, Error>;
    /// Records that a live session was used at `at` (never moves it back).
    async fn touch(&self, id: SessionId, at: i64) -> Result<(), Error>;
    /// Marks a session read-only, or lifts the mark.
    async fn set_read_only(&self, id: SessionId, read_only: bool) -> Result<(), Error>;
    async fn audit_records(&self, filter: &AuditFilter) -> Result<Vec<AuditRecord>, Error>;
}

pub const MIGRATIONS: Migrations = Migrations {
    table: "_actas_session_migrations",
    list: &[
        (
            1,
            "sessions",
            Ddl::Each {
                postgres: include_str!("../migrations/postgres/0001_sessions.sql"),
                sqlite: include_str!("../migrations/sqlite/0001_sessions.sql"),
            },
        ),
        (
            2,
            "last seen",
            Ddl::Both(include_str!("../migrations/0002_last_seen.sql")),
        ),
        (
            3,
            "outbox",
            Ddl::Both(include_str!("../migrations/0003_outbox.sql")),
        ),
        (
            4,
            "read-only",
            Ddl::Both(include_str!("../migrations/0004_read_only.sql")),
        ),
        (
            5,
            "spent tokens",
            Ddl::Both(include_str!("../migrations/0005_spent_tokens.sql")),
        ),
        (
            6,
            "guests and refresh tokens",
            Ddl::Both(include_str!("../migrations/0006_guests_and_refresh.sql")),
        ),
        (
            7,
            "action records",
            Ddl::Each {
                postgres: include_str!("../migrations/postgres/0007_action_records.sql"),
                sqlite: include_str!("../migrations/sqlite/0007_action_records.sql"),
            },
        ),
    ],
};

/// Sessions one revocation transaction ends: its writes bind 12 values per
/// record, well inside both drivers' parameter limits.
pub const REVOKE_BATCH: i64 = 1000;

/// Which live sessions a revocation ends.
#[derive(Clone, Copy, Debug)]
pub enum Whose {
    /// The impersonations of this actor, of this target, or of both; with
    /// a session, only that one (when it matches the others).
    Impersonations {
        actor: Option<PrincipalId>,
        target: Option<PrincipalId>,
        session: Option<SessionId>,
    },
    /// Every session of a principal: its own, the impersonations it started
    /// and those acting as it (a deactivation).
    EveryOneOf(PrincipalId),
}

/// A revocation: which live sessions end, why, and who asked. Each
/// impersonation among them gets its `impersonation_revoked` record; a
/// principal's own sessions end without one (the deactivation that ends
/// them is on the record itself).
#[derive(Clone, Debug)]
pub struct Revocation {
    pub whose: Whose,
    pub reason: String,
    pub client_ip: String,
    pub user_agent: String,
    pub trace_id: String,
    pub at: i64,
}

impl Revocation {
    /// The `impersonation_revoked` record of one session it ends; `None`
    /// for a principal's own session.
    pub fn record_of(&self, session: &Session) -> Option<AuditRecord> {
        AuditRecord::of_ending(
            session,
            Ending {
                kind: AuditKind::ImpersonationRevoked,
                reason: &self.reason,
                client_ip: &self.client_ip,
                user_agent: &self.user_agent,
                at: self.at,
                trace_id: &self.trace_id,
            },
        )
    }
}

/// Audit records per page when the caller does not say.
pub const DEFAULT_AUDIT_PAGE: u32 = 100;
/// The most audit records one page returns.
pub const MAX_AUDIT_PAGE: u32 = 500;

#[derive(Clone, Debug)]
pub struct SqlSessions {
    pool: Pool,
    /// Write an outbox event with every impersonation record (a webhook
    /// drains them); off, nothing accumulates for nobody.
    outbox: bool,
}

impl SqlSessions {
    pub fn new(pool: Pool) -> Self {
        Self { pool, outbox: false }
    }

    pub(crate) fn pool(&self) -> &Pool {
        &self.pool
    }

    pub fn with_outbox(mut self, outbox: bool) -> Self {
        self.outbox = outbox;
        self
    }

    /// Impersonated sessions alive at `now`, for the metrics gauge.
    pub async fn count_active_impersonations(&self, now: i64) -> Result<i64, Error> {
        Ok(with_pool!(&self.pool, |pool| {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM session WHERE imitating_user_id IS NOT NULL \
                 AND ended_at IS NULL AND expires_at > $1",
            )
            .bind(now)
            .fetch_one(pool)
            .await?
        }))
    }
}

const SESSION_COLUMNS: &str = "id, token_hash, principal_id, principal_kind, sales_channel_id, \
     imitating_user_id, profile_id, grant_action, payload, created_at, expires_at, ended_at, \
     COALESCE(last_seen_at, created_at) AS last_seen_at, read_only";

/// A `session` row as [`SESSION_COLUMNS`] reads it, column by name.
#[derive(sqlx::FromRow)]
struct SessionRow {
    id: String,
    token_hash: String,
    principal_id: String,
    principal_kind: String,
    sales_channel_id: Option<String>,
    imitating_user_id: Option<String>,
    profile_id: Option<i64>,
    grant_action: Option<String>,
    payload: String,
    created_at: i64,
    expires_at: i64,
    ended_at: Option<i64>,
    /// Its start until it was first used.
    last_seen_at: i64,
    read_only: bool,
}

fn parse<T: std::str::FromStr>(text: &str) -> Result<T, Error> {
    text.parse().map_err(|_| Error::Corrupt("id is not a UUID"))
}

fn session_from_row(row: SessionRow) -> Result<Session, Error> {
    Ok(Session {
        id: parse(&row.id)?,
        token_hash: row.token_hash,
        principal_id: parse(&row.principal_id)?,
        principal_kind: PrincipalKind::parse(&row.principal_kind)
            .ok_or(Error::Corrupt("unknown principal kind"))?,
        sales_channel_id: row.sales_channel_id.as_deref().map(parse).transpose()?,
        imitating_user_id: row.imitating_user_id.as_deref().map(parse).transpose()?,
        profile_id: row.profile_id,
        grant_action: row.grant_action,
        payload: row.payload,
        created_at: row.created_at,
        expires_at: row.expires_at,
        ended_at: row.ended_at,
        last_seen_at: row.last_seen_at,
        read_only: row.read_only,
    })
}

/// An `audit_record` row, column by name.
#[derive(sqlx::FromRow)]
struct AuditRow {
    id: String,
    kind: String,
    action: String,
    actor_id: String,
    target_id: String,
    audience: String,
    session_id: Option<String>,
    reason: String,
    client_ip: String,
    user_agent: String,
    occurred_at: i64,
    trace_id: String,
}

fn audit_from_row(row: AuditRow) -> Result<AuditRecord, Error> {
    Ok(AuditRecord {
        id: parse(&row.id)?,
        kind: AuditKind::parse(&row.kind).ok_or(Error::Corrupt("unknown audit record kind"))?,
        // Empty (unspecified) is kept as it was written, not refused.
        action: Action::parse(&row.action).unwrap_or(Action::Unspecified),
        actor_id: parse(&row.actor_id)?,
        target_id: parse(&row.target_id)?,
        audience: row.audience,
        session_id: row.session_id.as_deref().map(parse).transpose()?,
        reason: row.reason,
        client_ip: row.client_ip,
        user_agent: row.user_agent,
        occurred_at: row.occurred_at,
        trace_id: row.trace_id,
    })
}

const INSERT_SESSION: &str = "INSERT INTO session (id, token_hash, principal_id, principal_kind, \
     sales_channel_id, imitating_user_id, profile_id, grant_action, payload, created_at, expires_at, \
     ended_at, last_seen_at, read_only) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)";

const INSERT_AUDIT: &str = "INSERT INTO audit_record (id, kind, action, actor_id, target_id, audience, \
     session_id, reason, client_ip, user_agent, occurred_at, trace_id) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";

/// Binds a session's columns, in `INSERT_SESSION` order, to `$query`.
macro_rules! bind_session {
    ($query:expr, $session:expr) => {
        $query
            .bind($session.id.to_string())
            .bind(&$session.token_hash)
            .bind($session.principal_id.to_string())
            .bind($session.principal_kind.as_str())
            .bind($session.sales_channel_id.map(|c| c.to_string()))
            .bind($session.imitating_user_id.map(|u| u.to_string()))
            .bind($session.profile_id)
            .bind(&$session.grant_action)
            .bind(&$session.payload)
            .bind($session.created_at)
            .bind($session.expires_at)
            .bind($session.ended_at)
            .bind($session.last_seen_at)
            .bind($session.read_only)
    };
}

/// PostgreSQL's start of an impersonated session in one statement: the
/// spent token id first, and the record, the session (and the outbox
/// event) only when it was not spent before. Data-modifying CTEs run as
/// one statement: all rows or none.
const START_IMPERSONATION_PG: &str = "WITH spent AS ( \
         INSERT INTO spent_token (token_id_hash, expires_at) VALUES ($1, $2) \
         ON CONFLICT (token_id_hash) DO NOTHING RETURNING token_id_hash), \
     record AS ( \
         INSERT INTO audit_record (id, kind, action, actor_id, target_id, audience, session_id, reason, \
         client_ip, user_agent, occurred_at, trace_id) \
         SELECT $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14 FROM spent RETURNING id), \
     started AS ( \
         INSERT INTO session (id, token_hash, principal_id, principal_kind, sales_channel_id, \
         imitating_user_id, profile_id, grant_action, payload, created_at, expires_at, ended_at, \
         last_seen_at, read_only) \
         SELECT $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28 FROM spent RETURNING id), \
     event AS ( \
         INSERT INTO outbox_event (id, payload, created_at, attempts, next_attempt_at) \
         SELECT $3, $29, $13, 0, $13 FROM spent WHERE $30 RETURNING id) \
     SELECT COUNT(*) FROM spent";

/// PostgreSQL's end of a session with its record (and outbox event), in
/// one statement: the record only when the session ended here.
const END_WITH_RECORD_PG: &str = "WITH ended AS ( \
         UPDATE session SET ended_at = $1, end_reason = $2 WHERE id = $3 AND ended_at IS NULL RETURNING id), \
     record AS ( \
         INSERT INTO audit_record (id, kind, action, actor_id, target_id, audience, session_id, reason, \
         client_ip, user_agent, occurred_at, trace_id) \
         SELECT $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15 FROM ended RETURNING id), \
     event AS ( \
         INSERT INTO outbox_event (id, payload, created_at, attempts, next_attempt_at) \
         SELECT $4, $16, $14, 0, $14 FROM ended WHERE $17 RETURNING id) \
     SELECT COUNT(*) FROM ended";

/// PostgreSQL's end of one batch of a revocation, in one statement: the
/// sessions of the id array `$3` still live end, each with its
/// `impersonation_revoked` record (and outbox event when `$7`) made here;
/// answers the ended sessions' token hashes.
const REVOKE_BATCH_PG: &str = "WITH ended AS ( \
         UPDATE session SET ended_at = $1, end_reason = $2 \
         FROM unnest($3::text[]) AS batch (id) \
         WHERE session.id = batch.id AND session.ended_at IS NULL RETURNING session.*), \
     recorded AS ( \
         INSERT INTO audit_record (id, kind, action, actor_id, target_id, audience, \
         session_id, reason, client_ip, user_agent, occurred_at, trace_id) \
         SELECT gen_random_uuid()::text, 'impersonation_revoked', COALESCE(grant_action, ''), \
         imitating_user_id, principal_id, COALESCE(sales_channel_id, ''), id, $2, $4, $5, $1, $6 \
         FROM ended WHERE imitating_user_id IS NOT NULL \
         RETURNING id, action, actor_id, target_id, audience, session_id), \
     events AS ( \
         INSERT INTO outbox_event (id, payload, created_at, attempts, next_attempt_at) \
         SELECT id, json_build_object('id', id, 'type', 'impersonation.revoked', \
         'occurredAt', $1::bigint, 'actorId', actor_id, 'targetId', target_id, 'action', action, \
         'audience', audience, 'sessionId', session_id, 'reason', $2::text)::text, $1, 0, $1 \
         FROM recorded WHERE $7) \
     SELECT token_hash FROM ended";

/// Binds [`START_IMPERSONATION_PG`]: spent token, record, session, outbox.
macro_rules! bind_start {
    ($session:expr, $record:expr, $spent:expr, $outbox:expr) => {
        bind_session!(
            bind_audit!(
                sqlx::query_scalar(START_IMPERSONATION_PG)
                    .bind(&$spent.token_id_hash)
                    .bind($spent.expires_at),
                $record
            ),
            $session
        )
        .bind(outbox_payload($record))
        .bind($outbox)
    };
}

/// The outbox event of an impersonation record: what the impersonated
/// person's notifier needs, and nothing secret.
pub fn outbox_payload(record: &AuditRecord) -> String {
    serde_json::json!({
        "id": record.id.to_string(),
        "type": record.kind.as_str().replacen("impersonation_", "impersonation.", 1),
        "occurredAt": record.occurred_at,
        "actorId": record.actor_id.to_string(),
        "targetId": record.target_id.to_string(),
        "action": record.action.as_str(),
        "audience": record.audience,
        "sessionId": record.session_id.map(|s| s.to_string()),
        "reason": record.reason,
    })
    .to_string()
}

/// Binds the outbox event of an impersonation record (its id is the record's).
macro_rules! bind_outbox {
    ($record:expr) => {
        sqlx::query(
            "INSERT INTO outbox_event (id, payload, created_at, attempts, next_attempt_at) \
             VALUES ($1, $2, $3, 0, $3)",
        )
        .bind($record.id.to_string())
        .bind(outbox_payload($record))
        .bind($record.occurred_at)
    };
}

/// Binds an audit record's columns, in `INSERT_AUDIT` order, to `$query`.
macro_rules! bind_audit {
    ($query:expr, $record:expr) => {
        $query
            .bind($record.id.to_string())
            .bind($record.kind.as_str())
            .bind($record.action.as_str())
            .bind($record.actor_id.to_string())
            .bind($record.target_id.to_string())
            .bind(&$record.audience)
            .bind($record.session_id.map(|s| s.to_string()))
            .bind(&$record.reason)
            .bind(&$record.client_ip)
            .bind(&$record.user_agent)
            .bind($record.occurred_at)
            .bind(&$record.trace_id)
    };
}

#[async_trait]
impl SessionStore for SqlSessions {
    async fn insert(&self, session: &Session) -> Result<(), Error> {
        with_pool!(&self.pool, |pool| {
            bind_session!(sqlx::query(INSERT_SESSION), session)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    async fn grant_refresh(&self, id: SessionId, refresh_token_hash: &str) -> Result<(), Error> {
        with_pool!(&self.pool, |pool| {
            sqlx::query("UPDATE session SET refresh_token_hash = $1 WHERE id = $2")
                .bind(refresh_token_hash)
                .bind(id.to_string())
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    async fn by_refresh_hash(&self, refresh_token_hash: &str) -> Result<Option<Session>, Error> {
        let row: Option<SessionRow> = with_pool!(&self.pool, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {SESSION_COLUMNS} FROM session WHERE refresh_token_hash = $1"
            )))
            .bind(refresh_token_hash)
            .fetch_optional(pool)
            .await?
        });
        row.map(session_from_row).transpose()
    }

    async fn rotate_refresh(&self, rotation: &Rotation) -> Result<bool, Error> {
        // The refresh token in the condition makes the use single: a second
        // use, concurrent or later, matches nothing.
        let rotated = with_pool!(&self.pool, |pool| {
            sqlx::query(
                "UPDATE session SET token_hash = $1, refresh_token_hash = $2, expires_at = $3 \
                 WHERE refresh_token_hash = $4 AND ended_at IS NULL AND imitating_user_id IS NULL \
                 AND created_at > $5",
            )
            .bind(&rotation.token_hash)
            .bind(&rotation.refresh_token_hash)
            .bind(rotation.expires_at)
            .bind(&rotation.previous)
            .bind(rotation.now.saturating_sub(rotation.max_lifetime_ms))
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(rotated == 1)
    }

    async fn start_impersonation(
        &self,
        session: &Session,
        record: &AuditRecord,
        spent: &SpentToken,
    ) -> Result<bool, Error> {
        let pool = match &self.pool {
            Pool::Postgres(pool) => {
                // One statement, so one round trip and one implicit
                // transaction where BEGIN, three INSERTs and COMMIT took five.
                let started: i64 = bind_start!(session, record, spent, self.outbox)
                    .fetch_one(pool)
                    .await?;
                return Ok(started == 1);
            }
            Pool::Sqlite(pool) => pool,
        };
        let started = {
            let mut tx = pool.begin().await?;
            // The unique id decides between replays: of any number of
            // exchanges of one token, on any replica, one inserts it.
            let first = sqlx::query(
                "INSERT INTO spent_token (token_id_hash, expires_at) VALUES ($1, $2) \
                 ON CONFLICT (token_id_hash) DO NOTHING",
            )
            .bind(&spent.token_id_hash)
            .bind(spent.expires_at)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if first {
                bind_audit!(sqlx::query(INSERT_AUDIT), record)
                    .execute(&mut *tx)
                    .await?;
                bind_session!(sqlx::query(INSERT_SESSION), session)
                    .execute(&mut *tx)
                    .await?;
                if self.outbox {
                    bind_outbox!(record).execute(&mut *tx).await?;
                }
                tx.commit().await?;
            } else {
                tx.rollback().await?;
            }
            first
        };
        Ok(started)
    }

    async fn forget_spent_tokens(&self, before: i64) -> Result<u64, Error> {
        Ok(with_pool!(&self.pool, |pool| {
            sqlx::query("DELETE FROM spent_token WHERE expires_at < $1")
                .bind(before)
                .execute(pool)
                .await?
                .rows_affected()
        }))
    }

    async fn by_token_hash(&self, token_hash: &str) -> Result<Option<Session>, Error> {
        let row: Option<SessionRow> = with_pool!(&self.pool, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {SESSION_COLUMNS} FROM session WHERE token_hash = $1"
            )))
            .bind(token_hash)
            .fetch_optional(pool)
            .await?
        });
        row.map(session_from_row).transpose()
    }

    async fn end(
        &self,
        id: SessionId,
        reason: &str,
        at: i64,
        record: Option<&AuditRecord>,
    ) -> Result<bool, Error> {
        let pool = match &self.pool {
            Pool::Postgres(pool) => {
                // One statement each: the end alone, or the end with its
                // record (and outbox event) only when it ended here.
                let ended = match record {
                    None => sqlx::query(
                        "UPDATE session SET ended_at = $1, end_reason = $2 \
                         WHERE id = $3 AND ended_at IS NULL",
                    )
                    .bind(at)
                    .bind(reason)
                    .bind(id.to_string())
                    .execute(pool)
                    .await?
                    .rows_affected(),
                    Some(record) => {
                        let ended: i64 = bind_audit!(
                            sqlx::query_scalar(END_WITH_RECORD_PG)
                                .bind(at)
                                .bind(reason)
                                .bind(id.to_string()),
                            record
                        )
                        .bind(outbox_payload(record))
                        .bind(self.outbox)
                        .fetch_one(pool)
                        .await?;
                        u64::try_from(ended).unwrap_or_default()
                    }
                };
                return Ok(ended == 1);
            }
            Pool::Sqlite(pool) => pool,
        };
        let ended = {
            let mut tx = pool.begin().await?;
            let result = sqlx::query(
                "UPDATE session SET ended_at = $1, end_reason = $2 WHERE id = $3 AND ended_at IS NULL",
            )
            .bind(at)
            .bind(reason)
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
            let ended = result.rows_affected() == 1;
            if ended && let Some(record) = record {
                bind_audit!(sqlx::query(INSERT_AUDIT), record)
                    .execute(&mut *tx)
                    .await?;
                if self.outbox {
                    bind_outbox!(record).execute(&mut *tx).await?;
                }
            }
            tx.commit().await?;
            ended
        };
        Ok(ended)
    }

    async fn latest_payload(
        &self,
        principal: PrincipalId,
        channel: Option<SalesChannelId>,
    ) -> Result<Option<String>, Error> {
        let payload: Option<String> = with_pool!(&self.pool, |pool| {
            sqlx::query_scalar(
                "SELECT payload FROM session WHERE principal_id = $1 \
                 AND (sales_channel_id = $2 OR (sales_channel_id IS NULL AND $2 IS NULL)) \
                 ORDER BY created_at DESC, id DESC LIMIT 1",
            )
            .bind(principal.to_string())
            .bind(channel.map(|c| c.to_string()))
            .fetch_optional(pool)
            .await?
        });
        Ok(payload)
    }

    async fn update_payload(&self, id: SessionId, payload: &str) -> Result<(), Error> {
        with_pool!(&self.pool, |pool| {
            sqlx::query("UPDATE session SET payload = $1 WHERE id = $2")
                .bind(payload)
                .bind(id.to_string())
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    async fn due_events(&self, now: i64, limit: i64) -> Result<Vec<(String, String, i64)>, Error> {
        Ok(with_pool!(&self.pool, |pool| {
            sqlx::query_as(
                "SELECT id, payload, CAST(attempts AS BIGINT) FROM outbox_event \
                 WHERE delivered_at IS NULL AND next_attempt_at <= $1 \
                 ORDER BY created_at, id LIMIT $2",
            )
            .bind(now)
            .bind(limit)
            .fetch_all(pool)
            .await?
        }))
    }

    async fn event_delivered(&self, id: &str, at: i64) -> Result<(), Error> {
        with_pool!(&self.pool, |pool| {
            sqlx::query("UPDATE outbox_event SET delivered_at = $1, attempts = attempts + 1 WHERE id = $2")
                .bind(at)
                .bind(id)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    async fn event_failed(&self, id: &str, next_attempt_at: i64, error: &str) -> Result<(), Error> {
        with_pool!(&self.pool, |pool| {
            sqlx::query(
                "UPDATE outbox_event SET attempts = attempts + 1, next_attempt_at = $1, last_error = $2 \
                 WHERE id = $3",
            )
            .bind(next_attempt_at)
            .bind(error)
            .bind(id)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    async fn append_audit(&self, record: &AuditRecord) -> Result<(), Error> {
        with_pool!(&self.pool, |pool| {
            bind_audit!(sqlx::query(INSERT_AUDIT), record)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    async fn revoke_impersonations(&self, revocation: &Revocation) -> Result<Vec<String>, Error> {
        // Which sessions, once (an index scan); then each batch ends its
        // own by primary key, so the work grows with the count, not its
        // square as re-selecting the rest after every batch would.
        let ids: Vec<String> = match revocation.whose {
            Whose::Impersonations {
                actor,
                target,
                session,
            } => with_pool!(&self.pool, |pool| {
                sqlx::query_scalar(
                    "SELECT id FROM session WHERE imitating_user_id IS NOT NULL \
                     AND ended_at IS NULL AND expires_at > $1 \
                     AND ($2 IS NULL OR imitating_user_id = $2) AND ($3 IS NULL OR principal_id = $3) \
                     AND ($4 IS NULL OR id = $4)",
                )
                .bind(revocation.at)
                .bind(actor.map(|a| a.to_string()))
                .bind(target.map(|t| t.to_string()))
                .bind(session.map(|s| s.to_string()))
                .fetch_all(pool)
                .await?
            }),
            Whose::EveryOneOf(principal) => with_pool!(&self.pool, |pool| {
                sqlx::query_scalar(
                    "SELECT id FROM session WHERE ended_at IS NULL AND expires_at > $1 \
                     AND (principal_id = $2 OR imitating_user_id = $2)",
                )
                .bind(revocation.at)
                .bind(principal.to_string())
                .fetch_all(pool)
                .await?
            }),
        };
        let mut revoked = Vec::with_capacity(ids.len());
        let batches = ids.chunks(usize::try_from(REVOKE_BATCH).unwrap_or(1000));
        let pool = match &self.pool {
            Pool::Postgres(pool) => {
                // One statement a batch, the records made in SQL: the ids travel
                // as one array, whatever their number.
                for batch in batches {
                    let hashes: Vec<String> = sqlx::query_scalar(REVOKE_BATCH_PG)
                        .bind(revocation.at)
                        .bind(&revocation.reason)
                        .bind(batch)
                        .bind(&revocation.client_ip)
                        .bind(&revocation.user_agent)
                        .bind(&revocation.trace_id)
                        .bind(self.outbox)
                        .fetch_all(pool)
                        .await?;
                    revoked.extend(hashes);
                }
                return Ok(revoked);
            }
            Pool::Sqlite(pool) => pool,
        };
        for batch in batches {
            let ended = {
                let mut tx = pool.begin().await?;
                // Only those still live: one ended meanwhile is left alone.
                let mut end = sqlx::QueryBuilder::new("UPDATE session SET ended_at = ");
                end.push_bind(revocation.at)
                    .push(", end_reason = ")
                    .push_bind(&revocation.reason)
                    .push(" WHERE ended_at IS NULL AND id IN (");
                let mut bound = end.separated(", ");
                for id in batch {
                    bound.push_bind(id);
                }
                end.push(format!(") RETURNING {SESSION_COLUMNS}"));
                let rows: Vec<SessionRow> = end.build_query_as().fetch_all(&mut *tx).await?;
                let sessions = rows
                    .into_iter()
                    .map(session_from_row)
                    .collect::<Result<Vec<_>, _>>()?;
                let records: Vec<AuditRecord> = sessions
                    .iter()
                    .filter_map(|session| revocation.record_of(session))
                    .collect();
                if !records.is_empty() {
                    let mut insert = sqlx::QueryBuilder::new(
                        "INSERT INTO audit_record (id, kind, action, actor_id, target_id, audience, \
                         session_id, reason, client_ip, user_agent, occurred_at, trace_id) ",
                    );
                    insert.push_values(&records, |mut row, record| {
                        row.push_bind(record.id.to_string())
                            .push_bind(record.kind.as_str())
                            .push_bind(record.action.as_str())
                            .push_bind(record.actor_id.to_string())
                            .push_bind(record.target_id.to_string())
                            .push_bind(&record.audience)
                            .push_bind(record.session_id.map(|s| s.to_string()))
                            .push_bind(&record.reason)
                            .push_bind(&record.client_ip)
                            .push_bind(&record.user_agent)
                            .push_bind(record.occurred_at)
                            .push_bind(&record.trace_id);
                    });
                    insert.build().execute(&mut *tx).await?;
                    if self.outbox {
                        let mut events = sqlx::QueryBuilder::new(
                            "INSERT INTO outbox_event (id, payload, created_at, attempts, next_attempt_at) ",
                        );
                        events.push_values(&records, |mut row, record| {
                            row.push_bind(record.id.to_string())
                                .push_bind(outbox_payload(record))
                                .push_bind(record.occurred_at)
                                .push_bind(0_i64)
                                .push_bind(record.occurred_at);
                        });
                        events.build().execute(&mut *tx).await?;
                    }
                }
                tx.commit().await?;
                sessions
            };
            revoked.extend(ended.into_iter().map(|session| session.token_hash));
        }
        Ok(revoked)
    }

    async fn open_impersonations_after(
        &self,
        after: Option<SessionId>,
        now: i64,
        limit: i64,
    ) -> Result<Vec<Session>, Error> {
        let rows: Vec<SessionRow> = with_pool!(&self.pool, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {SESSION_COLUMNS} FROM session WHERE imitating_user_id IS NOT NULL \
                 AND ended_at IS NULL AND expires_at > $1 AND ($2 IS NULL OR id > $2) \
                 ORDER BY id LIMIT $3"
            )))
            .bind(now)
            .bind(after.map(|id| id.to_string()))
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(session_from_row).collect()
    }

    async fn due_to_end(&self, now: i64, unused_since: i64, limit: i64) -> Result<Vec<Session>, Error> {
        let rows: Vec<SessionRow> = with_pool!(&self.pool, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {SESSION_COLUMNS} FROM session WHERE ended_at IS NULL \
                 AND imitating_user_id IS NOT NULL \
                 AND (expires_at <= $1 OR COALESCE(last_seen_at, created_at) < $2) \
                 ORDER BY expires_at, id LIMIT $3"
            )))
            .bind(now)
            .bind(unused_since)
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(session_from_row).collect()
    }

    async fn touch(&self, id: SessionId, at: i64) -> Result<(), Error> {
        with_pool!(&self.pool, |pool| {
            sqlx::query(
                "UPDATE session SET last_seen_at = $1 WHERE id = $2 AND ended_at IS NULL \
                 AND (last_seen_at IS NULL OR last_seen_at < $1)",
            )
            .bind(at)
            .bind(id.to_string())
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    async fn set_read_only(&self, id: SessionId, read_only: bool) -> Result<(), Error> {
        with_pool!(&self.pool, |pool| {
            sqlx::query("UPDATE session SET read_only = $1 WHERE id = $2")
                .bind(read_only)
                .bind(id.to_string())
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    async fn update_profile(&self, id: SessionId, profile_id: i64) -> Result<(), Error> {
        with_pool!(&self.pool, |pool| {
            sqlx::query("UPDATE session SET profile_id = $1 WHERE id = $2")
                .bind(profile_id)
                .bind(id.to_string())
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    async fn audit_records(&self, filter: &AuditFilter) -> Result<Vec<AuditRecord>, Error> {
        // 0 means "the default page", not "one record".
        let limit = i64::from(match filter.limit {
            0 => DEFAULT_AUDIT_PAGE,
            limit => limit.min(MAX_AUDIT_PAGE),
        });
        let rows: Vec<AuditRow> = with_pool!(&self.pool, |pool| {
            sqlx::query_as(
                "SELECT id, kind, action, actor_id, target_id, audience, session_id, reason, client_ip, \
                 user_agent, occurred_at, trace_id FROM audit_record \
                 WHERE ($1 IS NULL OR actor_id = $1) AND ($2 IS NULL OR target_id = $2) \
                 AND ($4 = FALSE OR session_id IS NOT NULL) \
                 AND ($5 IS NULL OR occurred_at >= $5) AND ($6 IS NULL OR occurred_at < $6) \
                 AND ($8 IS NULL OR kind = $8) \
                 ORDER BY occurred_at DESC, id DESC LIMIT $3 OFFSET $7",
            )
            .bind(filter.actor_id.map(|a| a.to_string()))
            .bind(filter.target_id.map(|t| t.to_string()))
            .bind(limit)
            .bind(filter.sessions_only)
            .bind(filter.since)
            .bind(filter.until)
            .bind(i64::from(filter.offset))
            .bind(filter.kind.map(|kind| kind.as_str()))
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(audit_from_row).collect()
    }
}
