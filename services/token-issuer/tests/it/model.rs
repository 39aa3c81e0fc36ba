//! Random sequences of puts and takes on a few keys, compared step by step
//! with a `HashMap` model: a put stores only into a free key, a take empties
//! it. Nothing expires here (long ttl); expiry has its own check.

use std::{collections::HashMap, time::Duration};

use actas_shared::testing::{RedisCluster, redis_url, unique_prefix};
use actas_token_issuer::store::{ClusterStore, MemoryStore, RedisStore, StoredGrant, TokenStore};
use proptest::{prelude::*, test_runner::TestRunner};

use crate::grant;

#[derive(Clone, Debug)]
enum Op {
    Put { key: u8, tag: u8 },
    Take { key: u8 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..3u8, any::<u8>()).prop_map(|(key, tag)| Op::Put { key, tag }),
        (0..3u8).prop_map(|key| Op::Take { key }),
    ]
}

async fn agrees_with_model(store: &dyn TokenStore, prefix: &str, ops: &[Op]) -> anyhow::Result<()> {
    let mut model: HashMap<u8, StoredGrant> = HashMap::new();
    for (step, op) in ops.iter().enumerate() {
        match *op {
            Op::Put { key, tag } => {
                let stored = store
                    .put_if_absent(
                        &format!("{prefix}{key}"),
                        &grant(&tag.to_string()),
                        Duration::from_secs(60),
                    )
                    .await?;
                let expected = !model.contains_key(&key);
                if expected {
                    model.insert(key, grant(&tag.to_string()));
                }
                anyhow::ensure!(
                    stored == expected,
                    "step {step} {op:?}: stored {stored}, model {expected}"
                );
            }
            Op::Take { key } => {
                let taken = store.take(&format!("{prefix}{key}")).await?;
                let expected = model.remove(&key);
                anyhow::ensure!(
                    taken == expected,
                    "step {step} {op:?}: took {taken:?}, model {expected:?}"
                );
            }
        }
    }
    // Leave nothing behind in the shared Redis.
    for key in model.keys() {
        store.take(&format!("{prefix}{key}")).await?;
    }
    Ok(())
}

/// Runs `ops` on a fresh store, made inside the case's own runtime (a Redis
/// connection belongs to the runtime it was made in).
fn run_case(make_store: &dyn Fn() -> anyhow::Result<Box<dyn TokenStore>>, ops: &[Op]) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let store = make_store()?;
        agrees_with_model(store.as_ref(), &unique_prefix(), ops).await
    })
}

fn memory() -> anyhow::Result<Box<dyn TokenStore>> {
    Ok(Box::new(MemoryStore::new()))
}

fn redis() -> anyhow::Result<Box<dyn TokenStore>> {
    Ok(Box::new(RedisStore::new(&redis_url())?))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn memory_store_agrees_with_a_map(ops in prop::collection::vec(op(), 1..40)) {
        run_case(&memory, &ops).map_err(|error| TestCaseError::fail(format!("{error:#}")))?;
    }

    #[test]
    fn redis_store_agrees_with_a_map(ops in prop::collection::vec(op(), 1..40)) {
        run_case(&redis, &ops).map_err(|error| TestCaseError::fail(format!("{error:#}")))?;
    }
}

/// Outside `proptest!`: the cluster is started once for all cases, and
/// stopped when the test ends, however it ends.
#[test]
fn redis_cluster_store_agrees_with_a_map() -> anyhow::Result<()> {
    let cluster = RedisCluster::start()?;
    let urls = cluster.urls();
    let make_store = || -> anyhow::Result<Box<dyn TokenStore>> { Ok(Box::new(ClusterStore::new(&urls)?)) };
    let config = ProptestConfig {
        cases: 32,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    TestRunner::new(config)
        .run(&prop::collection::vec(op(), 1..40), |ops| {
            run_case(&make_store, &ops).map_err(|error| TestCaseError::fail(format!("{error:#}")))
        })
        .map_err(|error| anyhow::anyhow!("{error}"))
}
