//! Password hashing with argon2id (the crate's default parameters:
//! 19 MiB, 2 passes, 1 lane, as OWASP recommends). Hashing is CPU-bound
//! and runs on a few dedicated threads, away from the async workers.

use std::sync::{Mutex, OnceLock, mpsc};

use argon2::{Argon2, PasswordHash, PasswordHasher as _, PasswordVerifier as _, password_hash::SaltString};
use rand::RngCore as _;

#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct Error(String);

pub fn hash(password: &str) -> Result<String, Error> {
    let mut salt_bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut salt_bytes);
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|e| Error(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| Error(e.to_string()))
}

pub async fn hash_blocking(password: String) -> Result<String, Error> {
    run(move || hash(&password)).await?
}

type Job = Box<dyn FnOnce() + Send>;

/// Runs `job` on the hashing threads, one per core (at most four). Each
/// argon2 call takes 19 MiB: on tokio's blocking pool a burst of 16 logins
/// took 16 × 19 MiB at once, and the allocator kept it (the benchmark saw a
/// process at 480 MiB after its workers logged in). Here memory stays
/// within threads × 19 MiB whatever the burst, extra logins queue, and a
/// flood of logins cannot take more than these cores.
async fn run<T: Send + 'static>(job: impl FnOnce() -> T + Send + 'static) -> Result<T, Error> {
    static QUEUE: OnceLock<Mutex<mpsc::Sender<Job>>> = OnceLock::new();
    let queue = QUEUE.get_or_init(|| {
        let (sender, receiver) = mpsc::channel::<Job>();
        let receiver = std::sync::Arc::new(Mutex::new(receiver));
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
        for index in 0..threads {
            let receiver = receiver.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("argon2-{index}"))
                .spawn(move || {
                    loop {
                        // The lock is held only while waiting for the next job.
                        let next = match receiver.lock() {
                            Ok(receiver) => receiver.recv(),
                            Err(_) => return,
                        };
                        match next {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                });
            if let Err(error) = spawned {
                tracing::error!(%error, "an argon2 thread could not start");
            }
        }
        Mutex::new(sender)
    });
    let (reply, answer) = tokio::sync::oneshot::channel();
    let job: Job = Box::new(move || {
        // The caller may have gone (a cancelled request): nothing to tell.
        let _ = reply.send(job());
    });
    queue
        .lock()
        .map_err(|_| Error("the hashing queue is poisoned".into()))?
        .send(job)
        .map_err(|_| Error("no hashing thread is running".into()))?;
    answer
        .await
        .map_err(|_| Error("the hashing thread stopped".into()))
}

/// Verifies `password` against `stored`, or against a fixed dummy hash when
/// the principal is unknown, so that both answers take the same time and
/// timing does not tell which emails exist.
pub async fn verify_blocking(password: String, stored: Option<String>) -> Result<bool, Error> {
    run(move || {
        let known = stored.is_some();
        let stored = match stored {
            Some(stored) => stored,
            None => dummy_hash()?.to_owned(),
        };
        let parsed = PasswordHash::new(&stored).map_err(|e| Error(e.to_string()))?;
        let matches = Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        Ok(known && matches)
    })
    .await?
}

fn dummy_hash() -> Result<&'static str, Error> {
    static DUMMY: OnceLock<String> = OnceLock::new();
    if let Some(hash) = DUMMY.get() {
        return Ok(hash);
    }
    let computed = hash("actas-dummy-password-for-unknown-principals")?;
    Ok(DUMMY.get_or_init(|| computed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn verifies_only_the_right_password() {
        let stored = hash("correct horse").unwrap();
        assert!(stored.starts_with("$argon2id$"));
        assert!(
            verify_blocking("correct horse".into(), Some(stored.clone()))
                .await
                .unwrap()
        );
        assert!(!verify_blocking("wrong".into(), Some(stored)).await.unwrap());
        assert!(!verify_blocking("correct horse".into(), None).await.unwrap());
    }
}
