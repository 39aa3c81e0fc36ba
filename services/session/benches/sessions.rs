//! Micro-benchmarks of the session service's hot path: a session token
//! checked by the session manager (served from its cache, as for every
//! request but the first of each half second), and the store operations
//! behind it: the read by token hash and the start of an impersonated
//! session with its audit record (one transaction). On SQLite always, on
//! PostgreSQL too when `ACTAS_BENCH_POSTGRES` is set (a scratch database on
//! `ACTAS_TEST_POSTGRES_URL`, as the tests use, dropped afterwards).
//!
//! `cargo bench -p actas-session`

use std::{hint::black_box, sync::Arc, time::Duration};

use actas_session::{
    model::{AuditKind, AuditRecord, Session, SpentToken},
    sessions::{Lifetimes, SessionManager, Sessions as _},
    store::{MIGRATIONS, SessionStore, SqlSessions},
};
use actas_shared::{
    db::now_millis,
    grpc,
    ids::{AuditRecordId, PrincipalId, SalesChannelId, SessionId},
    principal::PrincipalKind,
    proto::Action,
    proto::{permission_service_client::PermissionServiceClient, token_issuer_client::TokenIssuerClient},
    secret::{hash_token, random_token},
    testing::TestBackend,
};
use criterion::{Criterion, criterion_group, criterion_main};
use tokio::runtime::Runtime;

fn session(token: &str, now: i64) -> Session {
    Session {
        id: SessionId::new_random(),
        token_hash: hash_token(token),
        principal_id: PrincipalId::new_random(),
        principal_kind: PrincipalKind::Customer,
        sales_channel_id: Some(SalesChannelId::new_random()),
        imitating_user_id: Some(PrincipalId::new_random()),
        profile_id: None,
        grant_action: Some("imitate_customer".to_owned()),
        payload: "{}".to_owned(),
        created_at: now,
        expires_at: now + 3_600_000,
        ended_at: None,
        last_seen_at: now,
        read_only: false,
    }
}

fn start_record(session: &Session) -> AuditRecord {
    AuditRecord {
        id: AuditRecordId::new_random(),
        kind: AuditKind::ImpersonationStarted,
        action: Action::ImitateCustomer,
        actor_id: session.imitating_user_id.unwrap_or_else(PrincipalId::new_random),
        target_id: session.principal_id,
        audience: session
            .sales_channel_id
            .map(|c| c.to_string())
            .unwrap_or_default(),
        session_id: Some(session.id),
        reason: "imitate_customer admin -> customer; actor holds customer:impersonate".to_owned(),
        client_ip: "203.0.113.7".to_owned(),
        user_agent: "bench/1.0".to_owned(),
        occurred_at: session.created_at,
        trace_id: "4bf92f3577b34da6a3ce929d0e0e4736".to_owned(),
    }
}

/// A token id never spent before.
fn spent_token() -> SpentToken {
    SpentToken {
        token_id_hash: hash_token(&random_token()),
        expires_at: now_millis() + 120_000,
    }
}

fn store_operations(c: &mut Criterion, runtime: &Runtime, backend: &str, store: &dyn SessionStore) {
    c.bench_function(&format!("store/{backend}/start_impersonation"), |b| {
        b.to_async(runtime).iter(|| async {
            let session = session(&random_token(), now_millis());
            store
                .start_impersonation(&session, &start_record(&session), &spent_token())
                .await
                .expect("insert")
        })
    });
    let token = random_token();
    let stored = session(&token, now_millis());
    runtime
        .block_on(store.start_impersonation(&stored, &start_record(&stored), &spent_token()))
        .expect("insert");
    let hash = hash_token(&token);
    c.bench_function(&format!("store/{backend}/by_token_hash"), |b| {
        b.to_async(runtime).iter(|| async {
            store
                .by_token_hash(black_box(&hash))
                .await
                .expect("read")
                .expect("the session just stored")
        })
    });
}

/// The session manager checking a customer's own session token: hash,
/// cache lookup, liveness. Its clients are never called on this path.
fn token_check(c: &mut Criterion, runtime: &Runtime, store: Arc<dyn SessionStore>) {
    let manager = {
        let _entered = runtime.enter();
        let nowhere = || grpc::channel("http://127.0.0.1:9", None).expect("a lazy channel");
        SessionManager::new(
            store.clone(),
            Arc::new(PermissionServiceClient::new(nowhere())),
            Arc::new(TokenIssuerClient::new(nowhere())),
            Lifetimes {
                admin: Duration::from_secs(3600),
                admin_max: Duration::from_secs(3600),
                customer: Duration::from_secs(3600),
                impersonation: Duration::from_secs(3600),
                impersonation_idle: Duration::from_secs(900),
            },
        )
    };
    let token = random_token();
    let mut own = session(&token, now_millis());
    own.imitating_user_id = None;
    own.grant_action = None;
    runtime.block_on(store.insert(&own)).expect("insert");
    c.bench_function("session/context_cached", |b| {
        b.to_async(runtime)
            .iter(|| async { manager.context(black_box(&token)).await.expect("a live session") })
    });
}

fn sessions(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let sqlite = runtime
        .block_on(TestBackend::sqlite(&MIGRATIONS))
        .expect("a SQLite database");
    let store: Arc<dyn SessionStore> = Arc::new(SqlSessions::new(sqlite.pool.clone()));
    store_operations(c, &runtime, "sqlite", store.as_ref());
    token_check(c, &runtime, store);
    if std::env::var_os("ACTAS_BENCH_POSTGRES").is_some() {
        let postgres = runtime
            .block_on(TestBackend::postgres(&MIGRATIONS))
            .expect("a scratch PostgreSQL database");
        let store = SqlSessions::new(postgres.pool.clone());
        store_operations(c, &runtime, "postgres", &store);
        runtime.block_on(postgres.pool.close());
    }
}

criterion_group!(benches, sessions);
criterion_main!(benches);
