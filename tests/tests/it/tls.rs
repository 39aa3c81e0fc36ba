//! Mutual TLS between the services: the whole flow works with it on
//! everywhere; a service answers only clients presenting a certificate of
//! the shared CA (not plaintext, not without a certificate, not one of
//! another CA); calls meant for one service are refused to the others; a
//! partial or bad setting stops the start, naming the variable and never
//! quoting the key.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use actas_e2e::pki::TestPki;
use actas_permission::seed;
use actas_shared::{
    audience::Audience,
    grpc::TlsConfig,
    ids::SalesChannelId,
    principal::PrincipalKind,
    proto::{
        Action, AuthorizeRequest, GetContextRequest, GetIssuePolicyRequest, GetJwksRequest,
        GetPrincipalRequest, ImpersonationPolicy, IssueTokenRequest, ListAuditRecordsRequest,
        RedeemTokenRequest, SearchCustomersRequest, SetImpersonationPolicyRequest, TeamImpersonationConsent,
        permission_service_client::PermissionServiceClient, session_service_client::SessionServiceClient,
        token_issuer_client::TokenIssuerClient,
    },
};
use tonic::{
    Code,
    transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity},
};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

use crate::helpers::{TestSystem, simple};

async fn mutual_tls_system() -> TestSystem {
    TestSystem::start_with(|options| options.mutual_tls = true).await
}

/// The overall health status at `url`, or why the call failed. Bounded, so
/// a refused handshake cannot hang the test.
async fn health(url: String, tls: Option<ClientTlsConfig>) -> Result<i32, String> {
    let call = async {
        let mut endpoint = Endpoint::from_shared(url)
            .map_err(|error| error.to_string())?
            .connect_timeout(Duration::from_secs(2))
            .timeout(Duration::from_secs(5));
        if let Some(tls) = tls {
            endpoint = endpoint.tls_config(tls).map_err(|error| error.to_string())?;
        }
        let channel = endpoint
            .connect()
            .await
            .map_err(|error| format!("connect: {error:?}"))?;
        HealthClient::new(channel)
            .check(HealthCheckRequest::default())
            .await
            .map(|response| response.into_inner().status)
            .map_err(|status| format!("call: {status:?}"))
    };
    tokio::time::timeout(Duration::from_secs(10), call)
        .await
        .unwrap_or_else(|_| Err("timed out".to_owned()))
}

fn identity(pki: &TestPki, name: &str) -> Identity {
    let issued = pki.issue(name).expect("a certificate");
    Identity::from_pem(issued.cert, issued.key)
}

/// A channel to `addr` presenting a certificate of the sandbox's CA issued to `service`.
async fn as_service(pki: &TestPki, service: &str, addr: SocketAddr) -> Channel {
    let tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(&pki.ca_cert))
        .identity(identity(pki, service));
    Endpoint::from_shared(format!("https://{addr}"))
        .unwrap()
        .tls_config(tls)
        .unwrap()
        .connect()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_admin_logs_in_as_a_customer_with_mutual_tls_everywhere() {
    let system = mutual_tls_system().await;
    let sandbox = system.sandbox();
    for addr in [sandbox.permission, sandbox.token_issuer, sandbox.session] {
        assert!(sandbox.grpc_url(addr).starts_with("https://"));
    }

    // Gateway -> token issuer -> permission and session; gateway -> session
    // -> token issuer and permission: every hop over mutual TLS.
    let admin = system.admin().await;
    let token = system.alice_token(&admin).await;
    let context_token = system.exchange_alice(&token).await;
    let context = system.context_json(&context_token).await;
    assert_eq!(context["customerId"], simple(seed::ALICE));
    assert_eq!(context["imitated"], true);
    assert_eq!(context["imitatingUserId"], simple(seed::ADMIN));

    // And it is on the record, read over mutual TLS too.
    let kinds: Vec<String> = system
        .audit_trail(seed::ALICE)
        .await
        .into_iter()
        .map(|record| record.kind().as_str().to_owned())
        .collect();
    assert_eq!(kinds, ["impersonation_started", "token_issued"]);
    system.stop().await;
}

