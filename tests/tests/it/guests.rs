//! Guest contexts, as Shopware's frontends use them: a client without a
//! token gets one, logout hands one out, it takes the visitor's choices,
//! and the login that names it carries them over and ends it. A guest is
//! nobody: no route that needs a customer or an admin accepts its token.

use actas_permission::seed;
use actas_shared::proto::session_service_client::SessionServiceClient;
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{EU_KEY, TestSystem, US_KEY, assert_error, context_token_of, simple};

/// Shopware's system language (en-GB) and its euro, which the demo's EU
/// storefront offers.
const ENGLISH: &str = "2fbb5fe2e29a4d70aa5854ce7ce3e20b";
const EURO: &str = "b7d2554b0ce847cd82f3ac9bd1c0dfca";

impl TestSystem {
    async fn context_without_token(&self, access_key: &str) -> Response {
        self.http
            .get(self.url("/store-api/context"))
            .header("sw-access-key", access_key)
            .send()
            .await
            .unwrap()
    }

    async fn patch_context_with(&self, token: Option<&str>, body: Value) -> Response {
        let mut request = self
            .http
            .patch(self.url("/store-api/context"))
            .header("sw-access-key", EU_KEY)
            .json(&body);
        if let Some(token) = token {
            request = request.header("sw-context-token", token);
        }
        request.send().await.unwrap()
    }

    async fn store_logout(&self, token: &str) -> Response {
        self.http
            .post(self.url("/store-api/account/logout"))
            .header("sw-access-key", EU_KEY)
            .header("sw-context-token", token)
            .send()
            .await
            .unwrap()
    }
}

/// The token of a context answer: header and body agree.
async fn guest_of(response: Response) -> (String, Value) {
    assert_eq!(response.status(), StatusCode::OK);
    let header = response.headers()["sw-context-token"]
        .to_str()
        .unwrap()
        .to_owned();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token"], header.as_str(), "{body}");
    (header, body)
}

