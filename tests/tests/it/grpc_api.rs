//! The gRPC APIs called directly, as another service would: bad input gets
//! a status with a message and the stable code in metadata, never a panic.

use actas_permission::seed;
use actas_shared::{
    ApiError, ErrorCode,
    proto::{
        Action, AuthorizeRequest, GetContextRequest, IssueImpersonationTokenRequest, RedeemTokenRequest,
        ResolveSalesChannelRequest, permission_service_client::PermissionServiceClient,
        session_service_client::SessionServiceClient, token_issuer_client::TokenIssuerClient,
    },
};
use tonic::{Code, transport::Channel};

use crate::helpers::TestSystem;

async fn channel(system: &TestSystem, addr: std::net::SocketAddr) -> Channel {
    Channel::from_shared(system.sandbox().grpc_url(addr))
        .unwrap()
        .connect()
        .await
        .unwrap()
}

fn assert_status(status: &tonic::Status, code: Code, error: ErrorCode) {
    assert_eq!(status.code(), code, "{status:?}");
    assert_eq!(ApiError::from_status(status).code, error, "{status:?}");
    assert!(!status.message().is_empty());
}

#[tokio::test]
async fn grpc_apis_answer_bad_input_with_statuses_and_codes() {
    let system = TestSystem::start().await;
    let sandbox = system.sandbox();
    let mut permission = PermissionServiceClient::new(channel(&system, sandbox.permission).await);
    let mut tokens = TokenIssuerClient::new(channel(&system, sandbox.token_issuer).await);
    let mut sessions = SessionServiceClient::new(channel(&system, sandbox.session).await);

    let decision = permission
        .authorize(AuthorizeRequest {
            actor_id: seed::ADMIN.to_string(),
            action: Action::ImitateCustomer.into(),
            target_id: seed::ALICE.to_string(),
            sales_channel_id: seed::STOREFRONT_EU.to_string(),
            target_profile_id: 0,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(decision.allowed, "{decision:?}");
    assert!(decision.reason.contains("api_proxy_login-as-customer"));

    let denied = permission
        .authorize(AuthorizeRequest {
            actor_id: seed::VIEWER.to_string(),
            action: Action::ImitateCustomer.into(),
            target_id: seed::ALICE.to_string(),
            sales_channel_id: seed::STOREFRONT_EU.to_string(),
            target_profile_id: 0,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!denied.allowed);
    assert_eq!(denied.code, ErrorCode::MissingPrivilege.as_str());
    assert_eq!(denied.missing_privileges, ["api_proxy_login-as-customer"]);

    let bad_actor = permission
        .authorize(AuthorizeRequest {
            actor_id: "nobody".into(),
            action: Action::ImitateCustomer.into(),
            target_id: seed::ALICE.to_string(),
            sales_channel_id: seed::STOREFRONT_EU.to_string(),
            target_profile_id: 0,
        })
        .await
        .unwrap_err();
    assert_status(&bad_actor, Code::InvalidArgument, ErrorCode::InvalidUuid);
    let no_action = permission
        .authorize(AuthorizeRequest {
            actor_id: seed::ADMIN.to_string(),
            action: 0,
            target_id: seed::ALICE.to_string(),
            sales_channel_id: seed::STOREFRONT_EU.to_string(),
            target_profile_id: 0,
        })
        .await
        .unwrap_err();
    assert_status(&no_action, Code::InvalidArgument, ErrorCode::MissingParameter);
    let unknown_key = permission
        .resolve_sales_channel(ResolveSalesChannelRequest {
            access_key: "nope".into(),
            domain_host: String::new(),
        })
        .await
        .unwrap_err();
    assert_status(&unknown_key, Code::Unauthenticated, ErrorCode::InvalidAccessKey);
    let unknown_host = permission
        .resolve_sales_channel(ResolveSalesChannelRequest {
            access_key: String::new(),
            domain_host: "shop.invalid".into(),
        })
        .await
        .unwrap_err();
    assert_status(&unknown_host, Code::NotFound, ErrorCode::SalesChannelNotFound);
    let both = permission
        .resolve_sales_channel(ResolveSalesChannelRequest {
            access_key: "SWSCDEMOEU0000000000000000".into(),
            domain_host: "127.0.0.1".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(both.code(), Code::InvalidArgument);

    let garbage = tokens
        .redeem_token(RedeemTokenRequest {
            token: "garbage".into(),
            expected_target_id: seed::ALICE.to_string(),
            expected_actor_id: seed::ADMIN.to_string(),
            expected_sales_channel_id: String::new(),
            expected_actions: Vec::new(),
        })
        .await
        .unwrap_err();
    assert_status(
        &garbage,
        Code::InvalidArgument,
        ErrorCode::InvalidImpersonationToken,
    );
    let empty = tokens
        .redeem_token(RedeemTokenRequest::default())
        .await
        .unwrap_err();
    assert_status(&empty, Code::InvalidArgument, ErrorCode::MissingParameter);

    let no_actor = sessions
        .issue_impersonation_token(IssueImpersonationTokenRequest {
            target_id: seed::ALICE.to_string(),
            sales_channel_id: seed::STOREFRONT_EU.to_string(),
            action: Action::ImitateCustomer.into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_status(&no_actor, Code::Unauthenticated, ErrorCode::Unauthorized);
    let bad_target = sessions
        .issue_impersonation_token(IssueImpersonationTokenRequest {
            actor_session_token: "whoever".into(),
            target_id: "not-a-uuid".into(),
            sales_channel_id: seed::STOREFRONT_EU.to_string(),
            action: Action::ImitateCustomer.into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_status(&bad_target, Code::InvalidArgument, ErrorCode::InvalidUuid);

    let unknown_session = sessions
        .get_context(GetContextRequest {
            token: "no-such-session".into(),
        })
        .await
        .unwrap_err();
    assert_status(&unknown_session, Code::Unauthenticated, ErrorCode::Unauthorized);
    system.stop().await;
}