#[tokio::test]
async fn services_answer_only_clients_with_a_certificate_of_their_ca() {
    let system = mutual_tls_system().await;
    let sandbox = system.sandbox();
    let pki = sandbox.pki.as_ref().expect("the sandbox's PKI");
    let stranger = TestPki::generate("some other CA").expect("a second PKI");
    let ca = Certificate::from_pem(&pki.ca_cert);

    let services: [(&str, SocketAddr); 3] = [
        ("permission", sandbox.permission),
        ("token-issuer", sandbox.token_issuer),
        ("session", sandbox.session),
    ];
    for (name, addr) in services {
        let https = format!("https://{addr}");
        // A client the way the services are: answered.
        let trusted = ClientTlsConfig::new()
            .ca_certificate(ca.clone())
            .identity(identity(pki, "gateway"));
        assert_eq!(
            health(https.clone(), Some(trusted)).await,
            Ok(ServingStatus::Serving as i32),
            "{name}: a client with a certificate of the CA"
        );

        let refusals = [
            ("plaintext", format!("http://{addr}"), None),
            (
                "TLS without a client certificate",
                https.clone(),
                Some(ClientTlsConfig::new().ca_certificate(ca.clone())),
            ),
            (
                "a client certificate of another CA",
                https.clone(),
                Some(
                    ClientTlsConfig::new()
                        .ca_certificate(ca.clone())
                        .identity(identity(&stranger, "gateway")),
                ),
            ),
            (
                // The client side: a server the client's CA did not sign is refused.
                "a client that trusts another CA",
                https.clone(),
                Some(
                    ClientTlsConfig::new()
                        .ca_certificate(Certificate::from_pem(&stranger.ca_cert))
                        .identity(identity(&stranger, "gateway")),
                ),
            ),
        ];
        for (what, url, tls) in refusals {
            let answer = health(url, tls).await;
            assert!(answer.is_err(), "{name} answered {what}: {answer:?}");
        }
    }
    system.stop().await;
}