#[tokio::test]
async fn a_client_without_a_token_gets_a_guest_context_that_is_nobody() {
    let system = TestSystem::start().await;
    let (guest, context) = guest_of(system.context_without_token(EU_KEY).await).await;
    assert_eq!(context["customer"], Value::Null, "{context}");
    assert_eq!(context["customerId"], Value::Null);
    assert_eq!(context["imitated"], false);
    assert_eq!(context["salesChannelId"], simple(seed::STOREFRONT_EU));
    assert_eq!(context["salesChannel"]["name"], "Storefront EU");
    assert_eq!(context["payload"], json!({}));
    // Each client its own.
    let (other, _) = guest_of(system.context_without_token(EU_KEY).await).await;
    assert_ne!(guest, other);

    // It reads back, on its own channel only.
    let (again, _) = guest_of(system.context(EU_KEY, &guest).await).await;
    assert_eq!(again, guest);
    let elsewhere = system.context(US_KEY, &guest).await;
    assert_error(elsewhere, StatusCode::UNAUTHORIZED, "FRAMEWORK__UNAUTHORIZED").await;

    // Nobody is behind it: no admin route, no customer route takes it,
    // and there is nobody to log out.
    let me = system
        .http
        .get(system.url("/api/_info/me"))
        .bearer_auth(&guest)
        .send()
        .await
        .unwrap();
    assert_error(me, StatusCode::UNAUTHORIZED, "FRAMEWORK__UNAUTHORIZED").await;
    let mine = system
        .http
        .get(system.url("/api/public/account/impersonations"))
        .bearer_auth(&guest)
        .send()
        .await
        .unwrap();
    assert_error(mine, StatusCode::UNAUTHORIZED, "FRAMEWORK__UNAUTHORIZED").await;
    let generate = system
        .generate(
            &guest,
            json!({ "customerId": simple(seed::ALICE), "salesChannelId": simple(seed::STOREFRONT_EU) }),
        )
        .await;
    assert_error(generate, StatusCode::UNAUTHORIZED, "FRAMEWORK__UNAUTHORIZED").await;
    let logout = system.store_logout(&guest).await;
    assert_error(logout, StatusCode::FORBIDDEN, "CHECKOUT__CUSTOMER_NOT_LOGGED_IN").await;
    // Over gRPC, a caller asking who acts is refused as for any unknown token.
    let mut sessions = SessionServiceClient::connect(system.sandbox().grpc_url(system.sandbox().session))
        .await
        .unwrap();
    let refused = sessions
        .get_context(actas_shared::proto::GetContextRequest {
            token: guest.clone(),
            include_guests: false,
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Unauthenticated);
    let included = sessions
        .get_context(actas_shared::proto::GetContextRequest {
            token: guest,
            include_guests: true,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(included.guest);
    assert!(included.principal_id.is_empty() && included.session_id.is_empty());
    system.stop().await;
}

#[tokio::test]
async fn the_context_update_answers_its_token_and_a_login_carries_the_guests_choices() {
    let system = TestSystem::start().await;
    let (guest, _) = guest_of(system.context_without_token(EU_KEY).await).await;

    let patched = system
        .patch_context_with(Some(&guest), json!({ "languageId": ENGLISH }))
        .await;
    assert_eq!(patched.status(), StatusCode::OK);
    assert_eq!(context_token_of(patched).await, guest);
    let (_, context) = guest_of(system.context(EU_KEY, &guest).await).await;
    assert_eq!(context["payload"]["languageId"], ENGLISH, "{context}");
    // Unknown keys and ids that are no ids are refused, as for a session.
    let unknown = system
        .patch_context_with(Some(&guest), json!({ "customerId": simple(seed::ALICE) }))
        .await;
    assert_error(
        unknown,
        StatusCode::BAD_REQUEST,
        "FRAMEWORK__INVALID_REQUEST_BODY",
    )
    .await;
    let not_an_id = system
        .patch_context_with(Some(&guest), json!({ "currencyId": "euro" }))
        .await;
    assert_error(not_an_id, StatusCode::BAD_REQUEST, "FRAMEWORK__INVALID_UUID").await;
    // Ids must name what the sales channel offers: a made-up language, the
    // US storefront's dollar on the EU one, an address nobody here knows.
    for unknown in [
        json!({ "languageId": simple(uuid::Uuid::new_v4()) }),
        json!({ "currencyId": simple(seed::CURRENCY_USD) }),
        json!({ "billingAddressId": simple(uuid::Uuid::new_v4()) }),
        json!({ "languageId": ENGLISH, "countryId": simple(seed::COUNTRY_US) }),
    ] {
        let refused = system.patch_context_with(Some(&guest), unknown.clone()).await;
        let error = assert_error(
            refused,
            StatusCode::BAD_REQUEST,
            "FRAMEWORK__INVALID_REQUEST_BODY",
        )
        .await;
        assert!(
            error["detail"].as_str().unwrap().contains("names no"),
            "{unknown}: {error}"
        );
    }
    let offered = system
        .patch_context_with(
            Some(&guest),
            json!({ "countryId": simple(seed::COUNTRY_DE), "paymentMethodId": simple(seed::PAYMENT_INVOICE) }),
        )
        .await;
    assert_eq!(offered.status(), StatusCode::OK);

    // Without a token, the update opens a guest context and answers it.
    let fresh = system
        .patch_context_with(None, json!({ "currencyId": EURO }))
        .await;
    let fresh = context_token_of(fresh).await;
    assert_ne!(fresh, guest);
    let (_, fresh_context) = guest_of(system.context(EU_KEY, &fresh).await).await;
    assert_eq!(fresh_context["payload"]["currencyId"], EURO);

    // Alice signs in on the device holding the guest context: her session
    // starts with the language she chose, and the guest context is over.
    let own = system.alice_login_holding(&guest).await;
    assert_ne!(own, guest);
    let context = system.context_json(&own).await;
    assert_eq!(context["customerId"], simple(seed::ALICE));
    assert_eq!(context["payload"]["languageId"], ENGLISH, "{context}");
    let ended = system.context(EU_KEY, &guest).await;
    assert_error(ended, StatusCode::UNAUTHORIZED, "FRAMEWORK__UNAUTHORIZED").await;
    system.stop().await;
}

#[tokio::test]
async fn logout_hands_out_a_guest_context_and_ends_only_the_session() {
    let system = TestSystem::start().await;
    let own = system.alice_own_context().await;
    let logout = system.store_logout(&own).await;
    let guest = context_token_of(logout).await;
    assert_ne!(guest, own);
    let ended = system.context(EU_KEY, &own).await;
    assert_error(ended, StatusCode::UNAUTHORIZED, "FRAMEWORK__UNAUTHORIZED").await;
    let (_, context) = guest_of(system.context(EU_KEY, &guest).await).await;
    assert_eq!(context["customer"], Value::Null, "{context}");
    assert_eq!(context["imitated"], false);
    system.stop().await;
}

#[tokio::test]
async fn new_guest_contexts_are_limited_per_client_address() {
    let system = TestSystem::start_with(|options| options.guest_context_limit_per_minute = 2).await;
    for _ in 0..2 {
        guest_of(system.context_without_token(EU_KEY).await).await;
    }
    let limited = system.context_without_token(EU_KEY).await;
    assert!(limited.headers().contains_key("retry-after"));
    assert_error(
        limited,
        StatusCode::TOO_MANY_REQUESTS,
        "FRAMEWORK__TOO_MANY_REQUESTS",
    )
    .await;
    // A client that holds its context is not counted, and its logout gets
    // the guest context it goes on with, limit or not.
    let own = system.alice_own_context().await;
    assert_eq!(system.context(EU_KEY, &own).await.status(), StatusCode::OK);
    let guest = context_token_of(system.store_logout(&own).await).await;
    assert_eq!(system.context(EU_KEY, &guest).await.status(), StatusCode::OK);
    system.stop().await;
}
