//! Rate limits on the two doors of an impersonation: issuing a token (per
//! actor, so one admin cannot mint tokens in bulk) and redeeming one (per
//! client address, so guessing is slow as well as hopeless against the
//! signature); and on the one write anybody may make, a new guest context
//! (per client address, so nobody fills the session database). Each gateway replica counts for itself; refusals are 429
//! with `Retry-After` and counted in `actas_rate_limited_total`.

use std::{
    num::NonZeroU32,
    sync::atomic::{AtomicU64, Ordering},
    time::Duration,
};

use actas_shared::{ApiError, ErrorCode};
use governor::{
    DefaultKeyedRateLimiter, Quota, RateLimiter,
    clock::{Clock as _, DefaultClock},
};

use crate::error::HttpError;

/// One keyed limiter; `None` when its limit is 0 (off).
struct Limiter {
    name: &'static str,
    inner: DefaultKeyedRateLimiter<String>,
    checks: AtomicU64,
}

/// Forget idle keys this often (in checks), so the maps hold recent callers only.
const PRUNE_EVERY: u64 = 4096;

impl Limiter {
    fn per_minute(name: &'static str, limit: u32) -> Option<Limiter> {
        let limit = NonZeroU32::new(limit)?;
        Some(Limiter {
            name,
            inner: RateLimiter::keyed(Quota::per_minute(limit)),
            checks: AtomicU64::new(0),
        })
    }

    fn check(&self, key: &str) -> Result<(), HttpError> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % PRUNE_EVERY == PRUNE_EVERY - 1 {
            self.inner.retain_recent();
        }
        match self.inner.check_key(&key.to_owned()) {
            Ok(()) => Ok(()),
            Err(not_until) => {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                metrics::counter!("actas_rate_limited_total", "limit" => self.name).increment(1);
                tracing::warn!(limit = self.name, "rate limit reached");
                Err(too_many(wait))
            }
        }
    }
}

fn too_many(wait: Duration) -> HttpError {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let mut error = ApiError::new(
        ErrorCode::TooManyRequests,
        format!("Too many requests; try again in {secs} s."),
    );
    error.retry_after_secs = Some(secs.max(1));
    HttpError(error)
}

/// The gateway's limits, from configuration.
pub struct Limits {
    issue: Option<Limiter>,
    redeem: Option<Limiter>,
    guest: Option<Limiter>,
}

impl Limits {
    /// Limits per minute; 0 turns one off.
    pub fn new(issue_per_minute: u32, redeem_per_minute: u32, guest_per_minute: u32) -> Limits {
        Limits {
            issue: Limiter::per_minute("issue", issue_per_minute),
            redeem: Limiter::per_minute("redeem", redeem_per_minute),
            guest: Limiter::per_minute("guest_context", guest_per_minute),
        }
    }

    /// Before opening a guest context: counts against the client's address.
    pub fn guest(&self, client_ip: &str) -> Result<(), HttpError> {
        self.guest
            .as_ref()
            .map_or(Ok(()), |limiter| limiter.check(client_ip))
    }

    /// Before asking for a token: counts against the actor.
    pub fn issue(&self, actor: &str) -> Result<(), HttpError> {
        self.issue.as_ref().map_or(Ok(()), |limiter| limiter.check(actor))
    }

    /// Before redeeming a token: counts against the client's address.
    pub fn redeem(&self, client_ip: &str) -> Result<(), HttpError> {
        self.redeem
            .as_ref()
            .map_or(Ok(()), |limiter| limiter.check(client_ip))
    }
}
