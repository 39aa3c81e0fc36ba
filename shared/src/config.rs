//! Typed configuration, read once at start: defaults (serde), then
//! `ACTAS_`-prefixed environment variables, then the conventional unprefixed
//! `DATABASE_URL` and `REDIS_URL`. Nothing reads the environment later.

use figment::{
    Figment,
    providers::{Env, Serialized},
};
use serde::{Serialize, de::DeserializeOwned};

/// Why the configuration could not be read; names the variable at fault.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// Unprefixed variables every deployment tool already knows.
const CONVENTIONAL: &[&str] = &["DATABASE_URL", "REDIS_URL"];

/// Reads `T` from its defaults and the environment.
pub fn load<T: Serialize + DeserializeOwned + Default>() -> Result<T, Error> {
    Figment::from(Serialized::defaults(T::default()))
        .merge(
            Env::raw()
                .only(CONVENTIONAL)
                .map(|key| key.as_str().to_lowercase().into()),
        )
        .merge(Env::prefixed("ACTAS_"))
        .extract()
        .map_err(|error| {
            let variables: Vec<String> = error
                .clone()
                .into_iter()
                .map(|e| match e.path.first() {
                    Some(key) if CONVENTIONAL.contains(&key.to_uppercase().as_str()) => {
                        format!("{}: {}", key.to_uppercase(), e.kind)
                    }
                    Some(key) => format!("ACTAS_{}: {}", key.to_uppercase(), e.kind),
                    None => e.kind.to_string(),
                })
                .collect();
            Error::Invalid(variables.join("; "))
        })
}
