//! Password hashing with argon2id (the crate's default parameters:
//! 19 MiB, 2 passes, 1 lane, as OWASP recommends). Hashing is CPU-bound
//! and runs on a few dedicated threads, away from the async workers.

use std::{
    cell::RefCell,
    sync::{Mutex, OnceLock, mpsc},
};

use argon2::{
    Algorithm, Argon2, Block, Params, PasswordHash, PasswordHasher as _, Version,
    password_hash::{Output, SaltString},
};
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
        let matches = MEMORY.with_borrow_mut(|memory| verify_in(memory, password.as_bytes(), &parsed))?;
        Ok(known && matches)
    })
    .await?
}

thread_local! {
    /// The hashing thread's argon2 working memory (19 MiB with the default
    /// parameters), kept from one verification to the next: no allocation,
    /// zeroing or page faults per login, and the process's memory stays
    /// at hashing threads × 19 MiB whatever the allocator does.
    static MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// The most working memory a stored hash may ask for (64 MiB): a corrupt or
/// hostile row cannot make a login allocate without bound.
const MAX_BLOCKS: usize = 64 * 1024;

/// What `PasswordVerifier::verify_password` does, on `memory`: the
/// parameters, salt and length come from the stored hash, and the outputs
/// are compared in constant time (`Output`'s equality).
fn verify_in(memory: &mut Vec<Block>, password: &[u8], stored: &PasswordHash<'_>) -> Result<bool, Error> {
    let failed = |e: &dyn std::fmt::Display| Error(e.to_string());
    let (Some(salt), Some(expected)) = (stored.salt, stored.hash) else {
        return Err(Error("the stored hash has no salt or no output".into()));
    };
    let algorithm = Algorithm::try_from(stored.algorithm).map_err(|e| failed(&e))?;
    let version = match stored.version {
        Some(version) => Version::try_from(version).map_err(|e| failed(&e))?,
        None => Version::default(),
    };
    let params = Params::try_from(stored).map_err(|e| failed(&e))?;
    let blocks = params.block_count();
    if blocks > MAX_BLOCKS {
        return Err(Error(format!("the stored hash asks for {blocks} KiB of memory")));
    }
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
    let mut salt_buffer = [0u8; 64];
    let salt = salt.decode_b64(&mut salt_buffer).map_err(|e| failed(&e))?;
    let argon2 = Argon2::new(algorithm, version, params);
    let computed = Output::init_with(expected.len(), |out| {
        argon2
            .hash_password_into_with_memory(password, salt, out, &mut memory[..blocks])
            .map_err(|_| argon2::password_hash::Error::Password)
    })
    .map_err(|e| failed(&e))?;
    Ok(computed == expected)
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

    /// The reusable-memory verification agrees with argon2's own verifier
    /// on hashes made with other parameters and algorithms, smaller and
    /// larger memory one after the other on the same buffer.
    #[test]
    fn agrees_with_the_crates_verifier_whatever_the_parameters() {
        use argon2::PasswordVerifier as _;
        let mut memory = Vec::new();
        for (algorithm, m_cost, t_cost, p_cost, output) in [
            (Algorithm::Argon2id, 256, 2, 1, 32),
            (Algorithm::Argon2i, 4096, 1, 2, 16),
            (Algorithm::Argon2d, 64, 3, 1, 64),
            (Algorithm::Argon2id, 19 * 1024, 2, 1, 32),
        ] {
            let params = Params::new(m_cost, t_cost, p_cost, Some(output)).unwrap();
            let argon2 = Argon2::new(algorithm, Version::V0x13, params);
            let salt = SaltString::encode_b64(b"sixteen byte salt").unwrap();
            let stored = argon2.hash_password(b"secret", &salt).unwrap().to_string();
            let parsed = PasswordHash::new(&stored).unwrap();
            for candidate in [&b"secret"[..], b"Secret", b""] {
                assert_eq!(
                    verify_in(&mut memory, candidate, &parsed).unwrap(),
                    Argon2::default().verify_password(candidate, &parsed).is_ok(),
                    "{stored} with {candidate:?}"
                );
            }
        }
        assert_eq!(memory.len(), 19 * 1024, "the buffer grew to the largest, once");
    }

    #[test]
    fn a_stored_hash_asking_for_too_much_memory_is_refused() {
        let stored = "$argon2id$v=19$m=1048576,t=1,p=1$c2l4dGVlbiBieXRlIHNhbHQ$\
                      AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        let parsed = PasswordHash::new(stored).unwrap();
        assert!(verify_in(&mut Vec::new(), b"secret", &parsed).is_err());
    }
}