#[tokio::test]
async fn calls_meant_for_one_service_are_refused_to_the_others() {
    let system = mutual_tls_system().await;
    let sandbox = system.sandbox();
    let pki = sandbox.pki.as_ref().expect("the sandbox's PKI");
    let sessions =
        |service| async move { SessionServiceClient::new(as_service(pki, service, sandbox.session).await) };
    let tokens =
        |service| async move { TokenIssuerClient::new(as_service(pki, service, sandbox.token_issuer).await) };

    // Calls go one way: the session service answers the gateway only; the
    // services it calls have no business calling it.
    let context = GetContextRequest {
        token: "not-a-session".into(),
        include_guests: false,
    };
    for service in ["token-issuer", "permission"] {
        let refused = sessions(service).await.get_context(context.clone()).await;
        assert_eq!(
            refused.unwrap_err().code(),
            Code::Unauthenticated,
            "the session service answered {service}"
        );
    }
    let answered = sessions("gateway").await.get_context(context).await;
    assert_eq!(
        answered.unwrap_err().code(),
        Code::Unauthenticated,
        "the gateway is heard: the session is unknown"
    );
    let answered = sessions("gateway")
        .await
        .get_issue_policy(GetIssuePolicyRequest {})
        .await;
    assert!(answered.is_ok(), "{answered:?}");

    // Tokens are issued and redeemed for the session service only, which
    // decided and records them; the gateway may read the public keys.
    let grant = IssueTokenRequest {
        actor_id: seed::ADMIN.to_string(),
        target_id: seed::ALICE.to_string(),
        audience: Some(Audience::SalesChannel(SalesChannelId::from_uuid(seed::STOREFRONT_EU)).to_proto()),
        action: Action::ImitateCustomer.into(),
        target_kind: PrincipalKind::Customer.to_proto().into(),
        target_profile_id: 0,
        reason: "forged".into(),
    };
    let forged = tokens("gateway").await.issue_token(grant.clone()).await;
    assert_eq!(forged.unwrap_err().code(), Code::Unauthenticated);
    let redeem = RedeemTokenRequest {
        token: "garbage".into(),
        ..Default::default()
    };
    let forged = tokens("gateway").await.redeem_token(redeem.clone()).await;
    assert_eq!(forged.unwrap_err().code(), Code::Unauthenticated);
    let heard = tokens("session").await.redeem_token(redeem).await;
    assert_eq!(
        heard.unwrap_err().code(),
        Code::InvalidArgument,
        "the session service is heard: the token is garbage"
    );
    let jwks = tokens("gateway").await.get_jwks(GetJwksRequest {}).await;
    assert!(jwks.is_ok(), "{jwks:?}");

    // The permission service decides for the session service only, and
    // answers nobody but it and the gateway.
    let decision = AuthorizeRequest {
        actor_id: seed::ADMIN.to_string(),
        action: Action::ImitateCustomer.into(),
        target_id: seed::ALICE.to_string(),
        sales_channel_id: seed::STOREFRONT_EU.to_string(),
        target_profile_id: 0,
    };
    for service in ["gateway", "token-issuer"] {
        let refused = PermissionServiceClient::new(as_service(pki, service, sandbox.permission).await)
            .authorize(decision.clone())
            .await;
        assert_eq!(
            refused.unwrap_err().code(),
            Code::Unauthenticated,
            "{service} asked for a decision"
        );
    }
    let allowed = PermissionServiceClient::new(as_service(pki, "session", sandbox.permission).await)
        .authorize(decision)
        .await
        .expect("the session service asks")
        .into_inner();
    assert!(allowed.allowed);
    let principal = GetPrincipalRequest {
        id: seed::ADMIN.to_string(),
    };
    let refused = PermissionServiceClient::new(as_service(pki, "token-issuer", sandbox.permission).await)
        .get_principal(principal)
        .await;
    assert_eq!(refused.unwrap_err().code(), Code::Unauthenticated);
    // Deactivation takes the session service's word for who asks: nobody else's.
    let deactivate = actas_shared::proto::SetPrincipalActiveRequest {
        actor_id: seed::OPS.to_string(),
        principal_id: seed::ADMIN.to_string(),
        active: false,
    };
    let refused = PermissionServiceClient::new(as_service(pki, "gateway", sandbox.permission).await)
        .set_principal_active(deactivate)
        .await;
    assert_eq!(
        refused.unwrap_err().code(),
        Code::Unauthenticated,
        "the gateway deactivated someone on its own word"
    );

    // The trail is read with a reader's own session, whoever carries it.
    let bare = ListAuditRecordsRequest {
        target_id: seed::ALICE.to_string(),
        ..Default::default()
    };
    let refused = sessions("gateway").await.list_audit_records(bare.clone()).await;
    assert_eq!(
        refused.unwrap_err().code(),
        Code::Unauthenticated,
        "no reader, no trail, even for the gateway"
    );
    let records = sessions("gateway")
        .await
        .list_audit_records(ListAuditRecordsRequest {
            reader_session_token: system.operator().await,
            ..bare
        })
        .await
        .expect("the operator reads")
        .into_inner()
        .records;
    assert!(records.is_empty(), "nothing was recorded: {records:?}");

    // Search and policy act on the gateway's word about who asks.
    let mut from_issuer =
        PermissionServiceClient::new(as_service(pki, "token-issuer", sandbox.permission).await);
    let search = from_issuer
        .search_customers(SearchCustomersRequest {
            actor_id: seed::ADMIN.to_string(),
            term: "alice".into(),
            page: 1,
            limit: 10,
        })
        .await;
    assert_eq!(search.unwrap_err().code(), Code::Unauthenticated);
    let policy = from_issuer
        .set_impersonation_policy(SetImpersonationPolicyRequest {
            actor_id: seed::OPS.to_string(),
            policy: Some(ImpersonationPolicy {
                scope: format!("sales_channel:{}", seed::STOREFRONT_EU),
                enabled: false,
                read_only: false,
            }),
        })
        .await;
    assert_eq!(policy.unwrap_err().code(), Code::Unauthenticated);

    // A person's consent is changed through the gateway only.
    let consent = TeamImpersonationConsent {
        person_id: seed::MAX.to_string(),
        team_admins_allowed: false,
    };
    let mut from_session = PermissionServiceClient::new(as_service(pki, "session", sandbox.permission).await);
    let refused = from_session.set_team_impersonation_consent(consent.clone()).await;
    assert_eq!(refused.unwrap_err().code(), Code::Unauthenticated);
    let read = from_session.get_team_impersonation_consent(consent.clone()).await;
    assert_eq!(
        read.unwrap_err().code(),
        Code::Unauthenticated,
        "nor read by others"
    );
    let mut from_gateway = PermissionServiceClient::new(as_service(pki, "gateway", sandbox.permission).await);
    let unchanged = from_gateway
        .get_team_impersonation_consent(consent.clone())
        .await
        .unwrap()
        .into_inner();
    assert!(unchanged.team_admins_allowed);
    let changed = from_gateway
        .set_team_impersonation_consent(consent)
        .await
        .expect("the gateway sets it")
        .into_inner();
    assert!(!changed.team_admins_allowed);
    system.stop().await;
}

