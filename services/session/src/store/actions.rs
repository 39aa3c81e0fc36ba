//! Where action records are kept: [`ActionStore`], on the session store's
//! tables (append-only like the trail).

use actas_shared::with_pool;
use async_trait::async_trait;
use sqlx::Row as _;

use super::{Error, SqlSessions};
use crate::actions::{ActionFilter, ActionRecord, DEFAULT_ACTION_PAGE, MAX_ACTION_PAGE};

/// Where action records live (the session database, beside the trail).
#[async_trait]
pub trait ActionStore: Send + Sync + 'static {
    async fn append_action(&self, record: &ActionRecord) -> Result<(), Error>;
    /// Newest first.
    async fn action_records(&self, filter: &ActionFilter) -> Result<Vec<ActionRecord>, Error>;
}

fn parse<T: std::str::FromStr>(text: &str) -> Result<T, Error> {
    text.parse().map_err(|_| Error::Corrupt("id is not a UUID"))
}

#[async_trait]
impl ActionStore for SqlSessions {
    async fn append_action(&self, record: &ActionRecord) -> Result<(), Error> {
        with_pool!(self.pool(), |pool| {
            sqlx::query(
                "INSERT INTO action_record (id, session_id, actor_id, target_id, action, detail, outcome, \
                 reporter, occurred_at, trace_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(record.id.to_string())
            .bind(record.session_id.to_string())
            .bind(record.actor_id.to_string())
            .bind(record.target_id.to_string())
            .bind(&record.action)
            .bind(&record.detail)
            .bind(&record.outcome)
            .bind(&record.reporter)
            .bind(record.occurred_at)
            .bind(&record.trace_id)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    async fn action_records(&self, filter: &ActionFilter) -> Result<Vec<ActionRecord>, Error> {
        let limit = i64::from(match filter.limit {
            0 => DEFAULT_ACTION_PAGE,
            limit => limit.min(MAX_ACTION_PAGE),
        });
        with_pool!(self.pool(), |pool| {
            let rows = sqlx::query(
                "SELECT id, session_id, actor_id, target_id, action, detail, outcome, reporter, \
                 occurred_at, trace_id FROM action_record \
                 WHERE ($1 IS NULL OR session_id = $1) AND ($2 IS NULL OR actor_id = $2) \
                 AND ($3 IS NULL OR target_id = $3) \
                 ORDER BY occurred_at DESC, id DESC LIMIT $4 OFFSET $5",
            )
            .bind(filter.session_id.map(|id| id.to_string()))
            .bind(filter.actor_id.map(|id| id.to_string()))
            .bind(filter.target_id.map(|id| id.to_string()))
            .bind(limit)
            .bind(i64::from(filter.offset))
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|row| {
                    Ok(ActionRecord {
                        id: parse(row.try_get("id")?)?,
                        session_id: parse(row.try_get("session_id")?)?,
                        actor_id: parse(row.try_get("actor_id")?)?,
                        target_id: parse(row.try_get("target_id")?)?,
                        action: row.try_get("action")?,
                        detail: row.try_get("detail")?,
                        outcome: row.try_get("outcome")?,
                        reporter: row.try_get("reporter")?,
                        occurred_at: row.try_get("occurred_at")?,
                        trace_id: row.try_get("trace_id")?,
                    })
                })
                .collect()
        })
    }
}
