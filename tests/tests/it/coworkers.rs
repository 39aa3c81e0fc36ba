//! The coworker flows through the gateway: sign-in, profiles, a team
//! administrator acting as a member, an operator acting as anyone, and the
//! whole actor x target matrix.

use actas_permission::{
    model::{NewPrincipal, Profile, TeamRole},
    password, seed,
    store::{DirectoryStore as _, SqlDirectory},
};
use actas_shared::{db::Pool, ids::PrincipalId, principal::PrincipalKind};
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestSystem, assert_error, simple};

const TOKEN_INVALID: &str = "ACTAS__IMPERSONATION_TOKEN_INVALID";

impl TestSystem {
    async fn public_login(&self, email: &str, password: &str) -> Value {
        let response = self
            .http
            .post(self.url("/api/public/auth/login"))
            .json(&json!({ "email": email, "password": password }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "public login of {email}");
        response.json().await.unwrap()
    }

    pub(crate) async fn bearer_of(&self, email: &str) -> String {
        let password = format!("{}-demo-password", email.split('@').next().unwrap());
        self.public_login(email, &password).await["access_token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub(crate) async fn operator(&self) -> String {
        let response = self
            .http
            .post(self.url("/api/sys/auth/login"))
            .json(&json!({ "email": "ops@example.com", "password": "ops-demo-password" }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.json::<Value>().await.unwrap()["access_token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub(crate) async fn impersonate_coworker(&self, bearer: &str, coworker: &str) -> Response {
        self.http
            .get(self.url(&format!("/api/public/coworkers/{coworker}/impersonate")))
            .bearer_auth(bearer)
            .send()
            .await
            .unwrap()
    }

    pub(crate) async fn impersonate_user(&self, bearer: &str, user: &str) -> Response {
        self.http
            .get(self.url("/api/sys/users/impersonate"))
            .query(&[("userId", user)])
            .bearer_auth(bearer)
            .send()
            .await
            .unwrap()
    }

    pub(crate) async fn exchange_token(&self, token: &str) -> Response {
        self.http
            .post(self.url(&format!("/api/public/auth/login/{token}")))
            .send()
            .await
            .unwrap()
    }

    async fn profiles(&self, bearer: &str) -> Value {
        let response = self
            .http
            .get(self.url("/api/public/coworkers/profiles"))
            .bearer_auth(bearer)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    async fn switch_profile(&self, bearer: &str, body: Value) -> Response {
        self.http
            .put(self.url("/api/public/coworkers/profiles/current"))
            .bearer_auth(bearer)
            .json(&body)
            .send()
            .await
            .unwrap()
    }
}

pub(crate) async fn token_of(response: Response) -> String {
    assert_eq!(response.status(), StatusCode::OK);
    let token = response.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(token.starts_with("eyJ"), "a signed JWT: {token}");
    token
}

#[tokio::test]
async fn a_team_admin_signs_in_as_a_member_once() {
    let system = TestSystem::start().await;
    let tina = system
        .public_login("tina@example.com", "tina-demo-password")
        .await;
    assert_eq!(tina["profile"]["Id"], seed::PROFILE_TINA_ACME);
    assert_eq!(tina["profile"]["TeamName"], "Acme");
    assert_eq!(tina["impersonated"], false);
    assert_eq!(tina["acting"], Value::Null);
    assert!(tina["expires_in"].as_i64().unwrap() > 0);
    let bearer = tina["access_token"].as_str().unwrap();

    let issued = system
        .impersonate_coworker(bearer, &seed::PROFILE_MAX_ACME.to_string())
        .await;
    // Tokens and sessions are never cached (RFC 6749 §5.1).
    assert_eq!(issued.headers()["cache-control"], "no-store");
    let token = token_of(issued).await;
    let response = system.exchange_token(&token).await;
    assert_eq!(response.status(), StatusCode::OK);
    let session: Value = response.json().await.unwrap();
    assert_eq!(session["user_id"], simple(seed::MAX));
    assert_eq!(session["profile"]["Id"], seed::PROFILE_MAX_ACME);
    assert_eq!(session["profile"]["FullName"], "Max Mustermann");
    assert_eq!(session["impersonated"], true);
    assert_eq!(session["acting"]["id"], simple(seed::TINA));
    assert_eq!(session["acting"]["name"], "Tina Acme");
    let as_max = session["access_token"].as_str().unwrap();

    // Single use, and forgeries fail the same way.
    let again = system.exchange_token(&token).await;
    assert_error(again, StatusCode::UNAUTHORIZED, TOKEN_INVALID).await;
    for forged in [
        "eyJhbGciOiJub25lIn0.e30.",
        "not-a-token",
        &token[..token.len() - 10],
    ] {
        let refused = system.exchange_token(forged).await;
        assert_error(refused, StatusCode::UNAUTHORIZED, TOKEN_INVALID).await;
    }
    // A Shopware login-as-customer token is no coworker token: it burns here.
    let admin = system.admin().await;
    let storefront_token = system.alice_token(&admin).await;
    let wrong_kind = system.exchange_token(&storefront_token).await;
    assert_error(wrong_kind, StatusCode::UNAUTHORIZED, TOKEN_INVALID).await;

    // The audit trail says who acted, as whom, why.
    let records = system.audit_trail(seed::MAX).await;
    let kinds: Vec<&str> = records.iter().map(|r| r.kind().as_str()).collect();
    // Newest first: the second exchange of the token failed, on the record.
    assert_eq!(
        kinds,
        ["token_redeem_failed", "impersonation_started", "token_issued"]
    );
    let started = &records[1];
    assert_eq!(started.action().as_str(), "impersonate_team_member");
    assert_eq!(started.actor_id, seed::TINA.to_string());
    assert_eq!(started.audience, format!("team:{}", seed::TEAM_ACME));
    assert!(started.reason.contains("Acme"), "{}", started.reason);

    // Over HTTP: operators see the trail; max sees who accessed his account.
    let ops = system.operator().await;
    let trail: Value = system
        .http
        .get(system.url("/api/sys/audit-records"))
        .query(&[("targetId", simple(seed::MAX))])
        .bearer_auth(&ops)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(trail["records"][0]["actorId"], simple(seed::TINA));
    assert_eq!(trail["records"][0]["action"], "impersonate_team_member");
    let max_own = system.bearer_of("max@example.com").await;
    let mine: Value = system
        .http
        .get(system.url("/api/public/account/impersonations"))
        .bearer_auth(&max_own)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(mine["records"].as_array().unwrap().len(), 1);
    assert_eq!(mine["records"][0]["actorId"], simple(seed::TINA));
    let not_for_customers = system
        .http
        .get(system.url("/api/sys/audit-records"))
        .bearer_auth(&max_own)
        .send()
        .await
        .unwrap();
    assert_error(
        not_for_customers,
        StatusCode::UNAUTHORIZED,
        "FRAMEWORK__UNAUTHORIZED",
    )
    .await;
    // The impersonator does not read the target's list (other actors' addresses).
    let as_impersonator = system
        .http
        .get(system.url("/api/public/account/impersonations"))
        .bearer_auth(as_max)
        .send()
        .await
        .unwrap();
    assert_error(
        as_impersonator,
        StatusCode::FORBIDDEN,
        "ACTAS__FORBIDDEN_WHILE_IMPERSONATING",
    )
    .await;
    let bad_limit = system
        .http
        .get(system.url("/api/sys/audit-records"))
        .query(&[("limit", "many")])
        .bearer_auth(&ops)
        .send()
        .await
        .unwrap();
    assert_error(
        bad_limit,
        StatusCode::BAD_REQUEST,
        "FRAMEWORK__INVALID_LIMIT_QUERY",
    )
    .await;

    // The impersonated session is pinned to its profile and cannot chain.
    let listed = system.profiles(as_max).await;
    assert_eq!(listed["Profiles"].as_array().unwrap().len(), 2);
    let pinned = system
        .switch_profile(as_max, json!({ "id": seed::PROFILE_MAX_GLOBEX }))
        .await;
    assert_error(pinned, StatusCode::FORBIDDEN, "ACTAS__PROFILE_SWITCH_FORBIDDEN").await;
    let chained = system
        .impersonate_coworker(as_max, &seed::PROFILE_MIA_ACME.to_string())
        .await;
    assert_error(
        chained,
        StatusCode::FORBIDDEN,
        "ACTAS__IMPERSONATION_CHAIN_FORBIDDEN",
    )
    .await;
    system.stop().await;
}

#[tokio::test]
async fn a_person_lists_and_switches_their_own_profiles_without_impersonation() {
    let system = TestSystem::start().await;
    let max = system.bearer_of("max@example.com").await;
    let listed = system.profiles(&max).await;
    assert_eq!(
        listed,
        json!({ "Profiles": [
            { "Id": seed::PROFILE_MAX_ACME, "FullName": "Max Mustermann", "TeamName": "Acme", "IsCurrent": true },
            { "Id": seed::PROFILE_MAX_GLOBEX, "FullName": "Max Mustermann", "TeamName": "Globex", "IsCurrent": false },
        ]})
    );
    let switched = system
        .switch_profile(&max, json!({ "id": seed::PROFILE_MAX_GLOBEX }))
        .await;
    assert_eq!(switched.status(), StatusCode::OK);
    assert_eq!(switched.json::<Value>().await.unwrap()["TeamName"], "Globex");
    let listed = system.profiles(&max).await;
    assert_eq!(listed["Profiles"][1]["IsCurrent"], true);
    assert_eq!(listed["Profiles"][0]["IsCurrent"], false);

    // Only one's own profiles, and the answer does not tell someone else's
    // id from one that names nobody; malformed bodies.
    let someone_elses = system
        .switch_profile(&max, json!({ "id": seed::PROFILE_MIA_ACME }))
        .await;
    let someone_elses = assert_error(
        someone_elses,
        StatusCode::FORBIDDEN,
        "ACTAS__PROFILE_SWITCH_FORBIDDEN",
    )
    .await;
    let nobody = system.switch_profile(&max, json!({ "id": 999_999 })).await;
    let nobody = assert_error(nobody, StatusCode::FORBIDDEN, "ACTAS__PROFILE_SWITCH_FORBIDDEN").await;
    assert_eq!(nobody, someone_elses, "one answer for both");
    for (body, code) in [
        (json!({}), "FRAMEWORK__MISSING_REQUEST_PARAMETER"),
        (json!({ "id": "abc" }), "FRAMEWORK__INVALID_REQUEST_BODY"),
        (json!({ "id": -3 }), "FRAMEWORK__INVALID_REQUEST_BODY"),
    ] {
        let refused = system.switch_profile(&max, body).await;
        assert_error(refused, StatusCode::BAD_REQUEST, code).await;
    }

    // No impersonation happened: no audit record for max.
    let records = system.audit_trail(seed::MAX).await;
    assert!(records.is_empty(), "{records:?}");

    // Bearers: missing, made up, a storefront context, bad credentials.
    let anonymous = system
        .http
        .get(system.url("/api/public/coworkers/profiles"))
        .send()
        .await
        .unwrap();
    assert_error(anonymous, StatusCode::UNAUTHORIZED, "FRAMEWORK__UNAUTHORIZED").await;
    let made_up = system.impersonate_coworker("made-up", "1002").await;
    assert_error(made_up, StatusCode::UNAUTHORIZED, "FRAMEWORK__UNAUTHORIZED").await;
    let bad_password = system
        .http
        .post(system.url("/api/public/auth/login"))
        .json(&json!({ "email": "max@example.com", "password": "wrong" }))
        .send()
        .await
        .unwrap();
    assert_error(
        bad_password,
        StatusCode::UNAUTHORIZED,
        "CHECKOUT__CUSTOMER_AUTH_BAD_CREDENTIALS",
    )
    .await;
    system.stop().await;
}

#[tokio::test]
async fn an_operator_signs_in_as_customers_and_admins_but_never_operators() {
    let system = TestSystem::start().await;
    let ops = system.operator().await;

    let as_alice = system
        .exchange_token(&token_of(system.impersonate_user(&ops, &simple(seed::ALICE)).await).await)
        .await;
    assert_eq!(as_alice.status(), StatusCode::OK);
    let as_alice: Value = as_alice.json().await.unwrap();
    assert_eq!(as_alice["user_id"], simple(seed::ALICE));
    assert_eq!(as_alice["acting"]["id"], simple(seed::OPS));
    assert_eq!(as_alice["acting"]["kind"], "operator");

    // As an admin the operator sees what the admin sees, and starts nothing.
    let as_admin: Value = system
        .exchange_token(
            &token_of(
                system
                    .impersonate_user(&ops, &seed::ADMIN.hyphenated().to_string())
                    .await,
            )
            .await,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(as_admin["user_kind"], "admin");
    let admin_bearer = as_admin["access_token"].as_str().unwrap();
    let me = system
        .http
        .get(system.url("/api/_info/me"))
        .bearer_auth(admin_bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(
        me.json::<Value>().await.unwrap()["data"]["id"],
        simple(seed::ADMIN)
    );
    let chained = system
        .generate(
            admin_bearer,
            json!({ "customerId": simple(seed::ALICE), "salesChannelId": simple(seed::STOREFRONT_EU) }),
        )
        .await;
    assert_error(
        chained,
        StatusCode::FORBIDDEN,
        "ACTAS__IMPERSONATION_CHAIN_FORBIDDEN",
    )
    .await;

    let themself = system.impersonate_user(&ops, &simple(seed::OPS)).await;
    assert_error(
        themself,
        StatusCode::FORBIDDEN,
        "ACTAS__IMPERSONATION_NOT_ALLOWED",
    )
    .await;
    let nobody = system
        .impersonate_user(&ops, "0123456789abcdef0123456789abcdef")
        .await;
    assert_error(nobody, StatusCode::NOT_FOUND, "CHECKOUT__CUSTOMER_NOT_FOUND").await;
    let not_an_id = system.impersonate_user(&ops, "alice").await;
    assert_error(not_an_id, StatusCode::BAD_REQUEST, "FRAMEWORK__INVALID_UUID").await;
    let no_user = system
        .http
        .get(system.url("/api/sys/users/impersonate"))
        .bearer_auth(&ops)
        .send()
        .await
        .unwrap();
    assert_error(
        no_user,
        StatusCode::BAD_REQUEST,
        "FRAMEWORK__MISSING_REQUEST_PARAMETER",
    )
    .await;
    let wrong_password = system
        .http
        .post(system.url("/api/sys/auth/login"))
        .json(&json!({ "email": "ops@example.com", "password": "nope" }))
        .send()
        .await
        .unwrap();
    assert_error(
        wrong_password,
        StatusCode::UNAUTHORIZED,
        "FRAMEWORK__UNAUTHORIZED",
    )
    .await;
    system.stop().await;
}

/// Extra people for the matrix: an owner of Acme and a second operator.
const OLGA: uuid::Uuid = uuid::Uuid::from_u128(0x018f8d3a_5e00_7000_8000_00000000d0a1);
pub(crate) const PROFILE_OLGA_ACME: i64 = 1004;
const OSCAR: uuid::Uuid = uuid::Uuid::from_u128(0x018f8d3a_5e00_7000_8000_00000000f0a2);
/// An admin holding a right operators lack: privilege ordering keeps them out.
const ROOT: uuid::Uuid = uuid::Uuid::from_u128(0x018f8d3a_5e00_7000_8000_00000000a0a3);
/// An admin holding exactly an operator's rights: a peer, also out of reach.
const TWIN: uuid::Uuid = uuid::Uuid::from_u128(0x018f8d3a_5e00_7000_8000_00000000a0a4);

pub(crate) async fn add_matrix_people(system: &TestSystem) {
    let pool = Pool::connect(&system.database.url, 2).await.unwrap();
    let directory = SqlDirectory::new(pool.clone());
    directory
        .insert_role(
            "superadmin",
            "Configures the system",
            &["system:configure", "customer:read"],
        )
        .await
        .unwrap();
    for (id, kind, email, roles) in [
        (OLGA, PrincipalKind::Customer, "olga@example.com", vec![]),
        (
            OSCAR,
            PrincipalKind::Operator,
            "oscar@example.com",
            vec!["operator".to_owned()],
        ),
        (
            ROOT,
            PrincipalKind::Admin,
            "root@example.com",
            vec!["superadmin".to_owned()],
        ),
        (
            TWIN,
            PrincipalKind::Admin,
            "twin@example.com",
            vec!["operator".to_owned()],
        ),
    ] {
        directory
            .insert_principal(&NewPrincipal {
                id: PrincipalId::from_uuid(id),
                kind,
                email: email.to_owned(),
                display_name: email.to_owned(),
                password_hash: password::hash("matrix-password").unwrap(),
                active: true,
                guest: false,
                roles,
                sales_channel_ids: vec![],
            })
            .await
            .unwrap();
    }
    directory
        .insert_profile(&Profile {
            id: PROFILE_OLGA_ACME,
            person_id: PrincipalId::from_uuid(OLGA),
            team_id: seed::TEAM_ACME,
            team_name: String::new(),
            role: TeamRole::Owner,
            full_name: "Olga Owner".to_owned(),
        })
        .await
        .unwrap();
    pool.close().await;
}

#[tokio::test]
async fn who_may_impersonate_whom() {
    let system = TestSystem::start().await;
    add_matrix_people(&system).await;
    let tina = system.bearer_of("tina@example.com").await;
    let max = system.bearer_of("max@example.com").await;
    let otto = system.bearer_of("otto@example.com").await;
    let ops = system.operator().await;
    let admin = system.admin().await;
    // tina acting as mia: an impersonated session.
    let as_mia = system
        .exchange_token(
            &token_of(
                system
                    .impersonate_coworker(&tina, &seed::PROFILE_MIA_ACME.to_string())
                    .await,
            )
            .await,
        )
        .await
        .json::<Value>()
        .await
        .unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();

    const OK: u16 = 200;
    const DENIED: u16 = 403;
    const NO_SESSION: u16 = 401;
    // (actor, bearer, target profile, expected status)
    let team_cells: Vec<(&str, &str, i64, u16)> = vec![
        ("team admin", &tina, seed::PROFILE_MAX_ACME, OK),
        ("team admin", &tina, seed::PROFILE_MIA_ACME, OK),
        ("team admin", &tina, seed::PROFILE_TINA_ACME, DENIED),
        ("team admin", &tina, PROFILE_OLGA_ACME, DENIED),
        ("team admin", &tina, seed::PROFILE_OTTO_GLOBEX, DENIED),
        ("team admin", &tina, seed::PROFILE_MAX_GLOBEX, DENIED),
        ("member", &max, seed::PROFILE_MIA_ACME, DENIED),
        ("member", &max, seed::PROFILE_TINA_ACME, DENIED),
        ("other-team member", &otto, seed::PROFILE_MAX_ACME, DENIED),
        ("other-team member", &otto, seed::PROFILE_MAX_GLOBEX, DENIED),
        ("impersonated session", &as_mia, seed::PROFILE_MAX_ACME, DENIED),
        ("operator", &ops, seed::PROFILE_MAX_ACME, NO_SESSION),
        ("other admin", &admin, seed::PROFILE_MAX_ACME, NO_SESSION),
    ];
    let mut failures = Vec::new();
    for (actor, bearer, profile, expected) in team_cells {
        let status = system
            .impersonate_coworker(bearer, &profile.to_string())
            .await
            .status()
            .as_u16();
        if status != expected {
            failures.push(format!(
                "{actor} -> profile {profile}: {status}, expected {expected}"
            ));
        }
    }
    // (actor, bearer, target user, expected status)
    let user_cells: Vec<(&str, &str, uuid::Uuid, u16)> = vec![
        ("operator", &ops, seed::ALICE, OK),
        ("operator", &ops, seed::MAX, OK),
        ("operator", &ops, seed::TINA, OK),
        ("operator", &ops, seed::ADMIN, OK),
        ("operator", &ops, OSCAR, DENIED),
        ("operator", &ops, ROOT, DENIED),
        ("operator", &ops, TWIN, DENIED),
        ("operator", &ops, seed::OPS, DENIED),
        ("team admin", &tina, seed::MAX, NO_SESSION),
        ("other admin", &admin, seed::ALICE, NO_SESSION),
        ("impersonated session", &as_mia, seed::ALICE, NO_SESSION),
    ];
    for (actor, bearer, user, expected) in user_cells {
        let status = system
            .impersonate_user(bearer, &simple(user))
            .await
            .status()
            .as_u16();
        if status != expected {
            failures.push(format!("{actor} -> user {user}: {status}, expected {expected}"));
        }
    }
    assert!(
        failures.is_empty(),
        "matrix cells wrong:\n{}",
        failures.join("\n")
    );
    system.stop().await;
}
