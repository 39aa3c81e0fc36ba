//! Micro-benchmarks of the token issuer's hot path: signing and verifying an
//! impersonation JWT (EdDSA), and a grant's put + take in the token store
//! (in-memory always; Redis too when `ACTAS_BENCH_REDIS_URL` is set).
//!
//! `cargo bench -p actas-token-issuer`

use std::{
    hint::black_box,
    sync::atomic::{AtomicU64, Ordering},
    time::Duration,
};

use actas_token_issuer::{
    issuer::validation,
    keys::KeySet,
    store::{MemoryStore, RedisStore, StoredGrant, TokenStore},
};
use criterion::{Criterion, criterion_group, criterion_main};
use serde::{Deserialize, Serialize};
use tokio::runtime::Runtime;

/// The claims the issuer signs, with the same fields and sizes.
#[derive(Serialize, Deserialize)]
struct Claims {
    iss: String,
    aud: String,
    sub: String,
    act: Actor,
    iat: i64,
    exp: i64,
    jti: String,
    scope: String,
}

#[derive(Serialize, Deserialize)]
struct Actor {
    sub: String,
}

fn claims() -> Claims {
    let now = chrono_now();
    Claims {
        iss: "actas".into(),
        aud: "018f8d3a5e0070008000000000000e01".into(),
        sub: "018f8d3a5e007000800000000000c001".into(),
        act: Actor {
            sub: "018f8d3a5e007000800000000000a001".into(),
        },
        iat: now,
        exp: now + 120,
        jti: uuid::Uuid::new_v4().simple().to_string(),
        scope: "imitate_customer".into(),
    }
}

fn jwt(c: &mut Criterion) {
    let keys = KeySet::generate().expect("an Ed25519 key");
    let claims = claims();
    let token = keys.sign(&claims).expect("signing");
    let validation = validation("actas");

    let mut group = c.benchmark_group("jwt");
    group.bench_function("sign", |b| b.iter(|| keys.sign(black_box(&claims))));
    group.bench_function("verify", |b| {
        b.iter(|| {
            keys.verify::<Claims>(black_box(&token), &validation)
                .expect("a valid token")
        })
    });
    group.finish();
}

fn grant() -> StoredGrant {
    let now = chrono_now();
    StoredGrant {
        actor_id: "018f8d3a5e007000800000000000a001".into(),
        target_id: "018f8d3a5e007000800000000000c001".into(),
        audience: "018f8d3a5e0070008000000000000e01".into(),
        reason: "imitate_customer admin -> customer; actor holds api_proxy_login-as-customer".into(),
        issued_at: now,
        expires_at: now + 120,
        action: "imitate_customer".into(),
        target_kind: "customer".into(),
        target_profile_id: None,
    }
}

/// One grant's life in a store: put (as at issue), then take (as at redeem).
fn put_take(c: &mut Criterion, runtime: &Runtime, name: &str, store: &dyn TokenStore, prefix: &str) {
    let grant = grant();
    let ttl = Duration::from_secs(120);
    let next = AtomicU64::new(0);
    c.bench_function(name, |b| {
        b.to_async(runtime).iter(|| async {
            let key = format!("{prefix}grant:{}", next.fetch_add(1, Ordering::Relaxed));
            let stored = store.put_if_absent(&key, &grant, ttl).await.expect("put");
            assert!(stored, "fresh keys are absent");
            store
                .take(&key)
                .await
                .expect("take")
                .expect("the grant just stored")
        })
    });
}

fn stores(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    put_take(c, &runtime, "store/memory/put_take", &MemoryStore::new(), "");
    // Against a real Redis only when asked: each key is taken again, so nothing is left behind.
    if let Ok(url) = std::env::var("ACTAS_BENCH_REDIS_URL") {
        // The connection manager spawns its driver: it needs the runtime entered.
        let store = {
            let _entered = runtime.enter();
            RedisStore::new(&url).expect("a Redis URL")
        };
        let prefix = format!("actas-bench:{}:", std::process::id());
        put_take(c, &runtime, "store/redis/put_take", &store, &prefix);
    }
}

fn chrono_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

criterion_group!(benches, jwt, stores);
criterion_main!(benches);