/// Why each of the four services refuses `tls` at start.
async fn start_errors(tls: &TlsConfig) -> Vec<String> {
    async fn error_of<T>(result: anyhow::Result<T>, name: &str) -> String {
        match result {
            Ok(_) => panic!("{name} started"),
            Err(error) => format!("{error:#}"),
        }
    }
    let listener = || async { tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap() };
    // Unreachable: should the TLS setting pass, the start fails elsewhere
    // and the message check below catches it.
    let database_url = "postgres://postgres@127.0.0.1:1/none".to_owned();
    vec![
        error_of(
            actas_permission::Application::build(
                &actas_permission::Config {
                    database_url: database_url.clone(),
                    grpc_tls: tls.clone(),
                    ..Default::default()
                },
                listener().await,
            )
            .await,
            "permission",
        )
        .await,
        error_of(
            actas_token_issuer::Application::build(
                &actas_token_issuer::Config {
                    grpc_tls: tls.clone(),
                    ..Default::default()
                },
                listener().await,
            )
            .await,
            "token-issuer",
        )
        .await,
        error_of(
            actas_session::Application::build(
                &actas_session::Config {
                    database_url,
                    grpc_tls: tls.clone(),
                    ..Default::default()
                },
                listener().await,
            )
            .await,
            "session",
        )
        .await,
        error_of(
            actas_gateway::Application::build(
                &actas_gateway::Config {
                    grpc_tls: tls.clone(),
                    ..Default::default()
                },
                listener().await,
            )
            .await,
            "gateway",
        )
        .await,
    ]
}

