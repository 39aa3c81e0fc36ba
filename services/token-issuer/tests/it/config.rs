//! The token store is chosen by configuration: standalone Redis, Redis
//! Cluster or memory; naming both Redis kinds, or a cluster entry that is not
//! a Redis URL, stops the start with a message naming the variable, and so
//! does a malformed `ACTAS_VERIFICATION_KEYS_PEM`.

use actas_token_issuer::{Application, Config};

use crate::keys::TestKey;

async fn build_error(config: Config) -> anyhow::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    match Application::build(&config, listener).await {
        Ok(_) => anyhow::bail!("the configuration was accepted: {config:?}"),
        Err(error) => Ok(format!("{error:#}")),
    }
}

#[tokio::test]
async fn redis_url_and_cluster_urls_together_are_refused() -> anyhow::Result<()> {
    let error = build_error(Config {
        redis_url: Some("redis://127.0.0.1:6379".into()),
        redis_cluster_urls: Some("redis://127.0.0.1:7000".into()),
        ..Config::default()
    })
    .await?;
    assert!(
        error.contains("REDIS_URL") && error.contains("ACTAS_REDIS_CLUSTER_URLS"),
        "{error}"
    );
    Ok(())
}

#[tokio::test]
async fn cluster_urls_must_all_be_redis_urls() -> anyhow::Result<()> {
    for bad in [
        "",
        "redis://127.0.0.1:7000,",
        "redis://127.0.0.1:7000,127.0.0.1:7001",
        "http://x:1",
    ] {
        let error = build_error(Config {
            redis_cluster_urls: Some(bad.into()),
            ..Config::default()
        })
        .await?;
        assert!(error.contains("ACTAS_REDIS_CLUSTER_URLS"), "{bad:?}: {error}");
    }
    Ok(())
}

#[tokio::test]
async fn cluster_urls_start_without_a_reachable_cluster() -> anyhow::Result<()> {
    // The store connects in the background, as the standalone one does: the
    // service starts while Redis is away, and its calls fail until it is back.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let config = Config {
        redis_cluster_urls: Some(" redis://127.0.0.1:1 , redis://127.0.0.1:2".into()),
        ..Config::default()
    };
    Application::build(&config, listener).await?;
    Ok(())
}

#[tokio::test]
async fn a_malformed_verification_keys_pem_stops_the_start_naming_the_variable() -> anyhow::Result<()> {
    let (a, b, c) = (TestKey::new(1), TestKey::new(2), TestKey::new(3));
    for bad in [
        a.private_pem.clone(),
        "garbage".to_owned(),
        format!(
            "{}{}",
            a.public_pem,
            a.public_pem.replace("-----END PUBLIC KEY-----", "")
        ),
    ] {
        let error = build_error(Config {
            signing_key_pem: Some(b.private_pem.clone().into()),
            verification_keys_pem: Some(bad.clone()),
            ..Config::default()
        })
        .await?;
        assert!(error.contains("ACTAS_VERIFICATION_KEYS_PEM"), "{error}");
        for line in bad
            .lines()
            .filter(|line| line.len() > 8 && !line.starts_with("-----"))
        {
            assert!(!error.contains(line), "{error} echoes the key");
        }
    }
    // Well-formed public keys start.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let config = Config {
        signing_key_pem: Some(b.private_pem.clone().into()),
        verification_keys_pem: Some(format!("{}{}", a.public_pem, c.public_pem)),
        ..Config::default()
    };
    Application::build(&config, listener).await?;
    Ok(())
}
