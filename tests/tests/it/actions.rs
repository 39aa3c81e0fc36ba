//! "What was done as me": an internal service reports what it did on an
//! impersonated session's behalf over gRPC, the gateway records each write
//! it serves under one, and the audit readers and the person see them; a
//! session that is nobody's impersonation, an oversized report and a flood
//! are refused with their codes.

use actas_permission::seed;
use actas_shared::grpc::Channel;
use actas_shared::{
    ApiError, ErrorCode,
    proto::{
        AuditKind, ListActionRecordsRequest, RecordActionRequest,
        session_service_client::SessionServiceClient,
    },
};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tonic::Code;

use crate::helpers::{EU_KEY, TestSystem, simple};

async fn sessions(system: &TestSystem) -> SessionServiceClient<Channel> {
    let channel = system
        .sandbox()
        .grpc_channel(system.sandbox().session)
        .expect("a channel to the session service");
    SessionServiceClient::new(channel)
}

fn report(token: &str, action: &str, detail: &str) -> RecordActionRequest {
    RecordActionRequest {
        token: token.to_owned(),
        action: action.to_owned(),
        detail: detail.to_owned(),
        outcome: "ok".to_owned(),
        reporter: "orders".to_owned(),
    }
}

fn assert_refused(status: &tonic::Status, code: Code, error: ErrorCode) {
    assert_eq!(status.code(), code, "{status:?}");
    assert_eq!(ApiError::from_status(status).code, error, "{status:?}");
    assert!(!status.message().is_empty());
}