#[tokio::test]
async fn a_partial_or_bad_tls_setting_stops_the_start_naming_the_variable() {
    let pki = TestPki::generate("actas test CA").unwrap();
    let other = TestPki::generate("another CA").unwrap();
    let cert = pki.path("session.pem");
    let key = pki.path("session-key.pem");
    let ca = pki.path("ca.pem");
    let garbage = pki.path("garbage.pem");
    std::fs::write(&garbage, "not PEM at all\n").unwrap();
    let missing = PathBuf::from("/nonexistent/actas/ca.pem");
    let partial = |cert: Option<&PathBuf>, key: Option<&PathBuf>, ca: Option<&PathBuf>| TlsConfig {
        grpc_tls_cert: cert.cloned(),
        grpc_tls_key: key.cloned(),
        grpc_tls_ca: ca.cloned(),
    };

    let cases: Vec<(&str, TlsConfig, Vec<&str>)> = vec![
        (
            "only the certificate",
            partial(Some(&cert), None, None),
            vec!["ACTAS_GRPC_TLS_KEY", "ACTAS_GRPC_TLS_CA", "not set"],
        ),
        (
            "no CA",
            partial(Some(&cert), Some(&key), None),
            vec!["ACTAS_GRPC_TLS_CA is not set"],
        ),
        (
            "no certificate",
            partial(None, Some(&key), Some(&ca)),
            vec!["ACTAS_GRPC_TLS_CERT is not set"],
        ),
        (
            "an unreadable CA file",
            TlsConfig::new(&cert, &key, &missing),
            vec!["ACTAS_GRPC_TLS_CA", "cannot read", "/nonexistent/actas/ca.pem"],
        ),
        (
            "a certificate file without a certificate",
            TlsConfig::new(&garbage, &key, &ca),
            vec!["ACTAS_GRPC_TLS_CERT"],
        ),
        (
            "a certificate where the key belongs",
            TlsConfig::new(&cert, &cert, &ca),
            vec!["ACTAS_GRPC_TLS_KEY", "no PEM private key"],
        ),
        (
            "a key where the CA belongs",
            TlsConfig::new(&cert, &key, &key),
            vec!["ACTAS_GRPC_TLS_CA", "no PEM certificate"],
        ),
        (
            "the key of another certificate",
            TlsConfig::new(&cert, other.path("session-key.pem"), &ca),
            vec!["ACTAS_GRPC_TLS_KEY", "ACTAS_GRPC_TLS_CERT", "not the private key"],
        ),
    ];
    let secrets: Vec<String> = [&key, &other.path("session-key.pem")]
        .iter()
        .flat_map(|path| {
            std::fs::read_to_string(path)
                .unwrap()
                .lines()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .filter(|line| line.len() > 8 && !line.starts_with("-----"))
        .collect();
    assert!(!secrets.is_empty());
    for (what, tls, expected) in cases {
        for error in start_errors(&tls).await {
            for part in &expected {
                assert!(error.contains(part), "{what}: {error:?} should name {part:?}");
            }
            for line in &secrets {
                assert!(!error.contains(line.as_str()), "{what}: {error} quotes the key");
            }
        }
    }

    // A complete setting with a plaintext URL is a mistake too: the URL is named.
    let error = actas_gateway::Application::build(
        &actas_gateway::Config {
            permission_url: "http://127.0.0.1:50051".into(),
            grpc_tls: pki.config("gateway"),
            ..Default::default()
        },
        tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
    )
    .await
    .err()
    .map(|error| format!("{error:#}"))
    .expect("refused");
    assert!(
        error.contains("ACTAS_PERMISSION_URL") && error.contains("https://"),
        "{error}"
    );
}

/// The exec probe of each service (`<binary> probe [SERVICE]`) works under
/// mutual TLS, where Kubernetes' plaintext gRPC probe cannot: it presents
/// the pod's own certificate and checks the server's name; it fails for a
/// service that does not serve, and without the right certificates.
#[tokio::test]
async fn the_probe_checks_health_over_mutual_tls() {
    use actas_shared::grpc::{TlsConfig, probe::probe};
    let system = mutual_tls_system().await;
    let sandbox = system.sandbox();
    let pki = sandbox.pki.as_ref().expect("the sandbox's PKI");
    let services = [
        ("permission", sandbox.permission, "actas.v1.PermissionService"),
        ("token-issuer", sandbox.token_issuer, "actas.v1.TokenIssuer"),
        ("session", sandbox.session, "actas.v1.SessionService"),
    ];
    for (name, addr, service) in services {
        let own = pki.config(name);
        let wildcard = format!("0.0.0.0:{}", addr.port());
        probe(&addr.to_string(), &own, name, "").await.unwrap();
        probe(&wildcard, &own, name, service).await.unwrap();
        assert!(
            probe(&addr.to_string(), &own, name, "actas.v1.NoSuchService")
                .await
                .is_err(),
            "{name}: an unknown service is not serving"
        );
        assert!(
            probe(&addr.to_string(), &own, "gateway", "").await.is_err(),
            "{name}: the server's certificate must carry the expected name"
        );
        assert!(
            probe(&addr.to_string(), &TlsConfig::default(), name, "")
                .await
                .is_err(),
            "{name}: plaintext is refused"
        );
    }
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    assert!(
        probe(&closed.to_string(), &pki.config("session"), "session", "")
            .await
            .is_err()
    );
    system.stop().await;
}

#[tokio::test]
async fn a_service_listed_as_a_context_reader_resolves_contexts_reports_actions_and_nothing_else() {
    let system = TestSystem::start_with(|options| {
        options.mutual_tls = true;
        options.context_readers = "orders".into();
    })
    .await;
    let sandbox = system.sandbox();
    let pki = sandbox.pki.as_ref().expect("the sandbox's PKI");
    let admin = system.admin().await;
    let context_token = system.exchange_alice(&system.alice_token(&admin).await).await;
    let ask = GetContextRequest {
        token: context_token.clone(),
        include_guests: false,
    };

    // The order service, with a certificate of the CA naming `orders`,
    // learns who acts for whom behind the token its caller sent.
    let mut orders = SessionServiceClient::new(as_service(pki, "orders", sandbox.session).await);
    let context = orders.get_context(ask.clone()).await.unwrap().into_inner();
    assert_eq!(context.principal_id, seed::ALICE.to_string());
    assert!(context.imitated);
    assert_eq!(context.imitating_user_id, seed::ADMIN.to_string());
    assert_eq!(context.sales_channel_id, seed::STOREFRONT_EU.to_string());

    // Guests are the Store API's: a reader asking for them is refused.
    let guests = orders
        .get_context(GetContextRequest {
            include_guests: true,
            ..ask.clone()
        })
        .await;
    assert_eq!(guests.unwrap_err().code(), Code::Unauthenticated);

    // It reports what it did as alice, under the name its certificate
    // carries: a name it merely states is not taken.
    let recorded = orders
        .record_action(actas_shared::proto::RecordActionRequest {
            token: context_token.clone(),
            action: "orders.cancel".into(),
            detail: "order 10042".into(),
            outcome: "ok".into(),
            reporter: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(recorded.reporter, "orders");
    assert_eq!(recorded.actor_id, seed::ADMIN.to_string());
    let posing = orders
        .record_action(actas_shared::proto::RecordActionRequest {
            token: context_token.clone(),
            action: "orders.cancel".into(),
            detail: String::new(),
            outcome: "ok".into(),
            reporter: "gateway".into(),
        })
        .await;
    assert_eq!(posing.unwrap_err().code(), Code::Unauthenticated);
    // Reading the actions is the gateway's: readers list nothing.
    let refused = orders
        .list_action_records(actas_shared::proto::ListActionRecordsRequest {
            reader_session_token: context_token.clone(),
            ..Default::default()
        })
        .await;
    assert_eq!(refused.unwrap_err().code(), Code::Unauthenticated);

    // Nothing else: no policy read, no logout of the session it saw.
    let refused = orders.get_issue_policy(GetIssuePolicyRequest {}).await;
    assert_eq!(refused.unwrap_err().code(), Code::Unauthenticated);
    let refused = orders
        .logout(actas_shared::proto::LogoutRequest {
            token: context_token.clone(),
        })
        .await;
    assert_eq!(refused.unwrap_err().code(), Code::Unauthenticated);
    assert_eq!(
        system
            .context(crate::helpers::EU_KEY, &context_token)
            .await
            .status(),
        200
    );

    // A service not on the list is refused even that.
    let mut billing = SessionServiceClient::new(as_service(pki, "billing", sandbox.session).await);
    let refused = billing.get_context(ask).await;
    assert_eq!(refused.unwrap_err().code(), Code::Unauthenticated);
    system.stop().await;
}
