//! Where guest contexts are kept: [`GuestStore`], a table of their own, so
//! no question of who acts can find one.

use actas_shared::with_pool;
use async_trait::async_trait;

use super::{Error, SqlSessions};
use crate::guests::GuestContext;

/// Where guest contexts live (the session database, its own table).
#[async_trait]
pub trait GuestStore: Send + Sync + 'static {
    async fn insert_guest(&self, guest: &GuestContext) -> Result<(), Error>;
    async fn guest_by_token_hash(&self, token_hash: &str) -> Result<Option<GuestContext>, Error>;
    /// Whether the guest context was still there to change.
    async fn update_guest_payload(&self, token_hash: &str, payload: &str) -> Result<bool, Error>;
    /// Ends a guest context (its visitor signed in); whether it existed.
    async fn delete_guest(&self, token_hash: &str) -> Result<bool, Error>;
    /// Deletes up to `limit` guest contexts that expired before `now`; how many.
    async fn forget_expired_guests(&self, now: i64, limit: i64) -> Result<u64, Error>;
}

type GuestRow = (String, String, String, i64, i64);

fn guest_from_row(
    (token_hash, channel, payload, created_at, expires_at): GuestRow,
) -> Result<GuestContext, Error> {
    Ok(GuestContext {
        token_hash,
        sales_channel_id: channel.parse().map_err(|_| Error::Corrupt("id is not a UUID"))?,
        payload,
        created_at,
        expires_at,
    })
}

#[async_trait]
impl GuestStore for SqlSessions {
    async fn insert_guest(&self, guest: &GuestContext) -> Result<(), Error> {
        with_pool!(self.pool(), |pool| {
            sqlx::query(
                "INSERT INTO guest_context (token_hash, sales_channel_id, payload, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(&guest.token_hash)
            .bind(guest.sales_channel_id.to_string())
            .bind(&guest.payload)
            .bind(guest.created_at)
            .bind(guest.expires_at)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    async fn guest_by_token_hash(&self, token_hash: &str) -> Result<Option<GuestContext>, Error> {
        let row: Option<GuestRow> = with_pool!(self.pool(), |pool| {
            sqlx::query_as(
                "SELECT token_hash, sales_channel_id, payload, created_at, expires_at \
                 FROM guest_context WHERE token_hash = $1",
            )
            .bind(token_hash)
            .fetch_optional(pool)
            .await?
        });
        row.map(guest_from_row).transpose()
    }

    async fn update_guest_payload(&self, token_hash: &str, payload: &str) -> Result<bool, Error> {
        Ok(with_pool!(self.pool(), |pool| {
            sqlx::query("UPDATE guest_context SET payload = $1 WHERE token_hash = $2")
                .bind(payload)
                .bind(token_hash)
                .execute(pool)
                .await?
                .rows_affected()
                == 1
        }))
    }

    async fn delete_guest(&self, token_hash: &str) -> Result<bool, Error> {
        Ok(with_pool!(self.pool(), |pool| {
            sqlx::query("DELETE FROM guest_context WHERE token_hash = $1")
                .bind(token_hash)
                .execute(pool)
                .await?
                .rows_affected()
                == 1
        }))
    }

    async fn forget_expired_guests(&self, now: i64, limit: i64) -> Result<u64, Error> {
        // A batch at a time, by the expiry index: a backlog never becomes
        // one long delete holding its locks.
        Ok(with_pool!(self.pool(), |pool| {
            sqlx::query(
                "DELETE FROM guest_context WHERE token_hash IN \
                 (SELECT token_hash FROM guest_context WHERE expires_at <= $1 LIMIT $2)",
            )
            .bind(now)
            .bind(limit)
            .execute(pool)
            .await?
            .rows_affected()
        }))
    }
}
