//! What any `SessionStore` must do: keep sessions whole, write a session and
//! its audit record together or not at all, end a session once, find the
//! latest context of a principal on a channel, list audit records newest
//! first, and never let an audit record change or vanish.

use actas_session::{
    actions::{ActionFilter, ActionRecord},
    guests::GuestContext,
    model::{AuditFilter, AuditKind, AuditRecord, Session, SpentToken},
    store::{REVOKE_BATCH, Revocation, Rotation, SessionStore, Whose},
};
use actas_shared::{
    db::now_millis,
    ids::{ActionRecordId, AuditRecordId, PrincipalId, SalesChannelId, SessionId},
    principal::PrincipalKind,
    proto::Action,
    with_pool,
};

use crate::{Check, Subject};

macro_rules! checks {
    ($($check:ident),+ $(,)?) => {
        &[$((stringify!($check), |subject| Box::pin($check(subject)))),+]
    };
}

pub const CHECKS: &[Check] = checks![
    insert_round_trips_every_field,
    unknown_token_hash_is_none,
    start_impersonation_writes_all,
    start_impersonation_is_all_or_nothing,
    a_spent_token_starts_one_session,
    spent_tokens_are_forgotten_only_after_they_expire,
    end_happens_once,
    revocation_ends_every_match_in_batches_each_on_the_record,
    a_revocation_of_one_session_ends_that_one_only,
    a_deactivation_ends_every_session_of_the_principal,
    open_impersonations_come_by_id_after_a_cursor,
    latest_payload_is_the_newest_per_channel,
    update_payload_persists,
    touch_moves_last_seen_forward_on_live_sessions_only,
    read_only_marks_follow_the_policy,
    due_to_end_finds_open_impersonations_past_their_maximum_or_idle,
    token_events_stand_apart_from_session_records,
    outbox_events_come_with_their_records_and_wait_after_a_failure,
    audit_records_filter_limit_and_order,
    audit_records_are_append_only,
    guest_contexts_round_trip_change_and_go,
    a_refresh_rotates_once_and_only_a_live_own_session,
    action_records_round_trip_filter_page_and_stay,
];

/// A token id never spent before, expiring in two minutes.
fn spent() -> SpentToken {
    SpentToken {
        token_id_hash: format!("{:064x}", uuid::Uuid::new_v4().as_u128()),
        expires_at: now_millis() + 120_000,
    }
}

/// Rows of the spent-token table.
async fn spent_rows(subject: &Subject) -> anyhow::Result<i64> {
    Ok(with_pool!(&subject.pool, |pool| {
        sqlx::query_scalar("SELECT COUNT(*) FROM spent_token")
            .fetch_one(pool)
            .await?
    }))
}

/// Any limit the store accepts that is larger than what a check inserts.
const ALL: u32 = 100;