#[tokio::test]
async fn actions_reported_over_grpc_and_writes_through_the_gateway_are_on_the_trail() {
    let system = TestSystem::start().await;
    let admin = system.admin().await;
    let imitated = system.exchange_alice(&system.alice_token(&admin).await).await;
    let mut grpc = sessions(&system).await;

    // An order service cancels an order for the admin acting as alice.
    let reported = grpc
        .record_action(report(
            &imitated,
            "orders.cancel",
            "order 10042, at the customer's request",
        ))
        .await
        .expect("recorded")
        .into_inner();
    assert_eq!(reported.actor_id, seed::ADMIN.to_string());
    assert_eq!(reported.target_id, seed::ALICE.to_string());
    assert_eq!(reported.reporter, "orders");
    assert!(!reported.session_id.is_empty());

    // The gateway records the write it serves under the impersonation.
    let patched = system
        .http
        .patch(system.url("/store-api/context"))
        .header("sw-access-key", EU_KEY)
        .header("sw-context-token", &imitated)
        .json(&json!({ "languageId": "2fbb5fe2e29a4d70aa5854ce7ce3e20b" }))
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), StatusCode::OK);
    // Reads are not actions.
    assert_eq!(system.context(EU_KEY, &imitated).await.status(), StatusCode::OK);

    // The admin's audit view: both, newest first, under the impersonation's session.
    let listed: Value = system
        .http
        .get(system.url(&format!(
            "/api/_action/action-records?sessionId={}",
            reported.session_id
        )))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let records = listed["records"].as_array().expect("records");
    assert_eq!(records.len(), 2, "{listed}");
    assert_eq!(records[0]["action"], "PATCH /store-api/context");
    assert_eq!(records[0]["outcome"], "200");
    assert_eq!(records[0]["reporter"], "gateway");
    assert_eq!(records[1]["action"], "orders.cancel");
    assert_eq!(records[1]["detail"], "order 10042, at the customer's request");
    for record in records {
        assert_eq!(record["actorId"], simple(seed::ADMIN));
        assert_eq!(record["targetId"], simple(seed::ALICE));
    }
    // The audit record of the impersonation names the same session.
    let trail = system.audit_trail(seed::ALICE).await;
    assert!(
        trail.iter().any(|record| record.session_id == reported.session_id
            && record.kind() == AuditKind::ImpersonationStarted),
        "{trail:?}"
    );

    // Alice, on her own session, reads what was done as her; her own
    // session is nobody's impersonation and takes no actions.
    let own = system.alice_own_context().await;
    let hers = grpc
        .list_action_records(ListActionRecordsRequest {
            reader_session_token: own.clone(),
            target_id: seed::BOB.to_string(),
            ..Default::default()
        })
        .await
        .expect("her list")
        .into_inner()
        .records;
    assert_eq!(
        hers.len(),
        2,
        "a person's list is about themself, whatever is asked"
    );
    assert!(
        hers.iter()
            .all(|record| record.target_id == seed::ALICE.to_string())
    );
    let not_impersonated = grpc
        .record_action(report(&own, "orders.cancel", ""))
        .await
        .unwrap_err();
    assert_refused(
        &not_impersonated,
        Code::FailedPrecondition,
        ErrorCode::NotImpersonating,
    );
    // The impersonator cannot read the trail from the borrowed session.
    let borrowed = grpc
        .list_action_records(ListActionRecordsRequest {
            reader_session_token: imitated.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_refused(
        &borrowed,
        Code::PermissionDenied,
        ErrorCode::ForbiddenWhileImpersonating,
    );

    // Reports that do not fit are refused, and nothing is kept of them.
    for bad in [
        report(&imitated, "", ""),
        report(&imitated, "orders\ncancel", ""),
        report(&imitated, &"a".repeat(101), ""),
        report(&imitated, "orders.cancel", &"d".repeat(501)),
        report(&imitated, "orders.cancel", "line\u{2028}forged"),
    ] {
        let refused = grpc.record_action(bad).await.unwrap_err();
        assert_refused(&refused, Code::InvalidArgument, ErrorCode::InvalidActionRecord);
    }
    let unknown = grpc
        .record_action(report("no-such-token", "orders.cancel", ""))
        .await
        .unwrap_err();
    assert_refused(&unknown, Code::Unauthenticated, ErrorCode::Unauthorized);

    // After the impersonation ends, nothing more is recorded for it.
    let logout = system
        .http
        .post(system.url("/store-api/account/logout"))
        .header("sw-access-key", EU_KEY)
        .header("sw-context-token", &imitated)
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), StatusCode::OK);
    let ended = grpc
        .record_action(report(&imitated, "orders.cancel", ""))
        .await
        .unwrap_err();
    assert_refused(&ended, Code::Unauthenticated, ErrorCode::Unauthorized);
    let after: Value = system
        .http
        .get(system.url("/api/_action/action-records"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(after["records"].as_array().map(Vec::len), Some(2), "{after}");
    system.stop().await;
}

#[tokio::test]
async fn a_flood_of_reports_from_one_session_is_refused_and_others_go_on() {
    let system = TestSystem::start().await;
    let admin = system.admin().await;
    let flooding = system.exchange_alice(&system.alice_token(&admin).await).await;
    let other = system.exchange_alice(&system.alice_token(&admin).await).await;
    let mut grpc = sessions(&system).await;

    // The limit is a burst of `limit` that refills one report per
    // 60/limit s: all of the burst passes, and a flood soon after is
    // refused, however slowly this machine sends (a slow run refills a few).
    let limit = actas_session::sessions::DEFAULT_ACTION_LIMIT_PER_MINUTE;
    let mut passed = 0;
    let refused = loop {
        match grpc
            .record_action(report(&flooding, "search.run", &format!("query {passed}")))
            .await
        {
            Ok(_) => passed += 1,
            Err(status) => break status,
        }
        assert!(
            passed <= 2 * limit,
            "a flood of {passed} reports was never refused"
        );
    };
    assert!(
        passed >= limit,
        "refused after {passed} reports, within the burst of {limit}"
    );
    assert_refused(&refused, Code::ResourceExhausted, ErrorCode::TooManyRequests);
    assert!(
        ApiError::from_status(&refused)
            .retry_after_secs
            .is_some_and(|secs| secs >= 1),
        "{refused:?}"
    );
    grpc.record_action(report(&other, "search.run", "another session"))
        .await
        .expect("another session reports on");
    system.stop().await;
}
