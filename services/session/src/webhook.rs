//! Telling the impersonated person: impersonation events leave through an
//! outbox (written with their audit record, so none is lost and none is sent
//! for something that did not happen) and are POSTed to `ACTAS_WEBHOOK_URL`,
//! signed with HMAC-SHA256 over `{timestamp}.{body}`, retried with backoff
//! until the receiver answers 2xx. Delivery is at least once: receivers
//! dedupe by `X-Actas-Event-Id`.

use std::{sync::Arc, time::Duration};

use actas_shared::db::now_millis;
use hmac::{Hmac, Mac as _};
use secrecy::{ExposeSecret as _, SecretString};
use sha2::Sha256;

use crate::store::SessionStore;

/// Events per round; the next round comes at once when one was full.
const BATCH: i64 = 50;
/// How often the drainer looks for due events.
const POLL: Duration = Duration::from_millis(500);
/// The longest wait between two attempts at one event.
const MAX_BACKOFF: Duration = Duration::from_secs(3600);

pub struct Webhook {
    url: String,
    secret: SecretString,
    client: reqwest::Client,
}

/// `sha256=<hex>` of HMAC-SHA256 over `{timestamp}.{body}` with `secret`.
pub fn signature(secret: &[u8], timestamp: i64, body: &str) -> String {
    // HMAC takes keys of any length; this cannot fail.
    let mut mac = <Hmac<Sha256>>::new_from_slice(secret).expect("HMAC accepts any key length");
    mac.update(format!("{timestamp}.{body}").as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// The wait before attempt `attempts + 1`: 1 s, 2 s, 4 s, … up to an hour.
pub fn backoff(attempts: i64) -> Duration {
    let exponent = u32::try_from(attempts.clamp(0, 12)).unwrap_or(12);
    Duration::from_secs(1u64 << exponent).min(MAX_BACKOFF)
}

impl Webhook {
    pub fn new(url: String, secret: SecretString) -> anyhow::Result<Webhook> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()?;
        Ok(Webhook { url, secret, client })
    }

    async fn deliver(&self, id: &str, payload: &str) -> Result<(), String> {
        let timestamp = now_millis() / 1000;
        let response = self
            .client
            .post(&self.url)
            .header("content-type", "application/json")
            .header("x-actas-event-id", id)
            .header("x-actas-timestamp", timestamp.to_string())
            .header(
                "x-actas-signature",
                signature(self.secret.expose_secret().as_bytes(), timestamp, payload),
            )
            .body(payload.to_owned())
            .send()
            .await
            .map_err(|error| format!("request failed: {}", error.without_url()))?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(format!("answered {}", response.status()))
        }
    }

    /// One round: every due event, once. Returns how many were due.
    pub async fn round(&self, store: &dyn SessionStore) -> Result<usize, crate::store::Error> {
        let due = store.due_events(now_millis(), BATCH).await?;
        for (id, payload, attempts) in &due {
            match self.deliver(id, payload).await {
                Ok(()) => {
                    metrics::counter!("actas_webhook_deliveries_total", "outcome" => "delivered")
                        .increment(1);
                    store.event_delivered(id, now_millis()).await?;
                }
                Err(error) => {
                    metrics::counter!("actas_webhook_deliveries_total", "outcome" => "failed").increment(1);
                    tracing::warn!(event = %id, attempts = attempts + 1, %error, "webhook delivery failed");
                    let wait = i64::try_from(backoff(*attempts).as_millis()).unwrap_or(i64::MAX);
                    store
                        .event_failed(id, now_millis().saturating_add(wait), &error)
                        .await?;
                }
            }
        }
        Ok(due.len())
    }

    /// Drains the outbox until the task is dropped.
    pub async fn drain(self, store: Arc<dyn SessionStore>) {
        loop {
            match self.round(store.as_ref()).await {
                Ok(n) if n as i64 == BATCH => continue,
                Ok(_) => {}
                Err(error) => tracing::error!(%error, "outbox unreadable"),
            }
            tokio::time::sleep(POLL).await;
        }
    }
}