fn customer_session(principal: PrincipalId, channel: Option<SalesChannelId>, created_at: i64) -> Session {
    Session {
        id: SessionId::new_random(),
        token_hash: format!("hash-{}", uuid::Uuid::new_v4().simple()),
        principal_id: principal,
        principal_kind: PrincipalKind::Customer,
        sales_channel_id: channel,
        imitating_user_id: None,
        profile_id: None,
        grant_action: None,
        payload: format!(r#"{{"created":{created_at}}}"#),
        created_at,
        expires_at: created_at + 3_600_000,
        ended_at: None,
        last_seen_at: created_at,
        read_only: false,
    }
}

fn record(actor: PrincipalId, target: PrincipalId, occurred_at: i64) -> AuditRecord {
    AuditRecord {
        id: AuditRecordId::new_random(),
        kind: AuditKind::ImpersonationStarted,
        action: Action::ImpersonateTeamMember,
        actor_id: actor,
        target_id: target,
        audience: SalesChannelId::new_random().to_string(),
        session_id: Some(SessionId::new_random()),
        reason: format!("reason at {occurred_at}"),
        client_ip: "203.0.113.7".to_owned(),
        user_agent: "it/1.0".to_owned(),
        occurred_at,
        trace_id: "4bf92f3577b34da6a3ce929d0e0e4736".to_owned(),
    }
}

/// An impersonated session with its "started" record, linked to each other.
fn impersonation(actor: PrincipalId, target: PrincipalId, at: i64) -> (Session, AuditRecord) {
    let session = Session {
        imitating_user_id: Some(actor),
        grant_action: Some("imitate_customer".to_owned()),
        sales_channel_id: Some(SalesChannelId::new_random()),
        ..customer_session(target, None, at)
    };
    let record = AuditRecord {
        session_id: Some(session.id),
        audience: session
            .sales_channel_id
            .map(|c| c.to_string())
            .unwrap_or_default(),
        ..record(actor, target, at)
    };
    (session, record)
}

async fn all_records(store: &dyn SessionStore) -> anyhow::Result<Vec<AuditRecord>> {
    Ok(store
        .audit_records(&AuditFilter {
            limit: ALL,
            ..AuditFilter::default()
        })
        .await?)
}

async fn insert_round_trips_every_field(subject: Subject) -> anyhow::Result<()> {
    let store = subject.store.as_ref();
    let now = now_millis();
    let full = Session {
        id: SessionId::new_random(),
        token_hash: "a".repeat(64),
        principal_id: PrincipalId::new_random(),
        principal_kind: PrincipalKind::Customer,
        sales_channel_id: Some(SalesChannelId::new_random()),
        imitating_user_id: Some(PrincipalId::new_random()),
        profile_id: Some(1002),
        grant_action: Some("impersonate_team_member".to_owned()),
        payload: r#"{"cart":"c-1","currency":"EUR","note":"naïve ☃"}"#.to_owned(),
        created_at: now,
        expires_at: now + 900_000,
        ended_at: None,
        last_seen_at: now,
        read_only: true,
    };
    store.insert(&full).await?;
    assert_eq!(store.by_token_hash(&full.token_hash).await?, Some(full.clone()));

    let bare = Session {
        principal_kind: PrincipalKind::Admin,
        payload: "{}".to_owned(),
        ..customer_session(PrincipalId::new_random(), None, now)
    };
    store.insert(&bare).await?;
    let loaded = store.by_token_hash(&bare.token_hash).await?;
    assert_eq!(loaded, Some(bare.clone()));
    assert!(loaded.is_some_and(|session| session.is_live(now)));

    let same_hash = Session {
        id: SessionId::new_random(),
        ..full.clone()
    };
    assert!(store.insert(&same_hash).await.is_err(), "token hashes are unique");
    assert_eq!(store.by_token_hash(&full.token_hash).await?, Some(full));
    Ok(())
}

async fn unknown_token_hash_is_none(subject: Subject) -> anyhow::Result<()> {
    let store = subject.store.as_ref();
    assert_eq!(store.by_token_hash("no-such-hash").await?, None);
    let session = customer_session(PrincipalId::new_random(), None, now_millis());
    store.insert(&session).await?;
    assert_eq!(store.by_token_hash("no-such-hash").await?, None);
    assert_eq!(store.by_token_hash("").await?, None);
    assert_eq!(
        store.by_token_hash(&session.token_hash.to_uppercase()).await?,
        None
    );
    Ok(())
}

async fn start_impersonation_writes_all(subject: Subject) -> anyhow::Result<()> {
    let store = subject.store.as_ref();
    let (session, started) =
        impersonation(PrincipalId::new_random(), PrincipalId::new_random(), now_millis());
    store.start_impersonation(&session, &started, &spent()).await?;
    assert_eq!(store.by_token_hash(&session.token_hash).await?, Some(session));
    assert_eq!(all_records(store).await?, [started]);
    Ok(())
}

async fn start_impersonation_is_all_or_nothing(subject: Subject) -> anyhow::Result<()> {
    let store = subject.store.as_ref();
    let actor = PrincipalId::new_random();
    let now = now_millis();
    let (first, first_record) = impersonation(actor, PrincipalId::new_random(), now);
    store.start_impersonation(&first, &first_record, &spent()).await?;

    // The audit record cannot be written (its id exists): no session either.
    let (second, _) = impersonation(actor, PrincipalId::new_random(), now + 1);
    let reused_id = AuditRecord {
        session_id: Some(second.id),
        target_id: second.principal_id,
        ..first_record.clone()
    };
    assert!(
        store
            .start_impersonation(&second, &reused_id, &spent())
            .await
            .is_err()
    );
    assert_eq!(store.by_token_hash(&second.token_hash).await?, None);

    // The session cannot be written (its token hash exists): no record either.
    let (third, third_record) = impersonation(actor, PrincipalId::new_random(), now + 2);
    let clashing = Session {
        token_hash: first.token_hash.clone(),
        ..third
    };
    assert!(
        store
            .start_impersonation(&clashing, &third_record, &spent())
            .await
            .is_err()
    );
    assert_eq!(all_records(store).await?, std::slice::from_ref(&first_record));
    assert_eq!(store.by_token_hash(&first.token_hash).await?, Some(first));

    // Both failures left the way clear: the same writes succeed once fixed.
    let fixed = AuditRecord {
        id: AuditRecordId::new_random(),
        ..reused_id
    };
    store.start_impersonation(&second, &fixed, &spent()).await?;
    assert_eq!(store.by_token_hash(&second.token_hash).await?, Some(second));
    assert_eq!(all_records(store).await?.len(), 2);
    Ok(())
}

async fn a_spent_token_starts_one_session(subject: Subject) -> anyhow::Result<()> {
    let store = subject.store.as_ref();
    let token = spent();
    let now = now_millis();
    let (first, first_record) = impersonation(PrincipalId::new_random(), PrincipalId::new_random(), now);
    assert!(store.start_impersonation(&first, &first_record, &token).await?);

    // The same token again (its grant handed back by a restored Redis):
    // refused, and nothing of the second start is written.
    let (replay, replay_record) = impersonation(PrincipalId::new_random(), PrincipalId::new_random(), now);
    assert!(!store.start_impersonation(&replay, &replay_record, &token).await?);
    assert_eq!(store.by_token_hash(&replay.token_hash).await?, None);
    assert_eq!(all_records(store).await?, [first_record]);
    assert_eq!(spent_rows(&subject).await?, 1);

    // Concurrent starts with one token: exactly one wins.
    let contested = spent();
    let attempts = (0..8).map(|i| {
        let (session, record) = impersonation(PrincipalId::new_random(), PrincipalId::new_random(), now + i);
        let contested = contested.clone();
        let store = subject.store.clone();
        tokio::spawn(async move { store.start_impersonation(&session, &record, &contested).await })
    });
    let mut winners = 0;
    for attempt in futures::future::join_all(attempts).await {
        // SQLite may refuse a contended writer as busy: a loss, not a win.
        if let Ok(Ok(true)) = attempt {
            winners += 1;
        }
    }
    assert_eq!(winners, 1, "one token, one session");
    Ok(())
}

async fn spent_tokens_are_forgotten_only_after_they_expire(subject: Subject) -> anyhow::Result<()> {
    let store = subject.store.as_ref();
    let now = now_millis();
    let expired = SpentToken {
        expires_at: now - 1,
        ..spent()
    };
    let live = SpentToken {
        expires_at: now + 60_000,
        ..spent()
    };
    for token in [&expired, &live] {
        let (session, record) = impersonation(PrincipalId::new_random(), PrincipalId::new_random(), now);
        assert!(store.start_impersonation(&session, &record, token).await?);
    }
    assert_eq!(store.forget_spent_tokens(now).await?, 1);
    assert_eq!(spent_rows(&subject).await?, 1);
    // The one not yet expired still refuses a replay.
    let (replay, replay_record) = impersonation(PrincipalId::new_random(), PrincipalId::new_random(), now);
    assert!(!store.start_impersonation(&replay, &replay_record, &live).await?);
    assert_eq!(store.forget_spent_tokens(now + 60_001).await?, 1);
    assert_eq!(spent_rows(&subject).await?, 0);
    Ok(())
}

async fn revocation_ends_every_match_in_batches_each_on_the_record(subject: Subject) -> anyhow::Result<()> {
    let store = subject.store.as_ref();
    let now = now_millis();
    let (actor, target, other) = (
        PrincipalId::new_random(),
        PrincipalId::new_random(),
        PrincipalId::new_random(),
    );
    // More than two batches of the target's, one already ended, and others'.
    let many = usize::try_from(2 * REVOKE_BATCH + 7)?;
    for i in 0..many {
        let (session, started) = impersonation(actor, target, now - i64::try_from(i)?);
        store.start_impersonation(&session, &started, &spent()).await?;
    }
    let (ended_before, its_start) = impersonation(actor, target, now);
    store
        .start_impersonation(&ended_before, &its_start, &spent())
        .await?;
    store.end(ended_before.id, "logout", now, None).await?;
    let (others, others_start) = impersonation(actor, other, now);
    store
        .start_impersonation(&others, &others_start, &spent())
        .await?;

    let revocation = Revocation {
        whose: Whose::Impersonations {
            actor: None,
            target: Some(target),
            session: None,
        },
        reason: "revoked by someone: INC-9".to_owned(),
        client_ip: "203.0.113.9".to_owned(),
        user_agent: "console/1".to_owned(),
        trace_id: String::new(),
        at: now + 1,
    };
    let revoked = store.revoke_impersonations(&revocation).await?;
    assert_eq!(revoked.len(), many, "every live one of the target's");
    assert!(!revoked.contains(&ended_before.token_hash));
    assert!(!revoked.contains(&others.token_hash));
    for token_hash in &revoked {
        let stored = store.by_token_hash(token_hash).await?.expect("kept");
        assert_eq!((stored.principal_id, stored.ended_at), (target, Some(now + 1)));
    }
    assert!(
        store
            .by_token_hash(&others.token_hash)
            .await?
            .expect("kept")
            .is_live(now + 2)
    );
    let records = store
        .audit_records(&AuditFilter {
            target_id: Some(target),
            limit: 500,
            ..Default::default()
        })
        .await?;
    let revoked_records: Vec<&AuditRecord> = records
        .iter()
        .filter(|record| record.kind == AuditKind::ImpersonationRevoked)
        .collect();
    assert!(!revoked_records.is_empty());
    for record in &revoked_records {
        assert_eq!(record.reason, revocation.reason);
        assert_eq!(record.client_ip, revocation.client_ip);
        assert_eq!(record.actor_id, actor);
        assert_eq!(record.action, Action::ImitateCustomer);
        assert!(record.session_id.is_some());
    }
    let counted: i64 = with_pool!(&subject.pool, |pool| {
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_record WHERE kind = 'impersonation_revoked'")
            .fetch_one(pool)
            .await?
    });
    assert_eq!(counted, i64::try_from(many)?, "one record per session ended");
    // Nothing left: a second revocation ends none.
    assert!(store.revoke_impersonations(&revocation).await?.is_empty());
    Ok(())
}

async fn a_revocation_of_one_session_ends_that_one_only(subject: Subject) -> anyhow::Result<()> {
    let store = subject.store.as_ref();
    let now = now_millis();
    let (actor, target) = (PrincipalId::new_random(), PrincipalId::new_random());
    // The same pair twice: "End" on one row leaves the other running.
    let (chosen, chosen_start) = impersonation(actor, target, now);
    store
        .start_impersonation(&chosen, &chosen_start, &spent())
        .await?;
    let (sibling, sibling_start) = impersonation(actor, target, now);
    store
        .start_impersonation(&sibling, &sibling_start, &spent())
        .await?;
    let revocation = |actor: Option<PrincipalId>| Revocation {
        whose: Whose::Impersonations {
            actor,
            target: None,
            session: Some(chosen.id),
        },
        reason: "revoked by someone".to_owned(),
        client_ip: String::new(),
        user_agent: String::new(),
        trace_id: String::new(),
        at: now + 1,
    };
    // A session named with an actor that is not its own ends nothing.
    assert!(
        store
            .revoke_impersonations(&revocation(Some(target)))
            .await?
            .is_empty()
    );
    assert_eq!(
        store.revoke_impersonations(&revocation(Some(actor))).await?,
        std::slice::from_ref(&chosen.token_hash)
    );
    let stored = store.by_token_hash(&chosen.token_hash).await?.expect("kept");
    assert_eq!(stored.ended_at, Some(now + 1));
    let sibling = store.by_token_hash(&sibling.token_hash).await?.expect("kept");
    assert!(sibling.is_live(now + 2));
    let revoked = store
        .audit_records(&AuditFilter {
            target_id: Some(target),
            kind: Some(AuditKind::ImpersonationRevoked),
            limit: ALL,
            ..AuditFilter::default()
        })
        .await?;
    assert_eq!(revoked.len(), 1);
    assert_eq!(revoked[0].session_id, Some(chosen.id));
    Ok(())
}

async fn a_deactivation_ends_every_session_of_the_principal(subject: Subject) -> anyhow::Result<()> {
    let store = subject.store.as_ref();
    let now = now_millis();
    let (principal, customer, admin, bystander) = (
        PrincipalId::new_random(),
        PrincipalId::new_random(),
        PrincipalId::new_random(),
        PrincipalId::new_random(),
    );
    // Its own sessions, the impersonations it started, one acting as it,
    // and a stranger's session that must live on.
    let own = [
        customer_session(principal, None, now),
        customer_session(principal, None, now - 1),
    ];
    for session in &own {
        store.insert(session).await?;
    }
    let (started_by_it, its_start) = impersonation(principal, customer, now);
    store
        .start_impersonation(&started_by_it, &its_start, &spent())
        .await?;
    let (acting_as_it, that_start) = impersonation(admin, principal, now);
    store
        .start_impersonation(&acting_as_it, &that_start, &spent())
        .await?;
    let stranger = customer_session(bystander, None, now);
    store.insert(&stranger).await?;

    let deactivation = Revocation {
        whose: Whose::EveryOneOf(principal),
        reason: "deactivated by someone: left the company".to_owned(),
        client_ip: "203.0.113.9".to_owned(),
        user_agent: "console/1".to_owned(),
        trace_id: String::new(),
        at: now + 1,
    };
    let mut ended = store.revoke_impersonations(&deactivation).await?;
    ended.sort();
    let mut expected: Vec<String> = own
        .iter()
        .chain([&started_by_it, &acting_as_it])
        .map(|session| session.token_hash.clone())
        .collect();
    expected.sort();
    assert_eq!(ended, expected, "its own four, nobody else's");
    for token_hash in &expected {
        let stored = store.by_token_hash(token_hash).await?.expect("kept");
        assert_eq!(stored.ended_at, Some(now + 1));
    }
    assert!(
        store
            .by_token_hash(&stranger.token_hash)
            .await?
            .expect("kept")
            .is_live(now + 2)
    );
    // The two impersonations are on the record; its own sessions need none.
    let revoked: Vec<AuditRecord> = all_records(store)
        .await?
        .into_iter()
        .filter(|record| record.kind == AuditKind::ImpersonationRevoked)
        .collect();
    let mut sessions: Vec<_> = revoked.iter().map(|record| record.session_id).collect();
    sessions.sort();
    let mut impersonations = vec![Some(started_by_it.id), Some(acting_as_it.id)];
    impersonations.sort();
    assert_eq!(sessions, impersonations);
    assert!(revoked.iter().all(|record| record.reason == deactivation.reason));
    assert!(store.revoke_impersonations(&deactivation).await?.is_empty());
    Ok(())
}

async fn open_impersonations_come_by_id_after_a_cursor(subject: Subject) -> anyhow::Result<()> {
    let store = subject.store.as_ref();
    let now = now_millis();
    let mut open = Vec::new();
    for i in 0..3 {
        let (session, started) = impersonation(PrincipalId::new_random(), PrincipalId::new_random(), now + i);
        store.start_impersonation(&session, &started, &spent()).await?;
        open.push(session.id);
    }
    let (ended, its_start) = impersonation(PrincipalId::new_random(), PrincipalId::new_random(), now);
    store.start_impersonation(&ended, &its_start, &spent()).await?;
    store.end(ended.id, "logout", now, None).await?;
    store
        .insert(&customer_session(PrincipalId::new_random(), None, now))
        .await?;
    open.sort_by_key(|id| id.to_string());

    let first = store.open_impersonations_after(None, now + 10, 2).await?;
    let ids = |sessions: &[Session]| sessions.iter().map(|s| s.id).collect::<Vec<_>>();
    assert_eq!(ids(&first), open[..2]);
    let rest = store
        .open_impersonations_after(Some(open[1]), now + 10, 2)
        .await?;
    assert_eq!(ids(&rest), open[2..]);
    assert!(
        store
            .open_impersonations_after(Some(open[2]), now + 10, 2)
            .await?
            .is_empty()
    );
    Ok(())
}

async fn end_happens_once(subject: Subject) -> anyhow::Result<()> {
    let store = subject.store.as_ref();
    let actor = PrincipalId::new_random();
    let now = now_millis();
    let (session, started) = impersonation(actor, PrincipalId::new_random(), now);
    store.start_impersonation(&session, &started, &spent()).await?;
    assert!(session.is_live(now + 1));

    let ended_at = now + 10;
    let ended = AuditRecord {
        id: AuditRecordId::new_random(),
        kind: AuditKind::ImpersonationEnded,
        occurred_at: ended_at,
        reason: "logout".to_owned(),
        ..started.clone()
    };
    assert!(store.end(session.id, "logout", ended_at, Some(&ended)).await?);
    let loaded = store
        .by_token_hash(&session.token_hash)
        .await?
        .expect("an ended session is still found");
    assert_eq!(loaded.ended_at, Some(ended_at));
    assert!(!loaded.is_live(ended_at + 1));
    assert!(!loaded.is_live(now), "ended means not live, whatever the clock");
    assert_eq!(
        Session {
            ended_at: None,
            ..loaded
        },
        session,
        "ending changes nothing else"
    );

    // Ending again does nothing, and writes no second record.
    assert!(
        !store
            .end(session.id, "logout", ended_at + 5, Some(&ended))
            .await?
    );
    let again = AuditRecord {
        id: AuditRecordId::new_random(),
        ..ended.clone()
    };
    assert!(!store.end(session.id, "again", ended_at + 6, Some(&again)).await?);
    let loaded_again = store.by_token_hash(&session.token_hash).await?;
    assert_eq!(
        loaded_again.and_then(|s| s.ended_at),
        Some(ended_at),
        "the first end stands"
    );
    assert_eq!(
        all_records(store).await?,
        [ended, started],
        "newest first, each once"
    );

    // Without a record, ending writes none.
    let quiet = customer_session(PrincipalId::new_random(), None, now);
    store.insert(&quiet).await?;
    assert!(store.end(quiet.id, "expired", now + 20, None).await?);
    assert!(!store.end(quiet.id, "expired", now + 21, None).await?);
    assert_eq!(all_records(store).await?.len(), 2);
    assert!(!store.end(SessionId::new_random(), "unknown", now, None).await?);
    Ok(())
}

async fn latest_payload_is_the_newest_per_channel(subject: Subject) -> anyhow::Result<()> {
    let store = subject.store.as_ref();
    let principal = PrincipalId::new_random();
    let other = PrincipalId::new_random();
    let eu = Some(SalesChannelId::new_random());
    let us = Some(SalesChannelId::new_random());
    let base = now_millis();
    // Inserted out of order, so insertion order cannot pass for recency.
    let sessions = [
        (principal, eu, base + 2_000, "eu-newest"),
        (principal, eu, base + 1_000, "eu-older"),
        (principal, eu, base, "eu-oldest"),
        (principal, us, base + 500, "us-only"),
        (principal, None, base + 1_500, "no-channel-newest"),
        (principal, None, base + 100, "no-channel-older"),
        (other, eu, base + 9_000, "other-principal"),
    ];
    for (who, channel, created_at, payload) in sessions {
        let session = Session {
            payload: payload.to_owned(),
            ..customer_session(who, channel, created_at)
        };
        store.insert(&session).await?;
    }

    assert_eq!(
        store.latest_payload(principal, eu).await?.as_deref(),
        Some("eu-newest")
    );
    assert_eq!(
        store.latest_payload(principal, us).await?.as_deref(),
        Some("us-only")
    );
    assert_eq!(
        store.latest_payload(principal, None).await?.as_deref(),
        Some("no-channel-newest")
    );
    assert_eq!(
        store.latest_payload(other, eu).await?.as_deref(),
        Some("other-principal")
    );
    assert_eq!(store.latest_payload(other, None).await?, None);
    assert_eq!(store.latest_payload(other, us).await?, None);
    assert_eq!(
        store
            .latest_payload(principal, Some(SalesChannelId::new_random()))
            .await?,
        None
    );
    assert_eq!(store.latest_payload(PrincipalId::new_random(), eu).await?, None);
    Ok(())
}

async fn update_payload_persists(subject: Subject) -> anyhow::Result<()> {
    let store = subject.store.as_ref();
    let principal = PrincipalId::new_random();
    let channel = Some(SalesChannelId::new_random());
    let now = now_millis();
    let older = customer_session(principal, channel, now - 1);
    let session = customer_session(principal, channel, now);
    store.insert(&older).await?;
    store.insert(&session).await?;

    let payload = r#"{"cart":"c-2","customer":"x"}"#;
    store.update_payload(session.id, payload).await?;
    let loaded = store.by_token_hash(&session.token_hash).await?.expect("session");
    assert_eq!(loaded.payload, payload);
    assert_eq!(
        store.latest_payload(principal, channel).await?.as_deref(),
        Some(payload)
    );
    let untouched = store
        .by_token_hash(&older.token_hash)
        .await?
        .expect("older session");
    assert_eq!(untouched.payload, older.payload, "only the named session changes");
    Ok(())
}

async fn audit_records_filter_limit_and_order(subject: Subject) -> anyhow::Result<()> {
    let store = subject.store.as_ref();
    let (ada, vic) = (PrincipalId::new_random(), PrincipalId::new_random());
    let (alice, bob) = (PrincipalId::new_random(), PrincipalId::new_random());
    let base = now_millis();
    let ada_alice_1 = record(ada, alice, base + 1);
    let ada_bob = record(ada, bob, base + 4);
    let vic_alice = record(vic, alice, base + 3);
    let ada_alice_2 = record(ada, alice, base + 2);
    // Appended out of time order, so listing must sort.
    for written in [&ada_alice_1, &ada_bob, &vic_alice, &ada_alice_2] {
        let session = Session {
            imitating_user_id: Some(written.actor_id),
            ..customer_session(written.target_id, None, written.occurred_at)
        };
        store.start_impersonation(&session, written, &spent()).await?;
    }
    let list = |actor_id, target_id, limit| {
        let filter = AuditFilter {
            actor_id,
            target_id,
            limit,
            ..AuditFilter::default()
        };
        async move { store.audit_records(&filter).await }
    };

    assert_eq!(
        list(None, None, ALL).await?,
        [
            ada_bob.clone(),
            vic_alice.clone(),
            ada_alice_2.clone(),
            ada_alice_1.clone()
        ]
    );
    assert_eq!(
        list(Some(ada), None, ALL).await?,
        [ada_bob.clone(), ada_alice_2.clone(), ada_alice_1.clone()]
    );
    assert_eq!(
        list(Some(vic), None, ALL).await?,
        std::slice::from_ref(&vic_alice)
    );
    assert_eq!(
        list(None, Some(alice), ALL).await?,
        [vic_alice.clone(), ada_alice_2.clone(), ada_alice_1.clone()]
    );
    assert_eq!(
        list(Some(ada), Some(alice), ALL).await?,
        [ada_alice_2.clone(), ada_alice_1.clone()]
    );
    assert_eq!(list(Some(vic), Some(bob), ALL).await?, []);
    assert_eq!(list(Some(PrincipalId::new_random()), None, ALL).await?, []);
    assert_eq!(list(None, None, 2).await?, [ada_bob.clone(), vic_alice]);
    assert_eq!(list(Some(ada), None, 1).await?, [ada_bob]);
    Ok(())
}

async fn audit_records_are_append_only(subject: Subject) -> anyhow::Result<()> {
    let store = subject.store.as_ref();
    let (session, started) =
        impersonation(PrincipalId::new_random(), PrincipalId::new_random(), now_millis());
    store.start_impersonation(&session, &started, &spent()).await?;

    let update = with_pool!(&subject.pool, |pool| {
        sqlx::query("UPDATE audit_record SET reason = 'x'")
            .execute(pool)
            .await
            .map(|done| done.rows_affected())
    });
    assert!(update.is_err(), "UPDATE of an audit record: {update:?}");
    let delete = with_pool!(&subject.pool, |pool| {
        sqlx::query("DELETE FROM audit_record")
            .execute(pool)
            .await
            .map(|done| done.rows_affected())
    });
    assert!(delete.is_err(), "DELETE of an audit record: {delete:?}");
    // PostgreSQL's TRUNCATE skips row triggers; a statement trigger refuses it.
    // (SQLite has no TRUNCATE: its DELETE above already covers it.)
    if let actas_shared::db::Pool::Postgres(pool) = &subject.pool {
        let truncate = sqlx::query("TRUNCATE audit_record").execute(pool).await;
        assert!(truncate.is_err(), "TRUNCATE of the audit records: {truncate:?}");
    }

    assert_eq!(all_records(store).await?, [started], "the record is unchanged");
    Ok(())
}

async fn touch_moves_last_seen_forward_on_live_sessions_only(subject: Subject) -> anyhow::Result<()> {
    let store = subject.store.as_ref();
    let now = now_millis();
    let (session, record) = impersonation(PrincipalId::new_random(), PrincipalId::new_random(), now);
    store.start_impersonation(&session, &record, &spent()).await?;
    assert_eq!(
        last_seen(store, &session.token_hash).await?,
        now,
        "starts at creation"
    );

    store.touch(session.id, now + 5_000).await?;
    assert_eq!(last_seen(store, &session.token_hash).await?, now + 5_000);
    store.touch(session.id, now + 1_000).await?;
    assert_eq!(
        last_seen(store, &session.token_hash).await?,
        now + 5_000,
        "never moves back (concurrent readers race)"
    );

    assert!(store.end(session.id, "test", now + 6_000, None).await?);
    store.touch(session.id, now + 9_000).await?;
    assert_eq!(
        last_seen(store, &session.token_hash).await?,
        now + 5_000,
        "an ended session is not touched"
    );
    Ok(())
}

async fn due_to_end_finds_open_impersonations_past_their_maximum_or_idle(
    subject: Subject,
) -> anyhow::Result<()> {
    let store = subject.store.as_ref();
    let now = now_millis();
    let open = |created: i64, expires: i64, last_seen: i64| {
        let (session, record) = impersonation(PrincipalId::new_random(), PrincipalId::new_random(), created);
        (
            Session {
                expires_at: expires,
                last_seen_at: last_seen,
                ..session
            },
            record,
        )
    };
    let expired = open(now - 10_000, now - 1_000, now - 2_000);
    let idle = open(now - 10_000, now + 60_000, now - 9_000);
    let live = open(now - 10_000, now + 60_000, now - 100);
    let ended = open(now - 10_000, now - 1_000, now - 2_000);
    for (session, record) in [&expired, &idle, &live, &ended] {
        store.start_impersonation(session, record, &spent()).await?;
    }
    assert!(store.end(ended.0.id, "logout", now - 1_500, None).await?);
    // Someone's own session past its end is no impersonation: not due.
    store
        .insert(&customer_session(
            PrincipalId::new_random(),
            None,
            now - 7_200_000,
        ))
        .await?;

    let due: Vec<SessionId> = store
        .due_to_end(now, now - 5_000, 10)
        .await?
        .into_iter()
        .map(|session| session.id)
        .collect();
    assert_eq!(due, vec![expired.0.id, idle.0.id], "soonest expiry first");
    assert_eq!(
        store.due_to_end(now, now - 5_000, 1).await?.len(),
        1,
        "the limit holds"
    );
    Ok(())
}

async fn read_only_marks_follow_the_policy(subject: Subject) -> anyhow::Result<()> {
    let store = subject.store.as_ref();
    let now = now_millis();
    let (session, record) = impersonation(PrincipalId::new_random(), PrincipalId::new_random(), now);
    store.start_impersonation(&session, &record, &spent()).await?;
    let marked = |hash: String| async move {
        anyhow::Ok(
            store
                .by_token_hash(&hash)
                .await?
                .ok_or_else(|| anyhow::anyhow!("the session is gone"))?
                .read_only,
        )
    };
    assert!(
        !marked(session.token_hash.clone()).await?,
        "read-write unless started read-only"
    );
    store.set_read_only(session.id, true).await?;
    assert!(marked(session.token_hash.clone()).await?);
    store.set_read_only(session.id, false).await?;
    assert!(
        !marked(session.token_hash.clone()).await?,
        "the mark lifts with the policy"
    );
    Ok(())
}

async fn last_seen(store: &dyn SessionStore, token_hash: &str) -> anyhow::Result<i64> {
    Ok(store
        .by_token_hash(token_hash)
        .await?
        .expect("stored")
        .last_seen_at)
}

async fn token_events_stand_apart_from_session_records(subject: Subject) -> anyhow::Result<()> {
    let store = subject.store.as_ref();
    let (actor, target) = (PrincipalId::new_random(), PrincipalId::new_random());
    let now = now_millis();
    let issued = AuditRecord {
        kind: AuditKind::TokenIssued,
        session_id: None,
        ..record(actor, target, now)
    };
    store.append_audit(&issued).await?;
    let (session, started) = impersonation(actor, target, now + 1);
    store.start_impersonation(&session, &started, &spent()).await?;

    let everything = store
        .audit_records(&AuditFilter {
            target_id: Some(target),
            limit: ALL,
            ..AuditFilter::default()
        })
        .await?;
    assert_eq!(everything, [started.clone(), issued]);
    let sessions = store
        .audit_records(&AuditFilter {
            target_id: Some(target),
            limit: ALL,
            sessions_only: true,
            ..AuditFilter::default()
        })
        .await?;
    assert_eq!(sessions, [started]);
    Ok(())
}

async fn outbox_events_come_with_their_records_and_wait_after_a_failure(
    subject: Subject,
) -> anyhow::Result<()> {
    let now = now_millis();
    // Without a webhook nothing is kept for nobody.
    let plain = subject.store.as_ref();
    let (session, started) = impersonation(PrincipalId::new_random(), PrincipalId::new_random(), now);
    plain.start_impersonation(&session, &started, &spent()).await?;
    assert!(plain.due_events(now + 1, 10).await?.is_empty());

    let outbox = actas_session::store::SqlSessions::new(subject.pool.clone()).with_outbox(true);
    let (session, started) = impersonation(PrincipalId::new_random(), PrincipalId::new_random(), now);
    outbox.start_impersonation(&session, &started, &spent()).await?;
    let due = outbox.due_events(now, 10).await?;
    assert_eq!(due.len(), 1);
    let (id, payload, attempts) = &due[0];
    assert_eq!((id.as_str(), *attempts), (started.id.to_string().as_str(), 0));
    let event: serde_json::Value = serde_json::from_str(payload)?;
    assert_eq!(event["type"], "impersonation.started");
    assert_eq!(event["targetId"], session.principal_id.to_string());

    outbox.event_failed(id, now + 10_000, "answered 503").await?;
    assert!(
        outbox.due_events(now, 10).await?.is_empty(),
        "waits for its backoff"
    );
    assert_eq!(
        outbox.due_events(now + 10_000, 10).await?[0].2,
        1,
        "one attempt counted"
    );

    // The end of the session is an event too, written with its record.
    let ended = AuditRecord {
        id: AuditRecordId::new_random(),
        kind: AuditKind::ImpersonationEnded,
        ..started.clone()
    };
    assert!(outbox.end(session.id, "logout", now + 1, Some(&ended)).await?);
    let due = outbox.due_events(now + 10_000, 10).await?;
    assert_eq!(due.len(), 2);
    for (id, _, _) in &due {
        outbox.event_delivered(id, now + 10_001).await?;
    }
    assert!(
        outbox.due_events(i64::MAX, 10).await?.is_empty(),
        "delivered is done"
    );
    Ok(())
}

async fn guest_contexts_round_trip_change_and_go(subject: Subject) -> anyhow::Result<()> {
    let store = subject.store.as_ref();
    let now = now_millis();
    let guest = GuestContext {
        token_hash: format!("guest-{}", uuid::Uuid::new_v4().simple()),
        sales_channel_id: SalesChannelId::new_random(),
        payload: "{}".to_owned(),
        created_at: now,
        expires_at: now + 60_000,
    };
    let expired = GuestContext {
        token_hash: format!("guest-{}", uuid::Uuid::new_v4().simple()),
        created_at: now - 120_000,
        expires_at: now - 60_000,
        ..guest.clone()
    };
    store.insert_guest(&guest).await?;
    store.insert_guest(&expired).await?;
    assert_eq!(
        store.guest_by_token_hash(&guest.token_hash).await?,
        Some(guest.clone())
    );
    assert_eq!(store.guest_by_token_hash("no-such-guest").await?, None);
    // A guest is no session, and a session no guest.
    assert_eq!(store.by_token_hash(&guest.token_hash).await?, None);

    let payload = r#"{"languageId":"2fbb5fe2e29a4d70aa5854ce7ce3e20b"}"#;
    assert!(store.update_guest_payload(&guest.token_hash, payload).await?);
    let changed = store
        .guest_by_token_hash(&guest.token_hash)
        .await?
        .expect("guest");
    assert_eq!(changed.payload, payload);

    // The sweep takes the expired one only; a delete is taken once.
    // A batch at a time.
    for _ in 0..3 {
        let more = GuestContext {
            token_hash: format!("guest-{}", uuid::Uuid::new_v4().simple()),
            ..expired.clone()
        };
        store.insert_guest(&more).await?;
    }
    assert_eq!(store.forget_expired_guests(now, 2).await?, 2);
    assert!(store.forget_expired_guests(now, 1_000).await? >= 2);
    assert_eq!(store.guest_by_token_hash(&expired.token_hash).await?, None);
    assert!(store.guest_by_token_hash(&guest.token_hash).await?.is_some());
    assert!(store.delete_guest(&guest.token_hash).await?);
    assert!(!store.delete_guest(&guest.token_hash).await?);
    assert!(
        !store.update_guest_payload(&guest.token_hash, payload).await?,
        "gone"
    );
    assert_eq!(store.guest_by_token_hash(&guest.token_hash).await?, None);
    Ok(())
}

async fn a_refresh_rotates_once_and_only_a_live_own_session(subject: Subject) -> anyhow::Result<()> {
    let store = subject.store.as_ref();
    let now = now_millis();
    // Its bearer expired a second ago: the refresh token outlives it.
    let admin = Session {
        principal_kind: PrincipalKind::Admin,
        expires_at: now - 1_000,
        ..customer_session(PrincipalId::new_random(), None, now - 10_000)
    };
    store.insert(&admin).await?;
    store.grant_refresh(admin.id, "refresh-1").await?;
    assert_eq!(
        store.by_refresh_hash("refresh-1").await?.map(|s| s.id),
        Some(admin.id)
    );
    assert_eq!(store.by_refresh_hash("no-such-refresh").await?, None);
    let rotation = |previous: &str, next: &str| Rotation {
        previous: previous.to_owned(),
        token_hash: format!("token-{next}"),
        refresh_token_hash: next.to_owned(),
        expires_at: now + 3_600_000,
        now,
        max_lifetime_ms: 60_000,
    };

    // Eight at once with one refresh token: one rotation.
    let attempts: Vec<_> = (0..8)
        .map(|n| rotation("refresh-1", &format!("refresh-2-{n}")))
        .collect();
    let rotated = futures::future::join_all(attempts.iter().map(|r| store.rotate_refresh(r))).await;
    let won: Vec<usize> = rotated
        .into_iter()
        .collect::<Result<Vec<bool>, _>>()?
        .into_iter()
        .enumerate()
        .filter_map(|(n, won)| won.then_some(n))
        .collect();
    assert_eq!(won.len(), 1, "{won:?}");
    let winner = &attempts[won[0]];
    assert_eq!(
        store.by_token_hash(&admin.token_hash).await?,
        None,
        "the old token is gone"
    );
    let current = store
        .by_token_hash(&winner.token_hash)
        .await?
        .expect("the new token");
    assert_eq!((current.id, current.expires_at), (admin.id, now + 3_600_000));
    assert_eq!(store.by_refresh_hash("refresh-1").await?, None, "used once");

    // Past its maximum since the login: nothing.
    let late = Rotation {
        max_lifetime_ms: 5_000,
        ..rotation(&winner.refresh_token_hash, "refresh-3")
    };
    assert!(!store.rotate_refresh(&late).await?);

    // Ended: nothing.
    assert!(store.end(admin.id, "logout", now, None).await?);
    assert!(
        !store
            .rotate_refresh(&rotation(&winner.refresh_token_hash, "refresh-4"))
            .await?
    );

    // An impersonation holding one (it never should) refreshes nothing.
    let (impersonated, _) = impersonation(PrincipalId::new_random(), PrincipalId::new_random(), now);
    store.insert(&impersonated).await?;
    store.grant_refresh(impersonated.id, "refresh-imp").await?;
    assert!(
        !store
            .rotate_refresh(&rotation("refresh-imp", "refresh-5"))
            .await?
    );
    Ok(())
}

fn action(session: SessionId, actor: PrincipalId, target: PrincipalId, at: i64, name: &str) -> ActionRecord {
    ActionRecord {
        id: ActionRecordId::new_random(),
        session_id: session,
        actor_id: actor,
        target_id: target,
        action: name.to_owned(),
        detail: format!("detail of {name} — ünïcode kept"),
        outcome: "ok".to_owned(),
        reporter: "orders".to_owned(),
        occurred_at: at,
        trace_id: "4bf92f3577b34da6a3ce929d0e0e4736".to_owned(),
    }
}

async fn action_records_round_trip_filter_page_and_stay(subject: Subject) -> anyhow::Result<()> {
    let store = subject.store.as_ref();
    let (ada, vic, alice, bob) = (
        PrincipalId::new_random(),
        PrincipalId::new_random(),
        PrincipalId::new_random(),
        PrincipalId::new_random(),
    );
    let (first, second) = (SessionId::new_random(), SessionId::new_random());
    let now = now_millis();
    let cancel = action(first, ada, alice, now, "orders.cancel");
    let refund = action(first, ada, alice, now + 1, "orders.refund");
    let search = action(second, vic, bob, now + 2, "search.run");
    for record in [&cancel, &refund, &search] {
        store.append_action(record).await?;
    }
    let list = |filter: ActionFilter| async move { store.action_records(&filter).await };

    assert_eq!(
        list(ActionFilter::default()).await?,
        [search.clone(), refund.clone(), cancel.clone()],
        "every field back, newest first"
    );
    let of_first = ActionFilter {
        session_id: Some(first),
        ..ActionFilter::default()
    };
    assert_eq!(list(of_first.clone()).await?, [refund.clone(), cancel.clone()]);
    assert_eq!(
        list(ActionFilter {
            target_id: Some(bob),
            ..ActionFilter::default()
        })
        .await?,
        std::slice::from_ref(&search)
    );
    assert_eq!(
        list(ActionFilter {
            actor_id: Some(ada),
            target_id: Some(bob),
            ..ActionFilter::default()
        })
        .await?,
        []
    );
    assert_eq!(
        list(ActionFilter {
            limit: 1,
            offset: 1,
            ..of_first
        })
        .await?,
        std::slice::from_ref(&cancel),
        "pages of the session's actions"
    );

    // Append-only, whatever the application does.
    let update = with_pool!(&subject.pool, |pool| {
        sqlx::query("UPDATE action_record SET detail = 'x'")
            .execute(pool)
            .await
            .map(|done| done.rows_affected())
    });
    assert!(update.is_err(), "UPDATE of an action record: {update:?}");
    let delete = with_pool!(&subject.pool, |pool| {
        sqlx::query("DELETE FROM action_record")
            .execute(pool)
            .await
            .map(|done| done.rows_affected())
    });
    assert!(delete.is_err(), "DELETE of an action record: {delete:?}");
    if let actas_shared::db::Pool::Postgres(pool) = &subject.pool {
        let truncate = sqlx::query("TRUNCATE action_record").execute(pool).await;
        assert!(truncate.is_err(), "TRUNCATE of the action records: {truncate:?}");
    }
    assert_eq!(list(ActionFilter::default()).await?.len(), 3, "all still there");
    Ok(())
}
