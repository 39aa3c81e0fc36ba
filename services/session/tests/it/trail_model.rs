//! A property test of the audit trail's query semantics against a model:
//! for any set of records and any filter, paging through the store with
//! any page size yields exactly the model's matching records, newest
//! first, each once. Run on PostgreSQL and on SQLite.

use std::sync::Arc;

use actas_session::{
    model::{AuditFilter, AuditKind, AuditRecord},
    store::{MIGRATIONS, SessionStore, SqlSessions},
};
use actas_shared::{
    ids::{AuditRecordId, PrincipalId, SessionId},
    proto::Action,
    testing::TestBackend,
};
use proptest::{prelude::*, test_runner::TestRunner};

/// One record as the strategy draws it: indexes into the case's people.
#[derive(Clone, Debug)]
struct Drawn {
    actor: usize,
    target: usize,
    of_a_session: bool,
}

#[derive(Clone, Debug)]
struct Query {
    actor: Option<usize>,
    target: Option<usize>,
    sessions_only: bool,
    since: Option<i64>,
    until: Option<i64>,
    page: u32,
    /// Only records of this kind.
    kind: Option<AuditKind>,
}

const ACTORS: usize = 3;
const TARGETS: usize = 2;

fn drawn() -> impl Strategy<Value = Drawn> {
    (0..ACTORS, 0..TARGETS, any::<bool>()).prop_map(|(actor, target, of_a_session)| Drawn {
        actor,
        target,
        of_a_session,
    })
}

fn query() -> impl Strategy<Value = Query> {
    // Every query names an actor or a target of its own case: cases share
    // one database, and their people are fresh ids.
    (
        prop_oneof![
            (0..ACTORS).prop_map(|a| (Some(a), None)),
            (0..TARGETS).prop_map(|t| (None, Some(t))),
            (0..ACTORS, 0..TARGETS).prop_map(|(a, t)| (Some(a), Some(t))),
        ],
        any::<bool>(),
        proptest::option::of(0i64..30),
        proptest::option::of(0i64..30),
        1u32..8,
        proptest::option::of(prop_oneof![
            Just(AuditKind::ImpersonationStarted),
            Just(AuditKind::TokenIssued),
            Just(AuditKind::ImpersonationRevoked),
        ]),
    )
        .prop_map(
            |((actor, target), sessions_only, since, until, page, kind)| Query {
                actor,
                target,
                sessions_only,
                since,
                until,
                page,
                kind,
            },
        )
}

async fn check(store: &dyn SessionStore, records: &[Drawn], query: &Query) -> anyhow::Result<()> {
    let actors: Vec<PrincipalId> = (0..ACTORS).map(|_| PrincipalId::new_random()).collect();
    let targets: Vec<PrincipalId> = (0..TARGETS).map(|_| PrincipalId::new_random()).collect();
    // Distinct times (the n-th record at 1000 + n ms), so "newest first" is
    // one order, whatever the collation does with ids.
    let mut stored = Vec::new();
    for (n, drawn) in records.iter().enumerate() {
        let occurred_at = 1000 + i64::try_from(n)?;
        let record = AuditRecord {
            id: AuditRecordId::new_random(),
            kind: if drawn.of_a_session {
                AuditKind::ImpersonationStarted
            } else {
                AuditKind::TokenIssued
            },
            action: Action::ImitateCustomer,
            actor_id: actors[drawn.actor],
            target_id: targets[drawn.target],
            audience: String::new(),
            session_id: drawn.of_a_session.then(SessionId::new_random),
            reason: format!("record {n}"),
            client_ip: String::new(),
            user_agent: String::new(),
            occurred_at,
            trace_id: String::new(),
        };
        store.append_audit(&record).await?;
        stored.push(record);
    }
    let since = query.since.map(|s| 1000 + s);
    let until = query.until.map(|u| 1000 + u);
    let mut expected: Vec<&AuditRecord> = stored
        .iter()
        .filter(|r| query.actor.is_none_or(|a| r.actor_id == actors[a]))
        .filter(|r| query.target.is_none_or(|t| r.target_id == targets[t]))
        .filter(|r| !query.sessions_only || r.session_id.is_some())
        .filter(|r| since.is_none_or(|s| r.occurred_at >= s))
        .filter(|r| until.is_none_or(|u| r.occurred_at < u))
        .filter(|r| query.kind.is_none_or(|k| r.kind == k))
        .collect();
    expected.sort_by_key(|r| std::cmp::Reverse(r.occurred_at));

    let mut paged = Vec::new();
    let mut offset = 0;
    loop {
        let page = store
            .audit_records(&AuditFilter {
                actor_id: query.actor.map(|a| actors[a]),
                target_id: query.target.map(|t| targets[t]),
                limit: query.page,
                sessions_only: query.sessions_only,
                since,
                until,
                offset,
                kind: query.kind,
            })
            .await?;
        anyhow::ensure!(page.len() <= query.page as usize, "a page longer than its limit");
        let last = page.len() < query.page as usize;
        offset += query.page;
        paged.extend(page);
        if last {
            break;
        }
    }
    let expected: Vec<AuditRecord> = expected.into_iter().cloned().collect();
    anyhow::ensure!(paged == expected, "paged {paged:#?}\nexpected {expected:#?}");
    Ok(())
}

fn run(backend: TestBackend) {
    let runtime = tokio::runtime::Handle::current();
    let store: Arc<dyn SessionStore> = Arc::new(SqlSessions::new(backend.pool.clone()));
    let mut runner = TestRunner::new(ProptestConfig::with_cases(48));
    let result = runner.run(
        &(proptest::collection::vec(drawn(), 0..20), query()),
        |(records, query)| {
            let outcome =
                tokio::task::block_in_place(|| runtime.block_on(check(store.as_ref(), &records, &query)));
            prop_assert!(outcome.is_ok(), "{:?}", outcome.err());
            Ok(())
        },
    );
    if let Err(failure) = result {
        panic!("{failure}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paging_any_filter_yields_the_models_records_on_postgres() -> anyhow::Result<()> {
    run(TestBackend::postgres(&MIGRATIONS).await?);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paging_any_filter_yields_the_models_records_on_sqlite() -> anyhow::Result<()> {
    run(TestBackend::sqlite(&MIGRATIONS).await?);
    Ok(())
}
