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
            include_guests: false,
        })
        .await
        .unwrap_err();
    assert_status(&unknown_session, Code::Unauthenticated, ErrorCode::Unauthorized);
    system.stop().await;
}

/// Reflection on each port lists what that port serves (its own service,
/// health, reflection) and nothing it does not, in v1 and v1alpha, and has
/// the health service's descriptor, so reflection-driven tools can call it.
#[tokio::test]
async fn reflection_lists_what_each_port_serves_health_included() {
    use tonic_reflection::pb::{v1, v1alpha};
    let system = TestSystem::start().await;
    let sandbox = system.sandbox();
    let reflection = [
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
    ];
    for (addr, own) in [
        (sandbox.permission, "actas.v1.PermissionService"),
        (sandbox.token_issuer, "actas.v1.TokenIssuer"),
        (sandbox.session, "actas.v1.SessionService"),
    ] {
        let mut expected: Vec<&str> = reflection.iter().copied().chain([own]).collect();
        expected.sort_unstable();

        let ask = |request| v1::ServerReflectionRequest {
            host: String::new(),
            message_request: Some(request),
        };
        let requests = vec![
            ask(v1::server_reflection_request::MessageRequest::ListServices(
                String::new(),
            )),
            ask(
                v1::server_reflection_request::MessageRequest::FileContainingSymbol(
                    "grpc.health.v1.Health".into(),
                ),
            ),
        ];
        let mut answers =
            v1::server_reflection_client::ServerReflectionClient::new(channel(&system, addr).await)
                .server_reflection_info(tokio_stream::iter(requests))
                .await
                .unwrap()
                .into_inner();
        let listed = answers.message().await.unwrap().unwrap().message_response;
        let Some(v1::server_reflection_response::MessageResponse::ListServicesResponse(listed)) = listed
        else {
            panic!("{own}: not a service list: {listed:?}");
        };
        let mut names: Vec<String> = listed.service.into_iter().map(|service| service.name).collect();
        names.sort_unstable();
        assert_eq!(names, expected, "{own}");
        let health = answers.message().await.unwrap().unwrap().message_response;
        let Some(v1::server_reflection_response::MessageResponse::FileDescriptorResponse(files)) = health
        else {
            panic!("{own}: no descriptor for health: {health:?}");
        };
        assert!(!files.file_descriptor_proto.is_empty());

        let alpha = v1alpha::ServerReflectionRequest {
            host: String::new(),
            message_request: Some(v1alpha::server_reflection_request::MessageRequest::ListServices(
                String::new(),
            )),
        };
        let mut answers =
            v1alpha::server_reflection_client::ServerReflectionClient::new(channel(&system, addr).await)
                .server_reflection_info(tokio_stream::iter(vec![alpha]))
                .await
                .unwrap()
                .into_inner();
        let Some(v1alpha::server_reflection_response::MessageResponse::ListServicesResponse(listed)) =
            answers.message().await.unwrap().unwrap().message_response
        else {
            panic!("{own}: v1alpha listed nothing");
        };
        let mut names: Vec<String> = listed.service.into_iter().map(|service| service.name).collect();
        names.sort_unstable();
        assert_eq!(names, expected, "{own} (v1alpha)");
    }
    system.stop().await;
}
